package openapi

import (
	"fmt"
	"strings"
	"testing"
)

// TestImportNullSecurityRequirementRefused: a null where a security
// requirement must be (`security: [null]`, a YAML `- ` with nothing after it)
// is refused naming the operation, on REST and HTTP APIs, in OpenAPI 3 and
// Swagger 2.0: read as {} it would make the operation public, overriding the
// root security.
func TestImportNullSecurityRequirementRefused(t *testing.T) {
	const integ = `"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/", "payloadFormatVersion": "1.0"}`
	for name, tc := range map[string]struct {
		doc, protocol, want string
	}{
		"oas3 rest": {`{"openapi": "3.0.1", "info": {"title": "x"}, "security": [{"k": []}],
			"components": {"securitySchemes": {"k": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
			"paths": {"/a": {"get": {"security": [null], ` + integ + `}}}}`, "REST", "GET /a: security[0] is null"},
		"oas3 rest second": {`{"openapi": "3.0.1", "info": {"title": "x"},
			"components": {"securitySchemes": {"k": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
			"paths": {"/a": {"post": {"security": [{"k": []}, null], ` + integ + `}}}}`, "REST", "POST /a: security[1] is null"},
		"oas3 any method": {`{"openapi": "3.0.1", "info": {"title": "x"}, "security": [{"k": []}],
			"components": {"securitySchemes": {"k": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
			"paths": {"/a": {"x-amazon-apigateway-any-method": {"security": [null], ` + integ + `}}}}`, "REST", "ANY /a: security[0] is null"},
		"root": {`{"openapi": "3.0.1", "info": {"title": "x"}, "security": [null],
			"components": {"securitySchemes": {"k": {"type": "apiKey", "name": "x-api-key", "in": "header"}}},
			"paths": {"/a": {"get": {` + integ + `}}}}`, "REST", "security[0] is null"},
		"swagger": {`{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "security": [{"k": []}],
			"securityDefinitions": {"k": {"type": "apiKey", "name": "x-api-key", "in": "header"}},
			"paths": {"/a": {"get": {"security": [null], "responses": {"200": {"description": "ok"}}, ` + integ + `}}}}`, "REST", "GET /a: security[0] is null"},
		"http jwt yaml": {"openapi: 3.0.1\ninfo: {title: x, version: '1'}\nsecurity:\n- j: []\n" +
			"components:\n  securitySchemes:\n    j:\n      type: oauth2\n      x-amazon-apigateway-authorizer:\n        type: jwt\n        identitySource: $request.header.Authorization\n        jwtConfiguration: {issuer: 'https://issuer.example.com', audience: [a]}\n" +
			"paths:\n  /a:\n    get:\n      security:\n      - \n      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: 'https://example.com/', payloadFormatVersion: '1.0'}\n", "HTTP", "GET /a: security[0] is null"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Import(t.Context(), []byte(tc.doc), Options{Protocol: tc.protocol})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "security: []") {
				t.Fatalf("import: %v, want a refusal %q saying to write security: []", err, tc.want)
			}
		})
	}
}

// TestImportExtensionTypeErrorsInUserTerms: a value of the wrong type in an
// x-amazon-apigateway-* extension is refused naming the extension, where it
// stands, the field and the type it must have, never Go's type names (the
// r-openapi26 tester's table).
func TestImportExtensionTypeErrorsInUserTerms(t *testing.T) {
	const okInteg = `{"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}`
	rest := func(top, integ string) string {
		return `{"openapi": "3.0.1", "info": {"title": "x"}` + top + `, "paths": {"/a": {"get": {"x-amazon-apigateway-integration": ` + integ + `}}}}`
	}
	auth := func(a string) string {
		return rest(`, "components": {"securitySchemes": {"au": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom", "x-amazon-apigateway-authorizer": `+a+`}}}`, okInteg)
	}
	httpAPI := func(top string) string {
		return `{"openapi": "3.0.1", "info": {"title": "x"}` + top + `, "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/", "payloadFormatVersion": "1.0"}}}}}`
	}
	for name, tc := range map[string]struct{ doc, protocol, want string }{
		"cors origins":         {httpAPI(`, "x-amazon-apigateway-cors": {"allowOrigins": "*"}`), "HTTP", `x-amazon-apigateway-cors.allowOrigins must be a list of strings, not a string`},
		"cors maxAge":          {httpAPI(`, "x-amazon-apigateway-cors": {"maxAge": "x"}`), "HTTP", `x-amazon-apigateway-cors.maxAge must be an integer, not a string`},
		"cors credentials":     {httpAPI(`, "x-amazon-apigateway-cors": {"allowCredentials": "true"}`), "HTTP", `x-amazon-apigateway-cors.allowCredentials must be true or false, not a string`},
		"cors list":            {httpAPI(`, "x-amazon-apigateway-cors": [1]`), "HTTP", `x-amazon-apigateway-cors must be an object, not a list`},
		"integration string":   {rest("", `"mock"`), "REST", `GET /a: x-amazon-apigateway-integration must be an object, not a string`},
		"timeout":              {rest("", `{"type": "mock", "timeoutInMillis": "abc"}`), "REST", `GET /a: x-amazon-apigateway-integration.timeoutInMillis must be an integer (milliseconds), not "abc"`},
		"request parameters":   {rest("", `{"type": "mock", "requestParameters": [1]}`), "REST", `GET /a: x-amazon-apigateway-integration.requestParameters must be an object of strings, not a list`},
		"responses":            {rest("", `{"type": "mock", "responses": [1]}`), "REST", `GET /a: x-amazon-apigateway-integration.responses must be an object, not a list`},
		"request templates":    {rest("", `{"type": "mock", "requestTemplates": {"application/json": {"a": 1}}}`), "REST", `GET /a: x-amazon-apigateway-integration.requestTemplates["application/json"] must be a string, not an object`},
		"cache keys":           {rest("", `{"type": "mock", "cacheKeyParameters": "x"}`), "REST", `GET /a: x-amazon-apigateway-integration.cacheKeyParameters must be a list of strings, not a string`},
		"type":                 {rest("", `{"type": ["mock"]}`), "REST", `GET /a: x-amazon-apigateway-integration.type must be a string, not a list`},
		"response templates":   {rest("", `{"type": "mock", "responses": {"default": {"statusCode": "200", "responseTemplates": []}}}`), "REST", `GET /a: x-amazon-apigateway-integration.responses["default"].responseTemplates must be an object of strings, not a list`},
		"tls":                  {rest("", `{"type": "http", "httpMethod": "GET", "uri": "https://example.com/", "tlsConfig": {"insecureSkipVerification": 1}}`), "REST", `tlsConfig.insecureSkipVerification must be true or false, not a number`},
		"authorizer uri":       {auth(`{"type": "token", "authorizerUri": 5}`), "REST", `security scheme "au": x-amazon-apigateway-authorizer.authorizerUri must be a string, not a number`},
		"authorizer ttl":       {auth(`{"type": "token", "authorizerResultTtlInSeconds": "x"}`), "REST", `x-amazon-apigateway-authorizer.authorizerResultTtlInSeconds must be an integer, not a string`},
		"authorizer list":      {auth(`[1]`), "REST", `security scheme "au": x-amazon-apigateway-authorizer must be an object, not a list`},
		"gateway responses":    {rest(`, "x-amazon-apigateway-gateway-responses": [1]`, okInteg), "REST", `x-amazon-apigateway-gateway-responses must be an object of objects, not a list`},
		"gateway response":     {rest(`, "x-amazon-apigateway-gateway-responses": {"DEFAULT_4XX": 5}`, okInteg), "REST", `x-amazon-apigateway-gateway-responses.DEFAULT_4XX must be an object, not a number`},
		"gateway response ref": {rest(`, "x-amazon-apigateway-gateway-responses": {"$ref": "#/x"}`, okInteg), "REST", `x-amazon-apigateway-gateway-responses.$ref must be an object, not a string`},
		"validators":           {rest(`, "x-amazon-apigateway-request-validators": {"a": 5}`, okInteg), "REST", `x-amazon-apigateway-request-validators.a must be an object, not a number`},
		"endpoint":             {rest(`, "x-amazon-apigateway-endpoint-configuration": {"disableExecuteApiEndpoint": "yes"}`, okInteg), "REST", `x-amazon-apigateway-endpoint-configuration.disableExecuteApiEndpoint must be true or false, not a string`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Import(t.Context(), []byte(tc.doc), Options{Protocol: tc.protocol})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("import: %v\nwant %s", err, tc.want)
			}
			for _, goWord := range []string{"Go struct", "Go value", "json:", "rawIntegration", "authorizerDoc", "RawMessage", "[]string"} {
				if strings.Contains(err.Error(), goWord) {
					t.Fatalf("import: %v: names %q", err, goWord)
				}
			}
		})
	}
}

// TestImportRefusesManyYAMLDocuments: a YAML stream of two documents is
// refused, saying one is read, not imported as its first; an end marker or
// an empty document beside the one is fine.
func TestImportRefusesManyYAMLDocuments(t *testing.T) {
	one := "openapi: 3.0.1\ninfo: {title: multi1, version: \"1\"}\npaths: {}\n"
	two := "openapi: 3.0.1\ninfo: {title: multi2, version: \"1\"}\npaths: {}\n"
	_, err := Import(t.Context(), []byte(one+"---\n"+two), Options{})
	if err == nil || !strings.Contains(err.Error(), "document is a stream of YAML documents, and an import reads one: it holds 2 (separated by ---); import them one at a time") {
		t.Fatalf("two documents: %v", err)
	}
	for name, doc := range map[string]string{"end marker": one + "...\n", "leading ---": "---\n" + one,
		"trailing ---": one + "---\n", "empty first": "---\n---\n" + one} {
		res, err := Import(t.Context(), []byte(doc), Options{})
		if err != nil || res.API.Name != "multi1" {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestImportRefusesModelNamesCreateModelRefuses: a REST API's model names
// follow create-model's rule (alphanumerics), in API Gateway's import's
// words, each named; an HTTP API keeps them (its models are kept for export
// only).
func TestImportRefusesModelNamesCreateModelRefuses(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {},
	  "components": {"schemas": {"Pet.Input": {"type": "object"}, "pet_input": {"type": "object"}, "PetInput": {"type": "object"}}}}`
	_, err := Import(t.Context(), []byte(doc), Options{})
	if err == nil || !strings.Contains(err.Error(), `components.schemas["Pet.Input"]: Unable to create model for 'Pet.Input': Model name must be alphanumeric`) ||
		!strings.Contains(err.Error(), `components.schemas["pet_input"]: Unable to create model for 'pet_input'`) || strings.Contains(err.Error(), "'PetInput'") {
		t.Fatalf("OAS3: %v", err)
	}
	sw := `{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "paths": {}, "definitions": {"body_1": {"type": "object"}}}`
	if _, err := Import(t.Context(), []byte(sw), Options{}); err == nil || !strings.Contains(err.Error(), `definitions["body_1"]: Unable to create model for 'body_1'`) {
		t.Fatalf("Swagger 2.0: %v", err)
	}
	if _, err := Import(t.Context(), []byte(doc), Options{Protocol: "HTTP"}); err != nil {
		t.Fatalf("HTTP API: %v", err)
	}
}

// TestImportListsUnresolvedRefs: each $ref to nothing in the document is
// refused naming the operation that holds it and the $ref as written
// (#/definitions/X in Swagger 2.0), a few at most.
func TestImportListsUnresolvedRefs(t *testing.T) {
	sw := `{"swagger": "2.0", "info": {"title": "x", "version": "1"},
	  "paths": {"/a": {"post": {"parameters": [{"name": "b", "in": "body", "schema": {"$ref": "#/definitions/Nope"}}], "responses": {"200": {"description": "ok"}}}}}}`
	_, err := Import(t.Context(), []byte(sw), Options{})
	if err == nil || !strings.Contains(err.Error(), `POST /a: parameters.0.schema: $ref "#/definitions/Nope": no such definition in the document`) || strings.Contains(err.Error(), "components") {
		t.Fatalf("Swagger 2.0: %v", err)
	}
	var paths []string
	for i := range 20 {
		paths = append(paths, fmt.Sprintf(`"/p%02d": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Missing%d"}}}}}}`, i, i))
	}
	doc := `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {` + strings.Join(paths, ",") + `}}`
	_, err = Import(t.Context(), []byte(doc), Options{})
	if err == nil || !strings.Contains(err.Error(), `POST /p00: requestBody.content.application/json.schema: $ref "#/components/schemas/Missing0": no such schema`) ||
		!strings.Contains(err.Error(), `POST /p09: `) || strings.Contains(err.Error(), `POST /p10: `) || !strings.Contains(err.Error(), "and 10 more unresolved $refs") {
		t.Fatalf("OAS3: %v", err)
	}
}

// TestImportTakesNullableWithoutWarning: OpenAPI 3.0's nullable is not JSON
// Schema draft 4, which body validation checks, and is not checked, as on
// API Gateway; an import takes it without a warning, as generated documents
// carry it on models nothing validates (response models), and
// failOnWarnings must still take them.
func TestImportTakesNullableWithoutWarning(t *testing.T) {
	doc := `{"openapi": "3.0.1", "info": {"title": "x"}, "paths": {},
	  "components": {"schemas": {"N": {"type": "object", "required": ["v"], "properties": {"v": {"type": "string", "nullable": true}, "w": {"type": "string", "nullable": false}}}}}}`
	for _, protocol := range []string{"", "HTTP"} {
		res, err := Import(t.Context(), []byte(doc), Options{Protocol: protocol})
		if err != nil || len(res.Warnings) > 0 {
			t.Fatalf("%q: %v %q", protocol, err, res.Warnings)
		}
	}
}
