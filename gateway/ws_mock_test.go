package gateway_test

import (
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketMockTemplates checks a WebSocket MOCK integration's templates:
// the request template renders with the message as $input and its statusCode
// picks the integration response by pattern (else default), whose template
// renders with the connection's $context; a template that cannot render, or a
// statusCode that is no status, answers API Gateway's error frame.
func TestWebSocketMockTemplates(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsmock", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": $input.json('$.code')}`},
				"responses": map[string]any{
					"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{
						"$default": `ok $context.routeKey $context.eventType $context.connectionId $stageVariables.v`}},
					"4\\d\\d": map[string]any{"statusCode": "404", "responseTemplates": map[string]string{"$default": `missing`}},
				}}},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev", "variables": map[string]string{"v": "seven"}}, nil)
	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	exchange := func(msg string) string { t.Helper(); return wstest.Exchange(t, ws, msg) }
	got := strings.Fields(exchange(`{"code": 200}`))
	if len(got) != 5 || got[0] != "ok" || got[1] != "$default" || got[2] != "MESSAGE" || len(got[3]) != 16 || got[4] != "seven" {
		t.Fatalf("default response: %q", got)
	}
	if got := exchange(`{"code": 404}`); got != "missing" {
		t.Fatalf("4xx response: %q", got)
	}
	for _, msg := range []string{`{"code": "abc"}`, `{"code": 99}`} {
		if got := exchange(msg); !strings.HasPrefix(got, `{"message": "Internal server error"`) {
			t.Fatalf("%s: %q", msg, got)
		}
	}
}

// TestWebSocketMockPassthrough: a MOCK whose templateSelectionExpression
// selects no template (none keyed as the message's kind, none $default) ran
// with status 200 whatever its passthroughBehavior; as for an HTTP or AWS
// integration, NEVER and WHEN_NO_TEMPLATES answer the Internal server error
// frame, and WHEN_NO_MATCH (the default) goes on with status 200.
func TestWebSocketMockPassthrough(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	route := func(key, passthrough string) map[string]any {
		return map[string]any{"routeKey": key, "routeResponseSelectionExpression": "$default", "integration": map[string]any{
			"type": "MOCK", "templateSelectionExpression": "$request.body.kind", "passthroughBehavior": passthrough,
			"requestTemplates": map[string]string{"a": `{"statusCode": 200}`, "b": `{"statusCode": 404}`},
			"responses": map[string]any{
				"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"$default": "pong"}},
				"4\\d\\d": map[string]any{"statusCode": "404", "responseTemplates": map[string]string{"$default": "notfound"}},
			}}}
	}
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsmockpass", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			route("never", "NEVER"), route("notemplates", "WHEN_NO_TEMPLATES"), route("nomatch", "WHEN_NO_MATCH"),
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for _, action := range []string{"never", "notemplates", "nomatch"} {
		if got := wstest.Exchange(t, ws, `{"action": "`+action+`", "kind": "b"}`); got != "notfound" {
			t.Errorf("%s, kind b (a template): %q, want notfound", action, got)
		}
		for _, msg := range []string{`{"action": "` + action + `", "kind": "c"}`, `{"action": "` + action + `"}`} {
			got := wstest.Exchange(t, ws, msg)
			if action == "nomatch" {
				if got != "pong" {
					t.Errorf("%s: %q, want pong (WHEN_NO_MATCH goes on)", msg, got)
				}
			} else if !strings.HasPrefix(got, `{"message": "Internal server error"`) {
				t.Errorf("%s: %q, want the Internal server error frame (no template selected)", msg, got)
			}
		}
	}
}

// TestWebSocketMockTemplateNotJSON: a MOCK request template that renders
// output that is not JSON (a template bug, or a message that breaks the JSON
// the template renders, as {"statusCode": x}) answered as status 200 and so
// sent the success response; it is a configuration error (the Internal server
// error frame), as a statusCode that is no status is. JSON without a
// statusCode, and output that is empty, still answer with status 200.
func TestWebSocketMockTemplateNotJSON(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsmocknotjson", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "MOCK", "templateSelectionExpression": "$request.body.kind",
				"requestTemplates": map[string]string{
					"text":  `not json at all`,
					"path":  `{"statusCode": $input.path('$.code')}`,
					"none":  `{"other": 1}`,
					"empty": `## renders nothing`,
				},
				"responses": map[string]any{
					"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"$default": "ok"}},
					"4\\d\\d": map[string]any{"statusCode": "404", "responseTemplates": map[string]string{"$default": "missing"}},
				}}},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	ws, _, err := wstest.Dial(websocket.DefaultDialer, "ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+api.ID+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for _, msg := range []string{`{"kind": "text"}`, `{"kind": "path", "code": "x"}`} {
		if got := wstest.Exchange(t, ws, msg); !strings.HasPrefix(got, `{"message": "Internal server error"`) {
			t.Errorf("%s: %q, want the Internal server error frame (the template renders no JSON)", msg, got)
		}
	}
	for msg, want := range map[string]string{`{"kind": "path", "code": 404}`: "missing", `{"kind": "none"}`: "ok", `{"kind": "empty"}`: "ok"} {
		if got := wstest.Exchange(t, ws, msg); got != want {
			t.Errorf("%s: %q, want %q", msg, got, want)
		}
	}
}
