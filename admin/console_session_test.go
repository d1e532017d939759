package admin

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestConsoleSessionExpires: a console cookie authenticates until the expiry it
// carries, and not after; one whose expiry was changed, or made with another
// token, or by another process (before a restart), never does.
func TestConsoleSessionExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	s := &Server{cfg: Config{Token: "the-token"}, now: func() time.Time { return now }}
	v := s.sessions.issue("the-token", now.Add(consoleSessionTTL))
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
	later := s.sessions.issue("the-token", now.Add(100*time.Hour))
	_, rest, _ := strings.Cut(v, ".")
	laterExp, _, _ := strings.Cut(later, ".")
	restarted := &Server{cfg: s.cfg}
	for name, value := range map[string]string{
		"expiry moved": laterExp + "." + rest, "another token": s.sessions.issue("other", now.Add(time.Hour)),
		"another process": restarted.sessions.issue("the-token", now.Add(time.Hour)),
		"no expiry":       rest, "empty": "", "garbage": "x.y", "version 2": laterExp + "." + v[len(v)-64:],
	} {
		if page(value) {
			t.Errorf("%s: accepted", name)
		}
	}
	if !page(later) {
		t.Error("a later session is refused")
	}
}

// TestConsoleSignOutEndsSession: POST /console/logout ends the session it
// carries on the server, so a copy of its cookie taken before is refused
// after; other sessions go on; a cookie that is no valid session ends
// nothing (nor fills the list). The list of ended sessions is bounded: when
// sign-outs fill it, every session ends (one sign-in again each) and it starts
// over, rather than growing or forgetting an ended session.
func TestConsoleSignOutEndsSession(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	s, _ := testServer(t, &logs)
	s.cfg.Token = "the-token"
	s.now = func() time.Time { return now }
	s.registerConsole(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	send := func(method, path string, cookies ...string) int {
		t.Helper()
		req := httptest.NewRequest(method, "http://127.0.0.1:9090"+path, nil)
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: consoleCookie, Value: c})
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	a := s.sessions.issue("the-token", now.Add(consoleSessionTTL))
	b := s.sessions.issue("the-token", now.Add(consoleSessionTTL))
	if a == b {
		t.Fatal("two sign-ins in the same second got the same session")
	}
	if st := send("GET", "/console/", a); st != 200 {
		t.Fatalf("session a before signing out: %d", st)
	}
	if st := send("POST", "/console/logout", "junk", a); st != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", st)
	}
	if st := send("GET", "/console/", a); st != 401 {
		t.Errorf("session a replayed after signing out: %d, want 401", st)
	}
	if st := send("GET", "/console/", b); st != 200 {
		t.Errorf("session b after a signed out: %d, want 200", st)
	}
	if n := len(s.sessions.ended); n != 1 {
		t.Errorf("%d sessions kept as ended, want 1", n)
	}
	if !strings.Contains(logs.String(), "console sign-out") {
		t.Errorf("the sign-out is not logged: %s", logs.String())
	}

	// Fill the list: sessions that expired make room; when none has, every
	// session ends.
	for range maxEndedSessions/2 - 1 {
		send("POST", "/console/logout", s.sessions.issue("the-token", now.Add(time.Minute)))
	}
	for range maxEndedSessions / 2 {
		send("POST", "/console/logout", s.sessions.issue("the-token", now.Add(consoleSessionTTL)))
	}
	if n := len(s.sessions.ended); n != maxEndedSessions {
		t.Fatalf("%d sessions kept as ended, want %d", n, maxEndedSessions)
	}
	now = now.Add(2 * time.Minute)
	send("POST", "/console/logout", s.sessions.issue("the-token", now.Add(consoleSessionTTL)))
	if n := len(s.sessions.ended); n != maxEndedSessions/2+2 {
		t.Fatalf("after the expired ones made room: %d sessions kept as ended, want %d", n, maxEndedSessions/2+2)
	}
	if st := send("GET", "/console/", a); st != 401 {
		t.Errorf("session a after the list was swept: %d, want 401", st)
	}
	for len(s.sessions.ended) < maxEndedSessions {
		send("POST", "/console/logout", s.sessions.issue("the-token", now.Add(consoleSessionTTL)))
	}
	c := s.sessions.issue("the-token", now.Add(consoleSessionTTL))
	send("POST", "/console/logout", s.sessions.issue("the-token", now.Add(consoleSessionTTL)))
	if n := len(s.sessions.ended); n != 0 {
		t.Errorf("after the list filled up: %d sessions kept as ended, want 0", n)
	}
	for name, v := range map[string]string{"a (ended)": a, "b": b, "c": c} {
		if st := send("GET", "/console/", v); st != 401 {
			t.Errorf("session %s after the list filled up: %d, want 401", name, st)
		}
	}
	if !strings.Contains(logs.String(), "every console session ended") {
		t.Errorf("ending every session is not logged")
	}
	if st := send("GET", "/console/", s.sessions.issue("the-token", now.Add(consoleSessionTTL))); st != 200 {
		t.Errorf("a new session after: %d, want 200", st)
	}
}
