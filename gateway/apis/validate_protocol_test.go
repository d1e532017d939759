package apis

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

// TestIntegrationLimitsByProtocol: an HTTP API's integration may wait up to
// 30 s, and does by default; a REST or WebSocket API's up to 29 s. Payload
// format 2.0 is for an HTTP API's AWS_PROXY integrations only.
func TestIntegrationLimitsByProtocol(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		in       Integration
		ok       bool
	}{
		{ProtocolHTTP, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "GET", TimeoutInMillis: 30000}, true},
		{ProtocolHTTP, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "GET", TimeoutInMillis: 30001}, false},
		{ProtocolREST, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "GET", TimeoutInMillis: 29000}, true},
		{ProtocolREST, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "GET", TimeoutInMillis: 29001}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationMock, TimeoutInMillis: 30000}, false},
		{ProtocolHTTP, Integration{Type: IntegrationAWSProxy, URI: "function:f", PayloadFormatVersion: "2.0"}, true},
		{ProtocolHTTP, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "GET", PayloadFormatVersion: "2.0"}, false},
		{ProtocolHTTP, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "GET", PayloadFormatVersion: "1.0"}, true},
	} {
		err := tc.in.Validate(tc.protocol)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s %+v: %v, want ok=%v", tc.protocol, tc.in, err, tc.ok)
		}
	}
	var in Integration
	if in.TimeoutFor(ProtocolHTTP) != 30*time.Second || in.TimeoutFor(ProtocolREST) != 29*time.Second || in.Timeout() != 29*time.Second {
		t.Errorf("default timeouts: HTTP %v, REST %v", in.TimeoutFor(ProtocolHTTP), in.TimeoutFor(ProtocolREST))
	}
}

// TestWebSocketTemplatesOnMockAndHTTP: on a WebSocket API a MOCK integration
// renders its templates, and an HTTP or AWS (non-proxy) one its request and
// response templates; on the proxies they would be declared and not applied,
// so they are refused. An AWS or AWS_PROXY integration's function is invoked
// with POST, so another integrationMethod is refused (AWS_PROXY's was taken
// and ignored), and so are requestParameters (no
// Lambda request headers to map).
func TestWebSocketTemplatesOnMockAndHTTP(t *testing.T) {
	tpl := map[string]string{"$default": `{"statusCode": 200}`}
	resp := map[string]IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"$default": "pong"}}}
	for _, tc := range []struct {
		protocol string
		in       Integration
		ok       bool
	}{
		{ProtocolWebSocket, Integration{Type: IntegrationMock, RequestTemplates: tpl, Responses: resp}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationAWSProxy, URI: "function:f"}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationAWSProxy, URI: "function:f", RequestTemplates: tpl}, false},
		// An HTTP integration's integration responses map the backend's
		// answer (they were refused when only a MOCK's were applied).
		{ProtocolWebSocket, Integration{Type: IntegrationHTTP, URI: "http://b.example/", HTTPMethod: "POST", Responses: resp}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "POST", Responses: resp}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationMock, Responses: map[string]IntegrationResponse{"default": {StatusCode: "200",
			TemplateSelectionExpression: "${integration.response.statuscode}", ResponseTemplates: map[string]string{"200": "ok"}}}}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationMock, Responses: map[string]IntegrationResponse{"default": {StatusCode: "200",
			TemplateSelectionExpression: "$integration.response.header.X-Kind"}}}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationMock, Responses: map[string]IntegrationResponse{"default": {StatusCode: "200",
			TemplateSelectionExpression: "$request.body.kind"}}}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationMock, Responses: map[string]IntegrationResponse{"default": {StatusCode: "200",
			TemplateSelectionExpression: "${integration.response.statuscode"}}}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationMock, Responses: map[string]IntegrationResponse{"default": {StatusCode: "200",
			ResponseParameters: map[string]string{"method.response.header.x": "'y'"}}}}, false},
		{ProtocolREST, Integration{Type: IntegrationMock, Responses: map[string]IntegrationResponse{"default": {StatusCode: "200",
			TemplateSelectionExpression: "${integration.response.statuscode}"}}}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationHTTP, URI: "http://b.example/", HTTPMethod: "POST"}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationHTTP, URI: "http://b.example/", HTTPMethod: "POST", RequestTemplates: tpl}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "POST", RequestTemplates: tpl}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationAWS, URI: "function:f"}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationAWS, URI: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f:${stageVariables.alias}/invocations",
			HTTPMethod: "POST", RequestTemplates: tpl, Responses: resp, TemplateSelectionExpression: "$request.body.kind", PassthroughBehavior: "NEVER"}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationAWS, URI: "function:f", HTTPMethod: "GET"}, false},
		// An AWS_PROXY integration's function is invoked with POST too.
		{ProtocolWebSocket, Integration{Type: IntegrationAWSProxy, URI: "function:f", HTTPMethod: "GET"}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationAWSProxy, URI: "function:f", HTTPMethod: "POST"}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationAWS, URI: "function:f", RequestParameters: map[string]string{"integration.request.header.X-Amz-Invocation-Type": "'Event'"}}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationAWS, URI: "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem"}, false},
		// What selects and guards templates, on the proxies that have none.
		{ProtocolWebSocket, Integration{Type: IntegrationAWSProxy, URI: "function:f", TemplateSelectionExpression: "$request.body.kind"}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "POST", TemplateSelectionExpression: "$request.body.kind"}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "POST", PassthroughBehavior: "NEVER"}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationAWSProxy, URI: "function:f", PassthroughBehavior: "NEVER"}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationAWSProxy, URI: "function:f", TemplateSelectionExpression: `\$default`, PassthroughBehavior: "WHEN_NO_MATCH"}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "POST", PassthroughBehavior: "WHEN_NO_TEMPLATES"}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationHTTP, URI: "http://b.example/", HTTPMethod: "POST", TemplateSelectionExpression: "$request.body.kind", PassthroughBehavior: "NEVER", RequestTemplates: tpl}, true},
		{ProtocolREST, Integration{Type: IntegrationAWS, URI: "function:f", RequestTemplates: tpl, Responses: resp}, true},
	} {
		err := tc.in.Validate(tc.protocol)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s %+v: %v, want ok=%v", tc.protocol, tc.in, err, tc.ok)
		}
	}
}

// TestWebSocketRequestParameters: a WebSocket HTTP or HTTP_PROXY
// integration takes API Gateway's WebSocket data mapping (the gateway applies
// it); one that is none of its forms is refused naming the key, and neither
// AWS_PROXY (whose function gets the whole event) nor MOCK (no backend) takes
// any, rather than store them unapplied.
func TestWebSocketRequestParameters(t *testing.T) {
	good := map[string]string{
		"integration.request.header.connectionId": "context.connectionId",
		"integration.request.header.x-static":     "'lit'",
		"integration.request.querystring.room":    "route.request.body.room.id",
		"integration.request.header.x-color":      "stageVariables.color",
		"integration.request.header.x-principal":  "context.authorizer.principalId",
		"integration.request.header.x-ip":         "context.identity.sourceIp",
		"integration.request.header.x-rooted":     "route.request.body.$.room.id",
		"integration.request.querystring.crlf":    "'a\r\nb'", // encoded in a query
	}
	for _, typ := range []string{IntegrationHTTP, IntegrationHTTPProxy} {
		in := Integration{Type: typ, URI: "http://b.example/", HTTPMethod: "POST", RequestParameters: good}
		if err := in.Validate(ProtocolWebSocket); err != nil {
			t.Errorf("%s with a good mapping: %v", typ, err)
		}
	}
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"path target", "integration.request.path.p", "'x'", `"integration.request.path.p"`},
		{"method source", "integration.request.header.x", "method.request.header.y", `"integration.request.header.x": value "method.request.header.y"`},
		{"unknown context", "integration.request.header.x", "context.nonsense", `value "context.nonsense"`},
		{"whole body", "integration.request.header.x", "route.request.body", `value "route.request.body"`},
		{"bad JSONPath", "integration.request.header.x", "route.request.body.[", `value "route.request.body.["`},
		{"bad name", "integration.request.header.a b", "'x'", `"integration.request.header.a b"`},
		{"reserved header", "integration.request.header.Content-Length", "'1'", "reserved"},
		// The backend's Host is the URI's: a mapping would do nothing.
		{"host header", "integration.request.header.host", "'other.example'", "Host cannot be mapped"},
		{"unquoted literal", "integration.request.querystring.q", "lit", `value "lit"`},
		{"whole body from the root", "integration.request.header.x", "route.request.body.$", `value "route.request.body.$"`},
		{"root index", "integration.request.header.x", "route.request.body.$[0]", `value "route.request.body.$[0]"`},
		{"CR LF in a literal header", "integration.request.header.a", "'a\r\nX-Injected: 1'", `"integration.request.header.a": the literal "a\r\nX-Injected: 1" holds a character no header value may`},
		{"NUL in a literal header", "integration.request.header.a", "'a\x00'", `"integration.request.header.a": the literal`},
	} {
		in := Integration{Type: IntegrationHTTP, URI: "http://b.example/", HTTPMethod: "POST", RequestParameters: map[string]string{tc.key: tc.value}}
		err := in.Validate(ProtocolWebSocket)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want refused naming %s", tc.name, err, tc.want)
		}
	}
	for _, in := range []Integration{
		{Type: IntegrationAWSProxy, URI: "function:f", RequestParameters: good},
		{Type: IntegrationMock, RequestParameters: good},
	} {
		err := in.Validate(ProtocolWebSocket)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "requestParameters") {
			t.Errorf("%s with requestParameters: %v, want refused", in.Type, err)
		}
		in.RequestParameters = nil
		if err := in.Validate(ProtocolWebSocket); err != nil {
			t.Errorf("%s without: %v", in.Type, err)
		}
	}
}

// TestWebSocketRouteMappingSources: the upgrade request's headers and query
// string map on $connect only, a message body on message routes only: on
// another route the mapping would never have a value, so it is refused.
func TestWebSocketRouteMappingSources(t *testing.T) {
	for _, tc := range []struct {
		route, value string
		ok           bool
	}{
		{RouteConnect, "route.request.header.X-User", true},
		{RouteConnect, "route.request.multivaluequerystring.q", true},
		{RouteConnect, "route.request.body.room", false},
		{RouteDefault, "route.request.body.room", true},
		{"send", "route.request.body.room", true},
		{"send", "route.request.querystring.token", false},
		{RouteDisconnect, "route.request.header.X-User", false},
		{RouteDisconnect, "route.request.body.room", false},
		{RouteDisconnect, "context.connectionId", true},
	} {
		a := &API{Protocol: ProtocolWebSocket}
		r := &Route{RouteKey: tc.route, Integration: &Integration{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "POST",
			RequestParameters: map[string]string{"integration.request.header.x": tc.value}}}
		err := a.validateRoute(r)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s mapping %s: %v, want ok=%v", tc.route, tc.value, err, tc.ok)
		}
	}
}

// TestWebSocketAuthorizerIsNotCached: a WebSocket API's authorizer runs on every
// $connect, as API Gateway's does; a result TTL declared on one is refused, not
// ignored, and an HTTP API's keeps its TTL.
func TestWebSocketAuthorizerIsNotCached(t *testing.T) {
	scheme := func(ttl string) json.RawMessage {
		return json.RawMessage(`{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"custom",
			"x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz","identitySource":"route.request.querystring.token"` + ttl + `}}`)
	}
	for _, tc := range []struct {
		ttl     string
		ok      bool
		wantTTL int
	}{{"", true, 0}, {`,"authorizerResultTtlInSeconds":0`, true, 0}, {`,"authorizerResultTtlInSeconds":300`, false, 0}} {
		a := &API{Protocol: ProtocolWebSocket}
		a.Authorizers = map[string]json.RawMessage{"conn": scheme(tc.ttl)}
		errs := a.validateAuth()
		if tc.ok != (len(errs) == 0) {
			t.Errorf("WebSocket authorizer with %q: %v, want ok=%v", tc.ttl, errs, tc.ok)
		}
		au, err := ParseAuthorizer(ProtocolWebSocket, "conn", scheme(tc.ttl))
		if err != nil || au.TTL != tc.wantTTL {
			t.Errorf("WebSocket authorizer with %q parsed: %+v %v, want TTL %d", tc.ttl, au, err, tc.wantTTL)
		}
	}
	au, err := ParseAuthorizer(ProtocolHTTP, "h", json.RawMessage(`{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"custom",
		"x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz","identitySource":"$request.header.Authorization","authorizerPayloadFormatVersion":"2.0"}}`))
	if err != nil || au.TTL != DefaultAuthorizerTTL {
		t.Errorf("HTTP API authorizer: %+v %v, want TTL %d", au, err, DefaultAuthorizerTTL)
	}
}

// TestTokenAuthorizerReadsItsSchemesHeader is what the obs6 tester found: a
// token authorizer imported without identitySource read Authorization,
// ignoring its security scheme's name, where API Gateway's import reads the
// header the scheme names (identitySource is for request and jwt authorizers,
// "x-amazon-apigateway-authorizer object").
func TestTokenAuthorizerReadsItsSchemesHeader(t *testing.T) {
	for _, tc := range []struct{ scheme, want string }{
		{`"name":"X-My-Token","in":"header"`, "header.X-My-Token"},
		{`"name":"Authorization","in":"header"`, "header.Authorization"},
		{`"in":"header"`, "header.Authorization"},
		{`"name":"X-My-Token","in":"header","x-amazon-apigateway-authorizer-ignored":1`, "header.X-My-Token"},
	} {
		raw := json.RawMessage(`{"type":"apiKey",` + tc.scheme + `,"x-amazon-apigateway-authtype":"custom",
			"x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:authz","authorizerResultTtlInSeconds":0}}`)
		au, err := ParseAuthorizer(ProtocolREST, "tok", raw)
		if err != nil || len(au.IdentitySource) != 1 || au.IdentitySource[0] != tc.want {
			t.Errorf("scheme %s: %+v %v, want identity source %s", tc.scheme, au, err, tc.want)
		}
	}
	raw := json.RawMessage(`{"type":"apiKey","name":"X-My-Token","in":"header","x-amazon-apigateway-authtype":"custom",
		"x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:authz","identitySource":"method.request.header.X-Other"}}`)
	if au, err := ParseAuthorizer(ProtocolREST, "tok", raw); err != nil || au.IdentitySource[0] != "header.X-Other" {
		t.Errorf("an identitySource given: %+v %v, want it to win", au, err)
	}
}

// TestWebSocketRouteParameters: a WebSocket route's requestParameters are
// headers and query string parameters; a required one is checked on $connect
// (the gateway refuses a handshake without it) and refused on any other
// route, which has neither to check. MissingWSParameters names the required
// ones that are absent or blank.
func TestWebSocketRouteParameters(t *testing.T) {
	params := []Parameter{{Name: "token", In: "query", Required: true}, {Name: "X-Tenant", In: "header", Required: true}, {Name: "x-opt", In: "header"}}
	if errs := (&Route{RouteKey: RouteConnect, Parameters: params}).validateWSRouteParameters(); len(errs) != 0 {
		t.Errorf("$connect: %v", errs)
	}
	if errs := (&Route{RouteKey: "join", Parameters: params}).validateWSRouteParameters(); len(errs) != 2 {
		t.Errorf("join: %v, want the two required ones refused", errs)
	}
	if errs := (&Route{RouteKey: "join", Parameters: []Parameter{{Name: "p", In: "path"}}}).validateWSRouteParameters(); len(errs) != 1 {
		t.Errorf("path parameter: %v, want refused", errs)
	}
	r := &Route{RouteKey: RouteConnect, Parameters: params}
	h := http.Header{"X-Tenant": {"acme"}}
	for _, c := range []struct {
		query map[string][]string
		want  string
	}{
		{nil, "[token]"},
		{map[string][]string{"token": {"t", " "}}, "[token]"},
		{map[string][]string{"token": {" ", "t"}}, "[]"},
	} {
		if got := fmt.Sprint(r.MissingWSParameters(h.Values, c.query)); got != c.want {
			t.Errorf("query %v: missing %s, want %s", c.query, got, c.want)
		}
	}
	if got := r.MissingWSParameters(http.Header{}.Values, map[string][]string{"token": {"t"}}); fmt.Sprint(got) != "[X-Tenant]" {
		t.Errorf("without the header: missing %v", got)
	}
}

// TestWebSocketIntegrationResponseNamedByKey: a refusal names a WebSocket
// integration response by its integrationResponseKey, as the client wrote it
// ("$default", "/re/"), and a REST API's by its pattern.
func TestWebSocketIntegrationResponseNamedByKey(t *testing.T) {
	in := Integration{Type: IntegrationMock, Responses: map[string]IntegrationResponse{
		"default": {ResponseParameters: map[string]string{"a": "b"}},
		"4\\d{2}": {ResponseParameters: map[string]string{"a": "b"}},
	}}
	err := in.Validate(ProtocolWebSocket)
	for _, want := range []string{`integration response "$default": responseParameters`, `integration response "/4\\d{2}/": responseParameters`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("WebSocket: %v, want %s", err, want)
		}
	}
	rest := Integration{Type: IntegrationMock, Responses: map[string]IntegrationResponse{"default": {StatusCode: "99"}}}
	if err := rest.Validate(ProtocolREST); err == nil || !strings.Contains(err.Error(), `integration response "default": statusCode`) {
		t.Errorf("REST: %v, want the pattern named", err)
	}
}

// TestAuthTypeNextToAuthorizer is r-authz20's finding: a scheme declaring IAM
// (awsSigv4, or any aws* term, which API Gateway reserves) or Cognito in
// x-amazon-apigateway-authtype next to a Lambda or JWT authorizer was read as
// the authorizer alone, so unsigned requests got in. It is refused; custom (or
// no authtype) is the authorizer, and an authorizer without a type says so.
func TestAuthTypeNextToAuthorizer(t *testing.T) {
	authorizers := map[string]struct{ protocol, doc string }{
		"REST token":   {ProtocolREST, `{"type":"token","authorizerUri":"function:authz","identitySource":"method.request.header.auth"}`},
		"HTTP request": {ProtocolHTTP, `{"type":"request","authorizerUri":"function:authz","identitySource":"$request.header.auth"}`},
		"HTTP jwt":     {ProtocolHTTP, `{"type":"jwt","identitySource":"$request.header.Authorization","jwtConfiguration":{"issuer":"https://idp.example","audience":["a"]}}`},
	}
	for name, au := range authorizers {
		for _, authType := range []string{"awsSigv4", "AWSSIGV4", "aws_iam", "awsCustom", "cognito_user_pools", "custom", ""} {
			raw := `{"type":"apiKey","name":"auth","in":"header","x-amazon-apigateway-authorizer":` + au.doc
			if authType != "" {
				raw += `,"x-amazon-apigateway-authtype":"` + authType + `"`
			}
			got, err := ParseAuthorizer(au.protocol, "a", json.RawMessage(raw+"}"))
			refuse := authType != "custom" && authType != ""
			if refuse && (err == nil || !strings.Contains(err.Error(), "one authorizer per method")) {
				t.Errorf("%s with authtype %q: %+v %v, want refused", name, authType, got, err)
			}
			if !refuse && (err != nil || got == nil || got.Type == AuthorizerIAM) {
				t.Errorf("%s with authtype %q: %+v %v, want the authorizer", name, authType, got, err)
			}
		}
	}
	_, err := ParseAuthorizer(ProtocolREST, "a", json.RawMessage(`{"type":"apiKey","name":"auth","in":"header","x-amazon-apigateway-authorizer":{}}`))
	if err == nil || !strings.Contains(err.Error(), "needs a type") {
		t.Errorf("an authorizer without a type: %v", err)
	}
}

// TestIdentityValidationExpressionOnlyOnRESTToken is r-authz20's finding: an
// identityValidationExpression on a REST REQUEST, HTTP API or WebSocket
// authorizer was stored and read back but never applied (only a REST TOKEN
// authorizer applies it, as in API Gateway). Saving one is refused; a REST
// TOKEN authorizer keeps it.
func TestIdentityValidationExpressionOnlyOnRESTToken(t *testing.T) {
	const expr = `,"identityValidationExpression":"^Bearer [A-Za-z0-9]+$"`
	for _, tc := range []struct {
		protocol, doc string
		ok            bool
	}{
		{ProtocolREST, `{"type":"token","authorizerUri":"function:authz","identitySource":"method.request.header.Authorization"`, true},
		{ProtocolREST, `{"type":"request","authorizerUri":"function:authz","identitySource":"method.request.header.Authorization"`, false},
		{ProtocolHTTP, `{"type":"request","authorizerUri":"function:authz","identitySource":"$request.header.Authorization"`, false},
		{ProtocolHTTP, `{"type":"jwt","jwtConfiguration":{"issuer":"https://idp.example","audience":["a"]}`, false},
		{ProtocolWebSocket, `{"type":"request","authorizerUri":"function:authz","identitySource":"route.request.querystring.t"`, false},
	} {
		for _, with := range []bool{false, true} {
			doc := tc.doc
			if with {
				doc += expr
			}
			a := &API{Protocol: tc.protocol}
			a.Authorizers = map[string]json.RawMessage{
				"a": json.RawMessage(`{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authorizer":` + doc + `}}`)}
			errs := a.validateAuth()
			want := !with || tc.ok
			if want != (len(errs) == 0) || !want && !strings.Contains(errors.Join(errs...).Error(), "identityValidationExpression is applied by a REST API's TOKEN authorizers only") {
				t.Errorf("%s %s (expression %v): %v, want ok=%v", tc.protocol, doc, with, errs, want)
			}
		}
	}
}
