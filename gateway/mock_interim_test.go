package gateway

import (
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestMockInterimStatus: a MOCK request template's statusCode of 1xx only
// selects an integration response, as any other statusCode does (API
// Gateway's status patterns, [1-5]\d\d, take it); when no integration
// response gives a final status in its place the method answers 500, the
// API's configuration error, never the 1xx as an interim answer followed by
// an implicit 200. A method response keyed 1xx only declares.
func TestMockInterimStatus(t *testing.T) {
	e := newEnv(t)
	mock := func(status string, rs map[string]apis.IntegrationResponse) *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationMock, Responses: rs,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": ` + status + `}`}}
	}
	declared := map[string]apis.MethodResponse{"100": {}, "200": {}, "204": {}}
	id := e.deploy(&apis.API{Name: "interim", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/bare", Responses: declared, Integration: mock("100", nil)},
		{Method: "GET", Path: "/computed", Responses: declared, Integration: mock(`#set($s = 101)$s`, nil)},
		{Method: "GET", Path: "/selected", Responses: declared, Integration: mock("101", map[string]apis.IntegrationResponse{
			`1\d\d`: {StatusCode: "204"}, "default": {StatusCode: "200"}})},
		{Method: "GET", Path: "/default", Responses: declared, Integration: mock("100", map[string]apis.IntegrationResponse{
			"default": {StatusCode: "200", ResponseTemplates: map[string]string{"application/json": `{"ok":true}`}}})},
	}}}, "dev", nil)
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/bare", 500, `{"message": "Internal server error"}`},
		{"/computed", 500, `{"message": "Internal server error"}`},
		{"/selected", 204, ""},
		{"/default", 200, `{"ok":true}`},
	} {
		if got := e.do("GET", "/"+id+"/dev"+c.path, nil); got.status != c.status || got.body != c.body {
			t.Errorf("%s: %d %q, want %d %q", c.path, got.status, got.body, c.status, c.body)
		}
	}
}
