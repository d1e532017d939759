package compress_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

func TestMain(m *testing.M) {
	code := m.Run()
	apptest.Cleanup()
	os.Exit(code)
}

// seen is what the test backend received last.
type seen struct {
	mu       sync.Mutex
	body     string
	encoding string
}

func (s *seen) get() (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.body, s.encoding
}

// bigBody is a MOCK answer over the API's minimumCompressionSize.
var bigBody = `{"pets":"` + strings.Repeat("dog cat fish ", 200) + `"}`

func doc(backend string) string {
	return `openapi: 3.0.1
info: {title: zipped, version: "1"}
x-amazon-apigateway-minimum-compression-size: 1000
paths:
  /big:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '` + bigBody + `'}}}
  /small:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"small":true}'}}}
  /echo:
    post:
      x-amazon-apigateway-integration:
        type: http
        httpMethod: POST
        uri: ` + backend + `/echo
        passthroughBehavior: when_no_match
        responses: {default: {statusCode: "200"}}
  /proxy:
    post:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: POST, uri: ` + backend + `/proxy}
`
}

func sdk(env *apptest.Env) *apigateway.Client {
	return apigateway.New(apigateway.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("portico", "unused", "")})
}

// get calls url with a client that does not decompress by itself, sending
// Accept-Encoding ae when set.
func get(t *testing.T, u, ae string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if ae != "" {
		req.Header.Set("Accept-Encoding", ae)
	}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = io.WriteString(zw, s)
	_ = zw.Close()
	return b.Bytes()
}

// TestCompressionEndToEnd imports a REST API with
// x-amazon-apigateway-minimum-compression-size, deploys it and calls it with
// real HTTP clients: one that asks for gzip gets the large answer compressed
// (Content-Length the compressed size), one that does not ask gets it plain,
// a small answer is never compressed; a gzip request body reaches a mapped
// HTTP integration decompressed and an HTTP_PROXY backend as sent, and a
// malformed one is 415. The setting is shown, exported and turned off with
// update-rest-api.
func TestCompressionEndToEnd(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	var got seen
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.mu.Lock()
		got.body, got.encoding = string(b), r.Header.Get("Content-Encoding")
		got.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer backend.Close()

	ctx := context.Background()
	c := env.Client()
	resp, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/import", url.Values{"name": {"zipped"}}, []byte(doc(backend.URL)), nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	var imp struct {
		API      struct{ ID string } `json:"api"`
		Warnings []string            `json:"warnings"`
	}
	if err := json.Unmarshal(resp.Body, &imp); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(imp.Warnings, "\n"), "compression") {
		t.Fatalf("the import still warns about compression: %q", imp.Warnings)
	}
	id := imp.API.ID
	deploy := func() {
		t.Helper()
		if _, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/"+id+"/deployments", nil, map[string]any{"stageName": "prod"}, nil); err != nil {
			t.Fatalf("deploy: %v", err)
		}
	}
	deploy()
	base := env.GatewayURL + "/" + id + "/prod"

	// A client that asks for gzip.
	r, body := get(t, base+"/big", "gzip, deflate, br")
	if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("asked for gzip: %d, headers %v, %d bytes", r.StatusCode, r.Header, len(body))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != bigBody || len(body) >= len(bigBody) {
		t.Fatalf("gunzipped %d bytes of %d: %q", len(body), len(bigBody), plain)
	}
	// A client that does not ask.
	if r, body := get(t, base+"/big", ""); r.Header.Get("Content-Encoding") != "" || string(body) != bigBody {
		t.Fatalf("no Accept-Encoding: headers %v, body %d bytes", r.Header, len(body))
	}
	// Go's default client asks for gzip and decompresses transparently.
	dr, err := http.Get(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(dr.Body)
	dr.Body.Close()
	if !dr.Uncompressed || string(plain) != bigBody {
		t.Fatalf("default client: uncompressed %v, body %d bytes", dr.Uncompressed, len(plain))
	}
	// Under the size: plain.
	if r, body := get(t, base+"/small", "gzip"); r.Header.Get("Content-Encoding") != "" || string(body) != `{"small":true}` {
		t.Fatalf("small answer: headers %v, body %q", r.Header, body)
	}

	// Compressed request bodies.
	post := func(path string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := post("/echo", gzipped(`{"pet":"dog"}`)); code != 200 {
		t.Fatalf("gzip body to a mapped integration: %d %s", code, b)
	}
	if b, ce := got.get(); b != `{"pet":"dog"}` || ce != "" {
		t.Fatalf("the mapped integration's backend got %q (Content-Encoding %q), want the decompressed body", b, ce)
	}
	if code, b := post("/echo", []byte(`{"pet":"dog"}`)); code != http.StatusUnsupportedMediaType || !strings.Contains(b, "Unsupported Media Type") {
		t.Fatalf("a body that is not gzip: %d %s, want 415", code, b)
	}
	if code, b := post("/proxy", gzipped(`{"pet":"cat"}`)); code != 200 {
		t.Fatalf("gzip body to HTTP_PROXY: %d %s", code, b)
	}
	if b, ce := got.get(); b != string(gzipped(`{"pet":"cat"}`)) || ce != "gzip" {
		t.Fatalf("the proxy's backend got %q (Content-Encoding %q), want the body as sent", b, ce)
	}

	// The control plane: shown, exported, turned off.
	ag := sdk(env)
	api, err := ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)})
	if err != nil || aws.ToInt32(api.MinimumCompressionSize) != 1000 {
		t.Fatalf("get-rest-api: %v %v", api, err)
	}
	exp, err := ag.GetExport(ctx, &apigateway.GetExportInput{RestApiId: aws.String(id), StageName: aws.String("prod"), ExportType: aws.String("oas30"),
		Parameters: map[string]string{"extensions": "apigateway"}})
	if err != nil {
		t.Fatal(err)
	}
	var exported map[string]any
	if err := json.Unmarshal(exp.Body, &exported); err != nil || exported["x-amazon-apigateway-minimum-compression-size"] != 1000.0 {
		t.Fatalf("export: %v\n%s", err, exp.Body)
	}
	if _, err := ag.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: aws.String(id), PatchOperations: []agtypes.PatchOperation{
		{Op: agtypes.OpReplace, Path: aws.String("/minimumCompressionSize"), Value: aws.String("")}}}); err != nil {
		t.Fatal(err)
	}
	if api, err := ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(id)}); err != nil || api.MinimumCompressionSize != nil {
		t.Fatalf("after turning it off: %v %v", api.MinimumCompressionSize, err)
	}
	deploy()
	if r, body := get(t, base+"/big", "gzip"); r.Header.Get("Content-Encoding") != "" || string(body) != bigBody {
		t.Fatalf("compression off: headers %v, body %d bytes", r.Header, len(body))
	}

	// Out of range, and on an HTTP API: refused.
	_, err = ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("too-big"), MinimumCompressionSize: aws.Int32(10485761)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" {
		t.Fatalf("create-rest-api with 10485761: %v", err)
	}
	created, err := ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("zero"), MinimumCompressionSize: aws.Int32(0)})
	if err != nil || aws.ToInt32(created.MinimumCompressionSize) != 0 || created.MinimumCompressionSize == nil {
		t.Fatalf("create-rest-api with 0: %v %v", created, err)
	}
	_, err = c.Do(ctx, http.MethodPost, "/portico/v1/apis/import", url.Values{"name": {"h"}, "protocol": {"HTTP"}},
		[]byte("openapi: 3.0.1\ninfo: {title: h, version: '1'}\nx-amazon-apigateway-minimum-compression-size: 10\npaths: {}\n"), nil)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(apiErr.Message, "minimumCompressionSize") {
		t.Fatalf("HTTP API import with the extension: %v", err)
	}
}
