package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// requestLines is a backend that records the request target of each request
// exactly as it came on the wire.
type requestLines struct {
	mu    sync.Mutex
	lines []string
	srv   *httptest.Server
}

func newRequestLines(t *testing.T) *requestLines {
	rl := &requestLines{}
	rl.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rl.mu.Lock()
		rl.lines = append(rl.lines, r.Method+" "+r.RequestURI)
		rl.mu.Unlock()
		_, _ = w.Write([]byte("backend"))
	}))
	t.Cleanup(rl.srv.Close)
	return rl
}

// take returns the request lines recorded since the last call.
func (rl *requestLines) take() []string {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	l := rl.lines
	rl.lines = nil
	return l
}

// importREST imports an OpenAPI document and deploys it to dev; it returns
// the stage's base URL.
func importREST(t *testing.T, env *apptest.Env, doc string) string {
	t.Helper()
	c := env.Client()
	resp, err := c.Do(context.Background(), "POST", "/portico/v1/apis/import", url.Values{"name": {"x"}}, []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct {
		API struct{ ID string } `json:"api"`
	}
	if err := json.Unmarshal(resp.Body, &api); err != nil || api.API.ID == "" {
		t.Fatalf("import: %s %v", resp.Body, err)
	}
	if _, err := c.Do(context.Background(), "POST", "/portico/v1/apis/"+api.API.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	return env.GatewayURL + "/" + api.API.ID + "/dev"
}

// TestEncodedSlashStaysInItsSegment: the router, API keys, IAM and resource
// policies take an encoded "/" (%2F) for part of a path segment, and so does
// the backend: a greedy {proxy+} value reaches the integration URI with the
// segments the client sent, so that admin%2Fusers never becomes /admin/users
// behind a policy that denies /admin/*, nor /files%2Fa a path under a route
// that needs an API key or a signature.
func TestEncodedSlashStaysInItsSegment(t *testing.T) {
	be := newRequestLines(t)
	env := apptest.Start(t, apptest.Options{})
	want := func(t *testing.T, what string, a answer, status int, lines ...string) {
		t.Helper()
		got := be.take()
		if a.status != status || !slices.Equal(got, lines) {
			t.Errorf("%s: %d %s, backend saw %q; want %d and %q", what, a.status, a.body, got, status, lines)
		}
	}

	t.Run("resource policy", func(t *testing.T) {
		base := importREST(t, env, `{"openapi":"3.0.1","info":{"title":"rp","version":"1"},
  "x-amazon-apigateway-policy":{"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"},
    {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/admin/*"}]},
  "paths":{"/{proxy+}":{"get":{"parameters":[{"name":"proxy","in":"path","required":true,"schema":{"type":"string"}}],
    "x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"`+be.srv.URL+`/{proxy}",
      "requestParameters":{"integration.request.path.proxy":"method.request.path.proxy"}}}}}}`)
		want(t, "admin/users", call(t, base+"/admin/users"), 403)
		want(t, "admin%2Fusers", call(t, base+"/admin%2Fusers"), 200, "GET /admin%2Fusers")
		want(t, "pub/a%2Fb/c", call(t, base+"/pub/a%2Fb/c%20d"), 200, "GET /pub/a%2Fb/c%20d")
	})

	t.Run("api key", func(t *testing.T) {
		base := importREST(t, env, `{"openapi":"3.0.1","info":{"title":"key","version":"1"},
  "components":{"securitySchemes":{"api_key":{"type":"apiKey","name":"x-api-key","in":"header"}}},
  "paths":{
    "/files/{proxy+}":{"get":{"security":[{"api_key":[]}],"parameters":[{"name":"proxy","in":"path","required":true,"schema":{"type":"string"}}],
      "x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"`+be.srv.URL+`/files/{proxy}"}}},
    "/{proxy+}":{"get":{"parameters":[{"name":"proxy","in":"path","required":true,"schema":{"type":"string"}}],
      "x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"`+be.srv.URL+`/{proxy}"}}}}}`)
		want(t, "files/a/b without a key", call(t, base+"/files/a/b"), 403)
		want(t, "files%2Fa/b without a key", call(t, base+"/files%2Fa/b"), 200, "GET /files%2Fa/b")
	})

	t.Run("iam on an HTTP API", func(t *testing.T) {
		proxy := func(uri string, params map[string]string) map[string]any {
			in := map[string]any{"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": uri, "payloadFormatVersion": "1.0"}
			if params != nil {
				in["requestParameters"] = params
			}
			return in
		}
		signed := []any{map[string]any{"sigv4": []any{}}}
		id := createAPI(t, env.Client(), map[string]any{"name": "h", "protocol": "HTTP", "authorizers": map[string]any{"sigv4": sigv4Scheme},
			"routes": []any{
				map[string]any{"method": "GET", "path": "/secret", "security": signed, "integration": proxy(be.srv.URL+"/secret", nil)},
				map[string]any{"method": "GET", "path": "/files/{proxy+}", "security": signed, "integration": proxy(be.srv.URL+"/files/{proxy}", nil)},
				map[string]any{"method": "GET", "path": "/mapped/{proxy+}", "integration": proxy(be.srv.URL,
					map[string]string{"overwrite:path": "/files/${request.path.proxy}"})},
				map[string]any{"method": "GET", "path": "/{proxy+}", "integration": proxy(be.srv.URL+"/{proxy}", nil)},
			}})
		base := env.GatewayURL + "/" + id + "/dev"
		want(t, "files/a unsigned", call(t, base+"/files/a"), 403)
		want(t, "secret unsigned", call(t, base+"/secret"), 403)
		want(t, "files%2fa", call(t, base+"/files%2fa"), 200, "GET /files%2fa")
		want(t, "secret%2f", call(t, base+"/secret%2f"), 200, "GET /secret%2f")
		want(t, "mapped/a%2Fb/c (overwrite:path)", call(t, base+"/mapped/a%2Fb/c"), 200, "GET /files/a%2Fb/c")
		want(t, "mapped/a/b (overwrite:path)", call(t, base+"/mapped/a/b"), 200, "GET /files/a/b")
		if a := call(t, base+"/mapped/x/..%2F..%2Fsecret"); a.status != 400 || strings.Contains(strings.Join(be.take(), ","), "secret") {
			t.Errorf("a hidden dot segment: %d %s", a.status, a.body)
		}
	})
}
