package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// TestResponseOverrideCannotSetFramingHeaders: a REST response template's
// $context.responseOverride.header naming Transfer-Encoding, Content-Length,
// Connection or the gateway's request id does not reach the client: the
// gateway frames the response itself (a second Transfer-Encoding broke it:
// "Transfer-Encoding: v" beside "chunked"), and the log says what was
// dropped. Other headers the same template sets go out.
func TestResponseOverrideCannotSetFramingHeaders(t *testing.T) {
	e := newEnv(t)
	id := e.deploy(&apis.API{Name: "frm", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/rn", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{
				"application/json": `#set($context.responseOverride.header[$input.params('n')] = "v")#set($context.responseOverride.header.X-Kept = "k")x`}}}}},
	}}}, "dev", nil)
	for _, n := range []string{"Transfer-Encoding", "transfer-encoding", "Content-Length", "Connection", "X-Amzn-RequestId", "Keep-Alive", "Upgrade"} {
		r := e.do("GET", "/"+id+"/dev/rn?n="+n, nil)
		if r.status != 200 || r.body != "x" || r.header.Get("X-Kept") != "k" {
			t.Errorf("n=%s: %d %q %v; want 200 x with X-Kept", n, r.status, r.body, r.header)
		}
		for k, vs := range r.header {
			for _, v := range vs {
				if v == "v" {
					t.Errorf("n=%s: the client got %s: v", n, k)
				}
			}
		}
	}
	if logs := e.logs.b.String(); !strings.Contains(logs, "responseOverride.header") || !strings.Contains(logs, "Transfer-Encoding") {
		t.Errorf("the dropped headers are not logged:\n%s", logs)
	}
}

// TestRESTResponseParametersRefuseFramingHeaders: an integration response's
// responseParameters mapping method.response.header.Transfer-Encoding (or
// another header the gateway sets itself) is refused when saved, in the
// shape of any invalid definition, saying to remove it; it was saved and
// then sent beside the gateway's own "Transfer-Encoding: chunked".
func TestRESTResponseParametersRefuseFramingHeaders(t *testing.T) {
	e := newEnv(t)
	for _, h := range []string{"Transfer-Encoding", "Content-Length", "connection", "X-Amzn-RequestId"} {
		_, err := e.svc.Create(context.Background(), &apis.API{Name: "te", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
			{Method: "GET", Path: "/te", Integration: &apis.Integration{Type: apis.IntegrationMock,
				RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
				Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200",
					ResponseParameters: map[string]string{"method.response.header." + h: "'gzip'"}}}}},
		}}})
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "method.response.header."+h) || !strings.Contains(err.Error(), "remove the mapping") {
			t.Errorf("%s: %v; want an invalid-definition error naming it", h, err)
		}
	}
	// Headers that are the API's to set are still accepted.
	e.deploy(&apis.API{Name: "ok", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/ok", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200",
				ResponseParameters: map[string]string{"method.response.header.Content-Encoding": "'identity'", "method.response.header.Access-Control-Allow-Origin": "'*'"}}}}},
	}}}, "dev", nil)
}

// TestHTTPIntegrationFramingHeaderMappings: a non-proxy HTTP integration
// follows HTTP_PROXY's rule for the request's framing headers. Mapping
// Content-Length or Transfer-Encoding (requestParameters, or a request
// template's $context.requestOverride.header) is a 500 with the reason logged
// and nothing sent, as API Gateway answers; it was silently dropped with a
// 200. Host and Connection set by an override are not sent (the backend sees
// the gateway's own).
func TestHTTPIntegrationFramingHeaderMappings(t *testing.T) {
	var calls atomic.Int64
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	e := newEnv(t)
	route := func(path string, params map[string]string, tmpl string) apis.Route {
		in := &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "POST", URI: backend.URL + path, RequestParameters: params}
		if tmpl != "" {
			in.RequestTemplates = map[string]string{"application/json": tmpl}
		}
		return apis.Route{Method: "POST", Path: path, Integration: in}
	}
	id := e.deploy(&apis.API{Name: "fr", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		route("/cl", map[string]string{"integration.request.header.Content-Length": "'5'"}, ""),
		route("/te", map[string]string{"integration.request.header.transfer-encoding": "'chunked'"}, ""),
		route("/otl", nil, `#set($context.requestOverride.header.Transfer-Encoding = "gzip"){"a": 1}`),
		route("/ocl", nil, `#set($context.requestOverride.header.Content-Length = "3"){"a": 1}`),
		route("/hop", nil, `#set($context.requestOverride.header.Host = "evil.example")#set($context.requestOverride.header.Connection = "x-kept")#set($context.requestOverride.header.X-Kept = "k"){"a": 1}`),
	}}}, "dev", nil)
	for _, p := range []string{"/cl", "/te", "/otl", "/ocl"} {
		before := calls.Load()
		r := e.do("POST", "/"+id+"/dev"+p, strings.NewReader(`{"a": 1}`), "Content-Type", "application/json")
		if r.status != http.StatusInternalServerError || !strings.Contains(r.body, `"Internal server error"`) || calls.Load() != before {
			t.Errorf("%s: %d %s, backend called %d times; want 500 and none", p, r.status, r.body, calls.Load()-before)
		}
	}
	if logs := e.logs.b.String(); !strings.Contains(logs, "Content-Length") || !strings.Contains(logs, "remove the mapping") {
		t.Errorf("the reason is not logged:\n%s", logs)
	}
	r := e.do("POST", "/"+id+"/dev/hop", strings.NewReader(`{"a": 1}`), "Content-Type", "application/json")
	if s := seen(); r.status != 200 || s.header.Get("X-Kept") != "k" || s.header.Get("Connection") == "x-kept" || s.header.Get("Host") != "" {
		t.Errorf("/hop: %d %s; backend saw %v", r.status, r.body, s.header)
	}
}
