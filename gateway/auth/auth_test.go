package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/restevent"
	"github.com/portico-dev/portico/gateway/internal/wirenames"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/invoker"
)

type fakeResolver struct{}

func (fakeResolver) Resolve(_ context.Context, ref functions.Ref) (*functions.Config, error) {
	return &functions.Config{FunctionName: ref.Name, Version: "$LATEST", Timeout: 3}, nil
}

// countingInvoker answers as an authorizer allowing every GET and counts calls.
type countingInvoker struct{ n atomic.Int64 }

func (f *countingInvoker) Invoke(context.Context, invoker.Request) (*invoker.Result, error) {
	f.n.Add(1)
	out, _ := json.Marshal(map[string]any{"principalId": "p", "policyDocument": map[string]any{
		"Statement": []any{map[string]any{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*/*/GET/*"}}}})
	return &invoker.Result{Payload: out}, nil
}

func deployed(ttl int) *pipeline.Deployed {
	a := &apis.API{ID: "abcdefghij", Protocol: apis.ProtocolREST, Definition: apis.Definition{
		Authorizers: map[string]json.RawMessage{"tok": json.RawMessage(`{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"custom",
			"x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:authz","authorizerResultTtlInSeconds":` + itoa(ttl) + `}}`)},
		Routes: []apis.Route{{Method: "GET", Path: "/pets", RouteKey: "GET /pets", Security: []map[string][]string{{"tok": {}}}}},
	}}
	return &pipeline.Deployed{API: a, Stage: &apis.Stage{Name: "dev"}, Deployment: &apis.Deployment{ID: "d1"}}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func serve(t testing.TB, h pipeline.Handler, d *pipeline.Deployed, token string) error {
	r := httptest.NewRequest("GET", "/pets", nil)
	r.Header.Set("Authorization", token)
	c := &pipeline.Context{APIID: d.API.ID, Stage: "dev", HTTPMethod: "GET", Path: "/pets", Route: &d.API.Routes[0], Deployed: d}
	return h.ServeRequest(httptest.NewRecorder(), r, c)
}

var ok = pipeline.HandlerFunc(func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error { return nil })

// TestResultCacheTTL checks on a fake clock that results are reused within the
// TTL, fetched again after it, and not cached at TTL 0.
func TestResultCacheTTL(t *testing.T) {
	for _, ttl := range []int{300, 0} {
		inv := &countingInvoker{}
		s := New(fakeResolver{}, inv, nil)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		s.SetClock(func() time.Time { return now })
		d := deployed(ttl)
		mw, err := s.Compile(d)
		if err != nil {
			t.Fatal(err)
		}
		h := mw(ok)
		for range 2 {
			if err := serve(t, h, d, "a"); err != nil {
				t.Fatal(err)
			}
		}
		want := int64(1)
		if ttl == 0 {
			want = 2
		}
		if inv.n.Load() != want {
			t.Fatalf("ttl %d: %d calls, want %d", ttl, inv.n.Load(), want)
		}
		now = now.Add(time.Duration(ttl)*time.Second + time.Second)
		_ = serve(t, h, d, "a")
		if inv.n.Load() != want+1 {
			t.Fatalf("ttl %d: after the TTL %d calls, want %d", ttl, inv.n.Load(), want+1)
		}
		// FlushAuthorizers (flush-stage-authorizers-cache) of another stage
		// keeps the answer cached; of this one, drops it.
		s.FlushAuthorizers(d.API.ID, "other")
		_ = serve(t, h, d, "a")
		if ttl > 0 && inv.n.Load() != want+1 {
			t.Fatalf("ttl %d: after flushing another stage %d calls, want %d", ttl, inv.n.Load(), want+1)
		}
		s.FlushAuthorizers(d.API.ID, "dev")
		before := inv.n.Load()
		_ = serve(t, h, d, "a")
		if inv.n.Load() != before+1 {
			t.Fatalf("ttl %d: after flushing the stage %d calls, want %d", ttl, inv.n.Load(), before+1)
		}
	}
}

// BenchmarkAuthorize measures the stage with a cached authorizer result against
// the same handler without it.
func BenchmarkAuthorize(b *testing.B) {
	d := deployed(300)
	s := New(fakeResolver{}, &countingInvoker{}, nil)
	mw, _ := s.Compile(d)
	for _, bc := range []struct {
		name string
		h    pipeline.Handler
	}{{"noauth", ok}, {"cached-lambda", mw(ok)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if err := serve(b, bc.h, d, "tok"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRequestEventPaths: a REQUEST authorizer's event has the paths of the
// function's event: path without the stage (nor, on Portico's path-based
// URLs, the API id), requestContext.path with the stage; as the client sent
// them on REST APIs, decoded on HTTP APIs (payload 1.0 and 2.0).
func TestRequestEventPaths(t *testing.T) {
	r := httptest.NewRequest("GET", "http://127.0.0.1/abcdefghij/dev/items/a%20b", nil)
	c := &pipeline.Context{APIID: "abcdefghij", Stage: "dev", StagePrefix: "/abcdefghij/dev", Path: "/items/a%20b",
		ResourcePath: "/items/{id}", PathParameters: map[string]string{"id": "a b"}, HTTPMethod: "GET", Protocol: apis.ProtocolREST}
	ev := requestEvent(r, c, "arn")
	if ev.Path != "/items/a%20b" || ev.RequestContext.Path != "/dev/items/a%20b" || ev.PathParameters["id"] != "a%20b" {
		t.Errorf("REST: path %q, requestContext.path %q, pathParameters %v", ev.Path, ev.RequestContext.Path, ev.PathParameters)
	}
	c.Protocol = apis.ProtocolHTTP
	ev = requestEvent(r, c, "arn")
	if ev.Path != "/items/a b" || ev.RequestContext.Path != "/dev/items/a b" || ev.PathParameters["id"] != "a b" {
		t.Errorf("HTTP 1.0: path %q, requestContext.path %q, pathParameters %v", ev.Path, ev.RequestContext.Path, ev.PathParameters)
	}
	ev2 := requestEventV2(r, c, nil, "arn")
	if ev2.RawPath != "/dev/items/a b" || ev2.RequestContext.HTTP.Path != "/dev/items/a b" {
		t.Errorf("HTTP 2.0: rawPath %q, http.path %q", ev2.RawPath, ev2.RequestContext.HTTP.Path)
	}
	// As sent: no requestContext.authentication without a client
	// certificate, and the rest of the event as aws-lambda-go spells it.
	raw, err := json.Marshal(httpEvent(r, c, &apis.Authorizer{Type: apis.AuthorizerRequest, PayloadFormatVersion: "2.0"}, nil, "arn"))
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		RouteArn       string                     `json:"routeArn"`
		RequestContext map[string]json.RawMessage `json:"requestContext"`
	}
	if err := json.Unmarshal(raw, &sent); err != nil || sent.RouteArn != "arn" || sent.RequestContext["http"] == nil || sent.RequestContext["apiId"] == nil {
		t.Errorf("HTTP 2.0 authorizer event %s: %v", raw, err)
	}
	if au, ok := sent.RequestContext["authentication"]; ok {
		t.Errorf("HTTP 2.0 authorizer event without a client certificate has requestContext.authentication %s", au)
	}
}

// TestRequestEventV2Headers: an HTTP API's payload 2.0 authorizer event has
// the headers the integration's 2.0 event has: the client's in lower case,
// values joined with commas, and host, x-forwarded-for/port/proto and
// x-amzn-trace-id as API Gateway adds them (a 2.0 authorizer that checks the
// host or the client's address sees them, as a 1.0 one does); the cookies
// apart, and the absent cookies, query, path parameters and stage variables
// left out rather than null, as in the integration's event.
func TestRequestEventV2Headers(t *testing.T) {
	r := httptest.NewRequest("GET", "http://tenant.example.com:8080/abcdefghij/items", nil)
	r.Header["X-Custom"] = []string{"1", "2"}
	r.Header.Set("Authorization", "allow")
	r.Header.Set("Cookie", "a=b")
	r.RemoteAddr = "10.0.0.9:5555"
	c := &pipeline.Context{APIID: "abcdefghij", Stage: "$default", StagePrefix: "/abcdefghij", Path: "/items", HTTPMethod: "GET",
		Protocol: apis.ProtocolHTTP, RequestID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", RequestTime: time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)}
	raw, err := json.Marshal(httpEvent(r, c, &apis.Authorizer{Type: apis.AuthorizerRequest, PayloadFormatVersion: "2.0"}, []string{"allow"}, "arn"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]json.RawMessage
	var headers map[string]string
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ev["headers"], &headers); err != nil {
		t.Fatalf("headers %s: %v", ev["headers"], err)
	}
	want := map[string]string{"host": "tenant.example.com:8080", "x-forwarded-for": "10.0.0.9", "x-forwarded-port": "80",
		"x-forwarded-proto": "http", "x-custom": "1,2", "authorization": "allow", "x-amzn-trace-id": restevent.TraceID(c.RequestTime, c.RequestID)}
	for k, v := range want {
		if headers[k] != v {
			t.Errorf("headers[%q] = %q, want %q (headers %v)", k, headers[k], v, headers)
		}
	}
	if _, ok := headers["cookie"]; ok || string(ev["cookies"]) != `["a=b"]` {
		t.Errorf("cookie header %v, cookies %s: want the cookies apart", headers, ev["cookies"])
	}
	for _, k := range []string{"queryStringParameters", "pathParameters", "stageVariables"} {
		if v, ok := ev[k]; ok {
			t.Errorf("absent %s sent as %s, want it left out", k, v)
		}
	}
}

// TestRequestEventShape: a REST REQUEST authorizer's event carries what the
// function's proxy event does: header names as the client sent them, the
// headers API Gateway adds, the requestContext's domain, protocol, times and
// extended id, the identity's user agent and its absent fields as null, and on
// a custom domain the base path in path.
func TestRequestEventShape(t *testing.T) {
	r := httptest.NewRequest("GET", "http://api.example.com/v2/items/x?q=1&q=2", nil)
	r.Header["Auth"] = []string{"tok"}
	r.Header.Set("User-Agent", "curl/8")
	r.RemoteAddr = "10.0.0.9:5555"
	r = r.WithContext(wirenames.With(r.Context(), wirenames.Names{"auth", "user-agent"}))
	when := time.Date(2026, 12, 4, 23, 5, 9, 0, time.UTC)
	c := &pipeline.Context{APIID: "abcdefghij", Stage: "prod", StagePrefix: "/v2", Path: "/items/x", CustomDomain: true,
		ResourcePath: "/items/{id}", PathParameters: map[string]string{"id": "x"}, HTTPMethod: "GET", Protocol: apis.ProtocolREST,
		RequestID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", ExtendedRequestID: "T+oc8n61CXbW+Q==", RequestTime: when,
		DomainName: "api.example.com", DomainPrefix: "api"}
	c.Identity.SourceIP = "10.0.0.9"
	raw, err := json.Marshal(requestEvent(r, c, "arn"))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Path              string              `json:"path"`
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
		QS                map[string]string   `json:"queryStringParameters"`
		RequestContext    map[string]any      `json:"requestContext"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Path != "/v2/items/x" || ev.RequestContext["path"] != "/v2/items/x" {
		t.Errorf("path %q, requestContext.path %v, want the base path in both", ev.Path, ev.RequestContext["path"])
	}
	if ev.Headers["auth"] != "tok" || ev.Headers["Auth"] != "" || ev.Headers["user-agent"] != "curl/8" || len(ev.MultiValueHeaders["auth"]) != 1 {
		t.Errorf("headers %v, want the client's spelling", ev.Headers)
	}
	for _, h := range []string{"Host", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Amzn-Trace-Id"} {
		if ev.Headers[h] == "" || len(ev.MultiValueHeaders[h]) != 1 {
			t.Errorf("header %s missing: %v", h, ev.Headers)
		}
	}
	if ev.QS["q"] != "2" {
		t.Errorf("queryStringParameters %v, want the last value", ev.QS)
	}
	want := map[string]any{"domainName": "api.example.com", "domainPrefix": "api", "protocol": "HTTP/1.1",
		"requestTime": "04/Dec/2026:23:05:09 +0000", "requestTimeEpoch": float64(when.UnixMilli()), "extendedRequestId": "T+oc8n61CXbW+Q==",
		"requestId": c.RequestID, "apiId": "abcdefghij", "stage": "prod", "resourcePath": "/items/{id}", "httpMethod": "GET"}
	for k, v := range want {
		if ev.RequestContext[k] != v {
			t.Errorf("requestContext.%s = %v, want %v", k, ev.RequestContext[k], v)
		}
	}
	id, _ := ev.RequestContext["identity"].(map[string]any)
	if id["userAgent"] != "curl/8" || id["sourceIp"] != "10.0.0.9" {
		t.Errorf("identity %v", id)
	}
	for _, k := range []string{"cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "apiKey", "apiKeyId", "accessKey",
		"cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "user", "principalOrgId", "clientCert"} {
		if v, ok := id[k]; !ok || v != nil {
			t.Errorf("identity.%s = %v (present %v), want null", k, v, ok)
		}
	}
}

// TestHTTPAPIRequestEventV1Identity: an HTTP API Lambda authorizer's payload
// 1.0 event carries version "1.0", and identitySource and authorizationToken
// as the identity values joined with commas, as API Gateway sends it; a REST
// REQUEST event has none of these keys.
func TestHTTPAPIRequestEventV1Identity(t *testing.T) {
	r := httptest.NewRequest("GET", "http://127.0.0.1/abcdefghij/dev/items?q=123", nil)
	r.Header.Set("X-User", "user1")
	c := &pipeline.Context{APIID: "abcdefghij", Stage: "dev", StagePrefix: "/abcdefghij/dev", Path: "/items",
		ResourcePath: "/items", HTTPMethod: "GET", Protocol: apis.ProtocolHTTP}
	au := &apis.Authorizer{Type: apis.AuthorizerRequest, PayloadFormatVersion: "1.0"}
	decode := func() map[string]any {
		raw, err := json.Marshal(httpEvent(r, c, au, []string{"user1", "123"}, "arn"))
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	ev := decode()
	if ev["version"] != "1.0" || ev["identitySource"] != "user1,123" || ev["authorizationToken"] != "user1,123" || ev["type"] != "REQUEST" {
		t.Errorf("HTTP API 1.0 authorizer event: version %v identitySource %v authorizationToken %v", ev["version"], ev["identitySource"], ev["authorizationToken"])
	}
	c.Protocol = apis.ProtocolREST
	ev = decode()
	for _, k := range []string{"version", "identitySource", "authorizationToken"} {
		if v, ok := ev[k]; ok {
			t.Errorf("REST REQUEST event has %s %v", k, v)
		}
	}
}

// TestContextIdentitySourcesResolve: every $context variable an identity
// source may name (apis.IdentityContextVariables, the list saving checks)
// resolves here.
func TestContextIdentitySourcesResolve(t *testing.T) {
	c := &pipeline.Context{APIID: "abcdefghij", Stage: "dev", HTTPMethod: "GET", ResourcePath: "/items", RouteKey: "GET /items", RequestID: "id1"}
	c.Identity.SourceIP, c.Identity.UserAgent = "192.0.2.1", "ua"
	for _, name := range apis.IdentityContextVariables {
		if contextValue(c, name) == "" {
			t.Errorf("$context.%s resolves to nothing", name)
		}
	}
}

// TestMalformedAnswerErrorsNameNoValues: the errors for answers that do not
// parse say what is wrong by field names and JSON kinds, never by values.
func TestMalformedAnswerErrorsNameNoValues(t *testing.T) {
	for _, tc := range []struct {
		name, payload, want string
		simple              bool
	}{
		{"principalId a number", `{"principalId":7,"policyDocument":{},"usageIdentifierKey":"s3cr3t"}`,
			"the answer is not an authorizer response: its principalId is a JSON number, not a string", false},
		{"both missing", `{"usageIdentifierKey":"s3cr3t"}`,
			"the answer lacks principalId and policyDocument; it is a JSON object with fields usageIdentifierKey (31 bytes)", false},
		{"not JSON", `s3cr3t`, "the answer is not an authorizer response, an object: it is not JSON (6 bytes)", false},
		{"isAuthorized a string", `{"isAuthorized":"s3cr3t"}`,
			"the answer is not a simple authorizer response: its isAuthorized is a JSON string, not a boolean", true},
		// In a function author's words, not Go's (map[string]json.RawMessage).
		{"context an array", `{"principalId":"u","policyDocument":{},"context":["s3cr3t"]}`,
			"the answer is not an authorizer response: its context is a JSON array, not a JSON object", false},
		{"simple context a string", `{"isAuthorized":true,"context":"s3cr3t"}`,
			"the answer is not a simple authorizer response: its context is a JSON string, not a JSON object", true},
		// null is not said to be lacking (it is there), nor listed beside it.
		{"principalId null", `{"principalId":null,"policyDocument":{},"usageIdentifierKey":"s3cr3t"}`,
			"its principalId is null, not a string", false},
		// An empty principal is no identity: refused as null is, not
		// admitted with requestContext.authorizer null.
		{"principalId empty", `{"principalId":"","policyDocument":{},"usageIdentifierKey":"s3cr3t"}`,
			"its principalId is an empty string: name the principal the policy is for", false},
		{"array", `["s3cr3t"]`, "the answer is not a simple authorizer response, an object: it is a JSON array (10 bytes)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.simple {
				_, err = parseSimpleResponse([]byte(tc.payload))
			} else {
				_, err = parseResponse([]byte(tc.payload))
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestContextNumbersKeepTheirText: an authorizer context's numbers keep
// every digit (a 64-bit id sent as a number), as REST/WebSocket strings and
// as the HTTP API's authorizer.lambda numbers; they used to pass through a
// float64 (12345678901234567890 became 12345678901234567000).
func TestContextNumbersKeepTheirText(t *testing.T) {
	res, err := parseResponse([]byte(`{"principalId":"u","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]},
		"context":{"big":12345678901234567890,"f":1.5,"neg":-7,"b":true,"s":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"big": "12345678901234567890", "f": "1.5", "neg": "-7", "b": "true", "s": "x"}
	for k, w := range want {
		if got := pipeline.StringifyContextValue(res.context[k]); got != w {
			t.Errorf("context %s as a string = %v, want %s", k, got, w)
		}
	}
	simple, err := parseSimpleResponse([]byte(`{"isAuthorized":true,"context":{"big":12345678901234567890}}`))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := json.Marshal(simple.context); err != nil || string(b) != `{"big":12345678901234567890}` {
		t.Errorf("authorizer.lambda = %s %v", b, err)
	}
}
