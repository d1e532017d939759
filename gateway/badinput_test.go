package gateway_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// badInputDoc is a REST API with the pipeline's stages on: a request validator
// with a body model and required parameters in front of a non-proxy Lambda
// integration with mapping templates both ways, a MOCK route that maps path
// parameters, a proxy route to the echo function, a route that requires an
// API key, binary media types and compression.
const badInputDoc = `{
  "openapi": "3.0.1",
  "info": {"title": "badinput", "version": "1"},
  "x-amazon-apigateway-binary-media-types": ["image/png", "application/octet-stream"],
  "x-amazon-apigateway-minimum-compression-size": 0,
  "x-amazon-apigateway-request-validators": {"all": {"validateRequestBody": true, "validateRequestParameters": true}},
  "x-amazon-apigateway-api-key-source": "HEADER",
  "components": {"securitySchemes": {"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}},
    "schemas": {"Item": {"type": "object", "required": ["name"],
    "properties": {"name": {"type": "string", "maxLength": 20, "pattern": "^[a-z]+$"}, "n": {"type": "integer", "minimum": 0}, "tags": {"type": "array", "items": {"type": "string"}}}}}},
  "paths": {
    "/items": {"post": {
      "x-amazon-apigateway-request-validator": "all",
      "parameters": [{"name": "q", "in": "query", "required": true, "schema": {"type": "string"}}, {"name": "X-Req", "in": "header", "required": true, "schema": {"type": "string"}}],
      "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}},
      "responses": {"200": {"description": "ok"}},
      "x-amazon-apigateway-integration": {"type": "aws", "httpMethod": "POST", "uri": "function:probe",
        "requestTemplates": {"application/json": "{\"name\": $input.json('$.name'), \"q\": \"$util.escapeJavaScript($input.params('q'))\", \"h\": \"$util.escapeJavaScript($input.params().header.get('X-Req'))\", \"all\": $input.json('$'), \"b64\": \"$util.base64Encode($input.body)\", \"url\": \"$util.urlDecode($input.params('q'))\"}"},
        "passthroughBehavior": "when_no_templates",
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "#set($r = $input.path('$')){\"got\": $input.json('$'), \"size\": $r.size()}"}}}}}},
    "/items/{id}": {"get": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "ok"}},
      "x-amazon-apigateway-integration": {"type": "mock",
        "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
        "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "{\"id\": \"$util.escapeJavaScript($input.params('id'))\", \"d\": \"$util.urlDecode($input.params('id'))\", \"ctx\": \"$context.requestId $context.path\"}"}}}}}},
    "/proxy/{proxy+}": {"x-amazon-apigateway-any-method": {
      "parameters": [{"name": "proxy", "in": "path", "required": true, "schema": {"type": "string"}}],
      "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:probe"}}},
    "/keyed": {"get": {"security": [{"api_key": []}],
      "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
        "responses": {"default": {"statusCode": "200"}}}}}
  }
}`

// TestGatewayRefusesBadInput sends requests no client should send through a
// stage with validation, mapping templates both ways, path parameters, a proxy
// route, an API key requirement, binary media types and compression: odd
// methods, paths with encoded slashes, dots, NULs and bytes that are not UTF-8,
// bodies that are no JSON, JSON the model refuses, bodies that claim a
// compression they do not have, repeated and empty parameters. Every request
// must get an answer with a request id: a 2xx or 4xx, or a 5xx whose body is
// API Gateway's JSON message (a client whose Accept names a binary media type
// gets 500 from the MOCK route, whose JSON is not base64, as from API
// Gateway); no connection may be cut; and the stage answers a good request
// afterwards.
func TestGatewayRefusesBadInput(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	var imp struct {
		API struct {
			ID string `json:"id"`
		} `json:"api"`
	}
	admin(t, c, "POST", "/portico/v1/apis/import", url.Values{"name": {"badinput"}}, []byte(badInputDoc), &imp)
	admin(t, c, "POST", "/portico/v1/apis/"+imp.API.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	base := env.GatewayURL + "/" + imp.API.ID + "/dev"

	good := get(t, "POST", base+"/items?q=x", `{"name":"abc"}`, "Content-Type", "application/json", "X-Req", "1")
	if good.status != 200 {
		t.Fatalf("a good request: %d %s", good.status, good.body)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"name":"abc"}`))
	_ = zw.Close()
	paths := []string{"/items", "/items?q=", "/items?q=a&q=b&q=%00", "/items?q=%ZZ", "/items/x", "/items/%2F..%2F", "/items/%00", "/items/%ff%fe",
		"/items/" + strings.Repeat("a", 3000), "/items/..", "/items/x/y", "/proxy/a/b/%2e%2e/c", "/proxy/%ff", "/proxy/", "/proxy/a?x=1&x=2&y",
		"/keyed", "/nope", "//items", "/items/", "/Items"}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND"}
	bodies := []string{"", "{", "null", "[]", `"x"`, `{"name":"abc"}`, `{"name":"ABC!","n":-1,"tags":[1]}`, `{"name":"` + strings.Repeat("z", 100) + `"}`,
		`{"name":"a\u0000b","n":1e400}`, strings.Repeat("[", 5000) + strings.Repeat("]", 5000), "\x00\xff\xfe\x80", gz.String()}
	headers := [][]string{
		{"Content-Type", "application/json"}, {"Content-Type", "text/plain"}, {"Content-Type", "image/png"}, {"Content-Type", "application/json; charset=latin1"},
		{"Content-Type", "@@@"}, {"Content-Type", ""}, {"Accept", "image/png"}, {"Accept", "*/*;q=x"}, {"X-Req", ""}, {"X-Req", "\"quoted\\"},
		{"x-api-key", "nope"}, {"x-api-key", ""}, {"Content-Encoding", "gzip"}, {"Content-Encoding", "deflate"}, {"Content-Encoding", "br"},
		{"Accept-Encoding", "gzip;q=abc, *"}, {"Authorization", "Bearer \xff\xfe"}, {"X-Forwarded-For", "not an address, 1.2.3.4"},
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 26))
	client := &http.Client{Timeout: 30 * time.Second}
	statuses := map[int]int{}
	itemsQueries := []string{"", "?q=", "?q=x", "?q=a&q=b&q=%00", "?q=%ZZ", "?q=%E2%82", "?q=" + strings.Repeat("%22", 500)}
	ids := []string{"x", "%2F..%2F", "%00", "%ff%fe", "%22%5C%27", "..", strings.Repeat("a", 3000), "%24input.body"}
	for range 3000 {
		method, path, body := methods[rng.IntN(len(methods))], paths[rng.IntN(len(paths))], bodies[rng.IntN(len(bodies))]
		// Most requests go where a route will take them, and its stages run.
		switch r := rng.IntN(10); {
		case r < 5:
			method, path = "POST", "/items"+itemsQueries[rng.IntN(len(itemsQueries))]
		case r < 7:
			method, path = "GET", "/items/"+ids[rng.IntN(len(ids))]
		case r < 9:
			path = "/proxy/" + ids[rng.IntN(len(ids))] + itemsQueries[rng.IntN(len(itemsQueries))]
		}
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var sent []string
		if path == "/items" || strings.HasPrefix(path, "/items?") {
			req.Header.Set("Content-Type", "application/json") // mostly: the random headers below may add or replace
			req.Header.Set("X-Req", "1")
		}
		for range rng.IntN(4) {
			h := headers[rng.IntN(len(headers))]
			req.Header.Add(h[0], h[1])
			sent = append(sent, h[0]+": "+h[1])
		}
		desc := fmt.Sprintf("%s %s %q body %.40q", method, path, sent, body)
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s: no answer: %v", desc, err)
			continue
		}
		got, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(got))
			if err != nil {
				t.Errorf("%s: %d gzip answer that is not gzip: %v", desc, resp.StatusCode, err)
				continue
			}
			got, _ = io.ReadAll(zr)
		}
		statuses[resp.StatusCode]++
		if resp.Header.Get("x-amzn-RequestId") == "" {
			t.Errorf("%s: %d without x-amzn-RequestId", desc, resp.StatusCode)
		}
		if resp.StatusCode >= 500 {
			var msg struct {
				Message *string `json:"message"`
			}
			switch {
			case json.Unmarshal(got, &msg) != nil || msg.Message == nil:
				t.Errorf("%s: %d with a body that is not API Gateway's message: %.200q", desc, resp.StatusCode, got)
			case !strings.HasPrefix(req.Header.Get("Accept"), "image/png"):
				// The one server error these requests may draw: text that
				// a binary client would need base64-decoded.
				t.Errorf("%s: %d %s", desc, resp.StatusCode, got)
			}
		}
	}
	t.Logf("answers by status: %v", statuses)
	if again := get(t, "POST", base+"/items?q=x", `{"name":"abc"}`, "Content-Type", "application/json", "X-Req", "1"); again.status != 200 {
		t.Fatalf("a good request after the bad ones: %d %s", again.status, again.body)
	}
}
