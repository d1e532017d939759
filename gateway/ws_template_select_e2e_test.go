package gateway_test

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketTemplateSelectionExpression: a WebSocket integration's
// templateSelectionExpression $request.body.<path> picks the request
// template keyed as the value it selects from the message, else the one keyed
// $default, else none (passthroughBehavior decides), as API Gateway does,
// on HTTP and MOCK integrations. Before, only \$default was taken.
func TestWebSocketTemplateSelectionExpression(t *testing.T) {
	ws, calls := wsMappedAPI(t, "", nil, func(backend string) []any {
		http := func(expr, passthrough string, templates map[string]string) map[string]any {
			return map[string]any{"type": "HTTP", "httpMethod": "POST", "uri": backend + "/msg",
				"templateSelectionExpression": expr, "passthroughBehavior": passthrough, "requestTemplates": templates}
		}
		return []any{
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": http("$request.body.kind", "", map[string]string{
				"greet": `hello $input.path('$.name')`, "$default": `other`})},
			map[string]any{"routeKey": "nodefault", "routeResponseSelectionExpression": "$default", "integration": http("${request.body.meta.kind}", "WHEN_NO_MATCH", map[string]string{
				"x": `X`, "y": `Y`})},
			map[string]any{"routeKey": "never", "routeResponseSelectionExpression": "$default", "integration": http("$request.body.kind", "NEVER", map[string]string{
				"x": `X`, "y": `Y`})},
			map[string]any{"routeKey": "mock", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "MOCK", "templateSelectionExpression": "$request.body.kind",
				"requestTemplates": map[string]string{"missing": `{"statusCode": 404}`, "$default": `{"statusCode": 200}`},
				"responses": map[string]any{
					"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"$default": `found`}},
					"4\\d\\d": map[string]any{"statusCode": "404", "responseTemplates": map[string]string{"$default": `missing`}},
				}}},
		}
	})
	exchange := func(msg string) string { t.Helper(); return wstest.Exchange(t, ws, msg) }
	for _, c := range []struct{ msg, backend string }{
		{`{"kind":"greet","name":"ann"}`, "hello ann"},
		{`{"kind":"other"}`, "other"},
		{`{"name":"no kind"}`, "other"},
		{`not json`, "other"},
		{`{"action":"nodefault","meta":{"kind":"y"}}`, "Y"},
		{`{"action":"nodefault","meta":{"kind":"z"}}`, `{"action":"nodefault","meta":{"kind":"z"}}`},
	} {
		if got := exchange(c.msg); got != "/msg "+c.backend {
			t.Fatalf("%s: answered %q, want %q", c.msg, got, "/msg "+c.backend)
		}
		if call := <-calls; call.body != c.backend {
			t.Errorf("%s: backend got %q, want %q", c.msg, call.body, c.backend)
		}
	}
	if got := exchange(`{"action":"never","kind":"x"}`); got != "/msg X" {
		t.Fatalf("never, x: answered %q", got)
	}
	<-calls
	if got := exchange(`{"action":"never","kind":"z"}`); !strings.HasPrefix(got, `{"message": "Internal server error"`) {
		t.Errorf("never without a template: answered %q, want the Internal server error frame", got)
	}
	if got := exchange(`{"action":"mock","kind":"missing"}`); got != "missing" {
		t.Errorf("mock, missing: answered %q", got)
	}
	if got := exchange(`{"action":"mock","kind":"else"}`); got != "found" {
		t.Errorf("mock, else: answered %q", got)
	}
}
