package admin

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// TestRepeatedAuthorizationRefused: a request that carries the Authorization
// header on two lines is refused 403 IncompleteSignatureException, whichever
// line holds the credential (the admin token as a bearer token, or a SigV4
// signature), as the gateway's AWS_IAM routes refuse it: the lines are one
// comma-joined value, which is neither. The admin API used to check the first
// line alone and serve the request.
func TestRepeatedAuthorizationRefused(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s, got := testServer(t, &logs)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	body := []byte(`{"a":1}`)
	bearer := func(lines ...string) *http.Request {
		req, err := http.NewRequest("POST", srv.URL+"/2015-03-31/functions/f/invocations", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			req.Header.Add("Authorization", l)
		}
		return req
	}
	sig := func(extra ...string) *http.Request {
		req := bearer()
		sigv4test.Sign(t, req, aws.Credentials{AccessKeyID: TokenAccessKeyID, SecretAccessKey: "tok"}, sigv4.HashHex(body), "lambda", sigv4test.Region, time.Now().UTC())
		for _, l := range extra {
			req.Header.Add("Authorization", l)
		}
		return req
	}
	cases := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"bearer once", bearer("Bearer tok"), http.StatusOK},
		{"signed once", sig(), http.StatusOK},
		{"bearer twice", bearer("Bearer tok", "Bearer tok"), http.StatusForbidden},
		{"bearer then junk", bearer("Bearer tok", "junk"), http.StatusForbidden},
		{"junk then bearer", bearer("junk", "Bearer tok"), http.StatusForbidden},
		{"signed then junk", sig("junk"), http.StatusForbidden},
		{"signed then bearer", sig("Bearer tok"), http.StatusForbidden},
	}
	for _, tc := range cases {
		*got = nil
		resp, err := http.DefaultClient.Do(tc.req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, b, tc.want)
			continue
		}
		if tc.want == http.StatusOK {
			continue
		}
		if typ := resp.Header.Get("x-amzn-ErrorType"); typ != "IncompleteSignatureException" {
			t.Errorf("%s: x-amzn-ErrorType %q, want IncompleteSignatureException (%s)", tc.name, typ, b)
		}
		if !strings.Contains(string(b), "Authorization header is sent 2 times") {
			t.Errorf("%s: %s does not say the header is sent twice", tc.name, b)
		}
		if *got != nil {
			t.Errorf("%s: the route ran", tc.name)
		}
	}
}
