package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// callRepeated sends a GET with the header name once per value, in order.
func callRepeated(t *testing.T, u, name string, values ...string) answer {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for _, v := range values {
		req.Header.Add(name, v)
	}
	return do(t, req)
}

// TestRepeatedIdentitySources: a header or query parameter sent more than once
// is one identity value, the one the authorizer's event and the integration's
// event carry (REST: the last; HTTP APIs: the values joined with commas), and
// the result cache is keyed on every value sent, so that a repeated identity
// source can neither authorize with one value while the function sees another
// nor leave a cached answer for another caller's identity.
func TestRepeatedIdentitySources(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "authz", 2)
	createFunction(t, c, "echo", 5)
	resp, err := c.Do(context.Background(), "POST", "/portico/v1/apis/import", url.Values{"name": {"guarded"}}, []byte(docWithout(restDoc, "/slow")), nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	_ = json.Unmarshal(resp.Body, &imp)
	if _, err := c.Do(context.Background(), "POST", "/portico/v1/apis/"+imp.API.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	base := env.GatewayURL + "/" + imp.API.ID + "/dev"

	// TOKEN: the token is the last Authorization header, the one the
	// function's event names.
	if a := callRepeated(t, base+"/pets", "Authorization", "allow", "deny"); a.status != 403 {
		t.Fatalf("Authorization allow then deny: %d %s, want the authorizer to judge deny (403)", a.status, a.body)
	}
	a := callRepeated(t, base+"/pets", "Authorization", "deny", "allow")
	if au := authorizerOf(t, a); au["token"] != "allow" {
		t.Fatalf("Authorization deny then allow: authorizer judged %v, want allow", au["token"])
	}
	var ev struct {
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(a.body), &ev); err != nil || ev.Headers["Authorization"] != "allow" {
		t.Fatalf("the function saw Authorization %q, the authorizer allow", ev.Headers["Authorization"])
	}
	// A cached answer for the pair is not the answer for one of its values.
	if a := call(t, base+"/pets", "Authorization", "deny"); a.status != 403 {
		t.Fatalf("Authorization deny after (deny, allow) was allowed: %d %s", a.status, a.body)
	}
	if a := callRepeated(t, base+"/pets", "Authorization", "allow", ""); a.status != 401 {
		t.Fatalf("Authorization allow then empty: %d %s, want 401 (the token the function sees is empty)", a.status, a.body)
	}

	// REQUEST, a header source: (alice, bob) is bob's request, and caches
	// nothing for alice.
	if au := authorizerOf(t, callRepeated(t, base+"/tenants?tenant=t1", "X-User", "alice", "bob")); au["principalId"] != "bob" {
		t.Fatalf("X-User alice then bob: principal %v, want bob", au["principalId"])
	}
	if au := authorizerOf(t, call(t, base+"/tenants?tenant=t1", "X-User", "alice")); au["principalId"] != "alice" {
		t.Fatalf("X-User alice after (alice, bob): principal %v, want alice", au["principalId"])
	}
	if a := callRepeated(t, base+"/tenants?tenant=t1", "X-User", "carol", ""); a.status != 401 {
		t.Fatalf("X-User carol then empty: %d %s, want 401", a.status, a.body)
	}
	// REQUEST, a query source: the same for tenant=x&tenant=y.
	if au := authorizerOf(t, call(t, base+"/pair?a=1&tenant=x&tenant=y")); au["tenant"] != "y" {
		t.Fatalf("tenant x then y: %v, want y", au["tenant"])
	}
	if au := authorizerOf(t, call(t, base+"/pair?a=1&tenant=x")); au["tenant"] != "x" {
		t.Fatalf("tenant x after (x, y): %v, want x", au["tenant"])
	}
	if a := call(t, base+"/pair?a=1&tenant=x&tenant="); a.status != 401 {
		t.Fatalf("tenant x then empty: %d %s, want 401", a.status, a.body)
	}

	// HTTP API: the identity value is the values joined with commas, as the
	// authorizer's event has the header; (good, x) is refused and caches
	// nothing for good.
	httpID := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP",
		"authorizers": map[string]any{"lam": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
			"identitySource": "$request.header.Authorization", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true,
			"authorizerResultTtlInSeconds": 300})},
		"routes": []any{map[string]any{"method": "GET", "path": "/who", "security": []any{map[string]any{"lam": []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "payloadFormatVersion": "2.0"}}}})
	u := env.GatewayURL + "/" + httpID + "/dev/who"
	if a := callRepeated(t, u, "Authorization", "good", "x"); a.status != 403 {
		t.Fatalf("HTTP API Authorization good then x: %d %s, want 403", a.status, a.body)
	}
	if a := call(t, u, "Authorization", "good"); a.status != 200 {
		t.Fatalf("HTTP API Authorization good after (good, x): %d %s, want 200", a.status, a.body)
	}
}

// docWithout is doc without the line of its path p.
func docWithout(doc, p string) string {
	lines := strings.Split(doc, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), `"`+p+`"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
