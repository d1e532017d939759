package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

// comparable is the part of an API that import and export carry.
func comparable(t *testing.T, a *apis.API) []byte {
	t.Helper()
	cp := *a
	cp.ID = ""
	cp.CreatedAt, cp.UpdatedAt = cp.CreatedAt.UTC(), cp.UpdatedAt.UTC()
	out, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestGoldenImportExport(t *testing.T) {
	inputs := []struct {
		file     string
		protocol string
	}{
		{"aws-petstore-oas30.json", ""},
		{"http-api-export.yaml", ""},
		{"swagger2-pets.yaml", ""},
		{"../../../samples/hello/api.yaml", ""},
	}
	for _, in := range inputs {
		base := strings.TrimSuffix(filepath.Base(in.file), filepath.Ext(in.file))
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", in.file))
			if err != nil {
				t.Fatalf("golden input missing: %v", err)
			}
			res, err := Import(data, Options{Protocol: in.protocol})
			if err != nil {
				t.Fatal(err)
			}
			model := comparable(t, res.API)
			golden(t, base+".model.json", model)
			golden(t, base+".warnings.txt", []byte(strings.Join(res.Warnings, "\n")+"\n"))
			for _, format := range []string{FormatOAS3, FormatSwagger2} {
				out, err := Export(res.API, format)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, base+"."+format+".json", out)
				again, err := Import(out, Options{Protocol: res.API.Protocol})
				if err != nil {
					t.Fatalf("import of the %s export: %v", format, err)
				}
				if got := comparable(t, again.API); !bytes.Equal(got, model) {
					t.Errorf("import(export(%s)) differs:\n%s\nwant:\n%s", format, got, model)
				}
			}
		})
	}
}

func TestImportDetails(t *testing.T) {
	data, err := os.ReadFile("testdata/aws-petstore-oas30.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := res.API
	if a.Protocol != apis.ProtocolREST || a.Name != "PetStore" || a.APIKeySource != "HEADER" || len(a.BinaryMediaTypes) != 2 {
		t.Fatalf("api: %+v", a)
	}
	if _, ok := a.Authorizers["petstore-authorizer"]; !ok {
		t.Fatalf("authorizer dropped")
	}
	if len(a.GatewayResponses) == 0 {
		t.Fatalf("gateway responses dropped")
	}
	var post *apis.Route
	for i := range a.Routes {
		if a.Routes[i].RouteKey == "POST /pets" {
			post = &a.Routes[i]
		}
	}
	if post == nil || !post.APIKeyRequired || post.RequestValidator != "body-only" || post.Integration.TimeoutInMillis != 10000 ||
		post.Integration.Type != apis.IntegrationAWSProxy || post.RequestModels["application/json"] != "NewPet" {
		t.Fatalf("POST /pets: %+v", post)
	}
	http, err := os.ReadFile("testdata/http-api-export.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err = Import(http, Options{Name: "renamed"})
	if err != nil {
		t.Fatal(err)
	}
	if res.API.Protocol != apis.ProtocolHTTP || res.API.Name != "renamed" {
		t.Fatalf("http api: %s %s", res.API.Protocol, res.API.Name)
	}
}

func TestImportRejects(t *testing.T) {
	cases := map[string]string{
		"not a document":     "::: not yaml [",
		"no version":         `{"info": {"title": "x"}, "paths": {}}`,
		"openapi 4":          `{"openapi": "4.0.0", "info": {"title": "x"}, "paths": {}}`,
		"no title":           `{"openapi": "3.0.1", "info": {}, "paths": {}}`,
		"unknown type":       `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"type": "lambda"}}}}}`,
		"bad timeout":        `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"type": "mock", "timeoutInMillis": 30000}}}}}`,
		"undefined model":    `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}}}}}}}`,
		"undeclared in path": `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"parameters": [{"name": "id", "in": "path", "required": true}]}}}}`,
		"clashing routes":    `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/p/{id}": {"get": {}}, "/p/{name}": {"post": {}}}}`,
		"unknown security":   `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"security": [{"nope": []}]}}}}`,
		"unknown validator":  `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"x-amazon-apigateway-request-validator": "v"}}}}`,
		"websocket":          `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {}}`,
		"bad integration":    `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"type": "mock", "bogus": 1}}}}}`,
		"default on REST":    `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"$default": {"x-amazon-apigateway-any-method": {}}}}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			opts := Options{}
			if name == "websocket" {
				opts.Protocol = apis.ProtocolWebSocket
			}
			_, err := Import([]byte(doc), opts)
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestExportOfAdminBuiltAPI(t *testing.T) {
	a := &apis.API{Name: "built", Protocol: apis.ProtocolREST, Definition: apis.Definition{Version: "1", Routes: []apis.Route{
		{Method: "GET", Path: "/k", APIKeyRequired: true, Integration: &apis.Integration{Type: "MOCK"}},
	}}}
	a.Normalize()
	out, err := Export(a, FormatOAS3)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Import(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.API.Definition, a.Definition) {
		t.Fatalf("round trip:\n%+v\n%+v", again.API.Definition, a.Definition)
	}
}

// FuzzImport checks that import never panics and that whatever it accepts
// survives an export and a re-import unchanged.
func FuzzImport(f *testing.F) {
	for _, name := range []string{"aws-petstore-oas30.json", "http-api-export.yaml", "swagger2-pets.yaml"} {
		if data, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/{proxy+}": {"x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": {"type": "mock"}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Import(data, Options{})
		if err != nil {
			return
		}
		out, err := Export(res.API, FormatOAS3)
		if err != nil {
			t.Fatalf("export of an imported API: %v", err)
		}
		again, err := Import(out, Options{Protocol: res.API.Protocol})
		if err != nil {
			t.Fatalf("re-import: %v\n%s", err, out)
		}
		a, b := comparable(t, res.API), comparable(t, again.API)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip differs:\n%s\n%s", a, b)
		}
	})
}
