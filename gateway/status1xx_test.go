package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// TestMappedStatusIsFinal: an HTTP API's overwrite:statuscode maps only to a
// final status, 200 to 599. A value taken from the response that is not one
// (an interim 1xx, which the gateway sent as "101 Switching Protocols" with no
// switch and lost the body, or 100 followed by the real answer; 999; text)
// answers 500 (an API configuration error, as for a missing stage
// variable), as a mapping API Gateway cannot apply does; a fixed value that
// is not one is refused when the API is saved.
func TestMappedStatusIsFinal(t *testing.T) {
	e := newEnv(t)
	e.inv.handle = func(req invoker.Request) (*invoker.Result, error) {
		var ev struct {
			Headers map[string]string `json:"headers"`
		}
		_ = json.Unmarshal(req.Payload, &ev)
		return &invoker.Result{Payload: []byte(`{"statusCode":200,"headers":{"x-st":"` + ev.Headers["x-st"] + `"},"body":"hello"}`)}, nil
	}
	id := e.deploy(&apis.API{Name: "st", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{{
		Method: "GET", Path: "/st", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello", PayloadFormatVersion: "2.0",
			ResponseParameters: map[string]map[string]string{"200": {"overwrite:statuscode": "$response.header.x-st"}}},
	}}}}, "dev", nil)
	for _, c := range []struct {
		value string
		want  int
	}{
		{"201", 201}, {"599", 599}, {"200", 200},
		{"101", 500}, {"100", 500}, {"103", 500}, {"199", 500}, {"999", 500}, {"abc", 500}, {"0", 500},
	} {
		r := e.do("GET", "/"+id+"/dev/st", nil, "x-st", c.value)
		if r.status != c.want || (c.want < 300 && r.body != "hello") {
			t.Errorf("x-st %q: %d %q; want %d", c.value, r.status, r.body, c.want)
		}
		if c.want == 500 && r.body != `{"message":"Internal Server Error"}` { // an HTTP API's
			t.Errorf("x-st %q: body %s; want the gateway's 500", c.value, r.body)
		}
	}
	for _, v := range []string{"100", "101", "103", "199", "999", "abc", "600"} {
		_, err := e.svc.Create(context.Background(), &apis.API{Name: "x", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{{
			Method: "GET", Path: "/x", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://b.example",
				ResponseParameters: map[string]map[string]string{"200": {"overwrite:statuscode": v}}}}}}})
		if !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("overwrite:statuscode %q saved: %v; want ErrInvalid", v, err)
		}
	}
}

// TestUserStatusIsFinal: no status written in an API's configuration, nor one a
// template sets, is an interim 1xx, which the gateway would send as an answer
// without its body: REST integration responses and gateway responses with
// one are refused when saved; a $context.responseOverride.status of 1xx fails
// the template (500), as other values that are not statuses do.
func TestUserStatusIsFinal(t *testing.T) {
	e := newEnv(t)
	mock := func(status, tmpl string) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: status, ResponseTemplates: map[string]string{"application/json": tmpl}}}}
	}
	for name, a := range map[string]*apis.API{
		"integration response 101": {Name: "x", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
			{Method: "GET", Path: "/x", Integration: mock("101", "x")}}}},
		"integration response 100": {Name: "x", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
			{Method: "GET", Path: "/x", Integration: mock("100", "x")}}}},
		"gateway response 103": {Name: "x", Protocol: apis.ProtocolREST, Definition: apis.Definition{
			GatewayResponses: map[string]apis.GatewayResponse{"DEFAULT_4XX": {StatusCode: "103"}},
			Routes:           []apis.Route{{Method: "GET", Path: "/x", Integration: mock("200", "x")}}}},
	} {
		if _, err := e.svc.Create(context.Background(), a); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s saved: %v; want ErrInvalid", name, err)
		}
	}
	id := e.deploy(&apis.API{Name: "ov", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/ov", Integration: mock("200", `#set($context.responseOverride.status = $input.params('s'))body`)},
	}}}, "dev", nil)
	for _, c := range []struct {
		s    string
		want int
	}{{"444", 444}, {"101", 500}, {"100", 500}, {"199", 500}} {
		r := e.do("GET", "/"+id+"/dev/ov?s="+c.s, nil)
		if r.status != c.want || (c.want == 444) != (r.body == "body") {
			t.Errorf("responseOverride.status %s: %d %q; want %d", c.s, r.status, r.body, c.want)
		}
	}
}
