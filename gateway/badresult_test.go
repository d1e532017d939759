package gateway

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestProxyResultInvalidShapes: a function result with a 1xx statusCode (an
// interim answer a function cannot give: 101 without an upgrade, 100 then
// nothing), a null header value or an empty header name is not a valid
// response object: 502, on HTTP APIs (both payload versions) and REST alike,
// as a 0 or 600 status is.
func TestProxyResultInvalidShapes(t *testing.T) {
	e := newEnv(t)
	var result string
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(result)}, nil
	}
	fn := func(v string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello", PayloadFormatVersion: v}
	}
	httpID := e.deploy(&apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/v2", Integration: fn("2.0")}, {Method: "GET", Path: "/v1", Integration: fn("1.0")}}}}, "dev", nil)
	restID := e.deploy(&apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/v1", Integration: fn("1.0")}}}}, "dev", nil)
	for _, payload := range []string{
		`{"statusCode":101,"body":"x"}`, `{"statusCode":100}`, `{"statusCode":"103","body":"x"}`, `{"statusCode":199}`,
		`{"statusCode":0}`, `{"statusCode":600}`,
		`{"statusCode":200,"headers":{"x":null},"body":"x"}`, `{"statusCode":200,"headers":{"":"v"},"body":"x"}`,
		`{"statusCode":200,"multiValueHeaders":{"x":[null]},"body":"x"}`, `{"statusCode":200,"multiValueHeaders":{"":["v"]},"body":"x"}`,
	} {
		result = payload
		for _, path := range []string{"/" + httpID + "/dev/v2", "/" + httpID + "/dev/v1", "/" + restID + "/dev/v1"} {
			if strings.Contains(payload, "multiValueHeaders") && strings.HasSuffix(path, "v2") {
				continue // payload 2.0 has no multiValueHeaders: an unknown key is the body
			}
			if r := e.do("GET", path, nil); r.status != 502 {
				t.Errorf("%s on %s: %d %v %q, want 502", payload, path, r.status, r.header, r.body)
			}
		}
	}
	result = `{"statusCode":200,"headers":{"x":"1"},"multiValueHeaders":{"y":["2","3"]},"body":"ok"}`
	if r := e.do("GET", "/"+restID+"/dev/v1", nil); r.status != 200 || r.body != "ok" || r.header.Get("x") != "1" {
		t.Errorf("a valid result: %d %v %q", r.status, r.header, r.body)
	}
}
