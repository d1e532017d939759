package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// exceptions collects what the page throws and leaves uncaught from now on.
// The tab is opened first (chromedp.Do with no action attaches its target):
// chromedp.Console on a tab not yet attached races with the attaching (a data
// race in chromedp, seen in CI when a test called this before its first
// navigation).
func exceptions(t *testing.T, b *browserTab) func() []string {
	t.Helper()
	if err := chromedp.Do(b.tab); err != nil {
		t.Fatalf("opening the tab: %v", err)
	}
	var mu sync.Mutex
	var thrown []string
	ctx, stop := context.WithCancel(b.tab)
	t.Cleanup(stop)
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.IsException() {
				mu.Lock()
				thrown = append(thrown, m.String())
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), thrown...)
	}
}

// restAPIWithCanary makes a REST API whose stage dev has had three
// deployments, and a canary; it returns the API's id and the deployment ids,
// oldest first.
func restAPIWithCanary(t *testing.T, env *apptest.Env) (string, []string) {
	t.Helper()
	var api struct{ ID string }
	_, body := call(t, env, "POST", "/portico/v1/apis", map[string]any{"name": "stages", "protocol": "REST"})
	if err := json.Unmarshal(body, &api); err != nil || api.ID == "" {
		t.Fatalf("create api: %s", body)
	}
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200"}}}
	if st, body := call(t, env, "POST", "/portico/v1/apis/"+api.ID+"/routes", map[string]any{"method": "GET", "path": "/v", "integration": mock}); st != 201 {
		t.Fatalf("create route: %d %s", st, body)
	}
	var deps []string
	for range 3 {
		var dep struct{ Deployment struct{ ID string } }
		_, body := call(t, env, "POST", "/portico/v1/apis/"+api.ID+"/deployments", map[string]any{"stageName": "dev"})
		_ = json.Unmarshal(body, &dep)
		deps = append(deps, dep.Deployment.ID)
	}
	if st, body := call(t, env, "PATCH", "/restapis/"+api.ID+"/stages/dev", map[string]any{"patchOperations": []any{
		map[string]any{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "10"},
		map[string]any{"op": "replace", "path": "/canarySettings/deploymentId", "value": deps[0]},
	}}); st != 200 {
		t.Fatalf("set up the canary: %d %s", st, body)
	}
	return api.ID, deps
}

// TestConsoleUnreachableInChromium: with the server stopped under an open
// console, every action (Invoke, Roll back, Promote, Send, Disconnect) and a
// navigation show at the top of the page that the admin API cannot be
// reached, naming the call, and the invoke form and the live log say what
// happened (the live log goes on when the server is back); nothing is left
// uncaught. The console of a server without a token offers no "Sign out",
// which would do nothing there.
func TestConsoleUnreachableInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	apiID, _ := restAPIWithCanary(t, env)

	b := newBrowser(t, browser)
	// unreachable waits for the error box to say that the call named cannot
	// reach the admin API, then clears it.
	unreachable := func(what, call string) {
		t.Helper()
		b.poll(what, fmt.Sprintf(`!document.getElementById("error").hidden && document.getElementById("error").textContent.includes(%q)`,
			"Cannot reach the admin API ("+call+"): is portico serve running?"))
		b.shot("unreachable-" + strings.ReplaceAll(what, " ", "-"))
		eval[bool](b, `(() => { document.getElementById("error").hidden = true; document.getElementById("error").textContent = ""; return true; })()`)
	}
	click := func(sel string) {
		t.Helper()
		if err := chromedp.Do(b.tab, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}

	// Invoke, and the live log.
	b.navigate(env.AdminURL + "/console/#/functions/echo")
	thrown := exceptions(t, b) // once the tab is open
	b.poll("the function page", `document.body.dataset.page === "functions/echo"`)
	if !eval[bool](b, `document.getElementById("sign-out").hidden`) {
		t.Errorf("a server without a token: the console offers Sign out")
	}
	env.Stop()
	click("#invoke")
	unreachable("invoke", "POST /2015-03-31/functions/echo/invocations")
	if got := eval[string](b, `document.getElementById("invoke-result").dataset.status`); got != "failed" {
		t.Errorf("the invoke result's status is %q, want failed", got)
	}
	b.poll("the live log saying it cannot reach the server", `document.getElementById("logs").dataset.status === "error" && document.getElementById("logs").textContent.includes("The live log cannot reach the admin API")`)

	// The live log goes on once the server is back, from the log's end.
	env.Restart()
	b.poll("the live log going on", `document.getElementById("logs").dataset.status === "live" && document.getElementById("logs").textContent.includes("The admin API answers again") &&
		document.getElementById("logs").textContent.includes("The server restarted")`)

	// Roll back and Promote.
	b.navigate(env.AdminURL + "/console/#/apis/" + apiID)
	b.poll("the stage's buttons", `document.querySelector("button.rollback") !== null && document.querySelector("button.promote") !== null`)
	eval[bool](b, `(() => { window.confirm = () => true; return true; })()`) // the page asks before it rolls back or promotes
	env.Stop()
	click("button.rollback")
	unreachable("roll back", "GET /portico/v1/apis/"+apiID+"/stages/dev") // it reads the stage before it asks
	click("button.promote")
	unreachable("promote", "GET /portico/v1/apis/"+apiID+"/stages/dev") // so does Promote

	// Send and Disconnect, on a list of connections the browser is given.
	env.Restart()
	listed, err := json.Marshal(map[string]any{"items": []map[string]any{{"apiId": apiID, "stage": "dev", "connectionId": "conn-1=",
		"connectedAt": "2026-01-01T00:00:00Z", "lastActiveAt": "2026-01-01T00:00:00Z", "sourceIp": "127.0.0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	fulfil(t, b, "*/console/api/portico/v1/connections", listed, func() {
		b.navigate(env.AdminURL + "/console/#/connections")
	})
	b.poll("the connection", `document.querySelector('tr[data-connection="conn-1="] button.disconnect') !== null`)
	env.Stop()
	if err := chromedp.Do(b.tab, chromedp.SetValue(chromedp.CSS("input.message"), "hi")); err != nil {
		t.Fatal(err)
	}
	click("button.send")
	unreachable("send", "POST /portico/v1/apis/"+apiID+"/stages/dev/connections/conn-1%3D")
	click("button.disconnect")
	unreachable("disconnect", "DELETE /portico/v1/apis/"+apiID+"/stages/dev/connections/conn-1%3D")

	// A navigation.
	eval[string](b, `location.hash = "#/apis"`)
	unreachable("navigation", "GET /portico/v1/apis")

	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}

// fulfil answers the first request of the page that matches pattern, made
// while do runs, with body (200, JSON) instead of the server's answer.
func fulfil(t *testing.T, b *browserTab, pattern string, body []byte, do func()) {
	t.Helper()
	ctx, stop := context.WithCancel(b.tab)
	defer stop()
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(b.tab, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = chromedp.Call(b.tab, fetch.Disable, cdp.Empty{}) }()
	done := make(chan error, 1)
	go func() {
		for ev, err := range paused {
			if err == nil {
				_, err = chromedp.Call(b.tab, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 200,
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}}, Body: body})
			}
			done <- err
			return
		}
	}()
	do()
	if err := <-done; err != nil {
		t.Fatalf("answering %s: %v", pattern, err)
	}
}

// TestConsoleSessionInChromium: the sign-in page puts the cursor in the token
// field; signing in lands on the page the user asked for (its hash route);
// when the session's cookie is gone the console says what may have happened
// (the cookie gone or expired, or the token changed), and "Sign in again"
// brings the user back to the same page; "Sign out" is offered.
func TestConsoleSessionInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	createEcho(t, env)
	b := newBrowser(t, browser)
	signIn := func(what string) {
		t.Helper()
		b.poll(what, `document.getElementById("token") !== null && document.activeElement === document.getElementById("token")`)
		if err := chromedp.Do(b.tab, chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.ID("sign-in"))); err != nil {
			t.Fatal(err)
		}
		b.poll("the function page after "+what, `document.body.dataset.page === "functions/echo" && location.hash === "#/functions/echo"`)
	}
	b.navigate(env.AdminURL + "/console/#/functions/echo")
	thrown := exceptions(t, b) // once the tab is open
	signIn("the sign-in page, its token field focused")
	if eval[bool](b, `document.getElementById("sign-out").hidden`) {
		t.Errorf("signed in with a token: the console offers no Sign out")
	}

	if _, err := chromedp.Call(b.tab, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b.tab, chromedp.Click(chromedp.ID("invoke"))); err != nil {
		t.Fatal(err)
	}
	b.poll("the signed-out notice", `document.getElementById("error").dataset.kind === "signed-out" && !document.getElementById("error").hidden`)
	if got := eval[string](b, `document.getElementById("error").textContent`); !strings.Contains(got, "its cookie is gone or expired, the server restarted, or its admin token changed") {
		t.Errorf("the signed-out notice reads %q", got)
	}
	if err := chromedp.Do(b.tab, chromedp.Click(chromedp.ID("sign-in-again"))); err != nil {
		t.Fatal(err)
	}
	signIn("signing in again")
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}

// TestConsoleAccessibleNamesInChromium: every control of the console's pages
// has an accessible name, and the buttons that repeat on a page (one per
// deployment, one per connection) each name what they act on, and apart from
// each other when two act on the same deployment (a stage's history has it
// twice after a rollback); every column header has a name.
func TestConsoleAccessibleNamesInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	createEcho(t, env)
	apiID, deps := restAPIWithCanary(t, env)
	b := newBrowser(t, browser)
	// names lists the controls of the page as "tag: accessible name" (as a
	// screen reader would name them: aria-label, else the labels, else the
	// text), one a line.
	names := func() []string {
		t.Helper()
		return eval[[]string](b, `[...document.querySelectorAll("main input, main select, main textarea, main button")].map(e =>
			e.tagName.toLowerCase() + ": " + (e.getAttribute("aria-label") || [...(e.labels || [])].map(l => l.textContent.trim()).join(" ") ||
			(e.tagName === "BUTTON" ? e.textContent.trim() : "")))`)
	}
	check := func(page string, want ...string) {
		t.Helper()
		got := names()
		seen := map[string]bool{}
		for _, n := range got {
			if strings.HasSuffix(n, ": ") {
				t.Errorf("%s: a control without an accessible name (%q)", page, got)
			}
			if seen[n] {
				t.Errorf("%s: two controls named %q", page, n)
			}
			seen[n] = true
		}
		for _, w := range want { // a name, or the start of one
			found := false
			for _, n := range got {
				found = found || strings.HasPrefix(n, w)
			}
			if !found {
				t.Errorf("%s: no control named %q among %q", page, w, got)
			}
		}
		if empty := eval[int](b, `[...document.querySelectorAll("main th")].filter(th => th.textContent.trim() === "").length`); empty > 0 {
			t.Errorf("%s: %d column headers without a name", page, empty)
		}
	}
	b.navigate(env.AdminURL + "/console/#/functions")
	b.poll("the function list", `document.getElementById("function-filter") !== null`)
	check("functions", "input: Filter functions by name or description")
	b.navigate(env.AdminURL + "/console/#/functions/echo")
	b.poll("the function page", `document.body.dataset.page === "functions/echo"`)
	check("function", "select: Qualifier", "textarea: Payload (JSON)", "button: Invoke")
	for _, d := range []string{deps[0], deps[1]} { // deps[0] twice in the history, neither current
		if st, body := call(t, env, "POST", "/portico/v1/apis/"+apiID+"/stages/dev/rollback", map[string]any{"deploymentId": d}); st != 200 {
			t.Fatalf("roll back to %s: %d %s", d, st, body)
		}
	}
	b.navigate(env.AdminURL + "/console/#/apis/" + apiID)
	b.poll("the stage", `document.querySelectorAll("button.rollback").length === 3`)
	check("api", "button: Roll back stage dev to deployment "+deps[0]+" (history entry 1: create", "button: Roll back stage dev to deployment "+deps[2],
		"button: Roll back stage dev to deployment "+deps[0]+" (history entry 4: rollback", "button: Promote the canary of stage dev")
	listed, _ := json.Marshal(map[string]any{"items": []map[string]any{
		{"apiId": apiID, "stage": "dev", "connectionId": "conn-1=", "connectedAt": "", "lastActiveAt": "", "sourceIp": "127.0.0.1"},
		{"apiId": apiID, "stage": "dev", "connectionId": "conn-2=", "connectedAt": "", "lastActiveAt": "", "sourceIp": "127.0.0.1"}}})
	fulfil(t, b, "*/console/api/portico/v1/connections", listed, func() {
		b.navigate(env.AdminURL + "/console/#/connections")
	})
	b.poll("the connections", `document.querySelectorAll("button.disconnect").length === 2`)
	check("connections", "input: Message to connection conn-1=", "button: Disconnect connection conn-2=",
		"button: Send the message to connection conn-1=")
}
