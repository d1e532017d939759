package gateway_test

import (
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketHTTPConnectKeepsAuthorizerContext: a connection whose
// $connect has a Lambda authorizer and an HTTP integration keeps the
// authorizer's context, as API Gateway does whatever $connect's integration:
// a later message's context.authorizer.NAME mappings see it. Before, only
// AWS_PROXY and MOCK $connect integrations kept it, and the message's
// mapping found nothing.
func TestWebSocketHTTPConnectKeepsAuthorizerContext(t *testing.T) {
	for _, typ := range []string{"HTTP", "HTTP_PROXY"} {
		t.Run(typ, func(t *testing.T) {
			setup := func(env *apptest.Env) map[string]any {
				createAuthzFunction(t, env)
				return map[string]any{"authorizers": wsConnAuthorizers}
			}
			ws, calls := wsMappedAPIWith(t, "?token=good", nil, setup, func(backend string) []any {
				return []any{
					map[string]any{"routeKey": "$connect", "security": []any{map[string]any{"conn": []any{}}}, "integration": map[string]any{
						"type": typ, "httpMethod": "POST", "uri": backend + "/connect",
						"requestParameters": map[string]string{"integration.request.header.X-User": "context.authorizer.user"}}},
					map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
						"type": "HTTP", "httpMethod": "POST", "uri": backend + "/msg",
						"requestParameters": map[string]string{
							"integration.request.header.X-User":  "context.authorizer.user",
							"integration.request.header.X-Level": "context.authorizer.level",
						}}},
				}
			})
			if conn := <-calls; conn.header.Get("X-User") != "dave" {
				t.Errorf("$connect: X-User %q, want dave", conn.header.Get("X-User"))
			}
			if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"text":"hi"}`)); err != nil {
				t.Fatal(err)
			}
			if got := wstest.ReadText(t, ws); !strings.HasPrefix(got, "/msg ") {
				t.Errorf("message answered %q", got)
			}
			msg := <-calls
			if msg.header.Get("X-User") != "dave" || msg.header.Get("X-Level") != "3" {
				t.Errorf("message: X-User %q, X-Level %q, want dave and 3 (the $connect authorizer's context)",
					msg.header.Get("X-User"), msg.header.Get("X-Level"))
			}
		})
	}
}
