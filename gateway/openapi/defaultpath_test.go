package openapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestHTTPDefaultRoutePathRoundTrip: an HTTP API document's path /$default
// with x-amazon-apigateway-any-method, as AWS's export-api writes the
// $default route, imports as route $default (not a literal ANY /$default);
// the export writes it back as /$default, and that imports as $default
// again. The path $default (no slash) still imports as the $default route,
// and a REST API's /$default is refused as a path part outside
// a-zA-Z0-9._- (not taken as the $default route).
func TestHTTPDefaultRoutePathRoundTrip(t *testing.T) {
	const doc = `openapi: "3.0.1"
info: {title: def, version: "1"}
paths:
  /a:
    get: {x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: function:echo, payloadFormatVersion: "2.0"}}
  /$default:
    x-amazon-apigateway-any-method: {x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: function:echo, payloadFormatVersion: "2.0"}}
`
	keys := func(a *apis.API) []string {
		var out []string
		for _, r := range a.Routes {
			out = append(out, r.RouteKey)
		}
		slices.Sort(out)
		return out
	}
	imp := func(data []byte, protocol string) *apis.API {
		t.Helper()
		res, err := Import(t.Context(), data, Options{Name: "def", Protocol: protocol})
		if err != nil {
			t.Fatal(err)
		}
		res.API.Normalize()
		if err := res.API.Validate(); err != nil {
			t.Fatal(err)
		}
		return res.API
	}
	a := imp([]byte(doc), apis.ProtocolHTTP)
	if got := keys(a); !slices.Equal(got, []string{"$default", "GET /a"}) {
		t.Fatalf("imported route keys %q, want [$default GET /a]", got)
	}
	out, err := Export(a, FormatOAS3)
	if err != nil {
		t.Fatal(err)
	}
	var exported struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(out, &exported); err != nil {
		t.Fatal(err)
	}
	if _, ok := exported.Paths["/$default"][extAnyMethod]; !ok || exported.Paths["$default"] != nil {
		t.Fatalf("export does not write $default as /$default with %s:\n%s", extAnyMethod, out)
	}
	if got := keys(imp(out, apis.ProtocolHTTP)); !slices.Equal(got, []string{"$default", "GET /a"}) {
		t.Errorf("re-imported route keys %q, want [$default GET /a]", got)
	}
	noSlash := []byte(`{"openapi": "3.0.1", "info": {"title": "d", "version": "1"}, "paths": {"$default": {"x-amazon-apigateway-any-method": {
		"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:echo", "payloadFormatVersion": "2.0"}}}}}`)
	if got := keys(imp(noSlash, apis.ProtocolHTTP)); !slices.Equal(got, []string{"$default"}) {
		t.Errorf("path $default: route keys %q, want [$default]", got)
	}
	rest := []byte(`{"openapi": "3.0.1", "info": {"title": "r", "version": "1"}, "paths": {"/$default": {"x-amazon-apigateway-any-method": {
		"x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}}}}}`)
	// Not the $default route either: a literal part, which a REST API's
	// resource holds to a-zA-Z0-9._- (create-resource refuses $default).
	if _, err := Import(t.Context(), rest, Options{Name: "def", Protocol: apis.ProtocolREST}); err == nil || !strings.Contains(err.Error(), `"$default" is not one`) {
		t.Errorf("REST /$default: %v, want it refused as a path part", err)
	}
}
