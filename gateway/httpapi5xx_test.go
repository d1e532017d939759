package gateway

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// TestHTTPAPIInternalErrorShape: an HTTP API's own 5xx answers read
// {"message":"Internal Server Error"}, compact, as AWS's HTTP APIs write them
// (and as Portico already answered an HTTP API authorizer's failure); REST
// APIs keep {"message": "Internal server error"}. A function error and an API
// configuration error (here a stage variable the integration's URI names and
// the stage lacks) used to answer HTTP API clients in the REST shape.
func TestHTTPAPIInternalErrorShape(t *testing.T) {
	e := newEnv(t)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom"}`)}, nil
	}
	routes := func(protocol string) []apis.Route {
		in := func(uri string) *apis.Integration {
			i := &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: uri}
			if protocol == apis.ProtocolHTTP {
				i.PayloadFormatVersion = "2.0"
			}
			return i
		}
		return []apis.Route{{Method: "GET", Path: "/fnerr", Integration: in("function:hello")},
			{Method: "GET", Path: "/cfg", Integration: in("function:${stageVariables.missing}")}}
	}
	httpAPI := e.deploy(&apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: routes(apis.ProtocolHTTP)}}, "dev", nil)
	rest := e.deploy(&apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: routes(apis.ProtocolREST)}}, "dev", nil)
	for _, tc := range []struct {
		api, path string
		status    int
		body      string
	}{
		{httpAPI, "/fnerr", 502, `{"message":"Internal Server Error"}`},
		{httpAPI, "/cfg", 500, `{"message":"Internal Server Error"}`},
		{rest, "/fnerr", 502, `{"message": "Internal server error"}`},
		{rest, "/cfg", 500, `{"message": "Internal server error"}`},
	} {
		resp, err := http.Get(e.srv.URL + "/" + tc.api + "/dev" + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status || string(b) != tc.body {
			t.Errorf("%s %s: %d %s, want %d %s", tc.api, tc.path, resp.StatusCode, b, tc.status, tc.body)
		}
	}
}

// TestHTTPAPITimeoutBodyCompact guards r-httpapi29's finding 10: an HTTP
// API's 504 is compact, {"message":"Endpoint request timed out"}, as its
// other answers are; a REST API's keeps the space after the colon.
func TestHTTPAPITimeoutBodyCompact(t *testing.T) {
	e := newEnv(t)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		return nil, fmt.Errorf("deadline: %w", errdefs.ErrTimeout)
	}
	route := func(v string) []apis.Route {
		return []apis.Route{{Method: "GET", Path: "/slow", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST",
			URI: "function:hello", PayloadFormatVersion: v}}}
	}
	httpAPI := e.deploy(&apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: route("2.0")}}, "dev", nil)
	rest := e.deploy(&apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: route("")}}, "dev", nil)
	for api, want := range map[string]string{httpAPI: `{"message":"Endpoint request timed out"}`, rest: `{"message": "Endpoint request timed out"}`} {
		r := e.do("GET", "/"+api+"/dev/slow", nil)
		if r.status != 504 || r.body != want {
			t.Errorf("%s: %d %s, want 504 %s", api, r.status, r.body, want)
		}
	}
}
