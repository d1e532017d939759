package gateway

import (
	"context"
	"os"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/openapi"
)

// TestImportedOPTIONSPreflight serves the AWS pet store export's OPTIONS /pets
// (a MOCK whose integration response sets the CORS headers from literals) to a
// browser-like preflight.
func TestImportedOPTIONSPreflight(t *testing.T) {
	data, err := os.ReadFile("openapi/testdata/aws-petstore-oas30.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := openapi.Import(t.Context(), data, openapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	id := e.deploy(res.API, "dev", map[string]string{"alias": "live"})
	r := e.do("OPTIONS", "/"+id+"/dev/pets", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type,x-api-key", "Accept", "*/*")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Methods") != "POST,GET,OPTIONS" ||
		r.header.Get("Access-Control-Allow-Headers") != "Content-Type,X-Amz-Date,Authorization,X-Api-Key" ||
		r.header.Get("Access-Control-Allow-Origin") != "*" || r.body != "" {
		t.Fatalf("preflight: %d %q %v", r.status, r.body, r.header)
	}
}

func TestEnableCORSDefinition(t *testing.T) {
	e := newEnv(t)
	created, err := e.svc.Create(context.Background(), &apis.API{Name: "c", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "ANY", Path: "/items/{id}", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}},
		{Method: "OPTIONS", Path: "/items/{id}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: "http://old.example"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	a, notes, err := e.svc.EnableCORS(context.Background(), created.ID, apis.RESTCORS{})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 {
		t.Errorf("notes %q, want one about the proxy method", notes)
	}
	var opt *apis.Route
	for i := range a.Routes {
		if a.Routes[i].Method == "OPTIONS" {
			opt = &a.Routes[i]
		}
	}
	if len(a.Routes) != 2 || opt == nil || opt.Integration.Type != apis.IntegrationMock ||
		opt.Integration.Responses["default"].ResponseParameters["method.response.header.Access-Control-Allow-Methods"] != "'DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT'" {
		t.Fatalf("routes %+v", a.Routes)
	}
	id := created.ID
	if _, _, err := e.svc.Deploy(context.Background(), id, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	// The OPTIONS method wins over ANY.
	if r := e.do("OPTIONS", "/"+id+"/dev/items/7", nil, "Origin", "https://x.example"); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	// HTTP APIs have a corsConfiguration instead; unknown resources are 404s.
	httpAPI, err := e.svc.Create(context.Background(), &apis.API{Name: "h", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/x", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy, URI: "function:hello"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.EnableCORS(context.Background(), httpAPI.ID, apis.RESTCORS{}); err == nil {
		t.Error("CORS enabled on an HTTP API")
	}
	if _, _, err := e.svc.EnableCORS(context.Background(), id, apis.RESTCORS{Paths: []string{"/nope"}}); err == nil {
		t.Error("CORS enabled on a missing resource")
	}
}
