package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKey    = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

func lookup(id string) (string, bool) {
	if id == testKey {
		return testSecret, true
	}
	return "", false
}

// TestVanilla checks the get-vanilla case of AWS's SigV4 test suite.
func TestVanilla(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.amazonaws.com/", nil)
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	v := &Verifier{Secret: lookup, Now: func() time.Time { return time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC) }}
	if _, err := v.Verify(r, nil); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// sdkSigned returns a server-side request equal to what the AWS SDK for Go v2's
// signer signed.
func sdkSigned(t *testing.T, method, url string, body []byte, secret string, at time.Time, mutate func(*http.Request)) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Amz-Sdk-Invocation-Id", "c0ffee")
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, HashHex(body), "execute-api", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(req)
	}
	// Replay it as the server receives it.
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	srv, err := http.ReadRequest(bufioReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestVerifySDKSigned(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	v := &Verifier{Secret: lookup, Service: "execute-api", Now: func() time.Time { return now }}
	body := []byte("hello, world")
	cases := []struct {
		name    string
		url     string
		secret  string
		at      time.Time
		body    []byte // as received, when different
		mutate  func(*http.Request)
		wantErr error
	}{
		{name: "ok", url: "http://127.0.0.1:8080/dev/@connections/L0SM9cOFvHcCIhw_", secret: testSecret, at: now},
		{name: "ok with query", url: "http://127.0.0.1:8080/dev/@connections/abc?b=2&a=1&a=0", secret: testSecret, at: now},
		{name: "ok escaped path", url: "http://h/dev/%40connections/a%2Bb", secret: testSecret, at: now},
		{name: "wrong secret", url: "http://h/dev/@connections/x", secret: "nope", at: now, wantErr: ErrMismatch},
		{name: "tampered body", url: "http://h/dev/@connections/x", secret: testSecret, at: now, body: []byte("hello, World"), wantErr: ErrMismatch},
		{name: "tampered path", url: "http://h/dev/@connections/x", secret: testSecret, at: now,
			mutate: func(r *http.Request) { r.URL.Path = "/dev/@connections/y" }, wantErr: ErrMismatch},
		{name: "tampered header", url: "http://h/dev/@connections/x", secret: testSecret, at: now,
			mutate: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, wantErr: ErrMismatch},
		{name: "a session token with a long-term key", url: "http://h/dev/@connections/x", secret: testSecret, at: now,
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "made-up") }, wantErr: ErrUnknownKey},
		{name: "old", url: "http://h/dev/@connections/x", secret: testSecret, at: now.Add(-20 * time.Minute), wantErr: ErrExpired},
		{name: "unsigned", url: "http://h/dev/@connections/x", secret: testSecret, at: now,
			mutate: func(r *http.Request) { r.Header.Del("Authorization") }, wantErr: ErrMissing},
		{name: "bearer", url: "http://h/dev/@connections/x", secret: testSecret, at: now,
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, wantErr: ErrMissing},
		{name: "garbage", url: "http://h/dev/@connections/x", secret: testSecret, at: now,
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x") }, wantErr: ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sdkSigned(t, "POST", c.url, body, c.secret, c.at, c.mutate)
			got := body
			if c.body != nil {
				got = c.body
			}
			cred, err := v.Verify(r, got)
			if c.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if cred.AccessKeyID != testKey || cred.Service != "execute-api" || cred.Region != "us-east-1" {
					t.Fatalf("credential = %+v", cred)
				}
				return
			}
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, c.wantErr)
			}
		})
	}
}

func TestUnknownKeyAndService(t *testing.T) {
	now := time.Now().UTC()
	r := sdkSigned(t, "GET", "http://h/dev/@connections/x", nil, testSecret, now, nil)
	v := &Verifier{Secret: func(string) (string, bool) { return "", false }}
	if _, err := v.Verify(r, nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	v = &Verifier{Secret: lookup, Service: "lambda"}
	var scope *ScopeError
	if _, err := v.Verify(r, nil); !errors.Is(err, ErrMismatch) || !errors.As(err, &scope) ||
		scope.Message() != "Credential should be scoped to correct service: 'lambda'. " {
		t.Fatalf("other service: %v", err)
	}
}

// TestRegionChecked: a signature scoped to another region than the
// verifier's is refused before the key is looked up, naming the region as
// AWS does; the verifier's own region and a verifier without one admit it.
func TestRegionChecked(t *testing.T) {
	now := time.Now().UTC()
	r := sdkSigned(t, "GET", "http://h/dev/@connections/x", nil, testSecret, now, nil) // us-east-1
	looked := false
	v := &Verifier{Region: "eu-west-1", Service: "execute-api", Secret: func(id string) (string, bool) { looked = true; return lookup(id) }}
	_, err := v.Verify(r, nil)
	var scope *ScopeError
	if !errors.Is(err, ErrMismatch) || !errors.As(err, &scope) || looked ||
		scope.Message() != "Credential should be scoped to a valid region, not 'us-east-1'. " {
		t.Fatalf("other region: %v (key looked up: %v)", err, looked)
	}
	for _, region := range []string{"us-east-1", ""} {
		v := &Verifier{Region: region, Service: "execute-api", Secret: lookup}
		if _, err := v.Verify(r, nil); err != nil {
			t.Errorf("region %q: %v", region, err)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	if got, want := CanonicalQuery("b=2&a=x%20y&a=1&c"), "a=1&a=x%20y&b=2&c="; got != want {
		t.Fatalf("CanonicalQuery = %q, want %q", got, want)
	}
	if got, want := CanonicalURI("/dev/@connections/a%2Bb"), "/dev/%40connections/a%252Bb"; got != want {
		t.Fatalf("CanonicalURI = %q, want %q", got, want)
	}
}

// TestPresigned checks query-string signatures made by the SDK's PresignHTTP:
// accepted within X-Amz-Expires, refused after it or when tampered with.
func TestPresigned(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	presign := func(secret, url string) *http.Request {
		req, _ := http.NewRequest("GET", url, nil)
		q := req.URL.Query()
		q.Set("X-Amz-Expires", "300")
		req.URL.RawQuery = q.Encode()
		creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: secret}
		signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, HashHex(nil), "execute-api", "us-east-1", now)
		if err != nil {
			t.Fatal(err)
		}
		return httptest.NewRequest("GET", signed, nil)
	}
	at := func(d time.Duration) *Verifier {
		return &Verifier{Secret: lookup, Service: "execute-api", Now: func() time.Time { return now.Add(d) }}
	}
	if _, err := at(time.Minute).Verify(presign(testSecret, "http://h/dev/pets?type=dog"), nil); err != nil {
		t.Fatalf("presigned: %v", err)
	}
	if _, err := at(6*time.Minute).Verify(presign(testSecret, "http://h/dev/pets"), nil); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired presigned URL: %v", err)
	}
	if _, err := at(0).Verify(presign("wrong", "http://h/dev/pets"), nil); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong secret: %v", err)
	}
	r := presign(testSecret, "http://h/dev/pets")
	r.URL.Path = "/dev/cats"
	r.RequestURI = ""
	if _, err := at(0).Verify(r, nil); !errors.Is(err, ErrMismatch) {
		t.Fatalf("tampered path: %v", err)
	}
}

// TestCheckBeforeBody checks that a declared payload hash lets the signature be
// verified before the body is read, and that the body is then held to it.
func TestCheckBeforeBody(t *testing.T) {
	now := time.Now().UTC()
	body := []byte("a body")
	r := sdkSigned(t, "POST", "http://h/x", body, testSecret, now, func(r *http.Request) {})
	v := &Verifier{Secret: lookup}
	p, err := v.Check(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.VerifyHash(HashHex(body)); err != nil {
		t.Fatalf("VerifyHash: %v", err)
	}
	if _, err := io.ReadAll(HashingReader(bytes.NewReader(body), HashHex(body))); err != nil {
		t.Fatalf("matching body: %v", err)
	}
	if _, err := io.ReadAll(HashingReader(bytes.NewReader([]byte("other")), HashHex(body))); !errors.Is(err, ErrMismatch) {
		t.Fatalf("other body: %v", err)
	}
	v = &Verifier{Secret: func(string) (string, bool) { return "", false }}
	if _, err := v.Check(r); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
}

// TestDateErrorMessages: a date out of the window is worded as AWS words it:
// "expired" for the past, "not yet current" for the future, and a presigned
// URL past its X-Amz-Expires says until when it was valid.
func TestDateErrorMessages(t *testing.T) {
	now := time.Date(2026, 12, 3, 20, 42, 13, 0, time.UTC)
	for _, tc := range []struct {
		err  DateError
		want string
	}{
		{DateError{Date: "20261203T203213Z", Now: now, Skew: 5 * time.Minute},
			"Signature expired: 20261203T203213Z is now earlier than 20261203T203713Z (20261203T204213Z - 5 min.)"},
		{DateError{Date: "20261203T204813Z", Now: now, Skew: 5 * time.Minute},
			"Signature not yet current: 20261203T204813Z is still later than 20261203T204713Z (20261203T204213Z + 5 min.)"},
		{DateError{Date: "20261203T204013Z", Now: now, Skew: 5 * time.Minute, Expires: time.Minute},
			"Signature expired: the presigned URL signed at 20261203T204013Z was valid for 60 seconds (X-Amz-Expires), until 20261203T204113Z; it is now 20261203T204213Z"},
	} {
		if got := tc.err.Message(); got != tc.want {
			t.Errorf("Message() = %q\nwant        %q", got, tc.want)
		}
		if !errors.Is(&tc.err, ErrExpired) {
			t.Errorf("%v does not wrap ErrExpired", &tc.err)
		}
	}
}

// TestOneAuthorization: Check refuses a request whose Authorization header
// comes on two lines, the signed one first or second, as incomplete (the
// lines are one comma-joined value); one line passes OneAuthorization.
func TestOneAuthorization(t *testing.T) {
	if err := OneAuthorization(http.Header{"Authorization": {"Bearer x"}}); err != nil {
		t.Fatalf("one line: %v", err)
	}
	if err := OneAuthorization(http.Header{}); err != nil {
		t.Fatalf("no line: %v", err)
	}
	for _, lines := range [][]string{{"AWS4-HMAC-SHA256 Credential=a/20240101/us-east-1/s/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64), "junk"},
		{"junk", "AWS4-HMAC-SHA256 Credential=a/20240101/us-east-1/s/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("0", 64)}} {
		r := httptest.NewRequest("GET", "http://h/", nil)
		r.Header["Authorization"] = lines
		v := Verifier{Secret: func(string) (string, bool) { return "s", true }}
		_, err := v.Check(r)
		var inc *IncompleteError
		if !errors.As(err, &inc) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: Check = %v, want an IncompleteError", lines, err)
		}
	}
}
