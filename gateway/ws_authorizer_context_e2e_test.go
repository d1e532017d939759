package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketAuthorizerContextInLogsAndTemplates: the principal and
// context a WebSocket API's $connect authorizer answered with are
// $context.authorizer.principalId and $context.authorizer.NAME in the
// stage's access log, on the $connect line and on the lines of the
// connection's later messages, and in the connection's messages' mapping
// templates, as API Gateway has them. The access log wrote "-" and the
// templates rendered nothing.
func TestWebSocketAuthorizerContextInLogsAndTemplates(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createAuthzFunction(t, env)
	const vars = `$context.authorizer.principalId/$context.authorizer.room/$context.authorizer.level`
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"$default": vars}}}}
	// An HTTP integration's request template: the backend echoes what it
	// rendered.
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	}))
	defer backend.Close()
	echo := map[string]any{"type": "HTTP", "httpMethod": "POST", "uri": backend.URL + "/echo",
		"requestTemplates": map[string]string{"$default": "sent " + vars},
		"responses":        map[string]any{"default": map[string]any{"statusCode": "200"}}}
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsauthctx", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action",
		"authorizers":              wsConnAuthorizers,
		"routes": []any{
			map[string]any{"routeKey": "$connect", "security": []any{map[string]any{"conn": []any{}}}, "integration": mock},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": mock},
			map[string]any{"routeKey": "send", "routeResponseSelectionExpression": "$default", "integration": echo}}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	logFile := filepath.Join(t.TempDir(), "ws.log")
	format := "$context.requestId|$context.eventType|$context.authorizer.principalId|$context.authorizer.room|$context.authorizer.level|$context.authorizer.vip"
	admin(t, c, "PUT", "/portico/v1/apis/"+api.ID+"/stages/dev/access-log", nil, map[string]string{"format": format, "destinationArn": "file://" + logFile}, nil)

	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/dev?token=good", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, ws); got != "dave/lobby/3" {
		t.Errorf("the message's response template rendered %q, want dave/lobby/3", got)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"send"}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, ws); got != "sent dave/lobby/3" {
		t.Errorf("the HTTP integration's request template rendered %q, want sent dave/lobby/3", got)
	}
	var raw []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if raw, _ = os.ReadFile(logFile); strings.Count(string(raw), "\n") >= 3 {
			break
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	want := []string{"CONNECT|dave|lobby|3|true", "MESSAGE|dave|lobby|3|true", "MESSAGE|dave|lobby|3|true"}
	if len(lines) != len(want) {
		t.Fatalf("access log:\n%s\nwant %d lines", raw, len(want))
	}
	for i, l := range lines {
		if _, rest, _ := strings.Cut(l, "|"); rest != want[i] {
			t.Errorf("access log line %d %q, want ...|%s", i, l, want[i])
		}
	}
}
