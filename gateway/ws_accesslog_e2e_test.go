package gateway_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketAccessLog: a WebSocket stage's access log writes one line
// per $connect, message and $disconnect, with the WebSocket $context
// variables (connectionId, eventType, messageId, connectedAt,
// messageDirection, disconnectStatusCode, ...), as API Gateway's WebSocket
// access logging does. The setting was accepted and nothing was written.
func TestWebSocketAccessLog(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct{ ID string }
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"$default": `ok`}}}}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsal", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$connect", "integration": mock},
			map[string]any{"routeKey": "$disconnect", "integration": mock},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": mock}}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	logFile := filepath.Join(t.TempDir(), "ws.log")
	format := "$context.requestId|$context.eventType|$context.routeKey|$context.connectionId|$context.status|$context.messageId|" +
		"$context.messageDirection|$context.connectedAt|$context.disconnectStatusCode|$context.apiId|$context.stage"
	admin(t, c, "PUT", "/portico/v1/apis/"+api.ID+"/stages/dev/access-log", nil, map[string]string{"format": format, "destinationArn": "file://" + logFile}, nil)

	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, ws); got != "ok" {
		t.Fatalf("client read %q", got)
	}
	_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
	_ = ws.Close()
	var raw []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if raw, _ = os.ReadFile(logFile); strings.Count(string(raw), "\n") >= 3 {
			break
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("access log:\n%s\nwant 3 lines", raw)
	}
	tail := `\|` + regexp.QuoteMeta(api.ID) + `\|dev$`
	// set matches a field holding a value, not the "-" placeholder; random
	// ids may themselves begin with "-" (base64url).
	const set = `(?:[^|-][^|]*|-[^|]+)`
	want := []*regexp.Regexp{
		regexp.MustCompile(`^` + set + `\|CONNECT\|\$connect\|(` + set + `)\|200\|-\|IN\|\d{13}\|-` + tail),
		regexp.MustCompile(`^` + set + `\|MESSAGE\|\$default\|(` + set + `)\|200\|` + set + `\|IN\|\d{13}\|-` + tail),
		regexp.MustCompile(`^` + set + `\|DISCONNECT\|\$disconnect\|(` + set + `)\|200\|-\|IN\|\d{13}\|1000` + tail),
	}
	var ids []string
	for i, re := range want {
		m := re.FindStringSubmatch(lines[i])
		if m == nil {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
			continue
		}
		ids = append(ids, m[1])
	}
	if len(ids) == 3 && (ids[0] != ids[1] || ids[1] != ids[2]) {
		t.Errorf("connection ids %v differ", ids)
	}
}
