package openapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestImportModelRefBomb: r-openapi28 #1's document (M0 an object, Mi an
// allOf of ten $refs to M(i-1), POST /a's body M12 under a validator) is
// refused at import, naming a model and the limit, where before every
// validated request checked the body against 10^12 schemas.
func TestImportModelRefBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`openapi: 3.0.1
info: {title: refbomb, version: "1"}
x-amazon-apigateway-request-validators: {all: {validateRequestBody: true, validateRequestParameters: true}}
x-amazon-apigateway-request-validator: all
paths:
  /a:
    post:
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/M12'}}}}
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}, responses: {default: {statusCode: "200"}}}
components:
  schemas:
    M0: {type: object, properties: {x: {type: string}}}
`)
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&b, "    M%d:\n      allOf:\n", i)
		for range 10 {
			fmt.Fprintf(&b, "        - $ref: '#/components/schemas/M%d'\n", i-1)
		}
	}
	_, err := Import(t.Context(), []byte(b.String()), Options{})
	if err == nil || !strings.Contains(err.Error(), "more than 1000 schemas") || !strings.Contains(err.Error(), `model "M`) {
		t.Fatalf("import: %v, want refused naming the model and the limit", err)
	}
}

// TestImportUnknownOperationFields: an unknown field of an operation or path
// item is warned about, naming where (r-openapi28 #9), and security written
// on a path item (security, x-amazon-apigateway-auth), where nothing reads
// it and the routes would be public, is refused naming the path (#8, #9);
// REST and HTTP APIs, OpenAPI 3 and Swagger 2.0.
func TestImportUnknownOperationFields(t *testing.T) {
	t.Parallel()
	const mock = `x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}}`
	const httpProxy = `x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "http://127.0.0.1:1/", payloadFormatVersion: "1.0"}`
	oas3 := func(pathItem, op, integration string) string {
		return `openapi: 3.0.1
info: {title: t, version: "1"}
components:
  securitySchemes: {api_key: {type: apiKey, name: x-api-key, in: header}}
  schemas:
    M: {type: object, requird: [a], properties: {a: {type: string, requird: true}}}
paths:
  /a:
` + pathItem + `    get:
` + op + `      ` + integration + "\n"
	}
	for _, tc := range []struct {
		name, doc string
		opts      Options
		warn, err string
	}{
		{"operation typo", oas3("", "      securty: [{api_key: []}]\n", mock), Options{}, `GET /a: securty is not an OpenAPI field of an operation; it is ignored`, ""},
		{"path item security", oas3("    security: [{api_key: []}]\n", "", mock), Options{}, "", `paths["/a"]: security belongs on operations or at the top level, not on a path item`},
		{"path item auth", oas3("    x-amazon-apigateway-auth: {type: AWS_IAM}\n", "", mock), Options{}, "", `paths["/a"]: x-amazon-apigateway-auth belongs on operations (routes), not on a path item`},
		{"path item typo", oas3("    summry: x\n", "", mock), Options{}, `paths["/a"]: summry is not an OpenAPI field of a path item; it is ignored`, ""},
		{"http api path item security", oas3("    security: [{api_key: []}]\n", "", httpProxy), Options{Protocol: apis.ProtocolHTTP}, "", `paths["/a"]: security belongs on operations`},
		{"swagger 2.0 operation typo", `swagger: "2.0"
info: {title: t, version: "1"}
paths:
  /a:
    get:
      securty: []
      ` + mock + "\n", Options{}, `GET /a: securty is not an OpenAPI field of an operation`, ""},
		{"parameter typo", oas3("", "      parameters: [{name: q, in: query, requird: true, schema: {type: string}}]\n", mock), Options{}, `requird`, ""},
		{"request body typo", oas3("", "      requestBody: {requied: true, content: {application/json: {schema: {type: object}}}}\n", mock), Options{}, `requied`, ""},
		{"model typo", oas3("", "", mock) + "    post:\n      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/M'}}}}\n      " + mock + `
`, Options{}, `model "M": requird at /requird is not a JSON Schema keyword; it is not checked`, ""},
		{"swagger 2.0 path item security", `swagger: "2.0"
info: {title: t, version: "1"}
securityDefinitions: {api_key: {type: apiKey, name: x-api-key, in: header}}
paths:
  /a:
    security: [{api_key: []}]
    get:
      ` + mock + "\n", Options{}, "", `paths["/a"]: security belongs on operations`},
	} {
		res, err := Import(t.Context(), []byte(tc.doc), tc.opts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, tc.warn) }) {
			t.Errorf("%s: warnings %q, want one containing %q", tc.name, res.Warnings, tc.warn)
		}
	}
}

// TestImportParamSchemaNotChecked: a parameter's enum, minimum, pattern, ...
// under a validator that checks parameters is warned about, as request
// validation checks only presence (r-openapi28 #6); without such a
// validator nothing is said. The export of an array parameter has items.
func TestImportParamSchemaNotChecked(t *testing.T) {
	t.Parallel()
	doc := func(validator string) string {
		return `openapi: 3.0.1
info: {title: p, version: "1"}
x-amazon-apigateway-request-validators: {p: {validateRequestBody: true, validateRequestParameters: true}, b: {validateRequestBody: true}}
x-amazon-apigateway-request-validator: ` + validator + `
components: {schemas: {S: {type: string, pattern: "^a"}}}
paths:
  /a:
    get:
      parameters:
        - {name: n, in: query, required: true, schema: {type: integer, minimum: 1, maximum: 10, default: 5}}
        - {name: e, in: query, schema: {type: string, enum: [x, y]}}
        - {name: d, in: query, schema: {$ref: '#/components/schemas/S'}}
        - {name: tag, in: query, schema: {type: array, items: {type: string}}}
      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}}
`
	}
	res, err := Import(t.Context(), []byte(doc("p")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"GET /a: query parameter n: minimum, maximum are not checked; request validation checks only that required parameters are present",
		"GET /a: query parameter e: enum is not checked",
		"GET /a: query parameter d: pattern is not checked",
	} {
		if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, want) }) {
			t.Errorf("warnings %q, want one containing %q", res.Warnings, want)
		}
	}
	res, err = Import(t.Context(), []byte(doc("b")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "not checked") }) {
		t.Errorf("no parameter validator: warnings %q, want none about parameters", res.Warnings)
	}
	for _, format := range []string{FormatOAS3, FormatSwagger2} {
		out, err := Export(res.API, format)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(strings.Fields(string(out)), ""), `"items":{"type":"string"}`) {
			t.Errorf("%s export: the array parameter has no items:\n%s", format, out)
		}
	}
}

// TestImportHTTPIntegrationWithoutMethod: a REST API's http or http_proxy
// integration without httpMethod is refused, as put-integration refuses it
// (r-openapi28 #2: it was taken, and forwarded the client's method).
func TestImportHTTPIntegrationWithoutMethod(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"http", "http_proxy"} {
		doc := `openapi: 3.0.1
info: {title: m, version: "1"}
paths:
  /a:
    post:
      x-amazon-apigateway-integration: {type: ` + typ + `, uri: "http://127.0.0.1:1/", responses: {default: {statusCode: "200"}}}
`
		_, err := Import(t.Context(), []byte(doc), Options{})
		if err == nil || !strings.Contains(err.Error(), "POST /a: x-amazon-apigateway-integration: Enumeration value for HttpMethod must be non-empty") {
			t.Errorf("%s: %v, want refused as put-integration refuses it", typ, err)
		}
	}
}

// TestImportHTTPAPIUnenforcedSchemeMessage: on an HTTP API, a bearer, oauth2
// or openIdConnect scheme without an authorizer is refused pointing to the
// JWT authorizer, not to API keys, which HTTP APIs drop (r-openapi28 #3);
// a REST API's message is unchanged.
func TestImportHTTPAPIUnenforcedSchemeMessage(t *testing.T) {
	t.Parallel()
	for _, scheme := range []string{
		`{type: http, scheme: bearer}`,
		`{type: oauth2, flows: {implicit: {authorizationUrl: "https://a.example/", scopes: {read: r}}}}`,
		`{type: openIdConnect, openIdConnectUrl: "https://a.example/.well-known/openid-configuration"}`,
	} {
		doc := `openapi: 3.0.1
info: {title: b, version: "1"}
components: {securitySchemes: {b: ` + scheme + `}}
paths:
  /a:
    get:
      security: [{b: []}]
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "http://127.0.0.1:1/", payloadFormatVersion: "1.0"}
`
		_, err := Import(t.Context(), []byte(doc), Options{Protocol: apis.ProtocolHTTP})
		if err == nil || !strings.Contains(err.Error(), "is not enforced: for bearer tokens (JWT) add x-amazon-apigateway-authorizer {type: jwt") || strings.Contains(err.Error(), "type apiKey") {
			t.Errorf("%s: %v, want the JWT authorizer named and not API keys", scheme, err)
		}
		_, err = Import(t.Context(), []byte(doc), Options{Protocol: apis.ProtocolREST})
		if err == nil || !strings.Contains(err.Error(), "Portico enforces API keys (type apiKey)") {
			t.Errorf("REST %s: %v, want the REST message", scheme, err)
		}
	}
}

// TestOAS3ExportOfSwaggerJWTSchemeHasFlows: an HTTP API imported from a
// Swagger 2.0 export exports as OpenAPI 3 with its JWT scheme's flows ({}),
// which OpenAPI 3 requires of an oauth2 scheme (r-openapi28 #4).
func TestOAS3ExportOfSwaggerJWTSchemeHasFlows(t *testing.T) {
	t.Parallel()
	doc := `{"openapi": "3.0.1", "info": {"title": "jwt", "version": "1"},
	  "paths": {"/jwt": {"get": {"security": [{"MyJwt": ["read"]}], "responses": {"200": {"description": "ok"}},
	    "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0",
	      "uri": "arn:aws:lambda:us-east-1:000000000000:function:f"}}}},
	  "components": {"securitySchemes": {"MyJwt": {"type": "oauth2", "flows": {},
	    "x-amazon-apigateway-authorizer": {"type": "jwt", "identitySource": "$request.header.Authorization",
	      "jwtConfiguration": {"issuer": "https://issuer.example.com", "audience": ["pets"]}}}}}}`
	res, err := Import(t.Context(), []byte(doc), Options{Protocol: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := Export(res.API, FormatSwagger2)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Import(t.Context(), sw, Options{Protocol: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*Result{res, again} {
		out, err := Export(a.API, FormatOAS3)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Components struct {
				SecuritySchemes map[string]map[string]json.RawMessage `json:"securitySchemes"`
			} `json:"components"`
		}
		if err := json.Unmarshal(out, &d); err != nil {
			t.Fatal(err)
		}
		if f := d.Components.SecuritySchemes["MyJwt"]["flows"]; string(f) != "{}" {
			t.Errorf("OAS3 export's MyJwt flows = %s, want {}:\n%s", f, out)
		}
	}
}
