package openapi

import (
	"strings"
	"testing"
)

// TestImportRefusesUndeclaredRequestSource: a REST import refuses an
// integration request parameter mapped from a method request parameter the
// operation does not declare, as put-integration and API Gateway's import
// do; a declared one (a parameter, or the path's own {id}) imports.
func TestImportRefusesUndeclaredRequestSource(t *testing.T) {
	doc := func(path, params, mapping string) string {
		return `openapi: 3.0.1
info: {title: rp, version: "1"}
paths:
  ` + path + `:
    get:
      parameters: [` + params + `]
      x-amazon-apigateway-integration:
        type: http
        httpMethod: GET
        uri: "http://127.0.0.1:9/remote.json"
        requestParameters: {` + mapping + `}
        responses: {default: {statusCode: "200"}}
`
	}
	for name, tc := range map[string]struct{ path, params, mapping, want string }{
		"header": {"/a", "", "integration.request.header.X: method.request.header.Undeclared",
			"GET /a: x-amazon-apigateway-integration requestParameters maps integration.request.header.X from method.request.header.Undeclared, which the operation does not declare"},
		"path": {"/a", "", "integration.request.path.zz: method.request.path.zz",
			"maps integration.request.path.zz from method.request.path.zz, which the operation does not declare"},
		"query": {"/a", "{name: q, in: header, schema: {type: string}}", "integration.request.querystring.q: method.request.querystring.q",
			"from method.request.querystring.q, which the operation does not declare"},
	} {
		_, err := Import(t.Context(), []byte(doc(tc.path, tc.params, tc.mapping)), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a refusal containing %q", name, err, tc.want)
		}
	}
	for name, tc := range map[string]struct{ path, params, mapping string }{
		"header":  {"/a", "{name: x-in, in: header, schema: {type: string}}", "integration.request.header.X: method.request.header.X-In"},
		"path":    {"/a/{id}", "{name: id, in: path, required: true, schema: {type: string}}", "integration.request.path.id: method.request.path.id"},
		"literal": {"/a", "", "integration.request.header.X: \"'v'\""},
	} {
		if _, err := Import(t.Context(), []byte(doc(tc.path, tc.params, tc.mapping)), Options{}); err != nil {
			t.Errorf("declared %s: %v", name, err)
		}
	}
}
