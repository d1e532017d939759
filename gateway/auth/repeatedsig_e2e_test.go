package auth_test

import (
	"net/http"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// TestIAMRepeatedAuthorizationRefused: a request signed by the AWS SDK for Go
// v2 signer with a second, unsigned Authorization header line after the
// signed one is refused on REST and HTTP APIs alike, as an Authorization
// header that is not a SigV4 signature (the lines are one comma-joined
// value), as a JWT route refuses a repeated Authorization. An HTTP API used to
// admit it and hand the integration the signed value joined with the junk;
// REST admitted it and dropped the extra line.
func TestIAMRepeatedAuthorizationRefused(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "echo", 5)
	route := map[string]any{"method": "GET", "path": "/who", "security": []any{map[string]any{"sigv4": []any{}}},
		"integration": map[string]any{"type": "AWS_PROXY", "httpMethod": "POST", "uri": "function:echo"}}
	rest := createAPI(t, c, map[string]any{"name": "r", "protocol": "REST", "authorizers": map[string]any{"sigv4": sigv4Scheme}, "routes": []any{route}})
	httpAPI := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP", "authorizers": map[string]any{"sigv4": sigv4Scheme}, "routes": []any{route}})
	alice := iamUser(t, env, "alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`)
	for name, id := range map[string]string{"REST": rest, "HTTP": httpAPI} {
		u := env.GatewayURL + "/" + id + "/dev/who"
		expect(t, name+" signed once", signedCall(t, alice, "GET", u, ""), 200, "", "")
		req, _ := http.NewRequest("GET", u, nil)
		sigv4test.SignNow(t, req, alice.Credentials(), nil, "execute-api")
		req.Header.Add("Authorization", "junk")
		expect(t, name+" with a second Authorization line", do(t, req), 403, "IncompleteSignatureException", "")
		req, _ = http.NewRequest("GET", u, nil)
		req.Header.Add("Authorization", "junk")
		sigv4test.SignNow(t, req, alice.Credentials(), nil, "execute-api")
		if len(req.Header.Values("Authorization")) == 2 {
			expect(t, name+" with an Authorization line before the signed one", do(t, req), 403, "IncompleteSignatureException", "")
		}
	}
}
