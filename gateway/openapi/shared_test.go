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
	_, err := Import([]byte(doc), Options{Protocol: "REST"})
	if err == nil || strings.Count(err.Error(), "HTTP APIs only") != 1 {
		t.Fatalf("REST import: %v, want one refusal saying shared integrations are for HTTP APIs only", err)
	}
	res, err := Import([]byte(doc), Options{Protocol: "HTTP"})
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
	if _, err := Import([]byte(bad), Options{Protocol: "HTTP"}); err == nil || !strings.Contains(err.Error(), "cannot stand beside other fields") {
		t.Fatalf("$ref with siblings: %v", err)
	}
}
