package openapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestRESTExportDeclaresPathParams: a REST API whose methods declare no
// method.request.path.NAME (as put-method makes them without
// --request-parameters) exports a parameter for each template variable of
// the path, as API Gateway's export does, so that the document is valid
// OpenAPI and its import has no warnings (import-rest-api
// --fail-on-warnings takes it); the generated parameters are not stored, so
// an export of the import is the same document. A declared parameter stays
// as it was.
func TestRESTExportDeclaresPathParams(t *testing.T) {
	t.Parallel()
	for _, format := range []string{FormatOAS3, FormatSwagger2} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			mock := func() *apis.Integration {
				return &apis.Integration{Type: apis.IntegrationMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}
			}
			a := &apis.API{Name: "made", Protocol: apis.ProtocolREST}
			a.Routes = []apis.Route{
				{Method: "GET", Path: "/r/{id}", Integration: mock()},
				{Method: "GET", Path: "/r/{id}/x", Integration: mock()},
				{Method: "ANY", Path: "/r/mine/{p}", Integration: mock()},
				{Method: "ANY", Path: "/files/{proxy+}", Integration: mock()},
				{Method: "GET", Path: "/d/{a}/{b}", Integration: mock(), Parameters: []apis.Parameter{{Name: "a", In: "path", Required: true}}},
			}
			a.Normalize()
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			out, err := Export(a, format)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Paths map[string]map[string]struct {
					Parameters []struct {
						Name, In, Description string
						Required              bool
					} `json:"parameters"`
				} `json:"paths"`
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			for path, want := range map[string]string{"/r/{id}": "id", "/r/{id}/x": "id", "/r/mine/{p}": "p", "/files/{proxy+}": "proxy", "/d/{a}/{b}": "a b"} {
				for method, op := range doc.Paths[path] {
					var got []string
					for _, p := range op.Parameters {
						if p.In != "path" || !p.Required {
							t.Errorf("%s %s: parameter %+v, want in path, required", method, path, p)
						}
						got = append(got, p.Name)
					}
					if strings.Join(got, " ") != want {
						t.Errorf("%s %s: path parameters %q, want %q", method, path, got, want)
					}
				}
			}
			res, err := Import(t.Context(), out, Options{Protocol: apis.ProtocolREST})
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
			if len(b.Routes) != len(a.Routes) {
				t.Fatalf("imported %d routes, want %d", len(b.Routes), len(a.Routes))
			}
			for i := range b.Routes {
				r := &b.Routes[i]
				want := 0
				if r.Path == "/d/{a}/{b}" {
					want = 1
				}
				if len(r.Parameters) != want {
					t.Errorf("%s %s imported with parameters %+v, want %d (the generated ones are not stored)", r.Method, r.Path, r.Parameters, want)
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
