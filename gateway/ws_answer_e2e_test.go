package gateway_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketFunctionAnsweredFromItsResult checks the answer path of
// WebSocket routes: on a two-way route, a warm function's result is sent to
// its client by the goroutine that reads it from the sandbox, as the event's
// own reply; a function error and a body over max-message-bytes are answered
// by the message's goroutine with the error frame as before; a one-way route
// sends nothing; a client that leaves before its answer costs the others
// nothing. The execution and access logs see an answered result's status and
// body, as they see those of a result the message's goroutine answers.
func TestWebSocketFunctionAnsweredFromItsResult(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.WebSocket.MaxMessageBytes = 4096 },
		LogLevel: slog.LevelInfo, LogWriter: logs})
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
	admin(t, c, "PATCH", "/v2/apis/"+api.ID+"/stages/dev", nil, map[string]any{
		"defaultRouteSettings": map[string]any{"loggingLevel": "INFO", "dataTraceEnabled": true}}, nil)
	logFile := filepath.Join(t.TempDir(), "ws.log")
	admin(t, c, "PUT", "/portico/v1/apis/"+api.ID+"/stages/dev/access-log", nil, map[string]string{
		"format": "$context.requestId $context.routeKey $context.status", "destinationArn": "file://" + logFile}, nil)
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

	// A result answered inline with a 4xx: logged with its status (the
	// execution log with its body), not as a 200.
	teapots := 0
	untilAnswered(t, &inline, 1, func(int) {
		teapots++
		if reply := exchange(`{"big":7,"status":418}`); reply != "xxxxxxx" {
			t.Fatalf("reply to a 418 result: %q", reply)
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

	env.Stop() // the dispatches' logs are written
	var completed []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "execution: route completed") && strings.Contains(l, "status=418") {
			completed = append(completed, l)
		}
	}
	if len(completed) != teapots {
		t.Errorf("execution log of %d 418 results: %q", teapots, completed)
	}
	for _, l := range completed {
		if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "responseBody=xxxxxxx") {
			t.Errorf("execution log of a 418 result: %s", l)
		}
	}
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(raw), " $default 418\n"); got != teapots {
		t.Errorf("access log: %d lines of a 418, want %d:\n%s", got, teapots, raw)
	}
}
