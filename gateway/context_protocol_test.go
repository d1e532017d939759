package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestContextProtocol: $context.protocol is the request's own protocol,
// HTTP/1.1 or HTTP/2.0, as the event's requestContext.protocol is.
func TestContextProtocol(t *testing.T) {
	e := newEnv(t)
	id := e.deploy(&apis.API{Name: "t", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/mock", Integration: &apis.Integration{Type: apis.IntegrationMock,
			RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`},
			Responses: map[string]apis.IntegrationResponse{"default": {StatusCode: "200",
				ResponseTemplates: map[string]string{"application/json": `$context.protocol`}}}}},
	}}}, "prod", nil)
	if r := e.do("GET", "/"+id+"/prod/mock", nil); r.status != 200 || r.body != "HTTP/1.1" {
		t.Errorf("HTTP/1.1: %d %q", r.status, r.body)
	}

	srv := httptest.NewUnstartedServer(e.gw)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/" + id + "/prod/mock")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("the client spoke %s, want HTTP/2", resp.Proto)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "HTTP/2.0" {
		t.Errorf("HTTP/2: %d %q", resp.StatusCode, body)
	}
}
