package admin_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"
)

// bigPets is a MOCK answer over the compression test API's
// minimumCompressionSize.
var bigPets = `{"pets":"` + strings.Repeat("dog cat fish ", 200) + `"}`

// mockPath is an OpenAPI path whose GET is a MOCK answering body.
func mockPath(path, body string) string {
	return "  " + path + ":\n    get:\n      x-amazon-apigateway-integration:\n        type: mock\n" +
		"        requestTemplates: {application/json: '{\"statusCode\": 200}'}\n" +
		"        responses: {default: {statusCode: \"200\", responseTemplates: {application/json: '" + body + "'}}}\n"
}

// zipped is a test backend that keeps the last request body it received and
// its Content-Encoding.
type zipped struct {
	got atomic.Pointer[[2]string]
}

func (z *zipped) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	z.got.Store(&[2]string{string(b), r.Header.Get("Content-Encoding")})
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func (z *zipped) last() (string, string) {
	if p := z.got.Load(); p != nil {
		return p[0], p[1]
	}
	return "", ""
}

// noDecompress is an HTTP client that neither asks for gzip by itself nor
// decompresses what it gets.
var noDecompress = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// answer is what a client got: status, headers, whether the client
// decompressed the body itself, and the body.
type answer struct {
	StatusCode   int
	Header       http.Header
	Uncompressed bool
}

// send sends req with client and returns the answer and its body.
func send(t *testing.T, client *http.Client, req *http.Request) (answer, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, resp.Uncompressed}, b
}

func gzipOf(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = io.WriteString(zw, s)
	_ = zw.Close()
	return b.Bytes()
}

// TestMinimumCompressionSize imports a REST API with
// x-amazon-apigateway-minimum-compression-size, deploys it and calls it with
// real HTTP clients: one that asks for gzip gets the large answer compressed
// (Content-Length the compressed size), one that does not ask gets it plain,
// a small answer is never compressed; a gzip request body reaches a mapped
// HTTP integration decompressed and an HTTP_PROXY backend as sent, and a
// malformed one is 415. get-rest-api shows the setting, get-export carries
// it, update-rest-api with an empty value turns it off; out of range, or on
// an HTTP API, it is refused.
func TestMinimumCompressionSize(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	backend := &zipped{}
	srv := httptest.NewServer(backend)
	defer srv.Close()
	doc := "openapi: 3.0.1\ninfo: {title: zipped, version: \"1\"}\nx-amazon-apigateway-minimum-compression-size: 1000\npaths:\n" +
		mockPath("/big", bigPets) + mockPath("/small", `{"small":true}`) + `  /echo:
    post:
      x-amazon-apigateway-integration:
        type: http
        httpMethod: POST
        uri: ` + srv.URL + `/echo
        passthroughBehavior: when_no_match
        responses: {default: {statusCode: "200"}}
  /proxy:
    post:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: POST, uri: ` + srv.URL + `/proxy}
`
	id := importAPI(t, c.env, doc, "REST")
	deployProd(t, c, id)
	base := c.env.GatewayURL + "/" + id + "/prod"
	getBig := func(path, ae string) (answer, []byte) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		return send(t, noDecompress, req)
	}

	r, body := getBig("/big", "gzip, deflate, br")
	if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("asked for gzip: %d, headers %v, %d bytes", r.StatusCode, r.Header, len(body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != bigPets || len(body) >= len(bigPets) {
		t.Fatalf("gunzipped %d bytes of %d: %q", len(body), len(bigPets), plain)
	}
	if r, body := getBig("/big", ""); r.Header.Get("Content-Encoding") != "" || string(body) != bigPets {
		t.Fatalf("no Accept-Encoding: headers %v, body %d bytes", r.Header, len(body))
	}
	// Go's default client asks for gzip and decompresses transparently.
	req, _ := http.NewRequest(http.MethodGet, base+"/big", nil)
	if r, plain := send(t, http.DefaultClient, req); !r.Uncompressed || string(plain) != bigPets {
		t.Fatalf("default client: uncompressed %v, body %d bytes", r.Uncompressed, len(plain))
	}
	if r, body := getBig("/small", "gzip"); r.Header.Get("Content-Encoding") != "" || string(body) != `{"small":true}` {
		t.Fatalf("small answer: headers %v, body %q", r.Header, body)
	}

	post := func(path string, body []byte) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		r, b := send(t, http.DefaultClient, req)
		return r.StatusCode, string(b)
	}
	if code, b := post("/echo", gzipOf(`{"pet":"dog"}`)); code != 200 {
		t.Fatalf("gzip body to a mapped integration: %d %s", code, b)
	}
	if b, ce := backend.last(); b != `{"pet":"dog"}` || ce != "" {
		t.Fatalf("the mapped integration's backend got %q (Content-Encoding %q), want the decompressed body", b, ce)
	}
	if code, b := post("/echo", []byte(`{"pet":"dog"}`)); code != http.StatusUnsupportedMediaType || !strings.Contains(b, "Unsupported Media Type") {
		t.Fatalf("a body that is not gzip: %d %s, want 415", code, b)
	}
	if code, b := post("/proxy", gzipOf(`{"pet":"cat"}`)); code != 200 {
		t.Fatalf("gzip body to HTTP_PROXY: %d %s", code, b)
	}
	if b, ce := backend.last(); b != string(gzipOf(`{"pet":"cat"}`)) || ce != "gzip" {
		t.Fatalf("the proxy's backend got %q (Content-Encoding %q), want the body as sent", b, ce)
	}

	api := must[*apigateway.GetRestApiOutput](t, "GetRestApi")(c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)}))
	if aws.ToInt32(api.MinimumCompressionSize) != 1000 {
		t.Fatalf("get-rest-api: minimumCompressionSize %v", api.MinimumCompressionSize)
	}
	var exported map[string]any
	if err := json.Unmarshal(export(t, c, id, "oas30"), &exported); err != nil || exported["x-amazon-apigateway-minimum-compression-size"] != 1000.0 {
		t.Fatalf("export: %v %v", err, exported["x-amazon-apigateway-minimum-compression-size"])
	}
	must[*apigateway.UpdateRestApiOutput](t, "UpdateRestApi")(c.ag.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/minimumCompressionSize"), Value: aws.String("")}}}))
	api = must[*apigateway.GetRestApiOutput](t, "GetRestApi")(c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)}))
	if api.MinimumCompressionSize != nil {
		t.Fatalf("after turning it off: %v", *api.MinimumCompressionSize)
	}
	deployProd(t, c, id)
	if r, body := getBig("/big", "gzip"); r.Header.Get("Content-Encoding") != "" || string(body) != bigPets {
		t.Fatalf("compression off: headers %v, body %d bytes", r.Header, len(body))
	}

	_, err = c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("too-big"), MinimumCompressionSize: aws.Int32(10485761)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" {
		t.Fatalf("create-rest-api with 10485761: %v", err)
	}
	created := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx,
		&apigateway.CreateRestApiInput{Name: aws.String("zero"), MinimumCompressionSize: aws.Int32(0)}))
	if created.MinimumCompressionSize == nil || *created.MinimumCompressionSize != 0 {
		t.Fatalf("create-rest-api with 0: %v", created.MinimumCompressionSize)
	}
	_, err = c.env.Client().Do(ctx, http.MethodPost, "/portico/v1/apis/import", map[string][]string{"protocol": {"HTTP"}},
		[]byte("openapi: 3.0.1\ninfo: {title: h, version: '1'}\nx-amazon-apigateway-minimum-compression-size: 10\npaths: {}\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "minimumCompressionSize is for REST APIs only") {
		t.Fatalf("HTTP API import with the extension: %v", err)
	}
}

// TestHeadCarriesGETsContentEncoding: a HEAD on a compressing REST API's
// route carries the Content-Encoding and Vary its GET does (RFC 9110
// 9.3.2), for a MOCK answer and for an HTTP_PROXY backend, whose HEAD answer
// has no body but declares GET's length: it carried neither before.
func TestHeadCarriesGETsContentEncoding(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(bigPets)))
		_, _ = io.WriteString(w, bigPets)
	}))
	defer srv.Close()
	doc := "openapi: 3.0.1\ninfo: {title: zipped, version: \"1\"}\nx-amazon-apigateway-minimum-compression-size: 1000\npaths:\n" + `  /mock:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '` + bigPets + `'}}}
  /proxy:
    x-amazon-apigateway-any-method:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: ANY, uri: ` + srv.URL + `/p}
`
	id := importAPI(t, c.env, doc, "REST")
	deployProd(t, c, id)
	for _, path := range []string{"/mock", "/proxy"} {
		var heads [2]http.Header
		for i, method := range []string{http.MethodGet, http.MethodHead} {
			req, _ := http.NewRequest(method, c.env.GatewayURL+"/"+id+"/prod"+path, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			r, _ := send(t, noDecompress, req)
			if r.StatusCode != 200 {
				t.Fatalf("%s %s: %d", method, path, r.StatusCode)
			}
			heads[i] = r.Header
		}
		for _, name := range []string{"Content-Encoding", "Vary"} {
			if g, h := heads[0].Get(name), heads[1].Get(name); g == "" || g != h {
				t.Errorf("%s %s: GET %q, HEAD %q", path, name, g, h)
			}
		}
		if cl := heads[1].Get("Content-Length"); cl != "" && cl != heads[0].Get("Content-Length") {
			t.Errorf("%s: HEAD's Content-Length %s is not GET's compressed %s", path, cl, heads[0].Get("Content-Length"))
		}
	}
}
