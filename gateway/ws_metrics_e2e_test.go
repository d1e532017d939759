package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketMessageCountAndConnectionsGauge: portico_ws_messages_total
// (CloudWatch's MessageCount) counts the messages sent to the client (a route
// response, @connections POSTs) as well as those from it; portico_ws_connections reads 0 for
// a stage once its last client left (it disappeared), and goes with the
// stage.
func TestWebSocketMessageCountAndConnectionsGauge(t *testing.T) {
	t.Parallel()
	const token = "ws-metrics-token"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	c := env.Client()
	var api struct{ ID string }
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"$default": `ok`}}}}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsm", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": mock}}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var list struct {
		Items []struct {
			ConnectionID string `json:"connectionId"`
		} `json:"items"`
	}
	admin(t, c, "GET", "/portico/v1/apis/"+api.ID+"/stages/dev/connections", nil, nil, &list)
	if len(list.Items) != 1 {
		t.Fatalf("connections: %+v", list)
	}
	id := list.Items[0].ConnectionID
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, ws); got != "ok" { // the route's response
		t.Fatalf("client read %q, want the route response", got)
	}
	for _, m := range []string{"one", "two"} {
		if a := get(t, "POST", env.GatewayURL+"/"+api.ID+"/dev/@connections/"+id, m, "Authorization", "Bearer "+token); a.status != 200 {
			t.Fatalf("POST @connections: %d %s", a.status, a.body)
		}
		if got := wstest.ReadText(t, ws); got != m {
			t.Fatalf("client read %q, want %q", got, m)
		}
	}
	metric := func(name string) (string, bool) {
		a := get(t, "GET", env.AdminURL+"/metrics", "", "Authorization", "Bearer "+token)
		for _, l := range strings.Split(a.body, "\n") {
			if k, v, ok := strings.Cut(l, " "); ok && strings.HasPrefix(k, name+"{") && strings.Contains(k, `api_id="`+api.ID+`"`) {
				return v, true
			}
		}
		return "", false
	}
	// A route response is counted once it is sent, which may be after the
	// client read it: scrape until the count is there.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		v, _ := metric("portico_ws_messages_total")
		if v == "4" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("portico_ws_messages_total = %q, want 4 (one from the client; its route's response and two @connections POSTs to it):\n%s", v, get(t, "GET", env.AdminURL+"/metrics", "", "Authorization", "Bearer "+token).body)
		}
	}
	if v, _ := metric("portico_ws_connections"); v != "1" {
		t.Errorf("portico_ws_connections = %q with a client, want 1", v)
	}
	_ = ws.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) { // until the server saw it go
		admin(t, c, "GET", "/portico/v1/apis/"+api.ID+"/stages/dev/connections", nil, nil, &list)
		if len(list.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection is still listed")
		}
	}
	if v, ok := metric("portico_ws_connections"); v != "0" {
		t.Errorf("portico_ws_connections = %q (present %v) after the last client left, want 0", v, ok)
	}
	admin(t, c, "DELETE", "/portico/v1/apis/"+api.ID+"/stages/dev", nil, nil, nil)
	if v, ok := metric("portico_ws_connections"); ok {
		t.Errorf("portico_ws_connections = %q after the stage was deleted, want no series", v)
	}
}
