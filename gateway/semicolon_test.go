package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestSemicolonSplitsQuery: a raw ';' in the query string separates
// parameters as '&' does (API Gateway's documented behaviour for REST APIs:
// "results in the data being split"), the same way on every integration
// type, so that no integration drops a parameter another one passes on: the
// proxy events, templates' $input.params, HTTP parameter mappings and an
// HTTP_PROXY backend (which gets '&') all see the same parameters. An
// HTTP_PROXY query mapping keeps the client's parameters as it sent them
// (order and spelling) and adds or replaces only those it maps.
func TestSemicolonSplitsQuery(t *testing.T) {
	backend, seen := newSeenBackend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"backend":true}`) })
	e := newEnv(t)
	e.inv.handle = func(invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(`{"statusCode": 200, "body": "ok"}`)}, nil
	}
	ok := map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}}
	params := `a=$input.params('a') b=$input.params('b') c=$input.params('c') qs=$input.params().querystring`
	okTmpl := map[string]apis.IntegrationResponse{"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": params}}}
	rs := []apis.Route{
		{Method: "GET", Path: "/aws-proxy", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello"}},
		{Method: "GET", Path: "/mock", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}, Responses: okTmpl}},
		{Method: "GET", Path: "/http", Integration: &apis.Integration{Type: apis.IntegrationHTTP, HTTPMethod: "GET", URI: backend.URL + "/h", Responses: ok,
			RequestParameters: map[string]string{"integration.request.querystring.b": "method.request.querystring.b"}}},
		{Method: "GET", Path: "/http-proxy", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/p"}},
		{Method: "GET", Path: "/http-proxy-mapped", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/m",
			RequestParameters: map[string]string{"integration.request.querystring.added": "'1'", "integration.request.querystring.a": "'9'"}}},
	}
	id := e.deploy(&apis.API{Name: "semi", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: rs}}, "dev", nil)
	base := "/" + id + "/dev"
	const q = "?a=1;b=2&flag&c=x%3By"

	got := e.do("GET", base+"/aws-proxy"+q, nil)
	var ev struct {
		QueryStringParameters map[string]string `json:"queryStringParameters"`
	}
	if got.status != 200 || json.Unmarshal(e.inv.last().Payload, &ev) != nil {
		t.Fatalf("AWS_PROXY: %d %s", got.status, got.body)
	}
	if want := map[string]string{"a": "1", "b": "2", "flag": "", "c": "x;y"}; !sameStrings(ev.QueryStringParameters, want) {
		t.Errorf("AWS_PROXY event queryStringParameters %v, want %v", ev.QueryStringParameters, want)
	}
	if got := e.do("GET", base+"/mock"+q, nil); got.status != 200 || got.body != "a=1 b=2 c=x;y qs={a=1, b=2, c=x;y, flag=}" {
		t.Errorf("MOCK $input.params: %d %q", got.status, got.body)
	}
	if got := e.do("GET", base+"/http"+q, nil); got.status != 200 || seen().query != "b=2" {
		t.Errorf("HTTP with a query mapping: %d %s, backend query %q, want b=2", got.status, got.body, seen().query)
	}
	if got := e.do("GET", base+"/http-proxy"+q, nil); got.status != 200 || seen().query != "a=1&b=2&flag&c=x%3By" {
		t.Errorf("HTTP_PROXY: %d %s, backend query %q", got.status, got.body, seen().query)
	}
	if got := e.do("GET", base+"/http-proxy-mapped"+q, nil); got.status != 200 || seen().query != "b=2&flag&c=x%3By&a=9&added=1" {
		t.Errorf("HTTP_PROXY with query mappings: %d %s, backend query %q, want b=2&flag&c=x%%3By&a=9&added=1", got.status, got.body, seen().query)
	}

	// An HTTP API splits the same way.
	hid := e.deploy(&apis.API{Name: "semi2", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/aws-proxy", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello", PayloadFormatVersion: "2.0"}},
		{Method: "GET", Path: "/http-proxy", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, HTTPMethod: "GET", URI: backend.URL + "/p", PayloadFormatVersion: "1.0"}},
	}}}, "dev", nil)
	got = e.do("GET", "/"+hid+"/dev/aws-proxy"+q, nil)
	ev.QueryStringParameters = nil
	if got.status != 200 || json.Unmarshal(e.inv.last().Payload, &ev) != nil {
		t.Fatalf("HTTP API AWS_PROXY: %d %s", got.status, got.body)
	}
	if want := map[string]string{"a": "1", "b": "2", "flag": "", "c": "x;y"}; !sameStrings(ev.QueryStringParameters, want) {
		t.Errorf("HTTP API event queryStringParameters %v, want %v", ev.QueryStringParameters, want)
	}
	if got := e.do("GET", "/"+hid+"/dev/http-proxy"+q, nil); got.status != 200 || seen().query != "a=1&b=2&flag&c=x%3By" {
		t.Errorf("HTTP API HTTP_PROXY: %d %s, backend query %q", got.status, got.body, seen().query)
	}
}

func sameStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
