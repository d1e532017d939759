package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleMetricsAfterTheSessionEndsInChromium: once the console's session
// ends, the metrics page says that the numbers it still shows are as of their
// last reading, greyed, rather than leaving them as if live, and reads GET
// /metrics less often; once signed in again (here from another tab: the same
// browser's cookie) the numbers are live again and the signed-out notice goes.
func TestConsoleMetricsAfterTheSessionEndsInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	createEcho(t, env)
	if st, body := call(t, env, "POST", "/2015-03-31/functions/echo/invocations", map[string]any{}); st != 200 {
		t.Fatalf("invoke: %d %s", st, body)
	}
	b := newBrowser(t, browser)
	thrown := exceptions(t, b)
	b.navigate(env.AdminURL + "/console/")
	if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the console after signing in", `document.body.dataset.page !== undefined`)
	b.navigate(env.AdminURL + "/console/#/metrics")
	b.poll("the function's numbers", `document.querySelector('#function-metrics tr[data-function="echo"]') !== null`)
	if !eval[bool](b, `document.getElementById("metrics-stale").hidden`) {
		t.Errorf("live numbers are said to be stale: %q", eval[string](b, `document.getElementById("metrics-stale").textContent`))
	}
	if _, err := chromedp.Call(b.tab, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	b.poll("the numbers marked stale", `!document.getElementById("metrics-stale").hidden && document.getElementById("requests-chart").dataset.polling === "signed-out"`)
	if got := eval[string](b, `document.getElementById("metrics-stale").textContent`); !strings.Contains(got, "These numbers are as of ") || !strings.Contains(got, "session has ended") {
		t.Errorf("the stale notice reads %q", got)
	}
	if !eval[bool](b, `document.getElementById("function-metrics").classList.contains("stale") && document.querySelector('#function-metrics tr[data-function="echo"]') !== null`) {
		t.Errorf("the last numbers are not kept greyed")
	}
	eval[bool](b, `(() => { fetch("/console/login", { method: "POST", body: new URLSearchParams({ token: "`+token+`" }) }); return true; })()`)
	b.poll("the numbers live again", `document.getElementById("metrics-stale").hidden && document.getElementById("requests-chart").dataset.polling === "live" &&
		document.getElementById("error").hidden && !document.getElementById("function-metrics").classList.contains("stale")`)
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw: %v", got)
	}
}
