package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/execlog"
	"github.com/portico-dev/portico/gateway/metrics"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/internal/wstest"
)

// The gateway tells these stages of WebSocket route dispatches.
var (
	_ gateway.WebSocketObserver = (*metrics.Stage)(nil)
	_ gateway.WebSocketLogger   = (*execlog.Stage)(nil)
)

// TestWebSocketRouteSettingsApply sets one WebSocket route's routeSettings
// (loggingLevel INFO with data tracing, detailedMetricsEnabled) under
// defaultRouteSettings that log and measure nothing, and finds through the
// real server that the route's messages are logged with their body and
// counted under its route key, and the other route's neither.
func TestWebSocketRouteSettingsApply(t *testing.T) {
	t.Parallel()
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelDebug, LogWriter: logs})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"$default": `ok $context.routeKey`}}}}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wslogs", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": mock},
			map[string]any{"routeKey": "loud", "routeResponseSelectionExpression": "$default", "integration": mock},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "PATCH", "/v2/apis/"+api.ID+"/stages/dev", nil, map[string]any{
		"defaultRouteSettings": map[string]any{"loggingLevel": "OFF", "detailedMetricsEnabled": false},
		"routeSettings":        map[string]any{"loud": map[string]any{"loggingLevel": "INFO", "dataTraceEnabled": true, "detailedMetricsEnabled": true}},
	}, nil)

	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	exchange := func(msg string) string {
		t.Helper()
		before := len(logs.String())
		if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if got := wstest.ReadText(t, ws); !strings.HasPrefix(got, "ok ") {
			t.Fatalf("%s: %q", msg, got)
		}
		var lines []string
		for _, l := range strings.Split(logs.String()[before:], "\n") {
			if strings.Contains(l, "execution: route") {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	got := exchange(`{"action":"loud","note":"traced"}`)
	if !strings.Contains(got, "execution: route request") || !strings.Contains(got, "execution: route completed") || !strings.Contains(got, "traced") {
		t.Errorf("a message to loud (INFO with data tracing) logged:\n%s", got)
	}
	if got := exchange(`{"action":"other"}`); got != "" {
		t.Errorf("a message to $default (OFF) logged:\n%s", got)
	}

	wants := []string{
		`portico_ws_messages_total{api_id="` + api.ID + `",api_name="wslogs",route="loud",stage="dev"} 1`,
		// The message to $default, and the two route responses to the
		// client (MessageCount counts both ways; they have no route).
		`portico_ws_messages_total{api_id="` + api.ID + `",api_name="wslogs",route="",stage="dev"} 3`,
	}
	// A message to the client is counted once it is sent, which may be
	// after the client read it: scrape until the counts are there.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(env.AdminURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var missing []string
		for _, want := range wants {
			if !strings.Contains(string(body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics has no %s", strings.Join(missing, ", no "))
		}
	}
}
