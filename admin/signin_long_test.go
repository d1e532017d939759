package admin

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestConsoleSignInLongToken: the sign-in form takes any token the server
// takes, however long its URL encoding (base64's "/", "+" and "=", non-ASCII
// bytes: three bytes each), where a bound on the form's body refused a valid
// token of 2 KB as a wrong one; a form too large to hold any token is 413 and
// no failed sign-in.
func TestConsoleSignInLongToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s, _ := testServer(t, &bytes.Buffer{})
	s.now = func() time.Time { return now }
	s.registerConsole(http.NotFoundHandler())
	signIn := func(from, body string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9090/console/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = from
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	for _, tc := range []struct{ name, token string }{
		{"base64 characters, 2 KB", "a" + strings.Repeat("/+", 1000) + "z"},
		{"4096 bytes of base64 characters", strings.Repeat("/+=/", 1024)},
		{"4096 bytes, non-ASCII", strings.Repeat("é", 2048)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.cfg.Token = tc.token
			// Around whitespace, as a paste brings it.
			rec := signIn("192.0.2.10:1000", url.Values{"token": {"\n" + tc.token + " \n"}}.Encode())
			if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Set-Cookie"), consoleCookie+"=") {
				t.Fatalf("sign-in with the server's %d-byte token: %d %s", len(tc.token), rec.Code, rec.Body)
			}
		})
	}
	s.cfg.Token = "tok"
	const from = "192.0.2.20:1000"
	huge := url.Values{"token": {strings.Repeat("/", 3*maxSignInToken)}}.Encode()
	long := url.Values{"token": {strings.Repeat("x", maxSignInToken+1)}}.Encode()
	for range failedSignInBurst + 2 {
		if rec := signIn(from, huge); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "too large") {
			t.Fatalf("a form too large: %d %s", rec.Code, rec.Body)
		}
		if rec := signIn(from, long); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "longer than any admin token") {
			t.Fatalf("a token longer than any: %d %s", rec.Code, rec.Body)
		}
	}
	// None of those counted as a failed sign-in.
	if rec := signIn(from, "token=tok"); rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-in after the oversized forms: %d %s", rec.Code, rec.Body)
	}
}
