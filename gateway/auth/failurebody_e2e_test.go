package auth_test

import (
	"io"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAuthorizerFailureBodies: an authorizer that cannot run (its function
// does not exist) answers 500 with API Gateway's exact bytes: REST and
// WebSocket $connect {"message": null} (AuthorizerConfigurationException),
// HTTP APIs {"message":"Internal Server Error"}, compact as their other
// answers.
func TestAuthorizerFailureBodies(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	missing := map[string]any{"type": "request", "authorizerUri": "function:nobody", "identitySource": "$request.header.Authorization",
		"authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true}
	httpID := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP", "authorizers": map[string]any{"lam": lambdaScheme(missing)},
		"routes": []any{map[string]any{"method": "GET", "path": "/who", "security": []any{map[string]any{"lam": []any{}}},
			"integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "GET", "uri": "http://127.0.0.1:1/", "payloadFormatVersion": "1.0"}}}})
	expect(t, "HTTP API", call(t, env.GatewayURL+"/"+httpID+"/dev/who", "Authorization", "x"), 500, "AuthorizerConfigurationException",
		`{"message":"Internal Server Error"}`)

	restID := createAPI(t, c, map[string]any{"name": "r", "protocol": "REST",
		"authorizers": map[string]any{"tok": lambdaScheme(map[string]any{"type": "token", "authorizerUri": "function:nobody"})},
		"routes":      []any{mockRoute("GET", "/who", "tok")}})
	expect(t, "REST API", call(t, env.GatewayURL+"/"+restID+"/dev/who", "Authorization", "x"), 500, "AuthorizerConfigurationException",
		`{"message": null}`)

	wsID := createAPI(t, c, map[string]any{"name": "w", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"authorizers": map[string]any{"conn": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:nobody",
			"identitySource": "route.request.querystring.token"})},
		"routes": []any{
			map[string]any{"routeKey": "$connect", "security": []any{map[string]any{"conn": []any{}}}, "integration": map[string]any{"type": "MOCK"}},
			map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}},
		}})
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+wsID+"/dev?token=x", nil)
	if err == nil || resp == nil {
		t.Fatalf("$connect: %v %v", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || resp.Header.Get("x-amzn-ErrorType") != "AuthorizerConfigurationException" || string(body) != `{"message": null}` {
		t.Errorf("WebSocket $connect: %d %s %s, want 500 AuthorizerConfigurationException {\"message\": null}", resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), body)
	}
}
