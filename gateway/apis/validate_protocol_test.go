package apis

import (
	"errors"
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
