package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestStageCacheWarnsOfUnkeyedPath: `portico stage cache --enable` says on
// stderr which cached methods have a path parameter their cache key leaves
// out (every path of the resource would share one entry): a GET and an ANY
// method (cached by default), not a method whose key has it, nor a POST
// (not cached by default) (r-stages28 #7).
func TestStageCacheWarnsOfUnkeyedPath(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	mock := `x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}, responses: {default: {statusCode: "200"}}`
	doc := `openapi: 3.0.1
info: {title: cached, version: "1"}
paths:
  /r/{id}:
    get: {` + mock + `}}
    post: {` + mock + `}}
  /k/{id}:
    get: {` + mock + `, cacheKeyParameters: [method.request.path.id]}}
  /files/{proxy+}:
    x-amazon-apigateway-any-method: {` + mock + `}}
`
	resp, err := env.Client().Do(t.Context(), http.MethodPost, apisPath+"/import", url.Values{"protocol": {"REST"}}, []byte(doc), http.Header{"Content-Type": {"application/yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	_ = json.Unmarshal(resp.Body, &imp)
	id := imp.API.ID
	if out, err := portico(t, env, "api", "deploy", id, "--stage", "prod"); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	out, err := portico(t, env, "stage", "cache", id, "prod", "--enable")
	if err != nil {
		t.Fatalf("stage cache --enable: %v\n%s", err, out)
	}
	for _, want := range []string{
		"warning: ANY /files/{proxy+} is cached, but its cache key leaves out path parameter(s) proxy: every path of the resource shares one entry; add method.request.path.proxy to the integration's cacheKeyParameters",
		"warning: GET /r/{id} is cached, but its cache key leaves out path parameter(s) id",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stage cache --enable printed\n%s\nwant %q", out, want)
		}
	}
	if strings.Contains(out, "/k/{id}") || strings.Contains(out, "POST") {
		t.Errorf("stage cache --enable warned of a keyed or uncached method:\n%s", out)
	}
	// Turning the cache off says nothing of keys.
	if out, err := portico(t, env, "stage", "cache", id, "prod", "--disable"); err != nil || strings.Contains(out, "warning") {
		t.Errorf("stage cache --disable: %v\n%s", err, out)
	}
}
