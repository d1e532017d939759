package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// authfnZip builds gateway/auth/testdata/authfn once.
func authfnZip(t *testing.T) []byte {
	t.Helper()
	return apptest.ZipProgram(t, "./gateway/auth/testdata/authfn")
}

func createFunction(t *testing.T, c *client.Client, name string, timeout int) {
	t.Helper()
	in := map[string]any{
		"FunctionName": name, "PackageType": "Zip", "Runtime": "provided.al2023", "Handler": "bootstrap",
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(authfnZip(t))}, "Timeout": timeout,
	}
	if _, _, err := c.CreateFunction(context.Background(), in); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

const restDoc = `{
  "openapi": "3.0.1",
  "info": {"title": "guarded", "version": "1"},
  "components": {"securitySchemes": {
    "tok": {"type": "apiKey", "name": "Authorization", "in": "header",
      "x-amazon-apigateway-authtype": "custom",
      "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": "function:authz",
        "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300}},
    "req": {"type": "apiKey", "name": "X-User", "in": "header",
      "x-amazon-apigateway-authtype": "custom",
      "x-amazon-apigateway-authorizer": {"type": "request", "authorizerUri": "arn:aws:lambda:us-east-1:000000000000:function:authz",
        "identitySource": "method.request.header.X-User, method.request.querystring.tenant", "authorizerResultTtlInSeconds": 300}},
    "pair": {"type": "apiKey", "name": "a", "in": "query",
      "x-amazon-apigateway-authtype": "custom",
      "x-amazon-apigateway-authorizer": {"type": "request", "authorizerUri": "function:authz",
        "identitySource": "method.request.querystring.a, method.request.querystring.tenant", "authorizerResultTtlInSeconds": 300}}
  }},
  "paths": {
    "/pets": {"get": {"security": [{"tok": []}], "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:echo"}},
              "post": {"security": [{"tok": []}], "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:echo"}}},
    "/cats": {"get": {"security": [{"tok": []}], "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:echo"}}},
    "/slow": {"get": {"security": [{"slowtok": []}], "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:echo"}}},
    "/tenants": {"get": {"security": [{"req": []}], "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:echo"}}},
    "/pair": {"get": {"security": [{"pair": []}], "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:echo"}}},
    "/open": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:echo"}}},
    "/tmpl": {"get": {"security": [{"tok": []}], "x-amazon-apigateway-integration": {"type": "mock",
      "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
      "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "calls=$context.authorizer.calls admin=$context.authorizer.admin user=$context.authorizer.user"}}}}}}
  }
}`

type answer struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, u string, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, req)
}

// authorizerOf returns requestContext.authorizer of the echoed event.
func authorizerOf(t *testing.T, a answer) map[string]any {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var ev struct {
		RequestContext struct {
			Authorizer map[string]any `json:"authorizer"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal([]byte(a.body), &ev); err != nil {
		t.Fatalf("%v: %s", err, a.body)
	}
	return ev.RequestContext.Authorizer
}

// TestLambdaAuthorizersEndToEnd imports a REST API whose methods name TOKEN and
// REQUEST authorizers (functions built by the test), deploys it and calls it
// through the real listener.
func TestLambdaAuthorizersEndToEnd(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "authz", 2)
	createFunction(t, c, "echo", 5)
	doc := strings.Replace(restDoc, `"components": {"securitySchemes": {`, `"components": {"securitySchemes": {
    "slowtok": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom",
      "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": "function:authz", "authorizerResultTtlInSeconds": 0}},`, 1)
	resp, err := c.Do(context.Background(), "POST", "/portico/v1/apis/import", url.Values{"name": {"guarded"}}, []byte(doc), nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	var imp struct {
		API      struct{ ID string } `json:"api"`
		Warnings []string            `json:"warnings"`
	}
	_ = json.Unmarshal(resp.Body, &imp)
	for _, w := range imp.Warnings {
		if strings.Contains(w, "authoriz") {
			t.Fatalf("import warned about authorizers: %v", imp.Warnings)
		}
	}
	if _, err := c.Do(context.Background(), "POST", "/portico/v1/apis/"+imp.API.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	base := env.GatewayURL + "/" + imp.API.ID + "/dev"

	// Unauthenticated: no token is 401 without a call.
	if a := call(t, base+"/pets"); a.status != 401 || a.header.Get("x-amzn-ErrorType") != "UnauthorizedException" || !strings.Contains(a.body, `"Unauthorized"`) {
		t.Fatalf("no token: %d %s %s", a.status, a.header.Get("x-amzn-ErrorType"), a.body)
	}
	// Allow: principalId and context reach the integration, numbers and
	// booleans as strings, as API Gateway passes them to REST integrations.
	au := authorizerOf(t, call(t, base+"/pets", "Authorization", "allow"))
	if au["principalId"] != "alice" || au["user"] != "alice" || au["admin"] != "true" || au["calls"] != "1" {
		t.Fatalf("authorizer context %v", au)
	}
	// Cached: the same token does not call again.
	if au := authorizerOf(t, call(t, base+"/pets", "Authorization", "allow")); au["calls"] != "1" {
		t.Fatalf("second call was not cached: %v", au)
	}
	// The cached policy covers only its method ARN: POST /pets is denied by it.
	req, _ := http.NewRequest("POST", base+"/pets", nil)
	req.Header.Set("Authorization", "allow")
	pr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(pr.Body)
	pr.Body.Close()
	if pr.StatusCode != 403 || string(pb) != `{"message":"User is not authorized to access this resource"}` {
		t.Fatalf("POST with a GET /pets policy (an implicit deny): %d %s", pr.StatusCode, pb)
	}
	// A wildcard policy answers, from the cache, for every method it covers.
	au = authorizerOf(t, call(t, base+"/pets", "Authorization", "allow-get"))
	n := au["calls"]
	if au := authorizerOf(t, call(t, base+"/cats", "Authorization", "allow-get")); au["calls"] != n {
		t.Fatalf("cached wildcard policy did not answer for /cats: %v, first %v", au, n)
	}
	// A mapping template's $context.authorizer renders the context's numbers
	// and booleans as the proxy event carries them: "2", not 2.0; "true".
	if a := call(t, base+"/tmpl", "Authorization", "allow-get", "Content-Type", "application/json"); a.status != 200 ||
		a.body != fmt.Sprintf("calls=%v admin=true user=alice", n) {
		t.Fatalf("template's $context.authorizer: %d %s, want calls=%v", a.status, a.body, n)
	}
	// Deny, Unauthorized, malformed, timeout.
	if a := call(t, base+"/pets", "Authorization", "deny"); a.status != 403 || a.body != `{"Message":"User is not authorized to access this resource with an explicit deny"}` {
		t.Fatalf("deny: %d %s", a.status, a.body)
	}
	if a := call(t, base+"/pets", "Authorization", "unauthorized"); a.status != 401 || a.body != `{"message":"Unauthorized"}` {
		t.Fatalf("unauthorized: %d %s", a.status, a.body)
	}
	for _, tok := range []string{"garbage", "nopolicy", "badcontext", "unknown"} {
		if a := call(t, base+"/pets", "Authorization", tok); a.status != 500 || a.header.Get("x-amzn-ErrorType") != "AuthorizerConfigurationException" {
			t.Fatalf("%s: %d %s %s", tok, a.status, a.header.Get("x-amzn-ErrorType"), a.body)
		}
	}
	if a := call(t, base+"/slow", "Authorization", "sleep"); a.status != 500 || a.header.Get("x-amzn-ErrorType") != "AuthorizerConfigurationException" {
		t.Fatalf("timeout: %d %s %s", a.status, a.header.Get("x-amzn-ErrorType"), a.body)
	}
	// Oversize identity values: 401 without a call.
	if a := call(t, base+"/pets", "Authorization", strings.Repeat("x", 11000)); a.status != 401 {
		t.Fatalf("oversize token: %d %s", a.status, a.body)
	}
	// Unprotected routes need nothing.
	if a := call(t, base+"/open"); a.status != 200 {
		t.Fatalf("open: %d %s", a.status, a.body)
	}

	// REQUEST with two identity sources; a changed source misses the cache.
	if a := call(t, base+"/tenants?tenant=t1"); a.status != 401 {
		t.Fatalf("missing header source: %d %s", a.status, a.body)
	}
	a := call(t, base+"/tenants?tenant=t1", "X-User", "bob")
	au = authorizerOf(t, a)
	first := au["calls"].(string)
	if au["principalId"] != "bob" || au["tenant"] != "t1" {
		t.Fatalf("request authorizer context %v", au)
	}
	// The REQUEST authorizer's event has the resourceId the integration's
	// event has, and identity.clientCert null without a client certificate.
	var ev struct {
		RequestContext struct {
			ResourceID string `json:"resourceId"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal([]byte(a.body), &ev); err != nil || ev.RequestContext.ResourceID == "" ||
		au["resourceId"] != ev.RequestContext.ResourceID || au["clientCert"] != "null" {
		t.Fatalf("REQUEST authorizer event: resourceId %v (the integration's %q), clientCert %v", au["resourceId"], ev.RequestContext.ResourceID, au["clientCert"])
	}
	if au := authorizerOf(t, call(t, base+"/tenants?tenant=t1", "X-User", "bob")); au["calls"] != first {
		t.Fatalf("same sources not cached: %v", au)
	}
	if au := authorizerOf(t, call(t, base+"/tenants?tenant=t2", "X-User", "bob")); au["calls"] == first || au["tenant"] != "t2" {
		t.Fatalf("changed query source hit the cache: %v", au)
	}
	// Values that join to the same bytes are still different identities: a
	// NUL inside one value must not make a cached answer for ("x\0y", "z")
	// answer for ("x", "y\0z").
	if au := authorizerOf(t, call(t, base+"/pair?a=x%00y&tenant=z")); au["tenant"] != "z" {
		t.Fatalf("pair (x\\0y, z): %v", au)
	}
	if au := authorizerOf(t, call(t, base+"/pair?a=x&tenant=y%00z")); au["tenant"] != "y\x00z" {
		t.Fatalf("pair (x, y\\0z) answered from another identity's cached result: tenant %q", au["tenant"])
	}
}

// TestUnenforcedAccessControlRefused checks that declaring access control Portico
// does not enforce (or cannot evaluate) fails the import with a clear error
// instead of a warning.
func TestUnenforcedAccessControlRefused(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	cases := map[string]struct{ doc, want string }{
		"jwt on REST": {`{"openapi":"3.0.1","info":{"title":"x","version":"1"},
			"components":{"securitySchemes":{"j":{"type":"oauth2","x-amazon-apigateway-authorizer":{"type":"jwt","jwtConfiguration":{"issuer":"https://i","audience":["a"]},"identitySource":"$request.header.Authorization"}}}},
			"paths":{"/a":{"get":{"security":[{"j":[]}],"x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"http://127.0.0.1:1/","payloadFormatVersion":"1.0"}}}}}`,
			"JWT authorizers are for HTTP APIs"},
		"resource policy condition not evaluated": {`{"openapi":"3.0.1","info":{"title":"x","version":"1"},
			"x-amazon-apigateway-policy":{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"*",
			  "Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]},
			"paths":{"/a":{"get":{"x-amazon-apigateway-integration":{"type":"mock"}}}}}`,
			"condition key \"aws:SourceVpce\" is not supported"},
		"resource policy without principal": {`{"openapi":"3.0.1","info":{"title":"x","version":"1"},
			"x-amazon-apigateway-policy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]},
			"paths":{"/a":{"get":{"x-amazon-apigateway-integration":{"type":"mock"}}}}}`,
			"needs a Principal"},
		"cognito": {`{"openapi":"3.0.1","info":{"title":"x","version":"1"},
			"components":{"securitySchemes":{"c":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"cognito_user_pools","x-amazon-apigateway-authorizer":{"type":"cognito_user_pools","providerARNs":["arn:x"]}}}},
			"paths":{"/a":{"get":{"security":[{"c":[]}],"x-amazon-apigateway-integration":{"type":"mock"}}}}}`,
			"not supported"},
	}
	for name, tc := range cases {
		_, err := c.Do(context.Background(), "POST", "/portico/v1/apis/import", url.Values{"name": {"x"}}, []byte(tc.doc), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: import answered %v, want a refusal saying %q", name, err, tc.want)
		}
	}
}

// createAPI creates an API through the admin API, deploys stage dev and returns
// its id.
func createAPI(t *testing.T, c *client.Client, def map[string]any) string {
	t.Helper()
	resp, err := c.Do(context.Background(), "POST", "/portico/v1/apis", nil, def, nil)
	if err != nil {
		t.Fatalf("create api: %v", err)
	}
	var api struct{ ID string }
	if err := json.Unmarshal(resp.Body, &api); err != nil || api.ID == "" {
		t.Fatalf("create api: %s %v", resp.Body, err)
	}
	if _, err := c.Do(context.Background(), "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	return api.ID
}

func lambdaScheme(authorizer map[string]any) map[string]any {
	return map[string]any{"type": "apiKey", "name": "Authorization", "in": "header",
		"x-amazon-apigateway-authtype": "custom", "x-amazon-apigateway-authorizer": authorizer}
}

// TestHTTPAndWebSocketAuthorizersEndToEnd covers an HTTP API Lambda authorizer
// with simple responses (its context in requestContext.authorizer.lambda) and a
// WebSocket $connect authorizer whose context reaches a later message's event.
func TestHTTPAndWebSocketAuthorizersEndToEnd(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	// Nothing here waits on the authorizer's timeout: a long one, so that
	// a cold start on a loaded machine is not taken for a failure (it was,
	// at 2 s, with the suite run at a load average of 25).
	createFunction(t, c, "authz", 10)
	createFunction(t, c, "echo", 5)

	httpID := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP",
		"authorizers": map[string]any{"lam": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
			"identitySource": "$request.header.Authorization", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true})},
		"routes": []any{map[string]any{"method": "GET", "path": "/who", "security": []any{map[string]any{"lam": []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "payloadFormatVersion": "2.0"}}}})
	u := env.GatewayURL + "/" + httpID + "/dev/who"
	if a := call(t, u); a.status != 401 || a.body != `{"message":"Unauthorized"}` {
		t.Fatalf("HTTP API without identity: %d %s", a.status, a.body)
	}
	if a := call(t, u, "Authorization", "bad"); a.status != 403 || a.body != `{"message":"Forbidden"}` {
		t.Fatalf("HTTP API isAuthorized false: %d %s", a.status, a.body)
	}
	a := call(t, u, "Authorization", "good")
	var ev struct {
		RequestContext struct {
			RequestID  string `json:"requestId"`
			Authorizer struct {
				Lambda map[string]any `json:"lambda"`
			} `json:"authorizer"`
		} `json:"requestContext"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil || ev.RequestContext.Authorizer.Lambda["user"] != "carol" {
		t.Fatalf("HTTP API allowed: %d %s", a.status, a.body)
	}
	// The authorizer's event had the request's id as the integration's event
	// has it: the apigw-requestid one.
	if id := a.header.Get("apigw-requestid"); id == "" || ev.RequestContext.RequestID != id || ev.RequestContext.Authorizer.Lambda["requestId"] != id {
		t.Fatalf("apigw-requestid %q, event requestId %q, authorizer event requestId %v", id, ev.RequestContext.RequestID, ev.RequestContext.Authorizer.Lambda["requestId"])
	}

	wsID := createAPI(t, c, map[string]any{"name": "w", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"authorizers": map[string]any{"conn": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
			"identitySource": "route.request.querystring.token"})},
		"routes": []any{
			map[string]any{"routeKey": "$connect", "security": []any{map[string]any{"conn": []any{}}},
				"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo"}},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default",
				"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo"}},
		}})
	ws := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + wsID + "/dev"
	for _, q := range []string{"?token=bad", ""} {
		_, resp, err := websocket.DefaultDialer.Dial(ws+q, nil)
		if resp != nil {
			resp.Body.Close()
		}
		if err == nil || resp == nil || resp.StatusCode != 401 {
			t.Fatalf("$connect with %q: %v %v", q, err, resp)
		}
	}
	// Twice with the same token: API Gateway runs a WebSocket authorizer on every
	// $connect (no result cache), so the second connection's authorizer event
	// names the second connection.
	for range 2 {
		conn, resp, err := websocket.DefaultDialer.Dial(ws+"?token=good", nil)
		if resp != nil {
			resp.Body.Close()
		}
		if err != nil {
			t.Fatalf("$connect with a good token: %v", err)
		}
		t.Cleanup(func() { conn.Close() })
		if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"action":"hello"}`)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var wev struct {
			RequestContext struct {
				EventType    string         `json:"eventType"`
				ConnectionID string         `json:"connectionId"`
				DomainName   string         `json:"domainName"`
				Authorizer   map[string]any `json:"authorizer"`
			} `json:"requestContext"`
		}
		if err := json.Unmarshal(msg, &wev); err != nil || wev.RequestContext.EventType != "MESSAGE" ||
			wev.RequestContext.Authorizer["user"] != "dave" || wev.RequestContext.Authorizer["principalId"] != "dave" {
			t.Fatalf("message event's authorizer: %s %v", msg, err)
		}
		// The authorizer's event had the connection's requestContext, as API
		// Gateway's WebSocket authorizers get it: the same connection id.
		az := wev.RequestContext.Authorizer
		if az["connectionId"] != wev.RequestContext.ConnectionID || wev.RequestContext.ConnectionID == "" ||
			az["routeKey"] != "$connect" || az["eventType"] != "CONNECT" || az["domainName"] != wev.RequestContext.DomainName ||
			az["level"] != "3" || az["vip"] != "true" { // numbers and booleans as strings
			t.Fatalf("the $connect authorizer's event lacked the connection's requestContext: authorizer context %v, message event %+v", az, wev.RequestContext)
		}
	}
}
