package auth_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAuthorizerContextPrincipalAndDeny is what the authz9 tester found on a
// REST API with a TOKEN authorizer:
//
//   - an authorizer context key named principalId replaced the authorizer's
//     principalId in a mapping template's $context.authorizer.principalId,
//     while the proxy event kept the real one. $context.authorizer.principalId
//     is the principal the authorizer returned (AWS's variable reference), so
//     templates, parameter mappings, events and access logs all show that;
//   - on a Deny, an ACCESS_DENIED gateway response's template saw an empty
//     $context.authorizer, where API Gateway's shows the principalId and
//     context the authorizer answered with (the usual way to give a custom
//     403 message from an authorizer); an HTTP API's isAuthorized false
//     likewise left its context out of $context.authorizer.
func TestAuthorizerContextPrincipalAndDeny(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "authz", 2)
	createFunction(t, c, "echo", 5)
	tok := []any{map[string]any{"tok": []any{}}}
	id := createAPI(t, c, map[string]any{"name": "r", "protocol": "REST",
		"authorizers": map[string]any{"tok": lambdaScheme(map[string]any{"type": "token", "authorizerUri": "function:authz",
			"identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300})},
		"gatewayResponses": map[string]any{"ACCESS_DENIED": map[string]any{
			"responseParameters": map[string]string{"gatewayresponse.header.X-Principal": "context.authorizer.principalId"},
			"responseTemplates":  map[string]string{"application/json": `{"p":"$context.authorizer.principalId","why":"$context.authorizer.why"}`}}},
		"routes": []any{
			map[string]any{"method": "GET", "path": "/ev", "security": tok,
				"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "httpMethod": "POST"}},
			map[string]any{"method": "GET", "path": "/tpl", "security": tok,
				"integration": map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
					"responses": map[string]any{"default": map[string]any{"statusCode": "200",
						"responseParameters": map[string]string{"method.response.header.X-Principal": "context.authorizer.principalId"},
						"responseTemplates":  map[string]string{"application/json": `p=$context.authorizer.principalId user=$context.authorizer.user`}}}}},
		}})
	logFile := filepath.Join(t.TempDir(), "a.log")
	if _, err := c.Do(t.Context(), "PUT", "/portico/v1/apis/"+id+"/stages/dev/access-log", nil,
		map[string]string{"format": "$context.requestId|$context.status|$context.authorizer.principalId|$context.authorizer.why", "destinationArn": "file://" + logFile}, nil); err != nil {
		t.Fatal(err)
	}
	base := env.GatewayURL + "/" + id + "/dev"

	// The event's principalId is the authorizer's; so is the template's and
	// a parameter mapping's.
	if au := authorizerOf(t, call(t, base+"/ev", "Authorization", "spoof")); au["principalId"] != "alice" || au["user"] != "alice" {
		t.Fatalf("event's authorizer: %v", au)
	}
	a := call(t, base+"/tpl", "Authorization", "spoof", "Content-Type", "application/json")
	if a.status != 200 || a.body != "p=alice user=alice" {
		t.Fatalf("template's $context.authorizer: %d %q, want p=alice user=alice", a.status, a.body)
	}
	if got := a.header.Get("X-Principal"); got != "alice" {
		t.Fatalf("context.authorizer.principalId mapped to a header: %q, want alice", got)
	}

	// A Deny: the gateway response sees the authorizer's answer.
	a = call(t, base+"/ev", "Authorization", "deny-why")
	if a.status != 403 || a.body != `{"p":"mallory","why":"banned"}` || a.header.Get("X-Principal") != "mallory" {
		t.Fatalf("deny's gateway response: %d %s (X-Principal %q), want 403 {\"p\":\"mallory\",\"why\":\"banned\"}", a.status, a.body, a.header.Get("X-Principal"))
	}
	// Answered from the cache, the same.
	if b := call(t, base+"/ev", "Authorization", "deny-why"); b.status != 403 || b.body != a.body {
		t.Fatalf("cached deny's gateway response: %d %s", b.status, b.body)
	}

	lines := logLines(t, logFile, 4)
	var got []string
	for _, line := range lines {
		_, rest, _ := strings.Cut(line, "|") // after the request id
		got = append(got, rest)
	}
	want := []string{"200|alice|-", "200|alice|-", "403|mallory|banned", "403|mallory|banned"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("access log:\n%s\nwant (after each request id)\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// An HTTP API simple response with isAuthorized false: its context is
	// the request's $context.authorizer as well (here, the access log's).
	httpID := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP",
		"authorizers": map[string]any{"lam": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
			"identitySource": "$request.header.Authorization", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true})},
		"routes": []any{map[string]any{"method": "GET", "path": "/who", "security": []any{map[string]any{"lam": []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "payloadFormatVersion": "2.0"}}}})
	httpLog := filepath.Join(t.TempDir(), "h.log")
	if _, err := c.Do(t.Context(), "PUT", "/portico/v1/apis/"+httpID+"/stages/dev/access-log", nil,
		map[string]string{"format": "$context.requestId|$context.status|$context.authorizer.user", "destinationArn": "file://" + httpLog}, nil); err != nil {
		t.Fatal(err)
	}
	if a := call(t, env.GatewayURL+"/"+httpID+"/dev/who", "Authorization", "bad"); a.status != 403 {
		t.Fatalf("HTTP API isAuthorized false: %d %s", a.status, a.body)
	}
	if line := logLines(t, httpLog, 1)[0]; !strings.HasSuffix(line, "|403|carol") {
		t.Fatalf("HTTP API access log %q, want ...|403|carol", line)
	}
}
