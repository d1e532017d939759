package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleInvokeAndListsReadablyInChromium: a payload pasted with a byte
// order mark, or of white space only, is taken (as JSON without the mark; as
// none); a function error's JSON is shown decoded and indented, as text; the
// usage plans are listed in natural order (plan2 before plan10); a
// connection's row names its API and its user agent.
func TestConsoleInvokeAndListsReadablyInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	wsID, _ := echoConnection(t, env) // creates echo too
	for _, name := range []string{"plan10", "plan2", "plan1"} {
		if st, body := call(t, env, "POST", "/usageplans", map[string]any{"name": name}); st != 201 {
			t.Fatalf("create %s: %d %s", name, st, body)
		}
	}
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions/echo")
	thrown := exceptions(t, b)
	b.poll("the function page", `document.body.dataset.page === "functions/echo"`)
	invoke := func(what, payload, status string) {
		t.Helper()
		eval[bool](b, `(() => { document.getElementById("invoke-result").dataset.status = ""; document.getElementById("payload").value = `+strconvQuote(payload)+`; document.getElementById("invoke").click(); return true; })()`)
		b.poll(what, `document.getElementById("invoke-result").dataset.status === "`+status+`"`)
	}
	invoke("a payload with a byte order mark", "\ufeff{\"a\": 1}", "ok")
	invoke("a payload of white space", " \n\t ", "ok")

	// A function error, as aws-lambda-go writes it (<, > and & escaped).
	ctx, stop := context.WithCancel(b.tab)
	defer stop()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/invocations*"}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(b.tab, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 200,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Amz-Function-Error", Value: "Unhandled"}},
				Body:            []byte(`{"errorMessage":"\u003cb\u003eboom\u003c/b\u003e \"quoted\" \u65e5","errorType":"errorString"}`)})
			return
		}
	}()
	invoke("the function error", "{}", "error")
	_, _ = chromedp.Call(b.tab, fetch.Disable, cdp.Empty{})
	want := "Function error (Unhandled):\n{\n  \"errorMessage\": \"<b>boom</b> \\\"quoted\\\" 日\",\n  \"errorType\": \"errorString\"\n}"
	if got := eval[string](b, `document.getElementById("invoke-result").textContent`); got != want {
		t.Errorf("the function error reads\n%s\nwant\n%s", got, want)
	}
	if eval[bool](b, `document.querySelector("#invoke-result b") !== null`) {
		t.Errorf("the function error's <b> became an element")
	}

	eval[string](b, `location.hash = "#/keys"`)
	b.poll("the keys page", `document.body.dataset.page === "keys" && !document.body.dataset.loading`)
	if got := eval[string](b, `[...document.querySelectorAll("section h3")].map(h => h.firstChild.textContent).join(" ")`); got != "plan1 plan2 plan10" {
		t.Errorf("the plans are listed as %q, want plan1 plan2 plan10", got)
	}

	eval[string](b, `location.hash = "#/connections"`)
	b.poll("the connection", `document.body.dataset.page === "connections" && document.querySelector("#connections tr[data-connection]") !== null`)
	if got := eval[string](b, `document.querySelector("#connections td.api-stage").textContent`); got != fmt.Sprintf("ws %s/dev", wsID) {
		t.Errorf("the connection's API and stage read %q, want %q", got, "ws "+wsID+"/dev")
	}
	if got := eval[string](b, `document.querySelector("#connections td.user-agent").textContent`); got == "" {
		t.Errorf("the connection's user agent is not shown")
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
