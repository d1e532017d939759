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

// TestBasePathMatchedDecoded: a custom domain's base path is matched on the
// path's segments decoded, as stages and routes are (r-tls26 #2): "/%761.0/q"
// is under "v1.0" as "/v1.0/q" is, "/a%24b/q" under "a$b" (SDKs encode "$"),
// and the event's path keeps the client's spelling. Another segment, or a
// base path that is only a prefix of the segment, still matches nothing.
func TestBasePathMatchedDecoded(t *testing.T) {
	e := newTLSEnv(t, Config{}, edge.Config{})
	ctx := context.Background()
	root := &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello:1", HTTPMethod: "POST", PayloadFormatVersion: "1.0"}
	id := e.deploy(&apis.API{Name: "r", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/", Integration: root},
		{Method: "ANY", Path: "/{proxy+}", Integration: root},
	}}}, "prod")
	if _, err := e.edge.CreateDomain(ctx, edge.Domain{Name: "pe.example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"v1.0", "a$b", "A/b/c"} {
		if _, err := e.edge.CreateMapping(ctx, edge.Mapping{Domain: "pe.example.com", Key: key, APIID: id, Stage: "prod"}); err != nil {
			t.Fatal(err)
		}
	}
	c := e.client(true)
	for path, want := range map[string]string{
		"/v1.0/q":       "q",
		"/%761.0/q":     "q",
		"/v1%2E0/q/r":   "q/r",
		"/a%24b/q":      "q",
		"/A/%62/c/q":    "q",
		"/%41/b/%63/q/": "q",
	} {
		a := e.get(c, "https://pe.example.com"+path)
		if a.status != 200 {
			t.Errorf("%s: %d %s", path, a.status, a.body)
			continue
		}
		ev := e.lastEvent()
		if got := str2(ev, "pathParameters", "proxy"); got != want {
			t.Errorf("%s: proxy %q, want %q", path, got, want)
		}
		if got := str2(ev, "path"); got != path {
			t.Errorf("%s: path %q, want it as sent", path, got)
		}
	}
	for _, path := range []string{"/v1%2E0x/q", "/%762/q", "/A/b/q", "/a%2524b/q"} {
		if a := e.get(c, "https://pe.example.com"+path); a.status != 403 {
			t.Errorf("%s: %d %s, want 403 (no mapping)", path, a.status, a.body)
		}
	}
}
