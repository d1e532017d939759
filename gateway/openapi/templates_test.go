package openapi

import (
	"strings"
	"testing"
)

// TestImportRefusesBadTemplates: templates that do not parse (with the line and
// column), or call $input.json or $input.path with a literal JSONPath that does
// not compile, patterns that do not compile, models that are not JSON Schema and
// gateway responses with broken templates are refused at import.
func TestImportRefusesBadTemplates(t *testing.T) {
	doc := func(integration, extra string) []byte {
		return []byte(`{"openapi": "3.0.1", "info": {"title": "t", "version": "1"},` + extra + `
"paths": {"/x": {"post": {"responses": {"200": {"description": "ok"}},
"x-amazon-apigateway-integration": ` + integration + `}}}}`)
	}
	mock := `{"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}, "responses": {"default": {"statusCode": "200"}}}`
	cases := map[string][]byte{
		`request template "application/json" does not parse: line 2, column`:                                                   doc(`{"type": "mock", "requestTemplates": {"application/json": "{\n  #foreach($x in $y)\n"}}`, ""),
		`response template "text/xml" does not parse: line 1, column`:                                                          doc(`{"type": "mock", "responses": {"default": {"statusCode": "200", "responseTemplates": {"text/xml": "#if($a"}}}}`, ""),
		`request template "application/json" does not parse: line 1, column 7: $input.json: invalid JSONPath "$.arr.length()"`: doc(`{"type": "mock", "requestTemplates": {"application/json": "{\"n\": $input.json('$.arr.length()')}"}}`, ""),
		`response template "application/json" does not parse: line 1, column 1: $input.path: invalid JSONPath`:                 doc(`{"type": "mock", "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "$input.path('$.a[?(@.b =~ /x/)]')"}}}}`, ""),
		"is not a regular expression":            doc(`{"type": "mock", "responses": {"Error: (.*": {"statusCode": "400"}}}`, ""),
		"is not a valid JSON Schema":             doc(mock, `"components": {"schemas": {"Bad": {"type": "nope"}}},`),
		"gateway response DEFAULT_4XX: template": doc(mock, `"x-amazon-apigateway-gateway-responses": {"DEFAULT_4XX": {"responseTemplates": {"application/json": "#end"}}},`),
	}
	for want, d := range cases {
		_, err := Import(t.Context(), d, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	if _, err := Import(t.Context(), doc(mock, ""), Options{}); err != nil {
		t.Fatalf("a good document: %v", err)
	}
}
