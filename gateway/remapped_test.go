package gateway

import (
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestProxyResultCannotSetGatewayHeaders: a function's proxy result cannot
// replace the headers the gateway owns (its request ids, x-amzn-ErrorType)
// nor those that speak for the server or the connection (Date, Server,
// Connection and the other hop-by-hop headers; on REST APIs also
// Authorization and WWW-Authenticate): each goes out as
// x-amzn-Remapped-<name>, as API Gateway remaps them, whether set in headers
// or multiValueHeaders, on payload 1.0 and 2.0 alike. Other headers pass.
func TestProxyResultCannotSetGatewayHeaders(t *testing.T) {
	e := newEnv(t)
	result := `{"statusCode":200,"headers":{"x-amzn-requestid":"fake","X-Amz-Apigw-Id":"fakeid","apigw-requestid":"fakeid2","x-amzn-ErrorType":"Spoof",
		"Date":"fake-date","Server":"fake-server","Connection":"close","Keep-Alive":"timeout=1","Upgrade":"h2c","Trailer":"X-T",
		"WWW-Authenticate":"Basic","Authorization":"Bearer t","X-Custom":"kept"},"multiValueHeaders":{"x-amzn-RequestId":["fake-mv"]},"body":"s"}`
	e.inv.handle = func(invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(result)}, nil
	}
	for _, protocol := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
		version := ""
		if protocol == apis.ProtocolHTTP {
			version = "2.0"
		}
		id := e.deploy(&apis.API{Name: "spoof", Protocol: protocol, Definition: apis.Definition{Routes: []apis.Route{
			{Method: "GET", Path: "/r", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:hello", PayloadFormatVersion: version}},
		}}}, "dev", nil)
		got := e.do("GET", "/"+id+"/dev/r", nil)
		if got.status != 200 || got.body != "s" {
			t.Fatalf("%s: %d %s", protocol, got.status, got.body)
		}
		h := got.header
		if v := h.Get("x-amzn-RequestId"); v == "" || v == "fake" || v == "fake-mv" {
			t.Errorf("%s: x-amzn-RequestId %q, want the gateway's", protocol, v)
		}
		if v := h.Get("x-amzn-Remapped-x-amzn-RequestId"); v != "fake-mv" {
			t.Errorf("%s: x-amzn-Remapped-x-amzn-RequestId %q, want fake-mv (multiValueHeaders win)", protocol, v)
		}
		for name, want := range map[string]string{"x-amzn-ErrorType": "Spoof", "Date": "fake-date", "Server": "fake-server",
			"Connection": "close", "Keep-Alive": "timeout=1", "Upgrade": "h2c", "Trailer": "X-T"} {
			if v := h.Get("x-amzn-Remapped-" + name); v != want {
				t.Errorf("%s: x-amzn-Remapped-%s %q, want %q", protocol, name, v, want)
			}
			if v := h.Get(name); v == want {
				t.Errorf("%s: the client got %s: %q from the function", protocol, name, v)
			}
		}
		ownID := "x-amz-apigw-id"
		if protocol == apis.ProtocolHTTP {
			ownID = "apigw-requestid"
		}
		if v := h.Get(ownID); v == "" || v == "fakeid" || v == "fakeid2" {
			t.Errorf("%s: %s %q, want the gateway's", protocol, ownID, v)
		}
		if h.Get("X-Custom") != "kept" {
			t.Errorf("%s: X-Custom %q", protocol, h.Get("X-Custom"))
		}
		rest := protocol == apis.ProtocolREST
		for name, want := range map[string]string{"WWW-Authenticate": "Basic", "Authorization": "Bearer t"} {
			if remapped := h.Get("x-amzn-Remapped-" + name); rest && (remapped != want || h.Get(name) != "") || !rest && h.Get(name) != want {
				t.Errorf("%s: %s %q, x-amzn-Remapped-%s %q", protocol, name, h.Get(name), name, remapped)
			}
		}
	}
}
