package console_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleStalePageInChromium: a change that fails because the page is out
// of date (the CLI or another tab changed things since it loaded) shows the
// server's error and reloads the page, so that its buttons match the server:
// Promote of a canary removed since, Send to a connection closed since. A
// rollback asks naming the deployment the stage serves now, read again, not
// the one the stale page shows, so that undoing another tab's rollback is a
// choice.
func TestConsoleStalePageInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	apiID, deps := restAPIWithCanary(t, env)
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/apis/" + apiID)
	thrown := exceptions(t, b)
	const promote = `section[data-stage="dev"] button.promote`
	b.poll("the stage's Promote button", `document.querySelector('`+promote+`') !== null`)

	// The canary goes (portico stage canary API dev --remove), then Promote.
	if st, body := call(t, env, "PATCH", "/restapis/"+apiID+"/stages/dev", map[string]any{"patchOperations": []any{
		map[string]any{"op": "remove", "path": "/canarySettings"}}}); st != 200 {
		t.Fatalf("remove the canary: %d %s", st, body)
	}
	eval[bool](b, `(() => { window.confirm = () => true; document.querySelector('`+promote+`').click(); return true; })()`)
	b.poll("the error, and the page without the canary", `!document.getElementById("error").hidden &&
		document.getElementById("error").textContent.includes("no canary") &&
		!document.body.dataset.loading && document.querySelector('section[data-stage="dev"]') !== null &&
		document.querySelector('`+promote+`') === null`)
	b.shot("stale-promote")

	// Another tab rolls the stage back to deps[0]; this one, still showing
	// deps[2], offers deps[1] and names deps[0] when it asks.
	if st, body := call(t, env, "POST", "/portico/v1/apis/"+apiID+"/stages/dev/rollback", map[string]any{"deploymentId": deps[0]}); st != 200 {
		t.Fatalf("roll back: %d %s", st, body)
	}
	if got := eval[string](b, `document.querySelector('section[data-stage="dev"] td.deployment').textContent`); got != deps[2] {
		t.Fatalf("the page shows deployment %s, want the stale %s", got, deps[2])
	}
	eval[bool](b, `(() => { window.asked = []; window.confirm = m => { window.asked.push(m); return false; };
		document.querySelector('button.rollback[data-deployment="`+deps[1]+`"]').click(); return true; })()`)
	b.poll("the question", `window.asked.length === 1`)
	if got := eval[string](b, `window.asked[0]`); !strings.Contains(got, "It serves deployment "+deps[0]+" now") {
		t.Errorf("the rollback asks %q: it does not name the deployment the stage serves now, %s", got, deps[0])
	}
	// Told no, the page shows what the stage serves now.
	b.poll("the page reloaded", `!document.body.dataset.loading && (document.querySelector('section[data-stage="dev"] td.deployment') || {}).textContent === "`+deps[0]+`"`)
	var stage struct {
		DeploymentID string `json:"deploymentId"`
	}
	_, body := call(t, env, "GET", "/portico/v1/apis/"+apiID+"/stages/dev", nil)
	if err := json.Unmarshal(body, &stage); err != nil || stage.DeploymentID != deps[0] {
		t.Errorf("after no, the stage serves %q (%v), want %s", stage.DeploymentID, err, deps[0])
	}

	// A connection closed from the CLI, then Send on the stale page.
	wsID, _ := echoConnection(t, env)
	eval[string](b, `location.hash = "#/connections"`)
	b.poll("the connection", `document.querySelector("#connections button.send") !== null`)
	id := eval[string](b, `document.querySelector("#connections tr[data-connection]").dataset.connection`)
	if st, body := call(t, env, "DELETE", "/portico/v1/apis/"+wsID+"/stages/dev/connections/"+id, nil); st != 204 && st != 200 {
		t.Fatalf("close the connection: %d %s", st, body)
	}
	eval[bool](b, `(() => { document.querySelector("#connections button.send").click(); return true; })()`)
	b.poll("the error, and the list without the connection", `!document.getElementById("error").hidden &&
		document.getElementById("error").textContent.includes("410") && !document.body.dataset.loading &&
		document.body.dataset.page === "connections" && document.querySelector("#connections button.send") === null`)
	b.shot("stale-connection")
	if got := thrown(); len(got) > 0 {
		t.Errorf("the pages threw:\n%s", strings.Join(got, "\n"))
	}
}

// echoConnection creates function echo and a WebSocket API that routes to it,
// deployed to stage dev, and opens a connection to it (closed when the test
// ends); it returns the API's id and the connection.
func echoConnection(t *testing.T, env *apptest.Env) (string, *websocket.Conn) {
	t.Helper()
	createEcho(t, env)
	var ws struct{ ID string }
	_, body := call(t, env, "POST", "/portico/v1/apis", map[string]any{"name": "ws", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"routes": []any{map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo"}}}})
	if err := json.Unmarshal(body, &ws); err != nil || ws.ID == "" {
		t.Fatalf("websocket api: %s", body)
	}
	if st, body := call(t, env, "POST", "/portico/v1/apis/"+ws.ID+"/deployments", map[string]any{"stageName": "dev"}); st != 201 {
		t.Fatalf("deploy: %d %s", st, body)
	}
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+ws.ID+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = conn.Close() })
	return ws.ID, conn
}
