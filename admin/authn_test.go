package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

// countingBody counts the bytes a server reads of a body.
type countingBody struct {
	r io.Reader
	n int
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

func (c *countingBody) Close() error { return nil }

func testServer(t *testing.T, logs *bytes.Buffer) (*Server, *[]byte) {
	t.Helper()
	s := &Server{cfg: Config{Token: "tok"}, log: slog.New(slog.NewTextHandler(logs, nil)), mux: http.NewServeMux(), stopping: make(chan struct{})}
	var got []byte
	s.Handle("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return errors.New("read: " + err.Error())
		}
		got = b
		w.WriteHeader(http.StatusOK)
		return nil
	})
	s.Handle("GET /boom", func(http.ResponseWriter, *http.Request) error {
		return errors.New("open /var/lib/portico/secret.db: permission denied")
	})
	return s, &got
}

func signed(t *testing.T, id, secret string, body []byte, at time.Time, declareHash bool) *http.Request {
	t.Helper()
	req := httptest.NewRequest("POST", "http://127.0.0.1:9090/2015-03-31/functions/f/invocations", bytes.NewReader(body))
	hash := sigv4.HashHex(body)
	if declareHash {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	sigv4test.Sign(t, req, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, hash, "lambda", sigv4test.Region, at)
	return req
}

// TestAuthenticateBeforeBody checks that the admin API decides on a signature's
// key, scope and date before reading any of the body, reads at most the route's
// limit, and holds a streamed body to its declared hash.
func TestAuthenticateBeforeBody(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	body := []byte(`{"hello":"world"}`)
	cases := []struct {
		name       string
		req        *http.Request
		want       int
		maxRead    int
		handlerGot string
	}{
		{name: "unknown key", req: signed(t, "someone", "tok", body, now, false), want: 403, maxRead: 0},
		{name: "stale date", req: signed(t, TokenAccessKeyID, "tok", body, now.Add(-time.Hour), false), want: 403, maxRead: 0},
		{name: "wrong secret", req: signed(t, TokenAccessKeyID, "nope", body, now, false), want: 403, maxRead: len(body)},
		{name: "good", req: signed(t, TokenAccessKeyID, "tok", body, now, false), want: 200, maxRead: len(body), handlerGot: string(body)},
		{name: "declared hash, wrong secret", req: signed(t, TokenAccessKeyID, "nope", body, now, true), want: 403, maxRead: 0},
		{name: "declared hash", req: signed(t, TokenAccessKeyID, "tok", body, now, true), want: 200, maxRead: len(body), handlerGot: string(body)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, got := testServer(t, &bytes.Buffer{})
			cb := &countingBody{r: c.req.Body}
			c.req.Body = cb
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, c.req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
			if cb.n > c.maxRead {
				t.Fatalf("read %d bytes of the body, want at most %d", cb.n, c.maxRead)
			}
			if string(*got) != c.handlerGot {
				t.Fatalf("handler got %q, want %q", *got, c.handlerGot)
			}
		})
	}

	t.Run("over the route's limit", func(t *testing.T) {
		s, _ := testServer(t, &bytes.Buffer{})
		big := bytes.Repeat([]byte("x"), maxInvokeBody+100)
		req := signed(t, TokenAccessKeyID, "tok", big, now, false)
		cb := &countingBody{r: req.Body}
		req.Body = cb
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || cb.n > maxInvokeBody+1 {
			t.Fatalf("status %d after reading %d bytes, want 413 within %d", rec.Code, cb.n, maxInvokeBody+1)
		}
	})

	t.Run("body differs from declared hash", func(t *testing.T) {
		s, got := testServer(t, &bytes.Buffer{})
		req := signed(t, TokenAccessKeyID, "tok", body, now, true)
		req.Body = io.NopCloser(strings.NewReader(`{"hello":"WORLD"}`))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK || len(*got) != 0 {
			t.Fatalf("tampered streamed body: status %d, handler got %q", rec.Code, *got)
		}
	})
}

// TestServerErrorsAreGeneric checks that a 5xx body says AWS's generic message
// while the detail goes to the log with the request id.
func TestServerErrorsAreGeneric(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s, _ := testServer(t, &logs)
	req := httptest.NewRequest("GET", "/boom", nil)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rec.Body.String(), "secret.db") || body["Message"] != "The AWS Lambda service encountered an internal error." {
		t.Fatalf("5xx body leaks or is not generic: %s", rec.Body)
	}
	id := rec.Header().Get("X-Amzn-RequestId")
	if !strings.Contains(logs.String(), id) || !strings.Contains(logs.String(), "secret.db") {
		t.Fatalf("log lacks the request id %s or the detail: %s", id, logs.String())
	}
}

// TestSignatureScope checks that the admin API refuses a signature scoped to
// another region or to another surface's service, as AWS does: 403 with
// InvalidSignatureException (SignatureDoesNotMatch in IAM's XML) and AWS's
// message, and takes the right scope on every surface.
func TestSignatureScope(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, &bytes.Buffer{})
	ok := func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(http.StatusOK); return nil }
	s.HandleAPIGateway("GET /restapis", ok)
	s.mux.HandleFunc(iamPattern, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	s.Handle("GET /portico/v1/stats", ok)
	send := func(method, path, service, region string) *httptest.ResponseRecorder {
		t.Helper()
		var body []byte
		if method == http.MethodPost {
			body = []byte("Action=ListUsers&Version=2010-05-08")
		}
		req := httptest.NewRequest(method, "http://127.0.0.1:9090"+path, bytes.NewReader(body))
		sigv4test.Sign(t, req, aws.Credentials{AccessKeyID: TokenAccessKeyID, SecretAccessKey: "tok"}, sigv4.HashHex(body), service, region, time.Now())
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	const (
		badRegion = "Credential should be scoped to a valid region, not 'eu-west-1'. "
		invoke    = "/2015-03-31/functions/f/invocations"
	)
	cases := []struct {
		name, method, path, service, region string
		wantType, wantMessage               string // "" = accepted
	}{
		{"lambda", http.MethodPost, invoke, "lambda", "us-east-1", "", ""},
		{"lambda, other region", http.MethodPost, invoke, "lambda", "eu-west-1", "InvalidSignatureException", badRegion},
		{"lambda, other service", http.MethodPost, invoke, "apigateway", "us-east-1", "InvalidSignatureException",
			"Credential should be scoped to correct service: 'lambda'. "},
		{"apigateway", http.MethodGet, "/restapis", "apigateway", "us-east-1", "", ""},
		{"apigateway, other region", http.MethodGet, "/restapis", "apigateway", "eu-west-1", "InvalidSignatureException", badRegion},
		{"apigateway, signed for execute-api", http.MethodGet, "/restapis", "execute-api", "us-east-1", "InvalidSignatureException",
			"Credential should be scoped to correct service: 'apigateway'. "},
		{"iam", http.MethodPost, "/", "iam", "us-east-1", "", ""},
		{"iam, other region", http.MethodPost, "/", "iam", "eu-west-1", "SignatureDoesNotMatch", badRegion},
		{"iam, other service", http.MethodPost, "/", "lambda", "us-east-1", "SignatureDoesNotMatch",
			"Credential should be scoped to correct service: 'iam'. "},
		{"portico's own route, any service", http.MethodGet, "/portico/v1/stats", "lambda", "us-east-1", "", ""},
		{"portico's own route, other region", http.MethodGet, "/portico/v1/stats", "lambda", "eu-west-1", "InvalidSignatureException", badRegion},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := send(c.method, c.path, c.service, c.region)
			if c.wantType == "" {
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
				}
				return
			}
			if rec.Code != http.StatusForbidden || rec.Header().Get("x-amzn-ErrorType") != c.wantType {
				t.Fatalf("status %d, type %q, want 403 %s: %s", rec.Code, rec.Header().Get("x-amzn-ErrorType"), c.wantType, rec.Body)
			}
			var msg string
			if c.path == "/" {
				var x struct {
					Code    string `xml:"Error>Code"`
					Message string `xml:"Error>Message"`
				}
				if err := xml.Unmarshal(rec.Body.Bytes(), &x); err != nil || x.Code != c.wantType {
					t.Fatalf("IAM error body %s: %v", rec.Body, err)
				}
				msg = x.Message
			} else {
				var b map[string]string
				if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
					t.Fatal(err)
				}
				msg = b["message"]
			}
			if msg != c.wantMessage {
				t.Fatalf("message %q, want %q", msg, c.wantMessage)
			}
		})
	}
}

// TestSignatureErrors checks the admin API's answers to SigV4 signatures that
// fail, on a fixed clock: a date more than 5 minutes off (15 for IAM) is
// refused as Lambda refuses it ("Signature expired: ... - 5 min."), and a
// wrong secret, an unknown key, a body changed after signing and a signature
// that leaves host out each get AWS's error type, not a generic one.
func TestSignatureErrors(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"hello":"world"}`)
	type check struct {
		status            int
		typ, msg, msgPart string
	}
	expired := func(at time.Time) check {
		return check{403, "InvalidSignatureException", "", "Signature expired: " + at.Format("20060102T150405Z") +
			" is now earlier than 20260304T115500Z (20260304T120000Z - 5 min.)"}
	}
	cases := []struct {
		name string
		req  func() *http.Request
		want check
	}{
		{"4 minutes old", func() *http.Request { return signed(t, TokenAccessKeyID, "tok", body, now.Add(-4*time.Minute), false) },
			check{status: 200}},
		{"6 minutes old", func() *http.Request { return signed(t, TokenAccessKeyID, "tok", body, now.Add(-6*time.Minute), false) },
			expired(now.Add(-6 * time.Minute))},
		{"6 minutes old, hash declared", func() *http.Request { return signed(t, TokenAccessKeyID, "tok", body, now.Add(-6*time.Minute), true) },
			expired(now.Add(-6 * time.Minute))},
		{"6 minutes ahead", func() *http.Request { return signed(t, TokenAccessKeyID, "tok", body, now.Add(6*time.Minute), false) },
			check{403, "InvalidSignatureException", "", "Signature not yet current: 20260304T120600Z is still later than 20260304T120500Z (20260304T120000Z + 5 min.)"}},
		{"wrong secret", func() *http.Request { return signed(t, TokenAccessKeyID, "nope", body, now, false) },
			check{403, "InvalidSignatureException", msgSignatureMismatch, ""}},
		{"unknown key", func() *http.Request { return signed(t, "AKIDEXAMPLE", "tok", body, now, false) },
			check{403, "UnrecognizedClientException", msgUnknownKey, ""}},
		{"body changed after signing", func() *http.Request {
			req := signed(t, TokenAccessKeyID, "tok", body, now, false)
			req.Body = io.NopCloser(strings.NewReader(`{"hello":"WORLD"}`))
			return req
		}, check{403, "InvalidSignatureException", msgSignatureMismatch, ""}},
		{"host not signed", func() *http.Request {
			req := signed(t, TokenAccessKeyID, "tok", body, now, false)
			a := req.Header.Get("Authorization")
			if !strings.Contains(a, ";host;") {
				t.Fatalf("signed headers of %s", a)
			}
			req.Header.Set("Authorization", strings.Replace(a, ";host;", ";", 1))
			return req
		}, check{403, "IncompleteSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", ""}},
		{"unsigned payload", func() *http.Request {
			req := httptest.NewRequest("POST", "http://127.0.0.1:9090/2015-03-31/functions/f/invocations", bytes.NewReader(body))
			req.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
			sigv4test.Sign(t, req, aws.Credentials{AccessKeyID: TokenAccessKeyID, SecretAccessKey: "tok"}, sigv4.UnsignedPayload, "lambda", sigv4test.Region, now)
			req.Body = io.NopCloser(strings.NewReader(`{"hello":"swapped on the way"}`))
			return req
		}, check{403, "InvalidSignatureException", msgSignatureMismatch + " This API does not take X-Amz-Content-Sha256: UNSIGNED-PAYLOAD: sign the SHA-256 of the body.", ""}},
		{"header case and spacing", func() *http.Request {
			req := httptest.NewRequest("POST", "http://127.0.0.1:9090/2015-03-31/functions/f/invocations", bytes.NewReader(body))
			req.Header.Set("X-Custom", "a   b")
			creds := aws.Credentials{AccessKeyID: TokenAccessKeyID, SecretAccessKey: "tok"}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sigv4.HashHex(body), "lambda", "us-east-1", now); err != nil {
				t.Fatal(err)
			}
			req.Header["x-custom"] = []string{"  a b  "} // same canonical value, other spelling
			return req
		}, check{status: 200}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := testServer(t, &bytes.Buffer{})
			s.now = func() time.Time { return now }
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, c.req())
			if rec.Code != c.want.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.want.status, rec.Body)
			}
			if c.want.status == http.StatusOK {
				return
			}
			var b map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			if typ := rec.Header().Get("x-amzn-ErrorType"); typ != c.want.typ {
				t.Fatalf("type %q, want %q: %s", typ, c.want.typ, rec.Body)
			}
			if c.want.msg != "" && b["message"] != c.want.msg || !strings.Contains(b["message"], c.want.msgPart) {
				t.Fatalf("message %q, want %q", b["message"], c.want.msg+c.want.msgPart)
			}
		})
	}

	t.Run("IAM allows 15 minutes", func(t *testing.T) {
		s, _ := testServer(t, &bytes.Buffer{})
		s.now = func() time.Time { return now }
		s.mux.HandleFunc(iamPattern, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		for _, c := range []struct {
			age  time.Duration
			want int
		}{{10 * time.Minute, 200}, {16 * time.Minute, 403}} {
			form := []byte("Action=ListUsers&Version=2010-05-08")
			req := httptest.NewRequest("POST", "http://127.0.0.1:9090/", bytes.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			creds := aws.Credentials{AccessKeyID: TokenAccessKeyID, SecretAccessKey: "tok"}
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sigv4.HashHex(form), "iam", "us-east-1", now.Add(-c.age)); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != c.want || c.want == 403 && !strings.Contains(rec.Body.String(), "<Code>SignatureDoesNotMatch</Code>") {
				t.Fatalf("signed %s ago: status %d, want %d: %s", c.age, rec.Code, c.want, rec.Body)
			}
		}
	})
}
