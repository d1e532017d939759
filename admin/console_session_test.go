package admin

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestConsoleSessionExpires: a console cookie authenticates until the expiry it
// carries, and not after; one whose expiry was changed, or made with another
// token, never does.
func TestConsoleSessionExpires(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	s := &Server{cfg: Config{Token: "the-token"}, now: func() time.Time { return now }}
	v := consoleSession("the-token", now.Add(consoleSessionTTL))
	page := func(value string) bool {
		r := httptest.NewRequest(http.MethodGet, "/console/", nil)
		r.AddCookie(&http.Cookie{Name: consoleCookie, Value: value})
		return s.consoleCookieAuth(r, true)
	}
	if !page(v) {
		t.Fatal("a fresh session is refused")
	}
	now = now.Add(consoleSessionTTL - time.Second)
	if !page(v) {
		t.Error("a session a second before its expiry is refused")
	}
	now = now.Add(time.Second)
	if page(v) {
		t.Error("a session at its expiry is accepted")
	}
	now = now.Add(-time.Hour)
	later := consoleSession("the-token", now.Add(100*time.Hour))
	forged := later[:len(later)-64] + v[len(v)-64:] // a later expiry with the old MAC
	for name, value := range map[string]string{
		"expiry moved": forged, "another token": consoleSession("other", now.Add(time.Hour)),
		"no expiry": v[len(v)-64:], "empty": "", "garbage": "x.y",
	} {
		if page(value) {
			t.Errorf("%s: accepted", name)
		}
	}
	if !page(later) {
		t.Error("a later session is refused")
	}
}
