package auth_test

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// TestIAMRawSemicolonQuery: a SigV4 signature covers the query as the client
// sent it; AWS's canonical query splits it at '&' only and URI-encodes each
// name and value, so a raw ';' is signed as %3B. The gateway splits the
// request's parameters at a raw ';' (TestSemicolonSplitsQuery) before its
// authorizers run, and verified the signature over the split query: a request
// whose query held a raw ';' (curl --aws-sigv4 sends it as written) failed
// with InvalidSignatureException. SDKs send %3B, which verified all along.
func TestIAMRawSemicolonQuery(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	id := createAPI(t, c, map[string]any{"name": "semi", "protocol": "REST",
		"authorizers": map[string]any{"sigv4": sigv4Scheme},
		"routes": []any{map[string]any{"method": "GET", "path": "/pets", "security": []any{map[string]any{"sigv4": []any{}}},
			"integration": map[string]any{"type": "MOCK", "requestTemplates": map[string]any{"application/json": `{"statusCode": 200}`},
				"responses": map[string]any{"default": map[string]any{"statusCode": "200",
					"responseTemplates": map[string]any{"application/json": `a=$input.params('a') b=$input.params('b') c=$input.params('c')`}}}}}}})
	base := env.GatewayURL + "/" + id + "/dev/pets"
	alice := iamUser(t, env, "alice", `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:`+id+`/*/*/*"}]}`)

	// The SDK v2 signer sends a ';' in a value as %3B: one parameter.
	expect(t, "SDK, %3B", signedCall(t, alice, "GET", base+"?a=1%3Bb%3D2&c=3", ""), 200, "", "a=1;b=2 b= c=3")

	// The same signature over the query sent with the ';' raw, as a proxy
	// or a client that does not re-encode the query sends it: AWS's
	// canonical query of both is a=1%3Bb%3D2&c=3.
	req, _ := http.NewRequest("GET", base+"?a=1%3Bb%3D2&c=3", nil)
	sigv4test.SignNow(t, req, alice.Credentials(), nil, "execute-api")
	req.URL.RawQuery = strings.ReplaceAll(req.URL.RawQuery, "%3B", ";")
	req.URL.RawQuery = strings.ReplaceAll(req.URL.RawQuery, "%3D", "=")
	if req.URL.RawQuery != "a=1;b=2&c=3" {
		t.Fatalf("the SDK sent the query %q; the test expects a=1%%3Bb%%3D2&c=3", req.URL.RawQuery)
	}
	expect(t, "SDK signature, raw ;", do(t, req), 200, "", "a=1 b=2 c=3")

	// curl --aws-sigv4 sends the URL's query as written. Releases without
	// the fix for curl issue 9717 (7.88 among them) also sign it as written,
	// unsorted and unencoded, which AWS refuses unless that is already the
	// canonical query.
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	curlGet := func(query string) string {
		out, err := exec.CommandContext(t.Context(), curl, "-sS", "-w", " %{http_code}", "--aws-sigv4", "aws:amz:us-east-1:execute-api",
			"--user", alice.ID+":"+alice.Secret, base+"?"+query).CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v %s", err, out)
		}
		return string(out)
	}
	if got := curlGet("a=1%3Bb%3D2&c=3"); got != "a=1;b=2 b= c=3 200" {
		t.Errorf("curl --aws-sigv4 with %%3B: %q", got)
	}
	got := curlGet("a=1;b=2&c=3")
	if canonicalizes := strings.HasSuffix(curlGet("c=3&a=1"), " 200"); canonicalizes {
		if got != "a=1 b=2 c=3 200" {
			t.Errorf("curl --aws-sigv4 with a raw ';': %q, want \"a=1 b=2 c=3 200\"", got)
		}
	} else if !strings.HasSuffix(got, " 403") {
		t.Errorf("curl --aws-sigv4 that signs its query as written, with a raw ';': %q; want 403 as AWS answers it", got)
	} else {
		t.Logf("this curl signs the query as written (curl issue 9717): a raw ';' is refused, as AWS refuses it")
	}
}
