package sigv4

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// FuzzSDKSignedVerifies: whatever request the AWS SDK for Go v2's signer signs
// (any method, path, query parameters, extra header and body), replayed as the
// server receives it, verifies; the same request with its body, a query value
// or the header changed does not. A request that cannot go on the wire is
// skipped.
func FuzzSDKSignedVerifies(f *testing.F) {
	f.Add("GET", "/", "", "", "X-Custom", "v", []byte(nil))
	f.Add("POST", "/prod/@connections/abc=", "a", "b c", "X-Amz-Meta", "  two  spaces ", []byte(`{"x":1}`))
	f.Add("PUT", "/a b/ü/%2F", "k=v", "ü", "X-Thing", "a\tb", []byte("body"))
	f.Add("DELETE", "//double//slash/", "", "", "Content-Md5", "x", []byte{0, 1, 2})
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	v := &Verifier{Secret: lookup, Service: "execute-api", Region: "us-east-1", Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, method, path, qk, qv, hk, hv string, body []byte) {
		u := &url.URL{Scheme: "http", Host: "gw.example:8080", Path: "/" + strings.TrimPrefix(path, "/")}
		if qk != "" {
			u.RawQuery = url.Values{qk: {qv}}.Encode()
		}
		req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		if hk != "" {
			req.Header.Set(hk, hv)
		}
		creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, HashHex(body), "execute-api", "us-east-1", now); err != nil {
			return
		}
		var buf bytes.Buffer
		if err := req.Write(&buf); err != nil {
			return // not a valid request on the wire (method, header)
		}
		wire := buf.Bytes()
		srv, err := http.ReadRequest(bufioReader(bytes.NewReader(wire)))
		if err != nil {
			return
		}
		if srv.Header.Get(hk) != req.Header.Get(hk) {
			return // the wire changed the header (net/http trims what it writes): not what was signed
		}
		if _, err := v.Verify(srv, body); err != nil {
			t.Fatalf("the SDK signed %s %q (query %q, %s: %q), and Verify refused it: %v\n%s", method, u.Path, u.RawQuery, hk, hv, err, wire)
		}
		if _, err := v.Verify(srv, append(bytes.Clone(body), 'x')); !errors.Is(err, ErrMismatch) {
			t.Fatalf("a longer body: %v, want a mismatch", err)
		}
		if hk != "" && srv.Header.Get(hk) != "" && !ignoredBySigner(hk) {
			srv.Header.Set(hk, srv.Header.Get(hk)+"x")
			if _, err := v.Verify(srv, body); !errors.Is(err, ErrMismatch) {
				t.Fatalf("header %s changed: %v, want a mismatch", hk, err)
			}
		}
	})
}

// ignoredBySigner reports whether the SDK's signer leaves header h unsigned.
func ignoredBySigner(h string) bool {
	switch http.CanonicalHeaderKey(h) {
	case "Authorization", "User-Agent", "X-Amzn-Trace-Id", "Expect", "Transfer-Encoding", "Content-Length", "Host", "X-Amz-Date", "X-Amz-Content-Sha256":
		return true
	}
	return false
}

// FuzzCheck: any Authorization header, date and query string get an answer
// (an error or a pending signature), never a panic.
func FuzzCheck(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa0", "20150830T123600Z", "")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=/, SignedHeaders=, Signature=", "x", "a=%zz&&=")
	v := &Verifier{Secret: lookup, Now: func() time.Time { return time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC) }}
	f.Fuzz(func(t *testing.T, auth, date, query string) {
		r, err := http.NewRequest("GET", "http://example.amazonaws.com/", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.URL.RawQuery = query
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		if p, err := v.Check(r); err == nil {
			_ = p.VerifyBody(nil)
		}
	})
}
