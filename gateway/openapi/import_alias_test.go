package openapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// aliasBomb is the tester's document: one 1 MB string and n aliases to it,
// 1 MB of YAML that its aliases make n MB, too few aliases for yaml.v3's own
// "excessive aliasing" check.
func aliasBomb(title string, n int) []byte {
	return []byte("openapi: 3.0.1\ninfo: {title: " + title + ", version: \"1\"}\npaths: {}\n" +
		"x-a: &a \"" + strings.Repeat("x", 1_000_000) + "\"\n" +
		"x-b: [" + strings.TrimSuffix(strings.Repeat("*a,", n), ",") + "]\n")
}

// TestImportBoundsAliasExpansion: a YAML document is bounded as it expands,
// not only as it is sent: one whose aliases take it past MaxDocument is
// refused as invalid (400) before it is decoded, saying why; one whose
// aliases stay within it imports, with the values the aliases name.
func TestImportBoundsAliasExpansion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		doc  []byte
	}{
		{"one string 150 times", aliasBomb("bomb3", 150)},
		{"just past the limit", aliasBomb("bomb7", 7)},
		{"an alias in a merge key", []byte("openapi: 3.0.1\ninfo: {title: m, version: \"1\"}\npaths: {}\n" +
			"x-a: &a {k: \"" + strings.Repeat("x", 1_000_000) + "\"}\n" +
			"x-b: [" + strings.TrimSuffix(strings.Repeat("{<<: *a},", 10), ",") + "]\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Import(t.Context(), tc.doc, Options{})
			if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "aliases expand it past 6291456 bytes") {
				t.Fatalf("import of %d bytes: %v, %v; want ErrInvalid for the expansion", len(tc.doc), res, err)
			}
		})
	}
	res, err := Import(t.Context(), aliasBomb("five", 5), Options{})
	if err != nil {
		t.Fatalf("import of five aliases (5 MB expanded): %v", err)
	}
	if got, ok := res.API.Extensions["x-b"]; !ok || len(got) < 5_000_000 {
		t.Fatalf("x-b kept as %d bytes, want the five expanded values", len(got))
	}
}

// TestToJSONRefusesSelfAlias: an alias inside the value it names has no
// expansion; it is refused, not walked for ever.
func TestToJSONRefusesSelfAlias(t *testing.T) {
	t.Parallel()
	if js, err := ToJSON([]byte("a: &x [1, *x]\n")); err == nil {
		t.Fatalf("ToJSON: %s, want an error", js)
	}
	if js, err := ToJSON([]byte("a: &x {b: 1}\nc: *x\n")); err != nil || string(js) != `{"a":{"b":1},"c":{"b":1}}` {
		t.Fatalf("ToJSON: %s, %v", js, err)
	}
	if js, err := ToJSON([]byte("")); err != nil || string(js) != "null" {
		t.Fatalf("ToJSON of nothing: %s, %v", js, err)
	}
}

// TestHTTPImportIgnoresRESTOnlySettings: gateway responses, binary media
// types and an API key source are REST API settings. An HTTP API import
// ignores them with a warning each, as API Gateway's does, stores nothing of
// them and so does not export them; a REST import keeps them.
func TestHTTPImportIgnoresRESTOnlySettings(t *testing.T) {
	t.Parallel()
	doc := []byte(`openapi: 3.0.1
info: {title: h2-gwresp, version: "1"}
x-amazon-apigateway-gateway-responses: {DEFAULT_4XX: {statusCode: 400}}
x-amazon-apigateway-binary-media-types: [image/png]
x-amazon-apigateway-api-key-source: AUTHORIZER
paths:
  /a:
    get:
      responses: {}
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "https://example.com/", payloadFormatVersion: "1.0"}
`)
	res, err := Import(t.Context(), doc, Options{Protocol: apis.ProtocolHTTP})
	if err != nil {
		t.Fatal(err)
	}
	a := res.API
	if a.GatewayResponses != nil || a.BinaryMediaTypes != nil || a.APIKeySource != "" || a.Extensions != nil {
		t.Fatalf("HTTP API stored %v, %v, %q, %v; want none of them", a.GatewayResponses, a.BinaryMediaTypes, a.APIKeySource, a.Extensions)
	}
	w := strings.Join(res.Warnings, "\n")
	for _, ext := range []string{extGatewayResponses, extBinaryMediaTypes, extAPIKeySource} {
		if !strings.Contains(w, ext+" is ignored: ") {
			t.Errorf("no warning for %s in %q", ext, w)
		}
	}
	out, err := Export(a, FormatOAS3)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "gateway-responses") || strings.Contains(string(out), "binary-media-types") || strings.Contains(string(out), "api-key-source") {
		t.Fatalf("export writes REST-only settings: %s", out)
	}
	res, err = Import(t.Context(), doc, Options{Protocol: apis.ProtocolREST})
	if err != nil {
		t.Fatal(err)
	}
	if a := res.API; a.GatewayResponses["DEFAULT_4XX"].StatusCode != "400" || len(a.BinaryMediaTypes) != 1 || a.APIKeySource != "AUTHORIZER" {
		t.Fatalf("REST API: %v, %v, %q; want the three settings", a.GatewayResponses, a.BinaryMediaTypes, a.APIKeySource)
	}
}
