package gateway_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
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
	t.Parallel()
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
		sent = addHeaders(rng, req, headers, sent)
		desc := fmt.Sprintf("%s %s %q body %.40q", method, path, sent, body)
		status, got, ok := sendBad(t, client, req, desc, "x-amzn-RequestId")
		if !ok {
			continue
		}
		statuses[status]++
		if status >= 500 {
			switch {
			case !isGatewayMessage(got):
				t.Errorf("%s: %d with a body that is not API Gateway's message: %.200q", desc, status, got)
			case !strings.HasPrefix(req.Header.Get("Accept"), "image/png"):
				// The one server error these requests may draw: text that
				// a binary client would need base64-decoded.
				t.Errorf("%s: %d %s", desc, status, got)
			}
		}
	}
	t.Logf("answers by status: %v", statuses)
	if again := get(t, "POST", base+"/items?q=x", `{"name":"abc"}`, "Content-Type", "application/json", "X-Req", "1"); again.status != 200 {
		t.Fatalf("a good request after the bad ones: %d %s", again.status, again.body)
	}
}

// sendBad sends one bad request and returns its answer's status and body
// (gunzipped), failing t for a cut connection, a gzip answer that is not gzip,
// or an answer without the request id header ridHeader; ok is false when there
// is no answer to judge.
func sendBad(t *testing.T, client *http.Client, req *http.Request, desc, ridHeader string) (status int, body []byte, ok bool) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("%s: no answer: %v", desc, err)
		return 0, nil, false
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Errorf("%s: %d gzip answer that is not gzip: %v", desc, resp.StatusCode, err)
			return 0, nil, false
		}
		body, _ = io.ReadAll(zr)
	}
	if resp.Header.Get(ridHeader) == "" {
		t.Errorf("%s: %d without %s: %v %.200q", desc, resp.StatusCode, ridHeader, resp.Header, body)
	}
	return resp.StatusCode, body, true
}

// addHeaders adds up to three headers drawn from headers to req, and returns
// sent with them added as the failure messages show them.
func addHeaders(rng *rand.Rand, req *http.Request, headers [][]string, sent []string) []string {
	for range rng.IntN(4) {
		h := headers[rng.IntN(len(headers))]
		req.Header.Add(h[0], h[1])
		sent = append(sent, h[0]+": "+h[1][:min(len(h[1]), 40)])
	}
	return sent
}

// isGatewayMessage says whether body is API Gateway's own error document,
// {"message": "..."}.
func isGatewayMessage(body []byte) bool {
	var msg struct {
		Message *string `json:"message"`
	}
	return json.Unmarshal(body, &msg) == nil && msg.Message != nil
}

// TestHTTPAPIRefusesBadInput is TestGatewayRefusesBadInput for an HTTP API:
// a payload 2.0 Lambda route whose parameter mapping reads the path, a header
// and the JSON body; an HTTP_PROXY greedy route whose mapping rewrites the
// path and whose response mapping reads the backend's body; a route behind a
// JWT authorizer; a payload 1.0 $default route; CORS. Odd methods, encoded
// paths, bodies that are no JSON, tokens that are no tokens (or expired, or
// signed with no algorithm), preflights with odd methods and headers. Every
// request must get an answer with apigw-requestid and no 5xx: none of these
// integrations fails, so a server error is Portico's; the stage answers a good
// request afterwards.
func TestHTTPAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		b, _ := json.Marshal(map[string]any{"path": r.URL.EscapedPath(), "query": r.URL.RawQuery, "code": r.Header.Get("X-Id")})
		_, _ = w.Write(b)
	}))
	t.Cleanup(backend.Close)
	is := gwtest.NewIssuer(t)
	env := apptest.Start(t, apptest.Options{JWKSTransport: is.Transport()})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	probe := func(version string, params map[string]string) map[string]any {
		return map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "payloadFormatVersion": version, "requestParameters": params}
	}
	def := map[string]any{"name": "badinput-http", "protocol": "HTTP",
		"corsConfiguration": map[string]any{"allowOrigins": []string{"https://a.example"}, "allowMethods": []string{"GET", "POST"},
			"allowHeaders": []string{"content-type", "x-src"}, "exposeHeaders": []string{"x-id"}, "maxAge": 60, "allowCredentials": true},
		"authorizers": map[string]any{"jwt": map[string]any{"type": "oauth2", "x-amazon-apigateway-authorizer": map[string]any{
			"type": "jwt", "identitySource": "$request.header.Authorization",
			"jwtConfiguration": map[string]any{"issuer": is.Srv.URL, "audience": []string{"api1"}}}}},
		"routes": []any{
			map[string]any{"method": "POST", "path": "/items/{id}", "integration": probe("2.0", map[string]string{
				"overwrite:header.x-id":      "$request.path.id",
				"append:querystring.src":     "${request.header.x-src}",
				"overwrite:querystring.page": "$request.body.paging.page",
			})},
			map[string]any{"method": "ANY", "path": "/proxy/{proxy+}", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": backend.URL + "/{proxy}", "payloadFormatVersion": "1.0",
				"requestParameters":  map[string]string{"overwrite:path": "/b/$request.path.proxy", "overwrite:header.x-id": "$request.querystring.id"},
				"responseParameters": map[string]any{"200": map[string]string{"overwrite:header.x-code": "$response.body.code", "append:header.x-path": "$response.body.path"}},
			}},
			map[string]any{"method": "GET", "path": "/secure", "security": []any{map[string]any{"jwt": []string{"read"}}}, "integration": probe("2.0", nil)},
			map[string]any{"routeKey": "$default", "integration": probe("1.0", nil)},
		}}
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, def, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	base := env.GatewayURL + "/" + api.ID + "/dev"

	now := time.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		m := map[string]any{"iss": is.Srv.URL, "aud": "api1", "sub": "u1", "exp": now.Add(time.Hour).Unix(), "scope": "read"}
		if mod != nil {
			mod(m)
		}
		return m
	}
	token := is.Token(t, "RS256", "k1", is.RSA1, claims(nil))
	goodCall := func(when string) {
		t.Helper()
		if a := get(t, "POST", base+"/items/7", `{"paging":{"page":2}}`, "Content-Type", "application/json"); a.status != 200 {
			t.Fatalf("a good request %s: %d %s", when, a.status, a.body)
		}
		if a := get(t, "GET", base+"/secure", "", "Authorization", "Bearer "+token); a.status != 200 {
			t.Fatalf("a good token %s: %d %s", when, a.status, a.body)
		}
	}
	goodCall("first")

	tokens := []string{"Bearer " + token, token, "Bearer", "Bearer ", "Basic dTpw", "Bearer a.b.c", "Bearer \xff\xfe", "Bearer " + strings.Repeat("e", 9000),
		"Bearer " + is.Token(t, "none", "k1", nil, claims(nil)), "Bearer " + is.Token(t, "HS256", "k1", []byte("k"), claims(nil)),
		"Bearer " + is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) { m["exp"] = "soon" })),
		"Bearer " + is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) { m["aud"] = []any{1, nil} })),
		"Bearer " + is.Token(t, "RS256", "k1", is.RSA1, claims(func(m map[string]any) { m["scope"] = map[string]any{"x": 1} })),
		"Bearer " + is.Token(t, "RS256", "nokid", is.RSA1, claims(nil))}
	bodies := []string{"", "{", "null", "[]", `"x"`, `{"paging":{"page":2}}`, `{"paging":{"page":{"deep":[1,2]}}}`, `{"paging":"x"}`,
		`{"paging":{"page":"` + strings.Repeat("p", 5000) + `"}}`, strings.Repeat("[", 5000) + strings.Repeat("]", 5000), "\x00\xff\xfe\x80"}
	headers := [][]string{
		{"Content-Type", "application/json"}, {"Content-Type", "text/plain; charset=\xff"}, {"Content-Type", "@@@"}, {"x-src", ""},
		{"x-src", "a,b"}, {"x-src", "\"q\\"}, {"Origin", "https://a.example"}, {"Origin", "null"}, {"Origin", "https://evil.example"},
		{"Access-Control-Request-Method", "GET"}, {"Access-Control-Request-Method", "PROPFIND"}, {"Access-Control-Request-Method", ""},
		{"Access-Control-Request-Headers", "x-src, ,,content-type"}, {"Access-Control-Request-Headers", strings.Repeat("h,", 500)},
		{"Accept-Encoding", "gzip;q=abc, *"}, {"X-Forwarded-For", "not an address, 1.2.3.4"}, {"Cookie", "a=1; ;b"}, {"Cookie", "\xff=\xfe"},
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND"}
	ids := []string{"7", "%2F..%2F", "%00", "%ff%fe", "%22%5C%27", "..", strings.Repeat("a", 3000), "%24request.body"}
	queries := []string{"", "?", "?id=", "?id=1&id=2", "?id=%ZZ", "?id=%E2%82", "?src=x&page=1", "?id=" + strings.Repeat("%22", 500)}
	others := []string{"/", "/nope", "//items/7", "/items/", "/items/7/8", "/Items/7", "/secure/", "/proxy", "/proxy/", "/%ff"}

	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 27))
	client := &http.Client{Timeout: 30 * time.Second}
	statuses := map[int]int{}
	for range 2000 {
		method, body := methods[rng.IntN(len(methods))], bodies[rng.IntN(len(bodies))]
		var path string
		switch r := rng.IntN(10); {
		case r < 4:
			method, path = "POST", "/items/"+ids[rng.IntN(len(ids))]
		case r < 7:
			path = "/proxy/" + ids[rng.IntN(len(ids))] + "/" + ids[rng.IntN(len(ids))]
		case r < 9:
			method, path = "GET", "/secure"
		default:
			path = others[rng.IntN(len(others))]
		}
		path += queries[rng.IntN(len(queries))]
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var sent []string
		if strings.HasPrefix(path, "/secure") {
			auth := tokens[rng.IntN(len(tokens))]
			req.Header.Set("Authorization", auth)
			sent = append(sent, "Authorization: "+auth[:min(len(auth), 30)])
		}
		sent = addHeaders(rng, req, headers, sent)
		desc := fmt.Sprintf("%s %.80s %q body %.40q", method, path, sent, body)
		status, got, ok := sendBad(t, client, req, desc, "apigw-requestid")
		if !ok {
			continue
		}
		statuses[status]++
		if status >= 500 {
			t.Errorf("%s: %d %.300s", desc, status, got)
		}
	}
	t.Logf("answers by status: %v", statuses)
	goodCall("after the bad ones")
}
