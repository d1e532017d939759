package admin_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestEncodedBackendNotCompressedAgain: a non-proxy HTTP integration whose
// backend answers with Content-Encoding: gzip is not compressed a second
// time by minimumCompressionSize, as API Gateway skips compression when the
// integration response has a Content-Encoding, whether the method response
// maps that header or not (r-vtlval27 #3).
func TestEncodedBackendNotCompressedAgain(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	plain := `{"pets":"` + strings.Repeat("dog cat fish ", 200) + `"}`
	zipped := gzipOf(plain)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped)
	}))
	defer srv.Close()
	integration := func(path, params string) string {
		return "  " + path + ":\n    get:\n" +
			"      responses: {\"200\": {description: ok, headers: {Content-Encoding: {schema: {type: string}}}}}\n" +
			"      x-amazon-apigateway-integration:\n        type: http\n        httpMethod: GET\n" +
			"        uri: " + srv.URL + "/gz\n        responses: {default: {statusCode: \"200\"" + params + "}}\n"
	}
	doc := "openapi: 3.0.1\ninfo: {title: encoded, version: \"1\"}\nx-amazon-apigateway-minimum-compression-size: 0\npaths:\n" +
		integration("/unmapped", "") +
		integration("/mapped", `, responseParameters: {method.response.header.Content-Encoding: integration.response.header.Content-Encoding}`)
	id := importAPI(t, c.env, doc, "REST")
	deployProd(t, c, id)
	base := c.env.GatewayURL + "/" + id + "/prod"
	for _, path := range []string{"/unmapped", "/mapped"} {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		r, body := send(t, noDecompress, req)
		if r.StatusCode != 200 || !bytes.Equal(body, zipped) {
			t.Fatalf("%s: %d, headers %v, %d bytes; want the backend's %d gzip bytes as they came", path, r.StatusCode, r.Header, len(body), len(zipped))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if out, _ := io.ReadAll(zr); string(out) != plain {
			t.Fatalf("%s: gunzipped once: %d bytes, want the backend's JSON", path, len(out))
		}
		want := ""
		if path == "/mapped" {
			want = "gzip"
		}
		if ce := r.Header.Get("Content-Encoding"); ce != want {
			t.Fatalf("%s: Content-Encoding %q, want %q", path, ce, want)
		}
	}
}
