package auth_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// secretSpellings are ways of asking for /secret that the router takes for
// /secret: percent-encoded unreserved characters, one trailing slash, and
// doubled slashes, which the gateway merges as nginx's merge_slashes does (a
// backend that collapses them serves /secret).
var secretSpellings = []string{"/secret", "/%73ecret", "/secret/", "/%73ecret/", "/s%65cr%65t",
	"//secret", "/secret//", "///secret", "//%73ecret//"}

// slashedSpellings hide a slash behind a percent-encoding: "%2F" (or "%2f"), or
// "%252F", which a backend that decodes twice reads as "/". A backend that
// decodes them and merges slashes serves /secret ("/%2Fsecret" is "//secret",
// "/a%2F..%2Fsecret" is "/a/../secret"), so the gateway refuses them all with
// 400 before routing: no route, policy or authorizer sees them, and no backend.
var slashedSpellings = []string{"/%2Fsecret", "/%2fsecret", "/a%2F..%2Fsecret", "/a%2f..%2fsecret", "/%252Fsecret", "/%252fsecret",
	"/secret%2F", "/%2F%2Fsecret", "/x/..%2Fsecret", "//%2Fsecret", "/%2e%2e%2Fsecret", "/%25%32%46secret"}

// paramSpellings put a raw ";" in a segment. Tomcat, Jetty and Spring strip a
// ";" and what follows it up to the next "/" from each segment before they
// route ("path parameters"), so they serve /secret for "/secret;a" and for
// "/x/..;/secret" (the known "..;" proxy bypass), where the router, the
// execute-api ARN and the integration's backend path saw another path. The
// gateway refuses a raw ";" in the path with 400 before routing, as it does an
// encoded slash (a ";" meant as data is sent encoded, %3B).
var paramSpellings = []string{"/secret;a", "/secret;jsessionid=1", "/x/..;/secret", "/..;/..;/admin", "/..;/secret", "/.;/secret",
	"/secret/;", "/;/secret", "/secret;", "/s;x/../secret", "//secret;a//"}

// refusedSpellings are every spelling refused with 400 before routing.
var refusedSpellings = append(slices.Clip(slashedSpellings), paramSpellings...)

// expectRefused checks that p, one of refusedSpellings, was refused with
// 400 BadRequestException.
func expectRefused(t *testing.T, p string, a answer) {
	t.Helper()
	expect(t, p, a, 400, "BadRequestException", `{"message":"Bad Request"}`)
}

// TestDenyHoldsForEveryPathSpelling: the execute-api ARN that resource
// policies, identity policies, Lambda authorizers' policies and
// execute-api:InvalidateCache are checked against names the path the router
// matched (each segment decoded, no trailing slash), so that a Deny on
// .../GET/secret holds however the client spells /secret.
func TestDenyHoldsForEveryPathSpelling(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	mock := `"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},"responses":{"default":{"statusCode":"200"}}}`

	t.Run("resource policy", func(t *testing.T) {
		base := importREST(t, env, `{"openapi":"3.0.1","info":{"title":"rp","version":"1"},
  "x-amazon-apigateway-policy":{"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}},
    {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/secret"}]},
  "paths":{"/open":{"get":{`+mock+`}},"/secret":{"get":{`+mock+`}},
    "/{proxy+}":{"get":{"parameters":[{"name":"proxy","in":"path","required":true,"schema":{"type":"string"}}],`+mock+`}}}}`)
		id := strings.Split(strings.TrimPrefix(base, env.GatewayURL+"/"), "/")[0]
		for _, p := range secretSpellings {
			expect(t, p, call(t, base+p), 403, "AccessDeniedException",
				`{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:`+id+`/dev/GET/secret with an explicit deny"}`)
		}
		for _, p := range []string{"/open", "/%6Fpen", "/open/", "//open", "/other", "/other//x"} {
			expect(t, p, call(t, base+p), 200, "", "")
		}
		for _, p := range refusedSpellings {
			expectRefused(t, p, call(t, base+p))
		}
	})

	t.Run("identity policy", func(t *testing.T) {
		id := createAPI(t, c, map[string]any{"name": "iam", "protocol": "REST", "authorizers": map[string]any{"sigv4": sigv4Scheme},
			"routes": []any{mockRoute("GET", "/secret", "sigv4"), mockRoute("GET", "/{proxy+}", "sigv4")}})
		base := env.GatewayURL + "/" + id + "/dev"
		bob := iamUser(t, env, "bob", `{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"},
  {"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:000000000000:`+id+`/dev/GET/secret"}]}`)
		for _, p := range secretSpellings {
			expect(t, p, signedCall(t, bob, "GET", base+p, ""), 403, "AccessDeniedException",
				`{"Message":"User: arn:aws:iam::000000000000:user/bob is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:`+id+`/dev/GET/secret with an explicit deny"}`)
		}
		expect(t, "/other", signedCall(t, bob, "GET", base+"/other", ""), 200, "", "")
		for _, p := range refusedSpellings {
			expectRefused(t, p, signedCall(t, bob, "GET", base+p, ""))
		}
	})

	t.Run("identity policy NotResource on an HTTP API", func(t *testing.T) {
		be := newRequestLines(t)
		signed := []any{map[string]any{"sigv4": []any{}}}
		proxy := map[string]any{"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": be.srv.URL, "payloadFormatVersion": "1.0"}
		id := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP", "authorizers": map[string]any{"sigv4": sigv4Scheme},
			"routes": []any{
				map[string]any{"method": "GET", "path": "/iam/secret", "security": signed, "integration": proxy},
				map[string]any{"method": "GET", "path": "/iam/{p}", "security": signed, "integration": proxy},
				map[string]any{"method": "GET", "path": "/{proxy+}", "security": signed, "integration": proxy},
			}})
		base := env.GatewayURL + "/" + id + "/dev"
		carol := iamUser(t, env, "carol", `{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"execute-api:Invoke","NotResource":"arn:aws:execute-api:us-east-1:000000000000:`+id+`/dev/GET/iam/secret"}]}`)
		for _, p := range append(secretSpellings, "//iam/secret", "//iam//secret//") {
			if !strings.HasPrefix(p, "//iam") {
				p = "/iam" + p
			}
			expect(t, p, signedCall(t, carol, "GET", base+p, ""), 403, "AccessDeniedException", `{"message":"Forbidden"}`)
		}
		for _, p := range refusedSpellings {
			expectRefused(t, "/iam"+p, signedCall(t, carol, "GET", base+"/iam"+p, ""))
			expectRefused(t, p, signedCall(t, carol, "GET", base+p, ""))
		}
		expect(t, "/iam/other", signedCall(t, carol, "GET", base+"/iam/other", ""), 200, "", "")
		if got := be.take(); len(got) != 1 {
			t.Errorf("the backend saw %q, want /iam/other alone", got)
		}
	})

	t.Run("Lambda authorizer policy", func(t *testing.T) {
		createFunction(t, c, "authz", 5)
		tok := `"security":[{"tok":[]}],`
		base := importREST(t, env, `{"openapi":"3.0.1","info":{"title":"la","version":"1"},
  "components":{"securitySchemes":{"tok":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"custom",
    "x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:authz","authorizerResultTtlInSeconds":300}}}},
  "paths":{"/open":{"get":{`+tok+mock+`}},"/secret":{"get":{`+tok+mock+`}},
    "/{proxy+}":{"get":{`+tok+`"parameters":[{"name":"proxy","in":"path","required":true,"schema":{"type":"string"}}],`+mock+`}}}}`)
		// The first call caches the policy; the others are decided by it.
		expect(t, "/open", call(t, base+"/open", "Authorization", "allow-but-secret"), 200, "", "")
		for _, p := range secretSpellings {
			expect(t, p, call(t, base+p, "Authorization", "allow-but-secret"), 403, "AccessDeniedException",
				`{"Message":"User is not authorized to access this resource with an explicit deny"}`)
		}
		expect(t, "/other", call(t, base+"/other", "Authorization", "allow-but-secret"), 200, "", "")
		for _, p := range refusedSpellings {
			expectRefused(t, p, call(t, base+p, "Authorization", "allow-but-secret"))
		}
	})

	t.Run("HTTP_PROXY backends", func(t *testing.T) {
		be := newRequestLines(t)
		rest := importREST(t, env, `{"openapi":"3.0.1","info":{"title":"rp","version":"1"},
  "x-amazon-apigateway-policy":{"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"},
    {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/secret"}]},
  "paths":{"/{proxy+}":{"get":{"parameters":[{"name":"proxy","in":"path","required":true,"schema":{"type":"string"}}],
    "x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"`+be.srv.URL+`/{proxy}"}}}}}`)
		proxy := map[string]any{"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": be.srv.URL + "/secret", "payloadFormatVersion": "1.0"}
		httpID := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP", "authorizers": map[string]any{"sigv4": sigv4Scheme}, "routes": []any{
			map[string]any{"method": "GET", "path": "/secret", "integration": proxy, "security": []any{map[string]any{"sigv4": []any{}}}},
			map[string]any{"method": "GET", "path": "/{proxy+}", "integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": be.srv.URL + "/{proxy}", "payloadFormatVersion": "1.0"}},
		}})
		for _, base := range []string{rest, env.GatewayURL + "/" + httpID + "/dev"} {
			for _, p := range refusedSpellings {
				expectRefused(t, p, call(t, base+p))
			}
			if a := call(t, base+"/other"); a.status != 200 {
				t.Errorf("/other: %d %s", a.status, a.body)
			}
			if got := be.take(); !slices.Equal(got, []string{"GET /other"}) {
				t.Errorf("the backend saw %q, want GET /other alone", got)
			}
		}
	})

	t.Run("InvalidateCache", func(t *testing.T) {
		id := createAPI(t, c, map[string]any{"name": "cached", "protocol": "REST", "routes": []any{mockRoute("GET", "/pets")}})
		cacheWithSignedFlushes(t, c, id)
		ops := iamUser(t, env, "ops", `{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"execute-api:InvalidateCache","Resource":"*"},
  {"Effect":"Deny","Action":"execute-api:InvalidateCache","Resource":"arn:aws:execute-api:*:*:`+id+`/dev/GET/pets"}]}`)
		base := env.GatewayURL + "/" + id + "/dev"
		for _, p := range []string{"/pets", "/%70ets", "/pets/", "//pets", "/pets//"} {
			expect(t, p, signedCall(t, ops, "GET", base+p, "", "Cache-Control", "max-age=0"), 403, "AccessDeniedException", "")
		}
	})
}
