package gateway

import (
	"context"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestRequestAtABasePathKeepsItsPath: a REST request to a custom domain's base
// path alone ("/v2") reaches the API's root resource, and its event's path and
// requestContext.path are "/v2" as the client sent it, with no slash added;
// "/v2/" keeps its slash.
func TestRequestAtABasePathKeepsItsPath(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	root := &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1", HTTPMethod: "POST", PayloadFormatVersion: "1.0"}
	id := e.deploy(&apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/", Integration: root},
		{Method: "ANY", Path: "/{proxy+}", Integration: root},
	}}}, "prod")
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "base.example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "base.example.com", Key: "v2", APIID: id, Stage: "prod"}); err != nil {
		t.Fatal(err)
	}
	c := e.client(true)
	for url, want := range map[string]string{
		"https://base.example.com/v2":        "/v2",
		"https://base.example.com/v2/":       "/v2/",
		"https://base.example.com/v2/pets/1": "/v2/pets/1",
	} {
		if a := e.get(c, url); a.status != 200 {
			t.Fatalf("%s: %d %s", url, a.status, a.body)
		}
		ev := e.lastEvent()
		if got := str2(ev, "path"); got != want {
			t.Errorf("%s: path %q, want %q", url, got, want)
		}
		if got := str2(ev, "requestContext", "path"); got != want {
			t.Errorf("%s: requestContext.path %q, want %q", url, got, want)
		}
	}
}
