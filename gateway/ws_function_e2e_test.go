package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestWebSocketFunctionNonProxy: a WebSocket route's non-proxy AWS (Lambda)
// integration, as API Gateway runs it: the function's event is the request
// template rendered with the message and the connection's $context (not the
// proxy event), or under passthrough the message itself; its result goes
// through the integration responses ($default for a result, the key that
// matches a function error's errorMessage for an error) and their templates
// to the client of a two-way route; without integration responses the result
// is sent as the function returned it and a function error is the error
// frame; a message that is not JSON is not an event; a throttled function
// is the error frame; an integration that outlasts its timeout is "Endpoint
// request timed out". A $connect is
// accepted on a result and refused with 500 on a function error. Before,
// the type was refused at create.
func TestWebSocketFunctionNonProxy(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	createFunction(t, c, "limited", probeZip(t), nil, 5)
	admin(t, c, "PUT", "/2017-10-31/functions/limited/concurrency", nil, map[string]any{"ReservedConcurrentExecutions": 0}, nil)
	fn := func(more map[string]any) map[string]any {
		in := map[string]any{"type": "AWS", "uri": "function:probe"}
		for k, v := range more {
			in[k] = v
		}
		return in
	}
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsaws", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{
			map[string]any{"routeKey": "$connect", "integration": fn(map[string]any{
				"requestTemplates": map[string]string{"$default": `{"queryStringParameters": {"fail": "$stageVariables.fail"}}`}})},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": fn(nil)},
			map[string]any{"routeKey": "tmpl", "routeResponseSelectionExpression": "$default", "integration": fn(map[string]any{
				"templateSelectionExpression": "$request.body.kind",
				"requestTemplates": map[string]string{
					"$default": `{"queryStringParameters": {"fail": "$input.path('$.fail')"}, "connectionId": "$context.connectionId", "route": "$context.routeKey", "msg": $input.json('$')}`,
					"short":    `{"short": "$input.path('$.kind')"}`,
				},
				"responses": map[string]any{
					"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"$default": `$input.path('$.body')`}},
					"probe failed.*": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{
						"$default": `failed: $input.path('$.errorMessage')`}},
				}})},
			map[string]any{"routeKey": "limited", "routeResponseSelectionExpression": "$default", "integration": map[string]any{
				"type": "AWS", "uri": "function:limited", "responses": map[string]any{"default": map[string]any{"statusCode": "200"}}}},
			map[string]any{"routeKey": "slow", "routeResponseSelectionExpression": "$default", "integration": fn(map[string]any{
				"timeoutInMillis":  100,
				"requestTemplates": map[string]string{"$default": `{"queryStringParameters": {"sleep": "3000"}}`}})},
		}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "bad", "variables": map[string]string{"fail": "1"}}, nil)
	base := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api.ID

	// $connect's function fails on stage bad: the handshake is refused.
	conn, resp, err := websocket.DefaultDialer.Dial(base+"/bad", nil)
	if err == nil {
		_ = conn.Close()
		t.Fatal("bad: connected although $connect's function failed")
	}
	if resp == nil {
		t.Fatalf("bad: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "Internal server error") {
		t.Fatalf("bad: %d %s, want a 500 refusal", resp.StatusCode, body)
	}
	ws, _, err := wstest.Dial(websocket.DefaultDialer, base+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	exchange := func(msg string) string { t.Helper(); return wstest.Exchange(t, ws, msg) }

	// The request template is the event; the $default integration
	// response's template renders the result (the probe's body is the event
	// it got).
	msg := `{"action":"tmpl","n":7}`
	var ev map[string]any
	if got := exchange(msg); json.Unmarshal([]byte(got), &ev) != nil {
		t.Fatalf("tmpl: %q", got)
	}
	if id, _ := ev["connectionId"].(string); len(id) != 16 || ev["route"] != "tmpl" || ev["requestContext"] != nil {
		t.Fatalf("tmpl: the function got %v, want the rendered template", ev)
	}
	if m, _ := json.Marshal(ev["msg"]); string(m) != msg {
		t.Fatalf("tmpl: $input.json('$') rendered %s", m)
	}
	// templateSelectionExpression picks the template keyed as its value.
	if got := exchange(`{"action":"tmpl","kind":"short"}`); got != `{"short": "short"}` {
		t.Fatalf("short: %q", got)
	}
	// A function error: the integration response whose key matches its
	// errorMessage, with the error document as $input.
	if got := exchange(`{"action":"tmpl","fail":"1"}`); got != "failed: probe failed on request" {
		t.Fatalf("fail: %q", got)
	}

	// Passthrough without integration responses: the message is the
	// event and the result is sent as the function returned it.
	msg = `{"queryStringParameters":{"x":"1"}}`
	var res struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if got := exchange(msg); json.Unmarshal([]byte(got), &res) != nil || res.StatusCode != 200 || res.Body != msg {
		t.Fatalf("passthrough: %q", got)
	}
	// A function error without integration responses, and a message that
	// is not JSON (no Lambda event): the error frame.
	for _, m := range []string{`{"queryStringParameters":{"fail":"1"}}`, `hello`} {
		if got := exchange(m); !strings.HasPrefix(got, `{"message": "Internal server error", "connectionId":`) {
			t.Fatalf("%s: %q", m, got)
		}
	}
	// A throttled function (no concurrency): the error frame, whatever the
	// integration responses, which map a function's result or error only.
	if got := exchange(`{"action":"limited"}`); !strings.HasPrefix(got, `{"message": "Internal server error", "connectionId":`) {
		t.Fatalf("limited: %q", got)
	}
	// The integration's timeout: API Gateway's timeout frame.
	if got := exchange(`{"action":"slow"}`); !strings.HasPrefix(got, `{"message": "Endpoint request timed out", "connectionId":`) {
		t.Fatalf("slow: %q", got)
	}
}
