package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// createdHTTPAPI is an HTTP API as apigatewayv2's create-route makes its
// routes: no declared parameters, no responses.
func createdHTTPAPI() *apis.API {
	in := func() *apis.Integration {
		return &apis.Integration{Type: apis.IntegrationAWSProxy, HTTPMethod: "POST", URI: "function:echo", PayloadFormatVersion: "2.0"}
	}
	a := &apis.API{Name: "made", Protocol: apis.ProtocolHTTP}
	a.Routes = []apis.Route{
		{Path: apis.RouteDefault, RouteKey: apis.RouteDefault, Integration: in()},
		{Method: "GET", Path: "/items/{id}", RouteKey: "GET /items/{id}", Integration: in()},
		{Method: "POST", Path: "/new/{a}/{b+}", RouteKey: "POST /new/{a}/{b+}", Integration: in()},
		{Method: "ANY", Path: "/hp/{proxy+}", RouteKey: "ANY /hp/{proxy+}", Integration: in()},
	}
	a.Normalize()
	return a
}

// TestHTTPExportReimportsWithoutWarnings: the export of an HTTP API whose
// routes declare no parameters and no responses (as create-route makes
// them) declares the path parameters, a default response and isDefaultRoute
// as API Gateway's export does, so that its import has no warnings (what
// import-api --fail-on-warnings needs) and gives the same routes; an export
// of that import is the same document.
func TestHTTPExportReimportsWithoutWarnings(t *testing.T) {
	t.Parallel()
	for _, format := range []string{FormatOAS3, FormatSwagger2} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			a := createdHTTPAPI()
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			out, err := Export(a, format)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Paths map[string]map[string]struct {
					IsDefaultRoute bool `json:"isDefaultRoute"`
					Parameters     []struct {
						Name, Description string
					} `json:"parameters"`
					Responses map[string]json.RawMessage `json:"responses"`
				} `json:"paths"`
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			for path, item := range doc.Paths {
				for method, op := range item {
					if len(op.Responses) == 0 {
						t.Errorf("%s %s: no responses (OpenAPI wants at least one)", method, path)
					}
					if op.IsDefaultRoute != (path == "/$default") {
						t.Errorf("%s %s: isDefaultRoute %v", method, path, op.IsDefaultRoute)
					}
				}
			}
			if ps := doc.Paths["/new/{a}/{b+}"]["post"].Parameters; len(ps) != 2 || ps[0].Name != "a" || ps[1].Name != "b+" || ps[1].Description != "Generated path parameter for b+" {
				t.Errorf("POST /new/{a}/{b+} parameters %+v, want generated a and b+", ps)
			}
			res, err := Import(t.Context(), out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) > 0 {
				t.Fatalf("import of the export warns (--fail-on-warnings refuses it):\n%s\n%s", strings.Join(res.Warnings, "\n"), out)
			}
			b := res.API
			b.Normalize()
			if err := b.Validate(); err != nil {
				t.Fatal(err)
			}
			if b.Protocol != apis.ProtocolHTTP || len(b.Routes) != len(a.Routes) {
				t.Fatalf("imported %s API with %d routes, want HTTP with %d", b.Protocol, len(b.Routes), len(a.Routes))
			}
			for i := range b.Routes {
				if r := &b.Routes[i]; len(r.Parameters) > 0 || len(r.Responses) > 0 {
					t.Errorf("route %s imported with parameters %+v, responses %v; the export's generated ones should not be stored", r.RouteKey, r.Parameters, r.Responses)
				}
			}
			again, err := Export(b, format)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, out) {
				t.Errorf("export of the import differs:\n%s\nfirst:\n%s", again, out)
			}
		})
	}
}

// TestHTTPExportRefusesLiteralDefaultPath: a stored route of path /$default
// (which older builds accepted) would be merged into the $default route by
// the export's import, so export refuses, naming the route and the fix, and
// validation refuses such a route.
func TestHTTPExportRefusesLiteralDefaultPath(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"ANY", "GET"} {
		a := createdHTTPAPI()
		a.Routes = append(a.Routes, apis.Route{Method: method, Path: "/$default", RouteKey: method + " /$default", Integration: a.Routes[0].Integration})
		_, err := Export(a, FormatOAS3)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), method+" /$default") || !strings.Contains(err.Error(), "update-route") {
			t.Errorf("export with route %s /$default: err %v, want a refusal naming it", method, err)
		}
		err = a.Validate()
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "use the route key $default") {
			t.Errorf("validate with route %s /$default: err %v, want a refusal", method, err)
		}
	}
}
