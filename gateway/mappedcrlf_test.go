package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth"
	"github.com/portico-dev/portico/invoker"
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

// TestMappedConfigHeaderControlCharacters: a control character in a header
// value mapped from the API's own values (the authorizer's context here) is
// the API's configuration error, 500 in AWS's shape with the reason logged
// and nothing sent, as a template's override is, not the client's bad
// request (r-sec27 #3: it was 400 "Bad Request", blaming the client for what
// its authorizer returned). The client's own header through the same
// routes still reaches the backend.
func TestMappedConfigHeaderControlCharacters(t *testing.T) {
	var calls atomic.Int64
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	e := newEnv(t)
	e.gw.Use(auth.New(e.res, e.inv, nil))
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var ev struct {
			Headers map[string]string `json:"headers"`
		}
		_ = json.Unmarshal(req.Payload, &ev)
		inj := "plain"
		if ev.Headers["X-Auth"] == "evil" || ev.Headers["x-auth"] == "evil" {
			inj = "a\r\nX-Evil: 1"
		}
		policy, _ := json.Marshal(map[string]any{"principalId": "u1", "context": map[string]any{"inj": inj},
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}}}})
		return &invoker.Result{Payload: policy}, nil
	}
	authorizer := map[string]json.RawMessage{"req": json.RawMessage(`{"type":"apiKey","name":"x-auth","in":"header",
		"x-amazon-apigateway-authtype":"custom","x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz",
		"identitySource":"method.request.header.x-auth","authorizerResultTtlInSeconds":0}}`)}
	security := []map[string][]string{{"req": {}}}
	params := map[string]string{"integration.request.header.x-t": "context.authorizer.inj"}
	restID := e.deploy(&apis.API{Name: "injcr", Protocol: apis.ProtocolREST, Definition: apis.Definition{Authorizers: authorizer, Routes: []apis.Route{
		{Method: "GET", Path: "/proxy", Security: security, Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/proxy",
			RequestParameters: params}},
		{Method: "GET", Path: "/http", Security: security, Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL + "/http",
			RequestParameters: params}},
	}}}, "dev", nil)
	for _, path := range []string{"/" + restID + "/dev/proxy", "/" + restID + "/dev/http"} {
		if r := e.do("GET", path, nil, "x-auth", "fine"); r.status != 200 || seen().header.Get("X-T") != "plain" {
			t.Errorf("%s: an ordinary context value: %d %s, backend saw %q", path, r.status, r.body, seen().header.Get("X-T"))
		}
		before := calls.Load()
		r := e.do("GET", path, nil, "x-auth", "evil")
		if r.status != http.StatusInternalServerError || calls.Load() != before {
			t.Errorf("%s: %d %s, backend called %d times (saw %q); want 500 and none", path, r.status, r.body, calls.Load()-before, seen().header.Get("X-T"))
		}
	}
	if logs := e.logs.b.String(); !strings.Contains(logs, "is mapped from a stage variable, $context or the authorizer's context") {
		t.Errorf("the reason is not logged:\n%s", logs)
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
