package gateway

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestMappedHeaderControlCharacters: a client's value with CR, LF or another
// control character, mapped into a backend request's header (HTTP API and
// REST HTTP_PROXY mappings, a REST HTTP integration's requestParameters), is
// the client's bad request, 400, with nothing sent to the backend; it was a
// 500 logged at error level as a gateway failure ("net/http: invalid header
// field value").
func TestMappedHeaderControlCharacters(t *testing.T) {
	var calls atomic.Int64
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	e := newEnv(t)
	httpID := e.deploy(&apis.API{Name: "inj", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/inj", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/inj",
			RequestParameters: map[string]string{"overwrite:header.x-t": "$request.querystring.t"}}},
	}}}, "dev", nil)
	restID := e.deploy(&apis.API{Name: "injr", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/proxy", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/proxy",
			RequestParameters: map[string]string{"integration.request.header.x-t": "method.request.querystring.t"}}},
		{Method: "GET", Path: "/http", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL + "/http",
			RequestParameters: map[string]string{"integration.request.header.x-t": "method.request.querystring.t"}}},
	}}}, "dev", nil)
	for _, path := range []string{"/" + httpID + "/dev/inj", "/" + restID + "/dev/proxy", "/" + restID + "/dev/http"} {
		if r := e.do("GET", path+"?t=plain%09tab", nil); r.status != 200 || seen().header.Get("X-T") != "plain\ttab" {
			t.Errorf("%s: a plain value: %d %s, backend saw %q", path, r.status, r.body, seen().header.Get("X-T"))
		}
		for _, v := range []string{"a%0d%0aX-Evil:%201", "a%0aX-Evil:%201", "a%00b", "a%7fb"} {
			before := calls.Load()
			r := e.do("GET", path+"?t="+v, nil)
			if r.status != http.StatusBadRequest || calls.Load() != before {
				t.Errorf("%s?t=%s: %d %s, backend called %d times; want 400 and none", path, v, r.status, r.body, calls.Load()-before)
			}
		}
	}
	if logs := e.logs.b.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("error lines logged:\n%s", logs)
	}
}

// TestRequestOverrideHeaderControlCharacters: a CR, LF or other control character
// that a REST request template puts into $context.requestOverride.header.X is
// the API's own fault, not the client's: 500 {"message": "Internal server
// error"} in AWS's shape, nothing sent to the backend, and the reason logged
// (it was a 400 "Bad Request" with nothing logged). A value the template
// takes from the client's own input is the template's output too.
func TestRequestOverrideHeaderControlCharacters(t *testing.T) {
	var calls atomic.Int64
	backend, _ := newSeenBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	e := newEnv(t)
	restID := e.deploy(&apis.API{Name: "ovr", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/lit", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL + "/lit",
			RequestTemplates: map[string]string{"application/json": `#set($context.requestOverride.header.X-Made = $util.urlDecode("a%0d%0aX-Evil:%201"))`}}},
		{Method: "GET", Path: "/param", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL + "/param",
			RequestTemplates: map[string]string{"application/json": `#set($context.requestOverride.header.X-Made = $input.params('t'))`}}},
	}}}, "dev", nil)
	for _, path := range []string{"/" + restID + "/dev/lit", "/" + restID + "/dev/param?t=a%0d%0aX-Evil:%201"} {
		before := calls.Load()
		r := e.do("GET", path, nil)
		if r.status != http.StatusInternalServerError || !strings.Contains(r.body, `"Internal server error"`) || calls.Load() != before {
			t.Errorf("%s: %d %s, backend called %d times; want 500 Internal server error and none", path, r.status, r.body, calls.Load()-before)
		}
	}
	if logs := e.logs.b.String(); !strings.Contains(logs, "X-Made") || !strings.Contains(logs, "control character") {
		t.Errorf("the reason is not logged:\n%s", logs)
	}
}
