package auth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestHostIdentitySource: a REQUEST authorizer keyed on a header the gateway
// handles itself (Host, which net/http moves out of the request's headers;
// X-Forwarded-Proto, which the gateway sets) is called with the value its
// event carries, and its answers are cached per Host. Both used to answer 401
// on every request without calling the authorizer.
func TestHostIdentitySource(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "authz", 5)
	createFunction(t, c, "echo", 5)
	integration := map[string]any{"type": "AWS_PROXY", "uri": "function:echo"}
	restID := createAPI(t, c, map[string]any{"name": "r", "protocol": "REST",
		"authorizers": map[string]any{
			"byhost": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
				"identitySource": "method.request.header.Host", "authorizerResultTtlInSeconds": 300}),
			"byproto": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
				"identitySource": "method.request.header.x-forwarded-proto", "authorizerResultTtlInSeconds": 0}),
		},
		"routes": []any{
			map[string]any{"method": "GET", "path": "/host", "security": []any{map[string]any{"byhost": []any{}}}, "integration": integration},
			map[string]any{"method": "GET", "path": "/proto", "security": []any{map[string]any{"byproto": []any{}}}, "integration": integration},
		}})
	base := env.GatewayURL + "/" + restID + "/dev"
	withHost := func(u, host string) answer {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		req.Host = host
		return do(t, req)
	}
	a1 := authorizerOf(t, withHost(base+"/host", "tenant-a.example.com"))
	if a1["host"] != "tenant-a.example.com" || a1["calls"] == nil {
		t.Fatalf("Host tenant-a: authorizer %v", a1)
	}
	b := authorizerOf(t, withHost(base+"/host", "tenant-b.example.com"))
	if b["host"] != "tenant-b.example.com" || b["calls"] == a1["calls"] {
		t.Fatalf("Host tenant-b answered from tenant-a's cache entry: %v after %v", b, a1)
	}
	if again := authorizerOf(t, withHost(base+"/host", "tenant-a.example.com")); again["calls"] != a1["calls"] {
		t.Fatalf("Host tenant-a again: calls %v, want the cached %v", again["calls"], a1["calls"])
	}
	if p := authorizerOf(t, call(t, base+"/proto")); p["proto"] != "http" {
		t.Fatalf("X-Forwarded-Proto source: authorizer %v", p)
	}

	httpID := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP",
		"authorizers": map[string]any{"byhost": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
			"identitySource": "$request.header.Host", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true,
			"authorizerResultTtlInSeconds": 0})},
		"routes": []any{map[string]any{"method": "GET", "path": "/who", "security": []any{map[string]any{"byhost": []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "payloadFormatVersion": "2.0"}}}})
	req, _ := http.NewRequest("GET", env.GatewayURL+"/"+httpID+"/dev/who", nil)
	req.Host = "tenant-c.example.com"
	req.Header.Set("Authorization", "good")
	if a := do(t, req); a.status != 200 || !strings.Contains(a.body, `"identitySource":"tenant-c.example.com"`) {
		t.Fatalf("HTTP API Host source: %d %s", a.status, a.body)
	}
}
