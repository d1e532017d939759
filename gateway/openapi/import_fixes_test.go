package openapi

import (
	"strings"
	"testing"
)

// TestImportSharedIntegrationsRESTAndUnused: shared integrations
// (components.x-amazon-apigateway-integrations) are for HTTP APIs, as on API
// Gateway: a REST import refuses them in those words, once. An HTTP import
// warns about one no operation refers to.
func TestImportSharedIntegrationsRESTAndUnused(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "x"},
	  "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"$ref": "#/components/x-amazon-apigateway-integrations/one"}}},
	            "/b": {"get": {"x-amazon-apigateway-integration": {"$ref": "#/components/x-amazon-apigateway-integrations/one"}}}},
	  "components": {"x-amazon-apigateway-integrations": {
	    "one": {"type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/", "payloadFormatVersion": "1.0"},
	    "two": {"type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/two", "payloadFormatVersion": "1.0"}}}}`
	_, err := Import(t.Context(), []byte(doc), Options{Protocol: "REST"})
	if err == nil || strings.Count(err.Error(), "HTTP APIs only") != 1 {
		t.Fatalf("REST import: %v, want one refusal saying shared integrations are for HTTP APIs only", err)
	}
	res, err := Import(t.Context(), []byte(doc), Options{Protocol: "HTTP"})
	if err != nil {
		t.Fatalf("HTTP import: %v", err)
	}
	if w := strings.Join(res.Warnings, "\n"); w != "components.x-amazon-apigateway-integrations.two is not referred to by any operation; it is ignored" {
		t.Fatalf("warnings %q", res.Warnings)
	}
	if len(res.API.ComponentsExtensions) != 0 {
		t.Fatalf("components extensions kept: %v", res.API.ComponentsExtensions)
	}
	for _, r := range res.API.Routes {
		if r.Integration == nil || r.Integration.URI != "https://example.com/" {
			t.Fatalf("route %s %s: integration %+v", r.Method, r.Path, r.Integration)
		}
	}
	bad := strings.Replace(doc, `{"$ref": "#/components/x-amazon-apigateway-integrations/one"}}}`, `{"$ref": "#/components/x-amazon-apigateway-integrations/one", "uri": "https://x/"}}}`, 1)
	if _, err := Import(t.Context(), []byte(bad), Options{Protocol: "HTTP"}); err == nil || !strings.Contains(err.Error(), "cannot stand beside other fields") {
		t.Fatalf("$ref with siblings: %v", err)
	}
}

// TestImportUnknownFieldsNameWhatIsTaken: an unknown field of an extension is
// refused naming the extension and the fields it takes; types in the
// endpoint configuration (not a field of API Gateway's extension: the type
// is an import parameter) says where it goes.
func TestImportUnknownFieldsNameWhatIsTaken(t *testing.T) {
	for name, tc := range map[string]struct{ ext, want string }{
		"endpoint types": {`"x-amazon-apigateway-endpoint-configuration": {"types": ["REGIONAL"]}`,
			`x-amazon-apigateway-endpoint-configuration: unknown field "types"; it takes disableExecuteApiEndpoint, vpcEndpointIds; the endpoint type is not part of this extension: give it as the import's parameter (--parameters endpointConfigurationTypes=REGIONAL)`},
		"cors": {`"x-amazon-apigateway-cors": {"allowOrigin": ["*"]}`,
			`x-amazon-apigateway-cors: unknown field "allowOrigin"; it takes allowOrigins, allowMethods, allowHeaders, exposeHeaders, maxAge, allowCredentials`},
		"validators": {`"x-amazon-apigateway-request-validators": {"v": {"validateBody": true}}`,
			`x-amazon-apigateway-request-validators: unknown field "validateBody"; it takes validateRequestBody, validateRequestParameters`},
		"integration": {`"paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"type": "mock", "timeout": 100}}}}`,
			`GET /a: x-amazon-apigateway-integration: unknown field "timeout"; it takes type, uri, httpMethod,`},
	} {
		doc := `{"openapi": "3.0.1", "info": {"title": "x"}, ` + tc.ext + `}`
		if !strings.Contains(tc.ext, `"paths"`) {
			doc = `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {}, ` + tc.ext + `}`
		}
		protocol := "REST"
		if name == "cors" {
			protocol = "HTTP" // an HTTP API extension: a REST import refuses it whole
		}
		_, err := Import(t.Context(), []byte(doc), Options{Protocol: protocol})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", name, err, tc.want)
		}
	}
}

// TestImportEndpointConfigurationOnServer: API Gateway's OpenAPI 3 documents
// carry x-amazon-apigateway-endpoint-configuration on a server object; it is
// read there as at the top level.
func TestImportEndpointConfigurationOnServer(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {},
	  "servers": [{"url": "https://example.com/v1", "x-amazon-apigateway-endpoint-configuration": {"disableExecuteApiEndpoint": true}}]}`
	res, err := Import(t.Context(), []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.API.Extensions["x-amazon-apigateway-endpoint-configuration"]); got != `{"disableExecuteApiEndpoint":true}` {
		t.Fatalf("kept %q", got)
	}
	bad := strings.Replace(doc, `"disableExecuteApiEndpoint": true`, `"vpcEndpointIds": ["vpce-1"]`, 1)
	if _, err := Import(t.Context(), []byte(bad), Options{}); err == nil || !strings.Contains(err.Error(), "servers[0].x-amazon-apigateway-endpoint-configuration: vpcEndpointIds are not supported") {
		t.Fatalf("vpcEndpointIds on a server: %v", err)
	}
}

// TestImportAPIKeySchemeElsewhereWarns: a REST API reads API keys from the
// x-api-key header only, as API Gateway does; an apiKey scheme that says
// in: query or another header name is warned about, not read silently as
// x-api-key.
func TestImportAPIKeySchemeElsewhereWarns(t *testing.T) {
	for name, tc := range map[string]struct{ scheme, want string }{
		"x-api-key":     {`{"type": "apiKey", "name": "X-API-Key", "in": "header"}`, ""},
		"query":         {`{"type": "apiKey", "name": "key", "in": "query"}`, `security scheme "k": an API key is read from the x-api-key header`},
		"custom header": {`{"type": "apiKey", "name": "X-Key", "in": "header"}`, `not from header "X-Key"`},
	} {
		doc := `{"openapi": "3.0.1", "info": {"title": "x"}, "components": {"securitySchemes": {"k": ` + tc.scheme + `}},
		  "paths": {"/a": {"get": {"security": [{"k": []}], "x-amazon-apigateway-integration": {"type": "mock"}}}}}`
		res, err := Import(t.Context(), []byte(doc), Options{Protocol: "REST"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w := strings.Join(res.Warnings, "\n")
		if tc.want == "" && strings.Contains(w, "security scheme") || tc.want != "" && !strings.Contains(w, tc.want) {
			t.Errorf("%s: warnings %q, want %q", name, res.Warnings, tc.want)
		}
		if !res.API.Routes[0].APIKeyRequired {
			t.Errorf("%s: the route does not require a key", name)
		}
	}
}

// TestImportLaterJSONSchemaWarns: models are JSON Schema draft 4, as API
// Gateway's are; an OpenAPI 3.1 document is read as 3.0 with a warning, and
// each assertion draft 4 lacks (const, if, ...) is warned about, where it
// stands, rather than left unchecked in silence.
func TestImportLaterJSONSchemaWarns(t *testing.T) {
	doc := `openapi: 3.1.0
info: {title: o31, version: "1"}
components:
  schemas:
    P:
      type: object
      properties:
        n: {type: [string, "null"]}
        c: {const: 5}
        l: {type: array, items: {type: object, propertyNames: {pattern: "^a"}}}
paths: {}
`
	res, err := Import(t.Context(), []byte(doc), Options{Protocol: "REST"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"openapi 3.1.0 is read as OpenAPI 3.0",
		`model "P": const at /properties/c/const is not checked`,
		`model "P": propertyNames at /properties/l/items/propertyNames is not checked`,
	}
	w := strings.Join(res.Warnings, "\n")
	for _, s := range want {
		if !strings.Contains(w, s) {
			t.Errorf("warnings lack %q:\n%s", s, w)
		}
	}
	if strings.Count(w, "\n")+1 != len(want) {
		t.Errorf("warnings: %s", w)
	}
}

// TestImportRESTPathPartCharacters: a REST import holds each literal path
// part to API Gateway's a-zA-Z0-9._-, as create-resource does (`*` and `:`
// were imported), its base path included; an HTTP API's paths keep their
// wider set.
func TestImportRESTPathPartCharacters(t *testing.T) {
	doc := func(path string) []byte {
		return []byte(`{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "basePath": "/v1:x",
		  "paths": {"` + path + `": {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/", "payloadFormatVersion": "1.0"}}}}}`)
	}
	for path, bad := range map[string]string{"/a*b": "a*b", "/x:y/{id}": "x:y", "/files/*": "*"} {
		_, err := Import(t.Context(), doc(path), Options{Protocol: "REST"})
		want := `path "` + path + `": a REST API's resource path part may hold only a-zA-Z0-9._- (or be a whole {parameter}); "` + bad + `" is not one: rename it, or take it as a {parameter}`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("REST import of %s: %v, want %q", path, err, want)
		}
	}
	if _, err := Import(t.Context(), doc("/a-b_c.d/{id}/{proxy+}"), Options{Protocol: "REST"}); err != nil {
		t.Errorf("REST import of allowed parts: %v", err)
	}
	if _, err := Import(t.Context(), doc("/ok"), Options{Protocol: "REST", BasePath: BasePathPrepend}); err == nil || !strings.Contains(err.Error(), `"v1:x" is not one`) {
		t.Errorf("REST import with base path /v1:x prepended: %v, want it refused", err)
	}
	if _, err := Import(t.Context(), doc("/a*b"), Options{Protocol: "HTTP"}); err != nil {
		t.Errorf("HTTP import of /a*b: %v, want it taken", err)
	}
}

// TestImportFormatsDraft4Lacks: a model's format that JSON Schema draft 4
// does not define (date, uuid, and OpenAPI's own int32, int64, password, ...)
// is an annotation, as a draft 4 validator takes it: not warned about, so
// that failOnWarnings takes an ordinary document (verify27b: a warning for
// each made `format: int64` fail an import the previous build took), and
// not checked (r-vtlval27 #4: date was checked); draft 4's own (date-time,
// email, ...) are checked.
func TestImportFormatsDraft4Lacks(t *testing.T) {
	doc := `openapi: 3.0.1
info: {title: f, version: "1"}
components:
  schemas:
    P:
      type: object
      properties:
        d: {type: string, format: date}
        u: {type: string, format: uuid}
        n: {type: integer, format: int64}
        p: {type: string, format: password}
        t: {type: string, format: date-time}
        format: {type: string, format: email}
paths: {}
`
	res, err := Import(t.Context(), []byte(doc), Options{Protocol: "REST"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 { // what failOnWarnings refuses
		t.Errorf("warnings: %s", strings.Join(res.Warnings, "\n"))
	}
}
