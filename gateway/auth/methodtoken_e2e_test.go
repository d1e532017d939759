package auth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// callMethod sends an empty request with method exactly as given.
func callMethod(t *testing.T, method, u string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

// TestAnyIsTheSevenMethods: ANY (and an HTTP API's $default) stands for
// DELETE, GET, HEAD, OPTIONS, PATCH, POST and PUT, spelled so (methods are
// case-sensitive); another method token ("get", "Get", "FOO") matches no
// route, as it matches no exact-method route, so that it never reaches a
// backend that reads "get" as GET past a policy that denies .../GET/secret.
func TestAnyIsTheSevenMethods(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	mock := `"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},"responses":{"default":{"statusCode":"200"}}}`
	base := importREST(t, env, `{"openapi":"3.0.1","info":{"title":"any","version":"1"},
  "x-amazon-apigateway-policy":{"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"},
    {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/secret"},
    {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/admin/*"}]},
  "paths":{"/{proxy+}":{"x-amazon-apigateway-any-method":{"parameters":[{"name":"proxy","in":"path","required":true,"schema":{"type":"string"}}],`+mock+`}}}}`)
	id := strings.Split(strings.TrimPrefix(base, env.GatewayURL+"/"), "/")[0]
	deny := func(p string) string {
		return `{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:` + id + `/dev/GET` + p + ` with an explicit deny"}`
	}
	expect(t, "GET /secret", callMethod(t, "GET", base+"/secret"), 403, "AccessDeniedException", deny("/secret"))
	expect(t, "GET /admin/x", callMethod(t, "GET", base+"/admin/x"), 403, "AccessDeniedException", deny("/admin/x"))
	for _, m := range []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"} {
		expect(t, m+" /other", callMethod(t, m, base+"/other"), 200, "", "")
	}
	for _, m := range []string{"get", "Get", "gEt", "post", "FOO", "TRACE", "PROPFIND"} {
		for _, p := range []string{"/secret", "/admin/x", "/other"} {
			expect(t, m+" "+p, callMethod(t, m, base+p), 403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`)
		}
	}

	// An HTTP API: ANY and $default alike; no route is 404.
	be := newRequestLines(t)
	proxy := map[string]any{"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": be.srv.URL, "payloadFormatVersion": "1.0"}
	for _, route := range []map[string]any{{"method": "ANY", "path": "/{proxy+}"}, {"path": "$default"}} {
		route["integration"] = proxy
		hid := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP", "routes": []any{route}})
		hbase := env.GatewayURL + "/" + hid + "/dev"
		expect(t, "HTTP API GET", callMethod(t, "GET", hbase+"/x"), 200, "", "")
		for _, m := range []string{"get", "Post", "FOO"} {
			expect(t, "HTTP API "+m, callMethod(t, m, hbase+"/x"), 404, "NotFoundException", `{"message":"Not Found"}`)
		}
		if got := be.take(); len(got) != 1 || got[0] != "GET /" {
			t.Errorf("HTTP API %v: the backend saw %q, want the GET alone", route["path"], got)
		}
	}
}
