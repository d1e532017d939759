package openapi

import (
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
