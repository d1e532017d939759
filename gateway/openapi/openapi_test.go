package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
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

// reported is a copy of a with every function integration's URI and Lambda
// authorizer's authorizerUri as exports report them (apis.ReportedURI,
// apis.ReportedScheme): what an import of its export holds.
func reported(t *testing.T, a *apis.API) *apis.API {
	t.Helper()
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var cp apis.API
	if err := json.Unmarshal(raw, &cp); err != nil {
		t.Fatal(err)
	}
	for i := range cp.Routes {
		if in := cp.Routes[i].Integration; in != nil {
			in.URI = apis.ReportedURI(cp.Protocol, in.Type, in.URI)
		}
	}
	for k, v := range cp.Authorizers {
		cp.Authorizers[k] = apis.ReportedScheme(v)
	}
	return &cp
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
		{"refs-oas3.yaml", ""},
		{"refs-swagger2.yaml", ""},
	}
	for _, in := range inputs {
		base := strings.TrimSuffix(filepath.Base(in.file), filepath.Ext(in.file))
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", in.file))
			if err != nil {
				t.Fatalf("golden input missing: %v", err)
			}
			res, err := Import(t.Context(), data, Options{Protocol: in.protocol})
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
				again, err := Import(t.Context(), out, Options{Protocol: res.API.Protocol})
				if err != nil {
					t.Fatalf("import of the %s export: %v", format, err)
				}
				// What an import of the export holds is the API with its
				// URIs as API Gateway reports them; its export is the same
				// document.
				if got, want := comparable(t, again.API), comparable(t, reported(t, res.API)); !bytes.Equal(got, want) {
					t.Errorf("import(export(%s)) differs:\n%s\nwant:\n%s", format, got, want)
				}
				if out2, err := Export(again.API, format); err != nil || !bytes.Equal(out2, out) {
					t.Errorf("export(import(export(%s))) differs (%v):\n%s\nwant:\n%s", format, err, out2, out)
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
	res, err := Import(t.Context(), data, Options{})
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
	res, err = Import(t.Context(), http, Options{Name: "renamed"})
	if err != nil {
		t.Fatal(err)
	}
	if res.API.Protocol != apis.ProtocolHTTP || res.API.Name != "renamed" {
		t.Fatalf("http api: %s %s", res.API.Protocol, res.API.Name)
	}
}

// TestImportSwaggerBodyWithoutConsumes: a Swagger 2.0 body parameter with no
// consumes (neither the document's nor the operation's) is application/json,
// as API Gateway's importer takes it; it was filed under */*, which the body
// validator never matched. A declared consumes is kept.
func TestImportSwaggerBodyWithoutConsumes(t *testing.T) {
	doc := func(consumes string) string {
		return `{"swagger": "2.0", "info": {"title": "x", "version": "1"}, ` + consumes + `
			"definitions": {"Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
			"paths": {"/pets": {"post": {"parameters": [{"in": "body", "name": "b", "required": true, "schema": {"$ref": "#/definitions/Pet"}}],
				"responses": {"200": {"description": "ok"}}}}}}`
	}
	for consumes, want := range map[string]string{
		``:                                 "application/json",
		`"consumes": ["application/xml"],`: "application/xml",
	} {
		res, err := Import(t.Context(), []byte(doc(consumes)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.API.Routes[0].RequestModels; len(got) != 1 || got[want] != "Pet" {
			t.Errorf("consumes %q: request models %v, want {%s: Pet}", consumes, got, want)
		}
	}
}

// TestImportJSONSurrogatePairs: a JSON document with a surrogate pair escape
// (valid JSON, not valid YAML) imports, for REST and HTTP APIs alike; callers
// that read parts of a document themselves go through ToJSON for the same
// reason (admin's TestImportRestAPIJSONSurrogatePairs).
func TestImportJSONSurrogatePairs(t *testing.T) {
	const doc = `{"openapi": "3.0.1", "info": {"title": "emoji \ud83d\ude00", "version": "1"},
		"paths": {"/pets": {"get": {"summary": "pets \ud83d\udc36", "responses": {"200": {"description": "ok \ud83d\ude00"}},
			"x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
				"responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "{\"dog\": \"\ud83d\udc36 <&>\"}"}}}}}}}}`
	// An HTTP API's integrations are proxies (MOCK is refused on them).
	httpDoc := strings.Replace(doc, `"type": "mock"`, `"type": "http_proxy", "httpMethod": "GET", "uri": "http://example.com/"`, 1)
	for _, protocol := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
		d := doc
		if protocol == apis.ProtocolHTTP {
			d = httpDoc
		}
		res, err := Import(t.Context(), []byte(d), Options{Protocol: protocol})
		if err != nil {
			t.Fatalf("%s: %v", protocol, err)
		}
		if res.API.Name != "emoji \U0001F600" {
			t.Errorf("%s: name %q", protocol, res.API.Name)
		}
		if protocol == apis.ProtocolREST {
			in := res.API.Routes[0].Integration
			if got := in.Responses["default"].ResponseTemplates["application/json"]; got != "{\"dog\": \"\U0001F436 <&>\"}" {
				t.Errorf("response template %q", got)
			}
		}
	}
}

// TestImportEndpointConfiguration checks that
// x-amazon-apigateway-endpoint-configuration's disableExecuteApiEndpoint,
// which the gateway enforces, is kept without a warning (vpcEndpointIds are
// refused: see TestImportRejects).
func TestImportEndpointConfiguration(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "x"}, "x-amazon-apigateway-endpoint-configuration": {"disableExecuteApiEndpoint": true}, "paths": {}}`
	res, err := Import(t.Context(), []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 {
		t.Fatalf("warnings: %q", res.Warnings)
	}
	if got := string(res.API.Extensions["x-amazon-apigateway-endpoint-configuration"]); got != `{"disableExecuteApiEndpoint":true}` {
		t.Fatalf("kept %s", got)
	}
}

// TestImportAWSIntegrationNotLambda: a type aws integration whose uri names
// no Lambda function (DynamoDB, S3, ...: calls could only fail) is refused
// with a 400 saying only Lambda ARNs are supported; function:NAME, a Lambda
// ARN and a Lambda invocation ARN (with stage variables too) import without
// a warning.
func TestImportAWSIntegrationNotLambda(t *testing.T) {
	for _, c := range []struct {
		uri     string
		refused bool
	}{
		{"function:resp", false},
		{"function:resp:${stageVariables.alias}", false},
		{"arn:aws:lambda:us-east-1:123456789012:function:resp", false},
		{"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:resp/invocations", false},
		{"arn:aws:apigateway:us-east-1:s3:path/bucket/key", true},
		{"arn:aws:apigateway:us-east-1:dynamodb:action/PutItem", true},
	} {
		t.Run(c.uri, func(t *testing.T) {
			doc := `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/p": {"post": {"x-amazon-apigateway-integration":
  {"type": "aws", "httpMethod": "POST", "uri": "` + c.uri + `", "responses": {"default": {"statusCode": "200"}}}}}}}`
			res, err := Import(t.Context(), []byte(doc), Options{})
			switch {
			case c.refused && (!errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "only Lambda ARNs are supported")):
				t.Fatalf("import: %v, want it refused saying only Lambda ARNs are supported", err)
			case c.refused:
			case err != nil:
				t.Fatal(err)
			case len(res.Warnings) > 0:
				t.Fatalf("warnings %q", res.Warnings)
			}
		})
	}
}

// TestImportEnforcedExtensionsWithoutWarning: extensions Portico keeps and
// enforces (a REST API's resource policy, an operation's
// x-amazon-apigateway-auth) import without a "not known" warning.
func TestImportEnforcedExtensionsWithoutWarning(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "x"},
  "x-amazon-apigateway-policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]},
  "paths": {"/p": {"get": {"x-amazon-apigateway-auth": {"type": "AWS_IAM"},
    "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}, "responses": {"default": {"statusCode": "200"}}}}}}}`
	res, err := Import(t.Context(), []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 {
		t.Fatalf("warnings: %q", res.Warnings)
	}
	if _, ok := res.API.Extensions["x-amazon-apigateway-policy"]; !ok {
		t.Fatal("the resource policy was not kept")
	}
	if len(res.API.Routes) != 1 || res.API.Routes[0].Extensions["x-amazon-apigateway-auth"] == nil {
		t.Fatalf("x-amazon-apigateway-auth was not kept: %+v", res.API.Routes)
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
		"vpc endpoints":      `{"openapi": "3.0.1", "info": {"title": "x"}, "x-amazon-apigateway-endpoint-configuration": {"vpcEndpointIds": ["vpce-1"]}, "paths": {}}`,
		"compression size":   `{"openapi": "3.0.1", "info": {"title": "x"}, "x-amazon-apigateway-minimum-compression-size": "big", "paths": {}}`,
		"default on REST":    `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"$default": {"x-amazon-apigateway-any-method": {}}}}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			opts := Options{}
			if name == "websocket" {
				opts.Protocol = apis.ProtocolWebSocket
			}
			_, err := Import(t.Context(), []byte(doc), opts)
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
	again, err := Import(t.Context(), out, Options{})
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
		res, err := Import(t.Context(), data, Options{})
		if err != nil {
			return
		}
		out, err := Export(res.API, FormatOAS3)
		if err != nil {
			t.Fatalf("export of an imported API: %v", err)
		}
		again, err := Import(t.Context(), out, Options{Protocol: res.API.Protocol})
		if err != nil {
			t.Fatalf("re-import: %v\n%s", err, out)
		}
		a, b := comparable(t, reported(t, res.API)), comparable(t, again.API)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip differs:\n%s\n%s", a, b)
		}
	})
}

// TestImportResolvesRefs checks what the refs goldens rely on: path-item
// references, parameters shared by path items and referred to by JSON pointer,
// request bodies and responses from components, and Swagger 2.0's global
// parameters (a body among them) on x-amazon-apigateway-any-method.
func TestImportResolvesRefs(t *testing.T) {
	routes := func(file string) map[string]apis.Route {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Import(t.Context(), data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]apis.Route{}
		for _, r := range res.API.Routes {
			out[r.RouteKey] = r
		}
		return out
	}
	params := func(r apis.Route) string {
		var s []string
		for _, p := range r.Parameters {
			s = append(s, p.In+":"+p.Name+":"+p.Type+":"+strconv.FormatBool(p.Required))
		}
		return strings.Join(s, ",")
	}
	oas3 := routes("refs-oas3.yaml")
	for key, want := range map[string]string{
		"GET /pets":             "header:X-Trace::true,query:limit:integer:false,query:kind::false",
		"GET /animals/{petId}":  "path:petId::true,header:X-Trace::true",
		"ANY /animals/{petId}":  "path:petId::true,header:X-Trace::true,query:limit:integer:false",
		"GET /photos/{photoId}": "path:photoId::true,query:limit:integer:false",
	} {
		if got := params(oas3[key]); got != want {
			t.Errorf("%s parameters %q, want %q", key, got, want)
		}
	}
	if post := oas3["POST /pets"]; post.RequestModels["application/json"] != "NewPet" || !post.RequestBodyRequired ||
		post.Responses["201"].Headers[0] != "Location" {
		t.Errorf("POST /pets: %+v", post)
	}
	if get := oas3["GET /pets"]; get.Responses["200"].Models["application/json"] != "Pets" || get.Responses["400"].Models["application/json"] != "Error" {
		t.Errorf("GET /pets responses: %+v", get.Responses)
	}
	sw := routes("refs-swagger2.yaml")
	if anyRoute := sw["ANY /orders/{orderId}"]; params(anyRoute) != "path:orderId::true,header:X-Tenant::true,query:limit:integer:false" ||
		anyRoute.RequestModels["application/json"] != "Order" || anyRoute.Integration == nil || anyRoute.Integration.Type != apis.IntegrationAWSProxy {
		t.Errorf("ANY /orders/{orderId}: %+v", anyRoute)
	}
	if get := sw["GET /orders/{orderId}"]; get.Responses["200"].Models["application/xml"] != "Order" {
		t.Errorf("GET /orders/{orderId} takes the operation's produces: %+v", get.Responses)
	}
}

func TestImportRefusesRefsItCannotResolve(t *testing.T) {
	for name, doc := range map[string]string{
		"file":      `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"parameters": [{"$ref": "other.yaml#/components/parameters/P"}]}}}}`,
		"url":       `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"$ref": "http://127.0.0.1:1/paths.json#/a"}}}`,
		"undefined": `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/Nope"}]}}}}`,
		"swagger2":  `{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "paths": {"/a": {"x-amazon-apigateway-any-method": {"parameters": [{"$ref": "#/parameters/Nope"}]}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Import(t.Context(), []byte(doc), Options{}); !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestImportRefusesUnenforcedIntegrationFields checks that an integration's
// credentials (a role API Gateway would assume), connectionType VPC_LINK and a
// tlsConfig asking for less or other verification than Portico makes, which
// Portico cannot honour, stop the import with a message naming the field
// instead of a warning.
func TestImportRefusesUnenforcedIntegrationFields(t *testing.T) {
	doc := func(integration string) string {
		return `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"x-amazon-apigateway-integration": ` + integration + `}}}}`
	}
	cases := map[string]struct{ integration, want string }{
		"credentials": {`{"type": "aws_proxy", "httpMethod": "POST", "uri": "function:f", "credentials": "arn:aws:iam::123456789012:role/apigw"}`,
			`credentials "arn:aws:iam::123456789012:role/apigw" is not supported`},
		"caller credentials without AWS_IAM": {`{"type": "aws_proxy", "httpMethod": "POST", "uri": "function:f", "credentials": "arn:aws:iam::*:user/*"}`,
			`integration credentials arn:aws:iam::*:user/* (the caller's credentials) need AWS_IAM authorization on the method`},
		"caller credentials on HTTP_PROXY": {`{"type": "http_proxy", "httpMethod": "GET", "uri": "http://example.com/", "credentials": "arn:aws:iam::*:user/*"}`,
			`credentials "arn:aws:iam::*:user/*" is not supported`},
		"vpc link": {`{"type": "http_proxy", "httpMethod": "GET", "uri": "http://nlb.internal/", "connectionType": "VPC_LINK", "connectionId": "abc123"}`,
			"connectionType VPC_LINK is not supported"},
		"connection id alone": {`{"type": "http_proxy", "httpMethod": "GET", "uri": "http://example.com/", "connectionId": "abc123"}`,
			"connectionId is only for connectionType VPC_LINK"},
		"tls skip verification": {`{"type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/", "tlsConfig": {"insecureSkipVerification": true}}`,
			"tlsConfig: insecureSkipVerification true is not supported"},
		"tls server name": {`{"type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/", "tlsConfig": {"serverNameToVerify": "internal.example"}}`,
			"tlsConfig: serverNameToVerify is for private integrations"},
		"tls unknown field": {`{"type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/", "tlsConfig": {"skipVerify": true}}`,
			`tlsConfig: json: unknown field "skipVerify"`},
		"unknown connection type": {`{"type": "http_proxy", "httpMethod": "GET", "uri": "http://example.com/", "connectionType": "CARRIER_PIGEON"}`,
			`connectionType "CARRIER_PIGEON" must be INTERNET or VPC_LINK`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Import(t.Context(), []byte(doc(tc.integration)), Options{})
			if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid saying %q", err, tc.want)
			}
		})
	}
	// INTERNET, the default, is accepted as written.
	res, err := Import(t.Context(), []byte(doc(`{"type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/", "connectionType": "INTERNET",
		"tlsConfig": {"insecureSkipVerification": false}}`)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 {
		t.Fatalf("warnings: %q", res.Warnings)
	}
}

// TestImportRefusesAuthorizerCredentials checks that a Lambda authorizer's
// authorizerCredentials, scopes given to it (checked for JWT authorizers
// only), and a field Portico does not know (which would be declared and not
// applied), stop the import naming the field.
func TestImportRefusesAuthorizerCredentials(t *testing.T) {
	doc := func(authorizer string) string {
		return `{"openapi": "3.0.1", "info": {"title": "x"}, "components": {"securitySchemes": {"tok": {"type": "apiKey", "name": "Authorization", "in": "header",
			"x-amazon-apigateway-authtype": "custom", "x-amazon-apigateway-authorizer": ` + authorizer + `}}},
			"paths": {"/a": {"get": {"security": [{"tok": []}], "x-amazon-apigateway-integration": {"type": "mock"}}}}}`
	}
	scoped := func(doc string) string {
		return strings.Replace(doc, `"security": [{"tok": []}]`, `"security": [{"tok": ["read"]}]`, 1)
	}
	cases := map[string]struct{ authorizer, want string }{
		"credentials": {`{"type": "token", "authorizerUri": "function:authz", "authorizerCredentials": "arn:aws:iam::123456789012:role/authz"}`,
			`authorizerCredentials "arn:aws:iam::123456789012:role/authz" is not supported`},
		"scopes on a lambda authorizer": {`{"type": "token", "authorizerUri": "function:authz"}`,
			`authorization scopes "read" on security scheme "tok" are not checked`},
		"simple responses on a REST authorizer": {`{"type": "request", "authorizerUri": "function:authz", "identitySource": "method.request.header.Authorization", "enableSimpleResponses": true}`,
			`enableSimpleResponses and authorizerPayloadFormatVersion 2.0 are for HTTP API authorizers`},
		"payload 2.0 on a REST authorizer": {`{"type": "request", "authorizerUri": "function:authz", "identitySource": "method.request.header.Authorization", "authorizerPayloadFormatVersion": "2.0"}`,
			`enableSimpleResponses and authorizerPayloadFormatVersion 2.0 are for HTTP API authorizers`},
		"misspelt field": {`{"type": "token", "authorizerUri": "function:authz", "identityValidationExpresion": "Bearer .+"}`,
			`unknown field "identityValidationExpresion"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := doc(tc.authorizer)
			if strings.HasPrefix(name, "scopes") {
				d = scoped(d)
			}
			_, err := Import(t.Context(), []byte(d), Options{})
			if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid saying %q", err, tc.want)
			}
		})
	}
	if _, err := Import(t.Context(), []byte(doc(`{"type": "token", "authorizerUri": "function:authz", "identityValidationExpression": "Bearer .+"}`)), Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestImportUncheckedDeclarations checks the rule for what the request
// validator cannot check (inline request body schemas, Swagger 2.0 formData,
// required cookie parameters): refused where the route's validator would be
// asked to check it, a warning where no validator is.
func TestImportUncheckedDeclarations(t *testing.T) {
	const validators = `"x-amazon-apigateway-request-validators": {"all": {"validateRequestBody": true, "validateRequestParameters": true},
		"body": {"validateRequestBody": true}, "params": {"validateRequestParameters": true}},`
	oas3 := func(top, op string) string {
		return `{"openapi": "3.0.1", "info": {"title": "x"}, ` + validators + top + ` "paths": {"/a": {"post": {` + op + `
			"x-amazon-apigateway-integration": {"type": "mock"}}}}}`
	}
	const inlineBody = `"requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["name"]}}}},`
	const cookie = `"parameters": [{"name": "session", "in": "cookie", "required": true, "schema": {"type": "string"}}],`
	const formData = `{"swagger": "2.0", "info": {"title": "x"}, ` + validators + ` "x-amazon-apigateway-request-validator": "all",
		"paths": {"/a": {"post": {"consumes": ["application/x-www-form-urlencoded"],
		"parameters": [{"name": "name", "in": "formData", "required": true, "type": "string"}],
		"responses": {"200": {"description": "ok"}}, "x-amazon-apigateway-integration": {"type": "mock"}}}}}`
	refused := map[string]struct{ doc, want string }{
		"inline body, API validator": {oas3(`"x-amazon-apigateway-request-validator": "all",`, inlineBody),
			`POST /a: the application/json request body has an inline schema, which request validator "all" (validateRequestBody) cannot check`},
		"inline body, method validator": {oas3("", inlineBody+`"x-amazon-apigateway-request-validator": "body",`), `request validator "body" (validateRequestBody)`},
		"required cookie": {oas3(`"x-amazon-apigateway-request-validator": "params",`, cookie),
			`POST /a: required cookie parameter "session", which request validator "params" (validateRequestParameters) cannot check`},
		"required formData": {formData, "the formData parameters (a application/x-www-form-urlencoded request body) have no model"},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := Import(t.Context(), []byte(tc.doc), Options{})
			if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid saying %q", err, tc.want)
			}
		})
	}
	warned := map[string]struct{ doc, want string }{
		"inline body, no validator":          {oas3("", inlineBody), "the application/json request body has an inline schema is ignored"},
		"inline body, parameters validator":  {oas3(`"x-amazon-apigateway-request-validator": "params",`, inlineBody), "inline schema is ignored"},
		"required cookie, body validator":    {oas3(`"x-amazon-apigateway-request-validator": "body",`, cookie), `required cookie parameter "session" is ignored`},
		"optional cookie, params validator":  {oas3(`"x-amazon-apigateway-request-validator": "params",`, strings.Replace(cookie, `"required": true`, `"required": false`, 1)), `cookie parameter "session" is ignored`},
		"formData, validator without bodies": {strings.Replace(formData, `"x-amazon-apigateway-request-validator": "all"`, `"x-amazon-apigateway-request-validator": "params"`, 1), "formData parameters"},
	}
	for name, tc := range warned {
		t.Run(name, func(t *testing.T) {
			res, err := Import(t.Context(), []byte(tc.doc), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, tc.want) }) {
				t.Fatalf("warnings %q, want one saying %q", res.Warnings, tc.want)
			}
		})
	}
}

// TestImportStatusCodeErrors: a statusCode that is not a status (a string
// such as "2xx", a number out of range such as 999) is refused naming the
// field, the value and what is allowed, not with the JSON decoder's words.
func TestImportStatusCodeErrors(t *testing.T) {
	withIntegrationStatus := func(code string) string {
		return `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/a": {"get": {"responses": {"200": {"description": "ok"}},
  "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
    "responses": {"default": {"statusCode": ` + code + `}}}}}}}`
	}
	withGatewayStatus := func(code string) string {
		return `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {},
  "x-amazon-apigateway-gateway-responses": {"DEFAULT_4XX": {"statusCode": ` + code + `}}}`
	}
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"integration response 2xx", withIntegrationStatus(`"2xx"`), []string{`statusCode "2xx"`, "200 to 599"}},
		{"integration response 999", withIntegrationStatus(`"999"`), []string{`statusCode "999"`, "200 to 599"}},
		{"integration response number 999", withIntegrationStatus(`999`), []string{`statusCode "999"`, "200 to 599"}},
		{"integration response true", withIntegrationStatus(`true`), []string{"GET /a", "statusCode", "200 to 599"}},
		{"gateway response 2xx", withGatewayStatus(`"2xx"`), []string{"DEFAULT_4XX", `statusCode "2xx"`, "200 to 599"}},
		{"gateway response 999", withGatewayStatus(`999`), []string{"DEFAULT_4XX", `statusCode "999"`, "200 to 599"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Import(t.Context(), []byte(c.doc), Options{})
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("err = %q, want it to say %q", msg, w)
				}
			}
			if strings.Contains(msg, "json:") || strings.Contains(msg, "3-digit") {
				t.Errorf("err = %q: the decoder's words or 3-digit (999 has three digits)", msg)
			}
		})
	}
	// Numbers and strings of a valid status are both taken.
	for _, code := range []string{`200`, `"200"`} {
		if _, err := Import(t.Context(), []byte(withIntegrationStatus(code)), Options{}); err != nil {
			t.Errorf("statusCode %s: %v", code, err)
		}
		if _, err := Import(t.Context(), []byte(withGatewayStatus(code)), Options{}); err != nil {
			t.Errorf("gateway response statusCode %s: %v", code, err)
		}
	}
}

// TestImportRefusesUndeclaredResponseHeaderMappings: an integration response
// mapping method.response.header.X when the method response of its status
// does not declare X (or there is no method response of that status) is
// refused, as API Gateway's import and put-integration-response refuse it,
// naming the path, method, status and header. Declared headers (any case)
// import.
func TestImportRefusesUndeclaredResponseHeaderMappings(t *testing.T) {
	doc := func(headers, status string) string {
		return `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {"/pets": {"get": {
  "responses": {"200": {"description": "ok", "headers": {` + headers + `}}},
  "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
    "responses": {"default": {"statusCode": "` + status + `", "responseParameters": {"method.response.header.X-Undeclared": "'v'"}}}}}}}}`
	}
	for name, c := range map[string]struct {
		doc  string
		want []string
	}{
		"undeclared header": {doc(`"X-Other": {"schema": {"type": "string"}}`, "200"),
			[]string{"GET /pets", "200", "method.response.header.X-Undeclared", "does not declare"}},
		"no headers":         {doc(``, "200"), []string{"GET /pets", "200", "method.response.header.X-Undeclared"}},
		"no method response": {doc(`"X-Undeclared": {"schema": {"type": "string"}}`, "404"), []string{"GET /pets", "404", "method.response.header.X-Undeclared", "no response 404"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Import(t.Context(), []byte(c.doc), Options{})
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to say %q", err, w)
				}
			}
		})
	}
	for _, declared := range []string{"X-Undeclared", "x-undeclared"} {
		if _, err := Import(t.Context(), []byte(doc(`"`+declared+`": {"schema": {"type": "string"}}`, "200")), Options{}); err != nil {
			t.Errorf("header declared as %s: %v", declared, err)
		}
	}
}

// TestExtensionsKeptEverywhere: x- extensions are kept verbatim wherever
// OpenAPI allows them (info, components, paths, a path item, an operation's
// responses and each response, x-amazon-apigateway-integration and its
// responses), without a warning, and exported again where they stood, in
// OpenAPI 3 and Swagger 2.0 documents alike; an extension directly under
// paths does not make the document fail to load.
func TestExtensionsKeptEverywhere(t *testing.T) {
	const integ = `"x-amazon-apigateway-integration": {"type": "mock", "x-ir-ext": {"i": 1},
    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
    "responses": {"default": {"statusCode": "200", "x-ir-resp-ext": "ir"}}}`
	docs := map[string]string{
		"oas3": `{"openapi": "3.0.1", "info": {"title": "x", "version": "1", "x-info-ext": {"a": 1}},
  "components": {"x-comp-ext": "c"},
  "x-top-ext": true,
  "paths": {"x-paths-ext": "p",
    "/pets": {"x-path-ext": {"b": 2},
      "get": {"x-op-ext": 3,
        "responses": {"200": {"description": "ok", "x-resp-ext": "r"}, "x-responses-ext": "rs"},
        ` + integ + `}}}}`,
		"swagger2": `{"swagger": "2.0", "info": {"title": "x", "version": "1", "x-info-ext": {"a": 1}},
  "x-top-ext": true,
  "paths": {"x-paths-ext": "p",
    "/pets": {"x-path-ext": {"b": 2},
      "get": {"x-op-ext": 3,
        "responses": {"200": {"description": "ok", "x-resp-ext": "r"}, "x-responses-ext": "rs"},
        ` + integ + `}}}}`,
	}
	// where lists each extension by the JSON path of the object holding it.
	where := map[string][]string{
		"x-info-ext":      {"info"},
		"x-comp-ext":      {"components"},
		"x-top-ext":       {},
		"x-paths-ext":     {"paths"},
		"x-path-ext":      {"paths", "/pets"},
		"x-op-ext":        {"paths", "/pets", "get"},
		"x-responses-ext": {"paths", "/pets", "get", "responses"},
		"x-resp-ext":      {"paths", "/pets", "get", "responses", "200"},
		"x-ir-ext":        {"paths", "/pets", "get", "x-amazon-apigateway-integration"},
		"x-ir-resp-ext":   {"paths", "/pets", "get", "x-amazon-apigateway-integration", "responses", "default"},
	}
	lookup := func(doc []byte, path []string, ext string) (any, bool) {
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Fatal(err)
		}
		for _, k := range append(slices.Clone(path), ext) {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[k]; !ok {
				return nil, false
			}
		}
		return v, true
	}
	for in, doc := range docs {
		t.Run(in, func(t *testing.T) {
			res, err := Import(t.Context(), []byte(doc), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings: %q", res.Warnings)
			}
			for _, format := range []string{FormatOAS3, FormatSwagger2} {
				out, err := Export(res.API, format)
				if err != nil {
					t.Fatal(err)
				}
				for ext, path := range where {
					if (in == FormatSwagger2 || format == FormatSwagger2) && ext == "x-comp-ext" {
						continue // Swagger 2.0 has no components object
					}
					want, _ := lookup([]byte(doc), path, ext)
					if got, ok := lookup(out, path, ext); !ok || !reflect.DeepEqual(got, want) {
						t.Errorf("%s export: %s at %v = %v (%v), want %v", format, ext, path, got, ok, want)
					}
				}
				if in == FormatOAS3 && format == FormatSwagger2 {
					continue // x-comp-ext has no place in it
				}
				again, err := Import(t.Context(), out, Options{})
				if err != nil {
					t.Fatalf("import of the %s export: %v", format, err)
				}
				// What an import of the export holds is the API with its
				// URIs as API Gateway reports them; its export is the same
				// document.
				if got, want := comparable(t, again.API), comparable(t, reported(t, res.API)); !bytes.Equal(got, want) {
					t.Errorf("import(export(%s)) differs:\n%s\nwant:\n%s", format, got, want)
				}
				if out2, err := Export(again.API, format); err != nil || !bytes.Equal(out2, out) {
					t.Errorf("export(import(export(%s))) differs (%v):\n%s\nwant:\n%s", format, err, out2, out)
				}
			}
		})
	}
}

// TestSwagger2ExportWarnsWhatItCannotSay: Swagger 2.0 has one body schema per
// operation, one schema per response, no required response headers and no
// components object. A Swagger 2.0 export of an API using them says, in its
// warnings, what the document leaves out and what an import of it would make
// of it (the other body types validated against the one schema); the OpenAPI 3
// export says everything and warns of nothing.
func TestSwagger2ExportWarnsWhatItCannotSay(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "x", "version": "1"},
  "components": {"x-comp-ext": "c", "schemas": {"A": {"type": "object", "required": ["a"]}, "B": {"type": "object", "required": ["b"]}}},
  "x-amazon-apigateway-request-validators": {"body": {"validateRequestBody": true, "validateRequestParameters": false}},
  "paths": {"/things": {"post": {"x-amazon-apigateway-request-validator": "body",
    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}},
      "application/vnd.b+json": {"schema": {"$ref": "#/components/schemas/B"}}}},
    "responses": {"200": {"description": "ok", "headers": {"X-Req": {"required": true, "schema": {"type": "string"}}},
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}, "application/xml": {"schema": {"$ref": "#/components/schemas/B"}}}}},
    "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}}}}}`
	res, err := Import(t.Context(), []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, warnings, err := ExportWithWarnings(res.API, FormatSwagger2)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(warnings, "\n")
	for _, want := range []string{
		"POST /things", "application/vnd.b+json", `"B"`, `"A"`, // the body
		"response 200", "application/xml", // the response schema
		"X-Req",      // the required header
		"x-comp-ext", // components
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings do not name %q:\n%s", want, all)
		}
	}
	// The document is what it was: import of it is what the warning says.
	again, err := Import(t.Context(), out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := again.API.Routes[0].RequestModels; !reflect.DeepEqual(got, map[string]string{"application/json": "A", "application/vnd.b+json": "A"}) {
		t.Errorf("re-imported request models = %v", got)
	}
	if _, warnings, err = ExportWithWarnings(res.API, FormatOAS3); err != nil || len(warnings) != 0 {
		t.Errorf("OpenAPI 3 export: warnings %q, err %v", warnings, err)
	}
}

// TestParameterAndBodyExtensionsKept: x- extensions of parameters (the
// operation's and the path item's) and of a request body are kept and go
// through an export, OpenAPI 3 or Swagger 2.0, and a re-import unchanged;
// those of media type and header objects, which Portico does not keep, are
// named in a warning instead of dropped silently.
func TestParameterAndBodyExtensionsKept(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "x", "version": "1"},
  "components": {"schemas": {"A": {"type": "object"}}},
  "paths": {"/pets": {"parameters": [{"name": "shared", "in": "header", "x-shared-ext": "s", "schema": {"type": "string"}}],
    "post": {"parameters": [{"name": "q", "in": "query", "x-param-ext": {"p": 1}, "schema": {"type": "string"}}],
      "requestBody": {"x-body-ext": "b", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}, "x-media-ext": 1}}},
      "responses": {"200": {"description": "ok", "headers": {"X-H": {"schema": {"type": "string"}, "x-header-ext": 2}}}},
      "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}}}}}`
	res, err := Import(t.Context(), []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.API.Routes[0]
	if len(r.Parameters) != 2 || r.Parameters[0].Extensions == nil || r.Parameters[1].Extensions == nil || r.RequestBodyExtensions == nil {
		t.Fatalf("extensions not kept: parameters %+v, request body %v", r.Parameters, r.RequestBodyExtensions)
	}
	all := strings.Join(res.Warnings, "\n")
	for _, want := range []string{"x-media-ext", "x-header-ext"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings do not name %s: %q", want, res.Warnings)
		}
	}
	model := comparable(t, res.API)
	for _, format := range []string{FormatOAS3, FormatSwagger2} {
		out, err := Export(res.API, format)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Import(t.Context(), out, Options{})
		if err != nil {
			t.Fatalf("import of the %s export: %v", format, err)
		}
		if len(again.Warnings) != 0 {
			t.Errorf("import of the %s export: warnings %q", format, again.Warnings)
		}
		if got := comparable(t, again.API); !bytes.Equal(got, model) {
			t.Errorf("import(export(%s)) differs:\n%s\nwant:\n%s", format, got, model)
		}
	}
}
