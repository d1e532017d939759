package gateway_test

import (
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketBodyMappingFromTheRoot: route.request.body.$.x is a JSONPath
// expression from the message's root, as API Gateway's data mapping writes
// it, and maps the member x as route.request.body.x does. Before, it was
// stored and mapped to nothing (the ws8 tester's `a` header never came).
func TestWebSocketBodyMappingFromTheRoot(t *testing.T) {
	ws, calls := wsMappedAPI(t, "", nil, func(backend string) []any {
		return []any{
			map[string]any{"routeKey": "dollar", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "POST", "uri": backend + "/x",
				"requestParameters": map[string]string{
					"integration.request.header.a":        "route.request.body.$.x",
					"integration.request.querystring.who": "route.request.body.$.user.name",
				}}},
		}
	})
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"dollar","x":"DX","user":{"name":"ann"}}`)); err != nil {
		t.Fatal(err)
	}
	if got := wstest.ReadText(t, ws); !strings.HasPrefix(got, "/x ") {
		t.Errorf("answered %q", got)
	}
	call := <-calls
	if call.header.Get("A") != "DX" || call.query.Get("who") != "ann" {
		t.Errorf("backend got header a %q and query who %q, want DX and ann", call.header.Get("A"), call.query.Get("who"))
	}
}
