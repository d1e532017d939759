package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleManyTabsInChromium: more console tabs on function pages than the
// browser opens connections to a host (6) all show their live log, and a
// further tab loads and invokes: a live log holds no connection. A tab that
// is hidden catches up on its log when it is shown again.
func TestConsoleManyTabsInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	first := newBrowser(t, browser)
	first.navigate(env.AdminURL + "/console/#/functions/echo")
	first.poll("the function page", `document.body.dataset.page === "functions/echo"`)
	thrown := exceptions(t, first)
	tabs := []*browserTab{first}
	for i := 1; i < 8; i++ {
		ctx, cancel := chromedp.NewContext(first.tab) // another tab of the same browser
		t.Cleanup(cancel)
		b := &browserTab{t: t, tab: ctx, shots: first.shots}
		b.navigate(env.AdminURL + "/console/#/functions/echo")
		b.poll(fmt.Sprintf("the function page in tab %d", i+1), `document.body.dataset.page === "functions/echo"`)
		tabs = append(tabs, b)
	}
	// One more tab, on another page.
	ctx, cancel := chromedp.NewContext(first.tab)
	t.Cleanup(cancel)
	extra := &browserTab{t: t, tab: ctx, shots: first.shots}
	extra.navigate(env.AdminURL + "/console/#/apis")
	extra.poll("the API list in a ninth tab", `document.body.dataset.page === "apis"`)

	last := tabs[len(tabs)-1]
	if err := chromedp.Do(last.tab, chromedp.Click(chromedp.ID("invoke"))); err != nil {
		t.Fatal(err)
	}
	last.poll("the invocation's result in the eighth tab", `document.getElementById("invoke-result").dataset.status === "ok"`)
	for i, b := range tabs {
		b.poll(fmt.Sprintf("the invocation in tab %d's live log", i+1), `document.getElementById("logs").textContent.includes("REPORT RequestId")`)
	}
	last.shot("many-tabs")

	// Hidden, a tab reads nothing; shown again, it catches up.
	eval[bool](first, `(() => { Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
		document.dispatchEvent(new Event("visibilitychange")); return true; })()`)
	before := eval[int](first, `document.getElementById("logs").textContent.split("REPORT RequestId").length`)
	if st, body := call(t, env, "POST", "/2015-03-31/functions/echo/invocations", map[string]any{"path": "/while-hidden"}); st != 200 {
		t.Fatalf("invoke: %d %s", st, body)
	}
	eval[bool](first, `(() => { Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
		document.dispatchEvent(new Event("visibilitychange")); return true; })()`)
	first.poll("the hidden tab catching up", fmt.Sprintf(`document.getElementById("logs").textContent.split("REPORT RequestId").length === %d + 1`, before))
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}

// TestConsoleMetricsAcrossARestartInChromium: the metrics page goes on after
// the server restarts (its counters start again from zero): the chart counts
// the requests made since, never less than zero, and the "cannot reach"
// message goes once the page reads the metrics again.
func TestConsoleMetricsAcrossARestartInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	apiID, _ := restAPIWithCanary(t, env)
	// All requests to the stage's deployment: one series to follow.
	call(t, env, "PATCH", "/restapis/"+apiID+"/stages/dev", map[string]any{"patchOperations": []any{
		map[string]any{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0"}}})
	serve := func(n int) {
		t.Helper()
		for range n {
			resp, err := http.Get(env.GatewayURL + "/" + apiID + "/dev/v")
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
	}
	serve(5)
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/metrics")
	thrown := exceptions(t, b)
	b.poll("the chart's first sample", `Number(document.getElementById("requests-chart").dataset.samples) >= 1`)
	serve(3)
	b.poll("the chart taking in 3 requests", `document.getElementById("requests-chart").dataset.drawn >= 3`)
	env.Stop()
	b.poll("the page saying the admin API cannot be reached", `!document.getElementById("error").hidden && document.getElementById("error").textContent.includes("Cannot reach the admin API (GET /metrics)")`)
	env.Restart()
	serve(2)
	b.poll("the message gone and the requests since the restart counted",
		`document.getElementById("error").hidden && Number(document.getElementById("requests-chart").dataset.drawn) >= 5`)
	b.shot("metrics-restart")
	if min := eval[float64](b, `Number(document.getElementById("requests-chart").dataset.min)`); min < 0 {
		t.Errorf("the chart drew %v requests in an interval", min)
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the page threw:\n%s", strings.Join(got, "\n"))
	}
}

// TestConsoleBadLinksInChromium: a link whose route has a malformed
// %-escape shows that the link is bad, rather than throwing and leaving the
// page loading.
func TestConsoleBadLinksInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions")
	b.poll("the function list", `document.body.dataset.page === "functions"`)
	thrown := exceptions(t, b)
	for _, hash := range []string{"#/functions/%E0%A4", "#/apis/%", "#/%zz"} {
		eval[string](b, `location.hash = `+strconvQuote(hash))
		b.poll("the bad link's message for "+hash, `document.body.dataset.page === "bad-link" && document.getElementById("busy").hidden &&
			document.getElementById("bad-link").textContent.includes("not a valid console link")`)
		eval[string](b, `location.hash = "#/functions"`)
		b.poll("the function list", `document.body.dataset.page === "functions"`)
	}
	b.shot("bad-link")
	if got := thrown(); len(got) > 0 {
		t.Errorf("the page threw:\n%s", strings.Join(got, "\n"))
	}
}

// TestConsoleCanaryAndWeightsInChromium: the API page shows a canary's stage
// variable overrides; a function's alias shows each version's share of the
// calls, the alias's own version's included, as precisely as its weight.
func TestConsoleCanaryAndWeightsInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	apiID, deps := restAPIWithCanary(t, env)
	if st, body := call(t, env, "PATCH", "/restapis/"+apiID+"/stages/dev", map[string]any{"patchOperations": []any{
		map[string]any{"op": "replace", "path": "/canarySettings/stageVariableOverrides/alias", "value": "1"},
		map[string]any{"op": "replace", "path": "/canarySettings/stageVariableOverrides/mode", "value": "beta"}}}); st != 200 {
		t.Fatalf("canary overrides: %d %s", st, body)
	}
	createEcho(t, env)
	for i := range 2 {
		if st, body := call(t, env, "PUT", "/2015-03-31/functions/echo/configuration",
			map[string]any{"Environment": map[string]any{"Variables": map[string]string{"RUN": fmt.Sprint(i)}}}); st != 200 {
			t.Fatalf("update: %d %s", st, body)
		}
		if st, body := call(t, env, "POST", "/2015-03-31/functions/echo/versions", map[string]any{}); st != 201 {
			t.Fatalf("publish: %d %s", st, body)
		}
	}
	if st, body := call(t, env, "POST", "/2015-03-31/functions/echo/aliases", map[string]any{"Name": "live", "FunctionVersion": "1",
		"RoutingConfig": map[string]any{"AdditionalVersionWeights": map[string]float64{"2": 0.255}}}); st != 201 {
		t.Fatalf("alias: %d %s", st, body)
	}
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/apis/" + apiID)
	thrown := exceptions(t, b)
	b.poll("the stage", `document.querySelector('section[data-stage="dev"] td.canary') !== null`)
	if got, want := eval[string](b, `document.querySelector('section[data-stage="dev"] td.canary').textContent`),
		"10% to "+deps[0]+"; variables:NameValuealias1modebeta"; !strings.HasPrefix(got, want) {
		t.Errorf("the canary reads %q, want %q", got, want)
	}
	b.shot("canary-overrides")
	b.navigate(env.AdminURL + "/console/#/functions/echo")
	b.poll("the aliases", `document.querySelector('#aliases tr[data-alias="live"]') !== null`)
	if got, want := eval[string](b, `document.querySelector('#aliases tr[data-alias="live"] td.weights').textContent`), "1: 74.5%, 2: 25.5%"; got != want {
		t.Errorf("the alias's weights read %q, want %q", got, want)
	}
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}
