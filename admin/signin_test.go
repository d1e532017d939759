package admin

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestFailedSignInsLimited checks that failed sign-ins are limited per client
// address, on a fixed clock: after failedSignInBurst failures every attempt
// from the address, the right token included, is 429 with Retry-After and a
// message that says what to do, until the budget refills; other addresses,
// successes and requests without a credential are not held back.
func TestFailedSignInsLimited(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	s, _ := testServer(t, &bytes.Buffer{})
	s.now = func() time.Time { return now }
	s.Handle("GET /portico/v1/stats", func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(http.StatusOK); return nil })
	s.registerConsole(http.NotFoundHandler())
	send := func(from, auth string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9090/portico/v1/stats", nil)
		req.RemoteAddr = from
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	signIn := func(from, token string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9090/console/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = from
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	const attacker, other = "192.0.2.1:4000", "192.0.2.2:4000"
	for i := range failedSignInBurst {
		if rec := send(attacker, "Bearer guess"+fmt.Sprint(i)); rec.Code != http.StatusForbidden {
			t.Fatalf("failure %d: status %d, want 403", i+1, rec.Code)
		}
	}
	rec := send("192.0.2.1:4001", "Bearer tok") // the right token, another port
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "6" ||
		rec.Header().Get("x-amzn-ErrorType") != "TooManyRequestsException" || !strings.Contains(rec.Body.String(), "wait 6 s") {
		t.Fatalf("after %d failures: status %d, Retry-After %q: %s", failedSignInBurst, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if rec := signIn(attacker, "tok"); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(rec.Body.String(), "too many failed sign-ins") || !strings.Contains(rec.Body.String(), `action="/console/login"`) {
		t.Fatalf("console sign-in after the limit: status %d: %s", rec.Code, rec.Body)
	}
	if rec := send(other, "Bearer tok"); rec.Code != http.StatusOK {
		t.Fatalf("another address: status %d, want 200", rec.Code)
	}
	for range 2 * failedSignInBurst {
		if rec := send(other, ""); rec.Code != http.StatusForbidden {
			t.Fatalf("no credential: status %d, want 403", rec.Code)
		}
	}
	if rec := send(other, "Bearer tok"); rec.Code != http.StatusOK {
		t.Fatalf("requests without a credential counted as failures: status %d", rec.Code)
	}

	now = now.Add(failedSignInEvery)
	if rec := send(attacker, "Bearer tok"); rec.Code != http.StatusOK {
		t.Fatalf("after the refill: status %d, want 200", rec.Code)
	}
	if rec := send(attacker, "Bearer wrong"); rec.Code != http.StatusForbidden {
		t.Fatalf("one refilled failure: status %d, want 403", rec.Code)
	}
	if rec := send(attacker, "Bearer tok"); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("after the refilled failure: status %d, want 429", rec.Code)
	}

	s.mux.HandleFunc(iamPattern, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	iam := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9090/", strings.NewReader("Action=ListUsers&Version=2010-05-08"))
	iam.RemoteAddr = attacker
	iam.Header.Set("Authorization", "Bearer tok")
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, iam)
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "<Code>Throttling</Code>") {
		t.Fatalf("IAM's route after the limit: status %d: %s", rec.Code, rec.Body)
	}

	t.Run("console sign-in", func(t *testing.T) {
		const from = "198.51.100.7:5000"
		for i := range failedSignInBurst {
			rec := signIn(from, "wrong")
			// It names the token file, the way serve --help recommends giving the token.
			if rec.Code != http.StatusUnauthorized || !strings.Contains(signInError(rec.Body.String()), "not this server&#39;s admin token") ||
				!strings.Contains(signInError(rec.Body.String()), "--admin-token-file") {
				t.Fatalf("failure %d: status %d: %s", i+1, rec.Code, rec.Body)
			}
		}
		if rec := signIn(from, "tok"); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "6" ||
			!strings.Contains(signInError(rec.Body.String()), "PORTICO_ADMIN_TOKEN_FILE") {
			t.Fatalf("after %d failures: status %d, Retry-After %q", failedSignInBurst, rec.Code, rec.Header().Get("Retry-After"))
		}
		if rec := send(from, "Bearer tok"); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("the API after failed console sign-ins: status %d, want 429", rec.Code)
		}
	})

	t.Run("an IPv6 /64 is one client", func(t *testing.T) {
		for i := range failedSignInBurst {
			send(fmt.Sprintf("[2001:db8:1:2::%x]:80", i+1), "Bearer wrong")
		}
		if rec := send("[2001:db8:1:2:ffff::1]:80", "Bearer tok"); rec.Code != http.StatusTooManyRequests {
			t.Fatalf("same /64: status %d, want 429", rec.Code)
		}
		if rec := send("[2001:db8:1:3::1]:80", "Bearer tok"); rec.Code != http.StatusOK {
			t.Fatalf("another /64: status %d, want 200", rec.Code)
		}
	})
}

// TestShortTokenRefusedOffLoopback checks that the admin API refuses to start
// off loopback with a token shorter than MinTokenLength, saying what length is
// needed and how to make one, and takes any token on loopback.
// signInError is the error the sign-in page shows above its form ("": none).
func signInError(page string) string {
	_, after, ok := strings.Cut(page, `id="sign-in-error">`)
	if !ok {
		return ""
	}
	msg, _, _ := strings.Cut(after, "</p>")
	return msg
}

func TestShortTokenRefusedOffLoopback(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("k", MinTokenLength)
	cases := []struct {
		listen, token string
		ok            bool
	}{
		{"0.0.0.0:9090", "sekrit", false},
		{"[::]:9090", long[1:], false},
		{":9090", long, true},
		{"10.0.0.5:9090", long + "more", true},
		{"127.0.0.1:9090", "t", true},
		{"localhost:9090", "", true},
		{"0.0.0.0:9090", strings.Repeat(" ", MinTokenLength), false},
		{"0.0.0.0:9090", strings.Repeat("k ", MinTokenLength-1), false},
		{"127.0.0.1:9090", "   ", false},
		{"127.0.0.1:9090", " t", false},
		{"0.0.0.0:9090", long + " ", false},
		{"0.0.0.0:9090", "\t" + long, false},
		{"0.0.0.0:9090", long + "\n", false},
		{"0.0.0.0:9090", long[:16] + " " + long[16:], true},
		{"127.0.0.1:9090", "a\x00b", false},
		{"127.0.0.1:9090", "a\nb", false},
	}
	for _, c := range cases {
		err := CheckToken(c.listen, c.token)
		if c.ok != (err == nil) {
			t.Errorf("CheckToken(%q, %d characters) = %v, want ok %v", c.listen, len(c.token), err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "so no client could present it") &&
			(!strings.Contains(err.Error(), "at least 32 characters") || !strings.Contains(err.Error(), "openssl rand -hex 32")) {
			t.Errorf("the error does not say what to do: %v", err)
		}
	}
	if _, err := New(Params{Config: Config{Listen: "0.0.0.0:9090", Token: "sekrit"}, Log: slog.New(slog.DiscardHandler)}); err == nil {
		t.Fatal("New took a 6-character token off loopback")
	}
}

// TestConsoleSignInTrimsTheToken: the sign-in form takes the token with
// leading or trailing whitespace (a copy from a terminal carries a space or a
// tab, which the password field hides), as the admin API takes it in a header
// (HTTP drops that whitespace) and the CLI from its token file; the admin
// token itself never starts or ends with whitespace (CheckTokenFrom), so
// nothing is lost. Whitespace inside stays: that is another token.
func TestConsoleSignInTrimsTheToken(t *testing.T) {
	t.Parallel()
	s, _ := testServer(t, &bytes.Buffer{})
	s.registerConsole(http.NotFoundHandler())
	for _, tc := range []struct {
		token string
		want  int
	}{
		{"tok ", http.StatusSeeOther},
		{" tok", http.StatusSeeOther},
		{"\ttok\r\n", http.StatusSeeOther},
		{"tok", http.StatusSeeOther},
		{"t ok", http.StatusUnauthorized},
		{" ", http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9090/console/login", strings.NewReader(url.Values{"token": {tc.token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "192.0.2.9:4000"
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != tc.want || (tc.want == http.StatusSeeOther) != strings.Contains(rec.Header().Get("Set-Cookie"), consoleCookie+"=") {
			t.Errorf("sign-in with %q: status %d, cookies %q; want %d", tc.token, rec.Code, rec.Header().Values("Set-Cookie"), tc.want)
		}
	}
}
