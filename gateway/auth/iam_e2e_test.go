package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
	"github.com/portico-dev/portico/internal/testkit"
)

// iamCall sends one IAM query-protocol action to the admin API and returns the
// status and XML body.
func iamCall(t *testing.T, env *apptest.Env, action string, params ...string) (int, string) {
	t.Helper()
	return sigv4test.IAMCall(t, env.AdminURL, "", action, params...)
}

// creds are an access key as CreateAccessKey answers it.
type creds = sigv4test.Key

// iamUser creates a user with an access key and the given inline policy
// ("" for none).
func iamUser(t *testing.T, env *apptest.Env, name, policyDoc string) creds {
	t.Helper()
	return sigv4test.NewUser(t, env.AdminURL, "", name, policyDoc)
}

// signedCall sends method u with body, signed by the AWS SDK for Go v2's SigV4
// signer for execute-api (no signature when c.ID is empty).
func signedCall(t *testing.T, c creds, method, u, body string, hdr ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c.ID != "" {
		sigv4test.SignNow(t, req, c.Credentials(), []byte(body), "execute-api")
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func expect(t *testing.T, what string, a answer, status int, errType, body string) {
	t.Helper()
	if a.status != status || a.header.Get("x-amzn-ErrorType") != errType || body != "" && a.body != body {
		t.Errorf("%s: %d %s %s, want %d %s %s", what, a.status, a.header.Get("x-amzn-ErrorType"), a.body, status, errType, body)
	}
}

// identityTemplate renders $context.identity as a MOCK integration's answer.
const identityTemplate = `{"userArn":"$context.identity.userArn","user":"$context.identity.user","caller":"$context.identity.caller",` +
	`"accessKey":"$context.identity.accessKey","accountId":"$context.identity.accountId","sourceIp":"$context.identity.sourceIp","id":"$context.requestId"}`

func mockRoute(method, path string, security ...string) map[string]any {
	r := map[string]any{"method": method, "path": path, "integration": map[string]any{
		"type": "MOCK", "requestTemplates": map[string]any{"application/json": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200",
			"responseTemplates": map[string]any{"application/json": identityTemplate}}}}}
	if len(security) > 0 {
		r["security"] = []any{map[string]any{security[0]: []any{}}}
	}
	return r
}

var sigv4Scheme = map[string]any{"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}

// TestIAMEndToEnd: principals created through the IAM API, requests signed by
// the AWS SDK for Go v2 signer (header and presigned), identity policies with
// allows, denies and wildcards, AWS's answers for each failure, the caller in
// $context.identity and in the function's event, and principals kept across a
// restart.
func TestIAMEndToEnd(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "echo", 5)
	id := createAPI(t, c, map[string]any{"name": "iam", "protocol": "REST",
		"authorizers": map[string]any{"sigv4": sigv4Scheme},
		"routes": []any{mockRoute("GET", "/pets", "sigv4"), mockRoute("GET", "/secret", "sigv4"), mockRoute("POST", "/pets", "sigv4"),
			map[string]any{"method": "GET", "path": "/fn", "security": []any{map[string]any{"sigv4": []any{}}},
				"integration": map[string]any{"type": "AWS_PROXY", "httpMethod": "POST", "uri": "function:echo"}},
			map[string]any{"method": "POST", "path": "/fn", "security": []any{map[string]any{"sigv4": []any{}}},
				"integration": map[string]any{"type": "AWS_PROXY", "httpMethod": "POST", "uri": "function:echo"}}}})
	base := env.GatewayURL + "/" + id + "/dev"
	arn := func(rest string) string { return "arn:aws:execute-api:us-east-1:000000000000:" + id + "/dev/" + rest }

	alice := iamUser(t, env, "alice", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:`+id+`/*/*/*"},
		{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:`+id+`/dev/GET/secre?"}]}`)
	bob := iamUser(t, env, "bob", "")

	a := signedCall(t, alice, "GET", base+"/pets", "")
	var ident map[string]string
	if a.status != 200 || json.Unmarshal([]byte(a.body), &ident) != nil {
		t.Fatalf("alice GET /pets: %d %s", a.status, a.body)
	}
	if ident["userArn"] != "arn:aws:iam::000000000000:user/alice" || ident["accessKey"] != alice.ID || ident["accountId"] != "000000000000" ||
		!strings.HasPrefix(ident["user"], "AIDA") || ident["caller"] != ident["user"] || ident["sourceIp"] != "127.0.0.1" {
		t.Errorf("$context.identity: %v", ident)
	}
	expect(t, "alice POST /pets with a signed body", signedCall(t, alice, "POST", base+"/pets", `{"name":"rex"}`, "Content-Type", "application/json"), 200, "", "")
	expect(t, "alice GET /secret (explicit deny)", signedCall(t, alice, "GET", base+"/secret", ""), 403, "AccessDeniedException",
		`{"Message":"User: arn:aws:iam::000000000000:user/alice is not authorized to perform: execute-api:Invoke on resource: `+arn("GET/secret")+` with an explicit deny"}`)
	expect(t, "bob (no policy)", signedCall(t, bob, "GET", base+"/pets", ""), 403, "AccessDeniedException",
		`{"Message":"User: arn:aws:iam::000000000000:user/bob is not authorized to perform: execute-api:Invoke on resource: `+arn("GET/pets")+`"}`)
	expect(t, "unsigned", signedCall(t, creds{}, "GET", base+"/pets", ""), 403, "MissingAuthenticationTokenException", `{"message":"Missing Authentication Token"}`)
	expect(t, "wrong secret", signedCall(t, creds{ID: alice.ID, Secret: bob.Secret}, "GET", base+"/pets", ""), 403, "InvalidSignatureException",
		`{"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}`)
	expect(t, "unknown key", signedCall(t, creds{ID: "AKIAUNKNOWN000000000", Secret: alice.Secret}, "GET", base+"/pets", ""), 403, "UnrecognizedClientException",
		`{"message":"The security token included in the request is invalid."}`)
	expect(t, "not SigV4", signedCall(t, creds{}, "GET", base+"/pets", "", "Authorization", "Bearer abc"), 403, "IncompleteSignatureException", "")

	// A body other than the one signed.
	req, _ := http.NewRequest("POST", base+"/pets", strings.NewReader(`{"name":"rex"}`))
	sigv4test.SignNow(t, req, alice.Credentials(), []byte(`{"name":"rex"}`), "execute-api")
	req.Body = io.NopCloser(strings.NewReader(`{"name":"max"}`))
	expect(t, "tampered body", do(t, req), 403, "InvalidSignatureException", "")

	// UNSIGNED-PAYLOAD is S3's: a header signature must cover the body's hash,
	// or the body could be swapped on the way.
	req, _ = http.NewRequest("POST", base+"/pets", strings.NewReader(`{"name":"max"}`))
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	sigv4test.Sign(t, req, alice.Credentials(), sigv4.UnsignedPayload, "execute-api", sigv4test.Region, time.Now())
	expect(t, "UNSIGNED-PAYLOAD", do(t, req), 403, "InvalidSignatureException", "")

	// A signature that leaves out host says so.
	req, _ = http.NewRequest("GET", base+"/pets", nil)
	sigv4test.Sign(t, req, alice.Credentials(), sigv4test.EmptyHash, "execute-api", sigv4test.Region, time.Now())
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "SignedHeaders=host;", "SignedHeaders=", 1))
	expect(t, "host not signed", do(t, req), 403, "IncompleteSignatureException",
		`{"message":"'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}`)

	// A signature from the future is "not yet current", not "expired".
	req, _ = http.NewRequest("GET", base+"/pets", nil)
	sigv4test.Sign(t, req, alice.Credentials(), sigv4test.EmptyHash, "execute-api", sigv4test.Region, time.Now().Add(time.Hour))
	if a := do(t, req); a.status != 403 || !strings.Contains(a.body, "Signature not yet current: ") || !strings.Contains(a.body, "is still later than") {
		t.Errorf("a signature an hour ahead: %d %s", a.status, a.body)
	}

	// An old signature.
	req, _ = http.NewRequest("GET", base+"/pets", nil)
	sigv4test.Sign(t, req, alice.Credentials(), sigv4test.EmptyHash, "execute-api", sigv4test.Region, time.Now().Add(-time.Hour))
	if a := do(t, req); a.status != 403 || !strings.Contains(a.body, "Signature expired") {
		t.Errorf("an hour-old signature: %d %s", a.status, a.body)
	}

	// A presigned URL.
	req, _ = http.NewRequest("GET", base+"/pets?limit=2&X-Amz-Expires=300", nil)
	signedURL := sigv4test.Presign(t, req, alice.Credentials(), sigv4test.EmptyHash, "execute-api", sigv4test.Region, time.Now())
	if a := call(t, signedURL); a.status != 200 {
		t.Errorf("presigned URL: %d %s", a.status, a.body)
	}

	// The function's event names the caller in requestContext.identity.
	a = signedCall(t, alice, "GET", base+"/fn", "")
	var ev struct {
		RequestContext struct {
			Identity struct {
				AccessKey, AccountID, Caller, User, UserArn string
			} `json:"identity"`
		} `json:"requestContext"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil {
		t.Fatalf("alice GET /fn: %d %s", a.status, a.body)
	}
	if got := ev.RequestContext.Identity; got.UserArn != "arn:aws:iam::000000000000:user/alice" || got.AccessKey != alice.ID ||
		got.AccountID != "000000000000" || got.Caller == "" || got.User != got.Caller {
		t.Errorf("event identity: %+v", got)
	}

	// A signed body reaches the function: checking the signature reads it,
	// and the integration gets it all the same.
	a = signedCall(t, alice, "POST", base+"/fn", `{"name":"rex"}`, "Content-Type", "application/json")
	var posted struct {
		Body *string `json:"body"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &posted) != nil || posted.Body == nil || *posted.Body != `{"name":"rex"}` {
		t.Errorf("signed POST /fn: %d, event body %v (%s)", a.status, posted.Body, a.body)
	}

	// A policy given to bob takes effect at once, and survives a restart.
	if st, body := iamCall(t, env, "PutUserPolicy", "UserName", "bob", "PolicyName", "get", "PolicyDocument",
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:*","Resource":"arn:aws:execute-api:*:*:*/*/GET/*"}}`); st != 200 {
		t.Fatalf("PutUserPolicy bob: %d %s", st, body)
	}
	expect(t, "bob after his policy", signedCall(t, bob, "GET", base+"/pets", ""), 200, "", "")
	env.Restart()
	expect(t, "bob after a restart", signedCall(t, bob, "GET", base+"/pets", ""), 200, "", "")
	expect(t, "bob POST after a restart", signedCall(t, bob, "POST", base+"/pets", ""), 403, "AccessDeniedException", "")

	// A deleted key no longer signs.
	if st, body := iamCall(t, env, "DeleteAccessKey", "UserName", "alice", "AccessKeyId", alice.ID); st != 200 {
		t.Fatalf("DeleteAccessKey: %d %s", st, body)
	}
	expect(t, "deleted key", signedCall(t, alice, "GET", base+"/pets", ""), 403, "UnrecognizedClientException", "")
}

// TestIAMSigningScope: a signature the AWS SDK for Go v2 signer scoped to
// another region or to another service than execute-api is refused as AWS
// refuses it (403 InvalidSignatureException naming the scope), in the
// Authorization header and in a presigned URL, even though the key and the
// secret are right; the gateway's own region and service are admitted.
func TestIAMSigningScope(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	id := createAPI(t, c, map[string]any{"name": "scope", "protocol": "REST",
		"authorizers": map[string]any{"sigv4": sigv4Scheme}, "routes": []any{mockRoute("GET", "/pets", "sigv4")}})
	alice := iamUser(t, env, "alice", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`)
	u := env.GatewayURL + "/" + id + "/dev/pets"
	send := func(service, region string, presign bool) answer {
		req, _ := http.NewRequest("GET", u, nil)
		if !presign {
			sigv4test.Sign(t, req, alice.Credentials(), sigv4test.EmptyHash, service, region, time.Now())
			return do(t, req)
		}
		req.URL.RawQuery = "X-Amz-Expires=300"
		return call(t, sigv4test.Presign(t, req, alice.Credentials(), sigv4test.EmptyHash, service, region, time.Now()))
	}
	for _, presign := range []bool{false, true} {
		what := map[bool]string{false: "header", true: "presigned"}[presign]
		expect(t, what+" us-east-1 execute-api", send("execute-api", "us-east-1", presign), 200, "", "")
		expect(t, what+" us-west-2", send("execute-api", "us-west-2", presign), 403, "InvalidSignatureException",
			`{"message":"Credential should be scoped to a valid region, not 'us-west-2'. "}`)
		expect(t, what+" service lambda", send("lambda", "us-east-1", presign), 403, "InvalidSignatureException",
			`{"message":"Credential should be scoped to correct service: 'execute-api'. "}`)
	}
}

// TestIAMQueryAPIErrors checks IAM's error shapes on the admin port.
func TestIAMQueryAPIErrors(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	iamUser(t, env, "carol", "")
	cases := []struct {
		action string
		params []string
		status int
		code   string
	}{
		{"CreateUser", []string{"UserName", "carol"}, 409, "EntityAlreadyExists"},
		{"GetUser", []string{"UserName", "nobody"}, 404, "NoSuchEntity"},
		{"DeleteUser", []string{"UserName", "carol"}, 409, "DeleteConflict"},
		{"PutUserPolicy", []string{"UserName", "carol", "PolicyName", "x", "PolicyDocument", `{"Statement":[{"Effect":"Allow","Action":"*"}]}`}, 400, "MalformedPolicyDocument"},
		{"CreateUser", []string{"UserName", "bad name!"}, 400, "ValidationError"},
		{"CreateUser", nil, 400, "ValidationError"},
		{"AttachUserPolicy", []string{"UserName", "carol"}, 400, "InvalidAction"},
	}
	for _, c := range cases {
		st, body := iamCall(t, env, c.action, c.params...)
		var e struct {
			Code string `xml:"Error>Code"`
		}
		if st != c.status || xml.Unmarshal([]byte(body), &e) != nil || e.Code != c.code {
			t.Errorf("%s %v: %d %s, want %d %s", c.action, c.params, st, body, c.status, c.code)
		}
	}
	st, body := iamCall(t, env, "ListUsers")
	var lu struct {
		Names []string `xml:"ListUsersResult>Users>member>UserName"`
	}
	if st != 200 || xml.Unmarshal([]byte(body), &lu) != nil || len(lu.Names) != 1 || lu.Names[0] != "carol" {
		t.Errorf("ListUsers: %d %s", st, body)
	}
}

// TestResourcePolicyEndToEnd: a REST API's resource policy allowing and
// denying by CIDR (IPv4 and IPv6 lists), with and without trusted proxies,
// alone and combined with IAM auth as AWS's table says.
func TestResourcePolicyEndToEnd(t *testing.T) {
	doc := func(title string) string {
		return `{"openapi":"3.0.1","info":{"title":"` + title + `","version":"1"},
  "components":{"securitySchemes":{"sigv4":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"awsSigv4"}}},
  "x-amazon-apigateway-policy":{"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"IpAddress":{"aws:SourceIp":["127.0.0.0/8","10.0.0.0/8","2001:db8::/32"]}}},
    {"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*/GET/admin","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]},
  "paths":{
    "/open":{"get":{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},"responses":{"default":{"statusCode":"200"}}}}},
    "/admin":{"get":{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},"responses":{"default":{"statusCode":"200"}}}}},
    "/iam":{"get":{"security":[{"sigv4":[]}],"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},"responses":{"default":{"statusCode":"200"}}}}}}}`
	}
	importAPI := func(t *testing.T, env *apptest.Env) string {
		c := env.Client()
		resp, err := c.Do(context.Background(), "POST", "/portico/v1/apis/import", url.Values{"name": {"rp"}}, []byte(doc("rp")), nil)
		if err != nil {
			t.Fatal(err)
		}
		var api struct {
			API struct{ ID string } `json:"api"`
		}
		_ = json.Unmarshal(resp.Body, &api)
		if _, err := c.Do(context.Background(), "POST", "/portico/v1/apis/"+api.API.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
			t.Fatal(err)
		}
		return api.API.ID
	}
	denied := func(id, rest string, explicit bool) string {
		m := `{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:` + id + `/dev/` + rest
		if explicit {
			m += " with an explicit deny"
		}
		return m + `"}`
	}

	t.Run("peer address", func(t *testing.T) {
		env := apptest.Start(t, apptest.Options{})
		id := importAPI(t, env)
		base := env.GatewayURL + "/" + id + "/dev"
		bob := iamUser(t, env, "bob", "")
		expect(t, "open from 127.0.0.1", call(t, base+"/open"), 200, "", "")
		expect(t, "admin from 127.0.0.1", call(t, base+"/admin"), 403, "AccessDeniedException", denied(id, "GET/admin", true))
		expect(t, "X-Forwarded-For is not believed", call(t, base+"/admin", "X-Forwarded-For", "10.1.2.3"), 403, "AccessDeniedException", "")
		// IAM: no identity policy, but the resource policy allows: admitted.
		expect(t, "iam without identity policy", signedCall(t, bob, "GET", base+"/iam", ""), 200, "", "")
		expect(t, "iam unsigned", call(t, base+"/iam"), 403, "MissingAuthenticationTokenException", "")
	})

	t.Run("trusted proxy", func(t *testing.T) {
		env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.TrustedProxies = "127.0.0.1/32, ::1" }})
		id := importAPI(t, env)
		base := env.GatewayURL + "/" + id + "/dev"
		bob := iamUser(t, env, "bob", "")
		expect(t, "admin via proxy from 10.1.2.3", call(t, base+"/admin", "X-Forwarded-For", "10.1.2.3"), 200, "", "")
		expect(t, "admin via two trusted hops", call(t, base+"/admin", "X-Forwarded-For", "10.9.9.9, 127.0.0.1"), 200, "", "")
		expect(t, "a spoofed first hop is not believed", call(t, base+"/admin", "X-Forwarded-For", "10.1.2.3, 203.0.113.5"), 403, "AccessDeniedException",
			denied(id, "GET/admin", true))
		expect(t, "open from 203.0.113.5 (implicit deny)", call(t, base+"/open", "X-Forwarded-For", "203.0.113.5"), 403, "AccessDeniedException",
			denied(id, "GET/open", false))
		expect(t, "open from IPv6 in the list", call(t, base+"/open", "X-Forwarded-For", "2001:db8::7"), 200, "", "")
		// IAM, neither policy allows: the implicit deny names the caller.
		expect(t, "iam from outside", signedCall(t, bob, "GET", base+"/iam", "", "X-Forwarded-For", "203.0.113.5"), 403, "AccessDeniedException",
			`{"Message":"User: arn:aws:iam::000000000000:user/bob is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:`+id+`/dev/GET/iam"}`)
		// An identity policy allowing it admits the caller from outside too.
		if st, body := iamCall(t, env, "PutUserPolicy", "UserName", "bob", "PolicyName", "p", "PolicyDocument",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`); st != 200 {
			t.Fatalf("PutUserPolicy: %d %s", st, body)
		}
		expect(t, "iam allowed by identity policy", signedCall(t, bob, "GET", base+"/iam", "", "X-Forwarded-For", "203.0.113.5"), 200, "", "")
	})
}

// TestIAMInvalidateCache: under requireAuthorizationForCacheControl with
// FAIL_WITH_403, max-age=0 refreshes the entry only for a caller whose policy
// allows execute-api:InvalidateCache.
func TestIAMInvalidateCache(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	id := createAPI(t, c, map[string]any{"name": "cached", "protocol": "REST", "routes": []any{mockRoute("GET", "/pets")}})
	cacheWithSignedFlushes(t, c, id)
	invalidator := iamUser(t, env, "ops", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:InvalidateCache","Resource":"arn:aws:execute-api:*:*:`+id+`/dev/GET/pets"}]}`)
	reader := iamUser(t, env, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`)
	u := env.GatewayURL + "/" + id + "/dev/pets"
	first := call(t, u)
	if first.status != 200 || call(t, u).body != first.body {
		t.Fatalf("not cached: %d %s", first.status, first.body)
	}
	expect(t, "max-age=0 unsigned", call(t, u, "Cache-Control", "max-age=0"), 403, "AccessDeniedException", "")
	expect(t, "max-age=0 by a caller without InvalidateCache", signedCall(t, reader, "GET", u, "", "Cache-Control", "max-age=0"), 403, "AccessDeniedException", "")
	if a := call(t, u); a.body != first.body {
		t.Fatalf("refused invalidations changed the entry: %s", a.body)
	}
	fresh := signedCall(t, invalidator, "GET", u, "", "Cache-Control", "max-age=0")
	if fresh.status != 200 || fresh.body == first.body {
		t.Fatalf("allowed invalidation: %d %s (first %s)", fresh.status, fresh.body, first.body)
	}
	if a := call(t, u); a.body != fresh.body {
		t.Fatalf("the refreshed entry is not served: %s, want %s", a.body, fresh.body)
	}
}

// TestAWSCLIManagesPrincipals drives the IAM API with `aws iam --endpoint-url`
// and calls an AWS_IAM route with the key it created.
func TestAWSCLIManagesPrincipals(t *testing.T) {
	testkit.AWSCLI(t)
	env := apptest.Start(t, apptest.Options{})
	aws := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"iam", "--endpoint-url", env.AdminURL, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=portico", "AWS_SECRET_ACCESS_KEY=unused", "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws iam %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	aws("create-user", "--user-name", "cli")
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey, Status string }
	}
	if err := json.Unmarshal(aws("create-access-key", "--user-name", "cli"), &key); err != nil || key.AccessKey.Status != "Active" {
		t.Fatalf("create-access-key: %v %+v", err, key)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`
	aws("put-user-policy", "--user-name", "cli", "--policy-name", "invoke", "--policy-document", doc)
	var got struct {
		PolicyDocument map[string]any
	}
	if err := json.Unmarshal(aws("get-user-policy", "--user-name", "cli", "--policy-name", "invoke"), &got); err != nil || got.PolicyDocument["Version"] != "2012-10-17" {
		t.Errorf("get-user-policy: %v %+v", err, got)
	}
	var users struct {
		Users []struct{ UserName, Arn string }
	}
	if err := json.Unmarshal(aws("list-users"), &users); err != nil || len(users.Users) != 1 || users.Users[0].Arn != "arn:aws:iam::000000000000:user/cli" {
		t.Errorf("list-users: %v %+v", err, users)
	}
	var keys struct {
		AccessKeyMetadata []struct{ AccessKeyId string }
	}
	if err := json.Unmarshal(aws("list-access-keys", "--user-name", "cli"), &keys); err != nil || len(keys.AccessKeyMetadata) != 1 ||
		keys.AccessKeyMetadata[0].AccessKeyId != key.AccessKey.AccessKeyId {
		t.Errorf("list-access-keys: %v %+v", err, keys)
	}
	var pols struct{ PolicyNames []string }
	if err := json.Unmarshal(aws("list-user-policies", "--user-name", "cli"), &pols); err != nil || len(pols.PolicyNames) != 1 {
		t.Errorf("list-user-policies: %v %+v", err, pols)
	}

	id := createAPI(t, env.Client(), map[string]any{"name": "cli", "protocol": "REST",
		"authorizers": map[string]any{"sigv4": sigv4Scheme}, "routes": []any{mockRoute("GET", "/pets", "sigv4")}})
	cr := creds{ID: key.AccessKey.AccessKeyId, Secret: key.AccessKey.SecretAccessKey}
	expect(t, "the CLI's key", signedCall(t, cr, "GET", env.GatewayURL+"/"+id+"/dev/pets", ""), 200, "", "")

	aws("delete-access-key", "--user-name", "cli", "--access-key-id", key.AccessKey.AccessKeyId)
	aws("delete-user-policy", "--user-name", "cli", "--policy-name", "invoke")
	aws("delete-user", "--user-name", "cli")
	expect(t, "after delete-access-key", signedCall(t, cr, "GET", env.GatewayURL+"/"+id+"/dev/pets", ""), 403, "UnrecognizedClientException", "")
}

// TestIAMWebSocketConnect: an AWS_IAM $connect refuses an unsigned upgrade
// and admits one signed by a principal allowed .../$connect.
func TestIAMWebSocketConnect(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	id := createAPI(t, env.Client(), map[string]any{"name": "w", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"authorizers": map[string]any{"sigv4": sigv4Scheme},
		"routes": []any{
			map[string]any{"routeKey": "$connect", "security": []any{map[string]any{"sigv4": []any{}}}, "integration": map[string]any{"type": "MOCK"}},
			map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}},
		}})
	allowed := iamUser(t, env, "ws", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:`+id+`/*/$connect"}]}`)
	other := iamUser(t, env, "other", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:`+id+`/*/GET/*"}]}`)
	u := env.GatewayURL + "/" + id + "/dev"
	dial := func(c creds) (int, error) {
		req, _ := http.NewRequest("GET", u, nil)
		if c.ID != "" {
			sigv4test.Sign(t, req, c.Credentials(), sigv4test.EmptyHash, "execute-api", sigv4test.Region, time.Now())
		}
		req.Header.Del("Host")
		conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(u, "http"), req.Header)
		if conn != nil {
			conn.Close()
		}
		if resp == nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, err
	}
	if st, err := dial(creds{}); st != 403 {
		t.Errorf("unsigned $connect: %d %v", st, err)
	}
	if st, err := dial(other); st != 403 {
		t.Errorf("$connect by a caller allowed only GETs: %d %v", st, err)
	}
	if st, err := dial(allowed); st != 101 || err != nil {
		t.Errorf("signed $connect: %d %v", st, err)
	}
}

// TestIAMManageConnections: an IAM user whose policy allows
// execute-api:ManageConnections posts to a connection through @connections;
// one without it is refused.
func TestIAMManageConnections(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	id := createAPI(t, c, map[string]any{"name": "w", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"routes": []any{map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}}}})
	ops := iamUser(t, env, "ops", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"arn:aws:execute-api:*:*:`+id+`/dev/POST/@connections/*"}]}`)
	reader := iamUser(t, env, "reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`)
	conn, upgrade, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+id+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	upgrade.Body.Close()
	defer conn.Close()
	resp, err := c.Do(context.Background(), "GET", "/portico/v1/apis/"+id+"/stages/dev/connections", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			ConnectionID string `json:"connectionId"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("connections: %s %v", resp.Body, err)
	}
	u := env.GatewayURL + "/" + id + "/dev/@connections/" + url.PathEscape(list.Items[0].ConnectionID)
	if a := signedCall(t, reader, "POST", u, "nope"); a.status != 403 {
		t.Errorf("POST by a caller without ManageConnections: %d %s", a.status, a.body)
	}
	if a := signedCall(t, ops, "POST", u, "hello"); a.status != 200 {
		t.Fatalf("POST by a caller allowed ManageConnections: %d %s", a.status, a.body)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "hello" {
		t.Fatalf("the client got %q %v", msg, err)
	}
}

// TestIAMHTTPAPI: an AWS_IAM route of an HTTP API admits a signed caller its
// policy allows, whose identity reaches requestContext.authorizer.iam, and
// answers a caller it does not allow 403 {"message":"Forbidden"}.
func TestIAMHTTPAPI(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "echo", 5)
	id := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP", "authorizers": map[string]any{"sigv4": sigv4Scheme},
		"routes": []any{map[string]any{"method": "GET", "path": "/who", "security": []any{map[string]any{"sigv4": []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "payloadFormatVersion": "2.0"}}}})
	u := env.GatewayURL + "/" + id + "/dev/who"
	alice := iamUser(t, env, "alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:`+id+`/*"}]}`)
	bob := iamUser(t, env, "bob", "")
	a := signedCall(t, alice, "GET", u, "")
	var ev struct {
		RequestContext struct {
			Authorizer struct {
				IAM struct {
					AccessKey, AccountID, CallerID, UserArn, UserID string
				} `json:"iam"`
			} `json:"authorizer"`
		} `json:"requestContext"`
	}
	if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil {
		t.Fatalf("alice: %d %s", a.status, a.body)
	}
	if got := ev.RequestContext.Authorizer.IAM; got.UserArn != "arn:aws:iam::000000000000:user/alice" || got.AccessKey != alice.ID ||
		got.AccountID != "000000000000" || got.UserID == "" || got.CallerID != got.UserID {
		t.Errorf("requestContext.authorizer.iam: %+v", got)
	}
	expect(t, "bob", signedCall(t, bob, "GET", u, ""), 403, "AccessDeniedException", `{"message":"Forbidden"}`)
	expect(t, "unsigned", call(t, u), 403, "MissingAuthenticationTokenException", "")
}

// TestIAMCallerCredentials: an AWS_IAM method whose integration calls its
// function with the caller's credentials (credentials arn:aws:iam::*:user/*,
// SAM's default InvokeRole) runs only for a caller whose policies also allow
// lambda:InvokeFunction on the function (the qualified ARN for a qualified
// call); otherwise API Gateway's 500 API_CONFIGURATION_ERROR. Caller
// credentials on a method without AWS_IAM, or on an HTTP integration, are
// refused when the API is saved.
func TestIAMCallerCredentials(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "echo", 5)
	fnRoute := func(path, uri string) map[string]any {
		return map[string]any{"method": "GET", "path": path, "security": []any{map[string]any{"sigv4": []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "httpMethod": "POST", "uri": uri, "credentials": "arn:aws:iam::*:user/*"}}
	}
	id := createAPI(t, c, map[string]any{"name": "caller", "protocol": "REST",
		"authorizers": map[string]any{"sigv4": sigv4Scheme},
		"routes":      []any{fnRoute("/fn", "function:echo"), fnRoute("/latest", "function:echo:$LATEST")}})
	base := env.GatewayURL + "/" + id + "/dev"
	const invokeAPI = `{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}`
	carol := iamUser(t, env, "carol", `{"Version":"2012-10-17","Statement":[`+invokeAPI+`]}`)
	dave := iamUser(t, env, "dave", `{"Version":"2012-10-17","Statement":[`+invokeAPI+`,
		{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:function:echo"}]}`)
	erin := iamUser(t, env, "erin", `{"Version":"2012-10-17","Statement":[`+invokeAPI+`,
		{"Effect":"Allow","Action":"lambda:*","Resource":"*"},
		{"Effect":"Deny","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:*:*:function:echo*"}]}`)

	const internal = `{"message": "Internal server error"}`
	expect(t, "carol, execute-api:Invoke only", signedCall(t, carol, "GET", base+"/fn", ""), 500, "InternalServerErrorException", internal)
	if a := signedCall(t, dave, "GET", base+"/fn", ""); a.status != 200 || !strings.Contains(a.body, `"requestContext"`) {
		t.Errorf("dave, allowed to invoke echo: %d %s", a.status, a.body)
	}
	expect(t, "dave on a qualified call his unqualified ARN does not cover", signedCall(t, dave, "GET", base+"/latest", ""), 500, "InternalServerErrorException", internal)
	expect(t, "erin, lambda:* but an explicit deny", signedCall(t, erin, "GET", base+"/fn", ""), 500, "InternalServerErrorException", internal)
	expect(t, "unsigned", signedCall(t, creds{}, "GET", base+"/fn", ""), 403, "MissingAuthenticationTokenException", "")

	for name, route := range map[string]map[string]any{
		"no AWS_IAM": {"method": "GET", "path": "/x",
			"integration": map[string]any{"type": "AWS_PROXY", "httpMethod": "POST", "uri": "function:echo", "credentials": "arn:aws:iam::*:user/*"}},
		"HTTP_PROXY": {"method": "GET", "path": "/x", "security": []any{map[string]any{"sigv4": []any{}}},
			"integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "GET", "uri": "http://127.0.0.1:1/", "credentials": "arn:aws:iam::*:user/*"}},
	} {
		_, err := c.Do(context.Background(), "POST", "/portico/v1/apis", nil,
			map[string]any{"name": "bad", "protocol": "REST", "authorizers": map[string]any{"sigv4": sigv4Scheme}, "routes": []any{route}}, nil)
		if err == nil || !strings.Contains(err.Error(), "credentials") {
			t.Errorf("%s: caller credentials saved: %v", name, err)
		}
	}
}

// cacheWithSignedFlushes turns on stage dev's cache for every method of API id,
// with flushes (Cache-Control: max-age=0) only for callers allowed to
// invalidate, and 403 for the others.
func cacheWithSignedFlushes(t *testing.T, c *client.Client, id string) {
	t.Helper()
	patch := []map[string]string{
		{"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
		{"op": "replace", "path": "/*/*/caching/enabled", "value": "true"},
		{"op": "replace", "path": "/*/*/caching/requireAuthorizationForCacheControl", "value": "true"},
		{"op": "replace", "path": "/*/*/caching/unauthorizedCacheControlHeaderStrategy", "value": "FAIL_WITH_403"},
	}
	if _, err := c.Do(context.Background(), "PATCH", "/restapis/"+id+"/stages/dev", nil, map[string]any{"patchOperations": patch}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestIAMManageConnectionsByVerb: @connections checks
// execute-api:ManageConnections on {apiId}/{stage}/{METHOD}/@connections/{id}
// with the request's own method, as AWS names ManageConnections resources: a
// policy allowing GET alone describes a connection but neither posts to nor
// deletes it, and one allowing POST alone does not describe it.
func TestIAMManageConnectionsByVerb(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	id := createAPI(t, c, map[string]any{"name": "w", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"routes": []any{map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}}}})
	allow := func(user, verb string) creds {
		return iamUser(t, env, user, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"arn:aws:execute-api:us-east-1:000000000000:`+id+`/dev/`+verb+`/@connections/*"}]}`)
	}
	getter, poster, deleter := allow("getter", "GET"), allow("poster", "POST"), allow("deleter", "DELETE")
	conn, upgrade, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+id+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	upgrade.Body.Close()
	defer conn.Close()
	resp, err := c.Do(context.Background(), "GET", "/portico/v1/apis/"+id+"/stages/dev/connections", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			ConnectionID string `json:"connectionId"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("connections: %s %v", resp.Body, err)
	}
	u := env.GatewayURL + "/" + id + "/dev/@connections/" + url.PathEscape(list.Items[0].ConnectionID)
	const forbidden = `{"message":"Forbidden"}`
	expect(t, "GET allowed GET", signedCall(t, getter, "GET", u, ""), 200, "", "")
	expect(t, "POST allowed GET", signedCall(t, getter, "POST", u, "x"), 403, "ForbiddenException", forbidden)
	expect(t, "DELETE allowed GET", signedCall(t, getter, "DELETE", u, ""), 403, "ForbiddenException", forbidden)
	expect(t, "GET allowed POST", signedCall(t, poster, "GET", u, ""), 403, "ForbiddenException", forbidden)
	expect(t, "DELETE allowed POST", signedCall(t, poster, "DELETE", u, ""), 403, "ForbiddenException", forbidden)
	expect(t, "POST allowed POST", signedCall(t, poster, "POST", u, "hello"), 200, "", "")
	expect(t, "DELETE allowed DELETE", signedCall(t, deleter, "DELETE", u, ""), 204, "", "")
}

// TestIAMManageConnectionsTellsNothingUnallowed: @connections authorizes an
// IAM key against the call's ARN before it looks the connection up, so that a
// caller the policy does not allow learns nothing of which connections exist:
// 403 for a live connection and a made-up id alike, on another API, for a
// method not allowed, under an explicit Deny, and where the URL names no API;
// 410 only where the policy allows the call.
func TestIAMManageConnectionsTellsNothingUnallowed(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	ws := func(name string) string {
		return createAPI(t, c, map[string]any{"name": name, "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
			"routes": []any{map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}}}})
	}
	mine, other := ws("mine"), ws("other")
	ops := iamUser(t, env, "ops", `{"Version":"2012-10-17","Statement":[`+
		`{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"arn:aws:execute-api:*:*:`+mine+`/dev/GET/@connections/*"},`+
		`{"Effect":"Deny","Action":"execute-api:ManageConnections","Resource":"arn:aws:execute-api:*:*:`+mine+`/dev/GET/@connections/AAAA*"}]}`)
	conn, upgrade, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(env.GatewayURL, "http")+"/"+other+"/dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	upgrade.Body.Close()
	defer conn.Close()
	resp, err := c.Do(context.Background(), "GET", "/portico/v1/apis/"+other+"/stages/dev/connections", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct {
			ConnectionID string `json:"connectionId"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("connections: %s %v", resp.Body, err)
	}
	live := url.PathEscape(list.Items[0].ConnectionID)
	const forbidden = `{"message":"Forbidden"}`
	at := func(api, id string) string { return env.GatewayURL + "/" + api + "/dev/@connections/" + id }
	expect(t, "GET of another API's live connection", signedCall(t, ops, "GET", at(other, live), ""), 403, "ForbiddenException", forbidden)
	expect(t, "GET of another API's made-up id", signedCall(t, ops, "GET", at(other, "madeUpId0000000="), ""), 403, "ForbiddenException", forbidden)
	expect(t, "POST to a made-up id, POST allowed nowhere", signedCall(t, ops, "POST", at(mine, "madeUpId0000000="), "x"), 403, "ForbiddenException", forbidden)
	expect(t, "GET of a made-up id under a Deny", signedCall(t, ops, "GET", at(mine, "AAAAmadeUp00000="), ""), 403, "ForbiddenException", forbidden)
	expect(t, "GET of a live id where no API is named", signedCall(t, ops, "GET", env.GatewayURL+"/dev/@connections/"+live, ""), 403, "ForbiddenException", forbidden)
	expect(t, "GET of a made-up id where no API is named", signedCall(t, ops, "GET", env.GatewayURL+"/dev/@connections/madeUpId0000000=", ""), 403, "ForbiddenException", forbidden)
	expect(t, "GET of a made-up id, allowed", signedCall(t, ops, "GET", at(mine, "madeUpId0000000="), ""), 410, "GoneException", "")
}
