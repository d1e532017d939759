package console_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// timeFormat is the one way the console writes times.
const timeFormat = `/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/`

// TestConsoleAccessibilityInChromium: every page titles the window after its
// heading; a navigation moves the focus to the new page's heading; a skip link
// comes first; the invoke result is a live region and the metrics chart has an
// accessible name; a route with parts no page has shows "No such page".
func TestConsoleAccessibilityInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions")
	thrown := exceptions(t, b)
	b.poll("the function list", `document.body.dataset.page === "functions" && !document.body.dataset.loading`)
	if got := eval[string](b, `document.title`); got != "Functions – Portico console" {
		t.Errorf("title %q", got)
	}
	if got := eval[string](b, `document.querySelector("a, button, input").id`); got != "skip-link" {
		t.Errorf("the first control is %q, not the skip link", got)
	}
	if got := eval[string](b, `(() => { document.getElementById("skip-link").click(); return document.activeElement.textContent; })()`); got != "Functions" {
		t.Errorf("the skip link moved the focus to %q", got)
	}
	if !eval[bool](b, `[...document.querySelectorAll("#functions td:nth-child(6)")].every(td => `+timeFormat+`.test(td.textContent))`) {
		t.Errorf("the functions' Last modified: %q", eval[[]string](b, `[...document.querySelectorAll("#functions td:nth-child(6)")].map(td => td.textContent)`))
	}
	for _, p := range []struct{ hash, page, title, focus string }{
		{"#/functions/echo", "functions/echo", "Function echo – Portico console", "Function echo"},
		{"#/metrics", "metrics", "Metrics – Portico console", "Metrics"},
		{"#/keys", "keys", "API keys – Portico console", "API keys"},
		{"#/functions/echo/zz", "functions/echo/zz", "No such page – Portico console", "No such page"},
		{"#/metrics/more", "metrics/more", "No such page – Portico console", "No such page"},
		{"#/apis/x/y", "apis/x/y", "No such page – Portico console", "No such page"},
		{"#/keys/k", "keys/k", "No such page – Portico console", "No such page"},
		{"#/bogus", "bogus", "No such page – Portico console", "No such page"},
		{"#/apis/", "apis", "APIs – Portico console", "APIs"},
	} {
		eval[string](b, `location.hash = `+strconvQuote(p.hash))
		b.poll("the page of "+p.hash, `document.body.dataset.page === `+strconvQuote(p.page)+` && !document.body.dataset.loading`)
		if got := eval[string](b, `document.title`); got != p.title {
			t.Errorf("%s: title %q, want %q", p.hash, got, p.title)
		}
		if got := eval[string](b, `document.activeElement.tagName + ": " + document.activeElement.textContent`); got != "H1: "+p.focus {
			t.Errorf("%s: the focus is on %q, want the heading %q", p.hash, got, p.focus)
		}
		switch p.page {
		case "functions/echo":
			if got := eval[string](b, `document.getElementById("invoke-result").getAttribute("aria-live")`); got != "polite" {
				t.Errorf("the invoke result's aria-live is %q", got)
			}
			if !eval[bool](b, `[...document.querySelectorAll("#versions td:nth-child(4)")].every(td => `+timeFormat+`.test(td.textContent))`) {
				t.Errorf("the versions' Last modified: %q", eval[[]string](b, `[...document.querySelectorAll("#versions td:nth-child(4)")].map(td => td.textContent)`))
			}
		case "metrics":
			c := eval[[]string](b, `(c => [c.getAttribute("role"), c.getAttribute("aria-label") || ""])(document.getElementById("requests-chart"))`)
			if c[0] != "img" || !strings.Contains(c[1], "requests per stage") {
				t.Errorf("the chart's role and name: %q", c)
			}
		}
	}
	b.shot("not-found")
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}

// TestConsoleConfirmationsAndFeedbackInChromium: Roll back and Promote ask
// first (and do nothing when told no); an empty usage plan says it has no
// keys; Send says the message went; connection times are written as every
// other time is.
func TestConsoleConfirmationsAndFeedbackInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	apiID, deps := restAPIWithCanary(t, env)
	if st, body := call(t, env, "POST", "/usageplans", map[string]any{"name": "empty"}); st != 201 {
		t.Fatalf("usage plan: %d %s", st, body)
	}
	stage := func() (deployment, canary string, percent float64) {
		t.Helper()
		var st struct {
			DeploymentID   string `json:"deploymentId"`
			CanarySettings struct {
				DeploymentID   string  `json:"deploymentId"`
				PercentTraffic float64 `json:"percentTraffic"`
			} `json:"canarySettings"`
		}
		_, body := call(t, env, "GET", "/restapis/"+apiID+"/stages/dev", nil)
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return st.DeploymentID, st.CanarySettings.DeploymentID, st.CanarySettings.PercentTraffic
	}
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/apis/" + apiID)
	thrown := exceptions(t, b)
	b.poll("the stage", `document.querySelectorAll("button.rollback").length === 2 && document.querySelector("button.promote") !== null`)
	before, _, _ := stage()
	// Told no: nothing changes.
	// (Roll back reads the stage before it asks: the questions come in any order.)
	eval[bool](b, `(() => {
		window.asked = [];
		window.confirm = m => { window.asked.push(m); return false; };
		document.querySelector('button.rollback[data-deployment="`+deps[0]+`"]').click();
		document.querySelector("button.promote").click();
		return true; })()`)
	b.poll("both questions", `window.asked.length === 2`)
	asked := eval[[]string](b, `window.asked.slice().sort()`)
	if len(asked) != 2 || !strings.Contains(asked[0], "Promote the canary of stage dev") ||
		!strings.Contains(asked[1], "Roll back stage dev to deployment "+deps[0]+"? It serves deployment "+before+" now") {
		t.Errorf("the questions: %q", asked)
	}
	if dep, canary, pct := stage(); dep != before || canary != deps[0] || pct != 10 {
		t.Errorf("after no: stage on %s, canary %s at %v%%", dep, canary, pct)
	}
	// Told yes: the rollback happens.
	eval[bool](b, `(() => { window.confirm = () => true; document.querySelector('button.rollback[data-deployment="`+deps[0]+`"]').click(); return true; })()`)
	b.poll("the rollback", `document.querySelector('section[data-stage="dev"] td.deployment').textContent === "`+deps[0]+`"`)
	if dep, _, _ := stage(); dep != deps[0] {
		t.Errorf("after yes: stage on %s, want %s", dep, deps[0])
	}
	if !eval[bool](b, `[...document.querySelectorAll("table.history td:first-child")].every(td => `+timeFormat+`.test(td.textContent))`) {
		t.Errorf("the history's times: %q", eval[[]string](b, `[...document.querySelectorAll("table.history td:first-child")].map(td => td.textContent)`))
	}

	b.navigate(env.AdminURL + "/console/#/keys")
	b.poll("the usage plans", `document.body.dataset.page === "keys" && !document.body.dataset.loading`)
	if got := eval[string](b, `(p => p ? p.textContent : "")(document.querySelector(".no-keys"))`); got != "No API keys in this plan." {
		t.Errorf("the empty plan says %q", got)
	}

	// A WebSocket connection to send to.
	_, conn := echoConnection(t, env)
	b.navigate(env.AdminURL + "/console/#/connections")
	b.poll("the connection", `document.querySelector("#connections input.message") !== null`)
	if !eval[bool](b, `(td => `+timeFormat+`.test(td.textContent))(document.querySelector("#connections td.connected"))`) {
		t.Errorf("the connection's time: %q", eval[string](b, `document.querySelector("#connections td.connected").textContent`))
	}
	if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.CSS("#connections input.message"), "hello from the console"),
		chromedp.Click(chromedp.CSS("#connections button.send"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the Send feedback", `document.querySelector("#connections .sent").textContent.startsWith("Sent at ")`)
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "hello from the console" {
		t.Errorf("the connection got %q, %v", msg, err)
	}
	b.shot("connection-sent")
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
