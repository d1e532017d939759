package gateway_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketFunctionAnsweredFromItsResult checks the answer path of
// WebSocket routes: on a two-way route, a warm function's result is sent to
// its client by the goroutine that reads it from the sandbox, as the event's
// own reply; a function error and a body over max-message-bytes are answered
// by the message's goroutine with the error frame as before; a one-way route
// sends nothing; a client that leaves before its answer costs the others
// nothing.
func TestWebSocketFunctionAnsweredFromItsResult(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.WebSocket.MaxMessageBytes = 4096 }})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	var api struct {
		ID string `json:"id"`
	}
	fn := map[string]any{"type": "AWS_PROXY", "uri": "function:probe"}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsanswer", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": fn},
			map[string]any{"routeKey": "oneway", "integration": fn},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	url := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api.ID + "/dev"
	dial := func() *websocket.Conn {
		t.Helper()
		ws, _, err := wstest.Dial(websocket.DefaultDialer, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ws.Close() })
		return ws
	}
	var inline atomic.Int32
	gateway.SetWebSocketAnsweredHook(t, func(string) { inline.Add(1) })
	ws := dial()
	exchange := func(msg string) string { t.Helper(); return wstest.Exchange(t, ws, msg) }
	echoed := func(reply, msg string) {
		t.Helper()
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal([]byte(reply), &ev); err != nil || ev.Body != msg || ev.RequestContext.RouteKey != "$default" ||
			ev.RequestContext.EventType != "MESSAGE" || ev.RequestContext.ConnectionID == "" {
			t.Fatalf("reply to %s: %.300s", msg, reply)
		}
	}

	// Warm the function, then five messages: each reply is the event the
	// function was given, sent from its result's goroutine (the first may
	// have started a sandbox).
	echoed(exchange(`{"n":0}`), `{"n":0}`)
	untilAnswered(t, &inline, 4, func(i int) {
		msg := `{"n":` + strconv.Itoa(i+1) + `}`
		echoed(exchange(msg), msg)
	})

	// A function error and a body over max-message-bytes: the error frame,
	// from the message's goroutine. A body within it: the body, inline.
	before := inline.Load()
	for _, msg := range []string{`{"fail":true}`, `{"big":5000}`} {
		if reply := exchange(msg); !strings.HasPrefix(reply, `{"message": "Internal server error", "connectionId":`) {
			t.Fatalf("reply to %s: %.300s", msg, reply)
		}
	}
	if n := inline.Load() - before; n != 0 {
		t.Fatalf("%d of the error and the large result answered inline", n)
	}
	untilAnswered(t, &inline, 1, func(int) {
		if reply := exchange(`{"big":3000}`); reply != strings.Repeat("x", 3000) {
			t.Fatalf("reply to a 3000-byte result: %d bytes %.50s", len(reply), reply)
		}
	})

	// A one-way route sends nothing: the next thing the client reads is the
	// reply to its next message.
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"oneway"}`)); err != nil {
		t.Fatal(err)
	}
	echoed(exchange(`{"n":6}`), `{"n":6}`)

	// A client that leaves while its function runs: the others are answered
	// as before, and so is a new client once that function has finished.
	gone := dial()
	if err := gone.WriteMessage(websocket.TextMessage, []byte(`{"sleep":300}`)); err != nil {
		t.Fatal(err)
	}
	_ = gone.Close()
	echoed(exchange(`{"n":7}`), `{"n":7}`)
	ws = dial()
	for i := 8; i <= 10; i++ {
		msg := `{"n":` + strconv.Itoa(i) + `}`
		echoed(exchange(msg), msg)
	}
}
