package apis

import (
	"encoding/json"
	"errors"
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

// TestWebSocketTemplatesOnMockOnly: on a WebSocket API only a MOCK integration
// renders templates; elsewhere they would be declared and not applied, so they
// are refused, as is the non-proxy AWS type (its function would get the proxy
// event).
func TestWebSocketTemplatesOnMockOnly(t *testing.T) {
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
		{ProtocolWebSocket, Integration{Type: IntegrationHTTP, URI: "http://b.example/", HTTPMethod: "POST", Responses: resp}, false},
		{ProtocolWebSocket, Integration{Type: IntegrationHTTP, URI: "http://b.example/", HTTPMethod: "POST"}, true},
		{ProtocolWebSocket, Integration{Type: IntegrationAWS, URI: "function:f"}, false},
		{ProtocolREST, Integration{Type: IntegrationAWS, URI: "function:f", RequestTemplates: tpl, Responses: resp}, true},
	} {
		err := tc.in.Validate(tc.protocol)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s %+v: %v, want ok=%v", tc.protocol, tc.in, err, tc.ok)
		}
	}
}

// TestWebSocketRequestParametersRefused: Portico does not apply a WebSocket
// integration's requestParameters (and API Gateway takes none on AWS_PROXY),
// so they are refused on every type rather than stored and ignored.
func TestWebSocketRequestParametersRefused(t *testing.T) {
	params := map[string]string{"integration.request.header.x-cid": "context.connectionId"}
	for _, in := range []Integration{
		{Type: IntegrationHTTP, URI: "http://b.example/", HTTPMethod: "POST", RequestParameters: params},
		{Type: IntegrationHTTPProxy, URI: "http://b.example/", HTTPMethod: "POST", RequestParameters: params},
		{Type: IntegrationAWSProxy, URI: "function:f", RequestParameters: params},
		{Type: IntegrationMock, RequestParameters: params},
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
