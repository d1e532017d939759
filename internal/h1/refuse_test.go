package h1

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// refusedAnswer sends raw on a new connection to addr (with hold, keeps its
// side open) and returns all the server sends until it closes.
func refusedAnswer(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a safety net: the server is to close first
	b, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%q: the connection was kept open; got %q", raw, b)
	}
	return string(b)
}

// TestRefuseAnswersMalformedHeads: with Options.Refuse set, the heads the
// server refuses itself (a malformed head: 400; a transfer coding other than
// chunked: 501; an HTTP version other than 1.x: 505; a head begun but not
// finished within ReadHeaderTimeout: 408, not 400) and a request with an
// expectation other than 100-continue (417) are answered by Refuse, with the
// request line's method, and the connection is closed. Empty lines before a
// request line are ignored (RFC 9112 2.2), by the fast path and net/http's
// reader alike.
func TestRefuseAnswersMalformedHeads(t *testing.T) {
	refuse := func(w http.ResponseWriter, r *http.Request, status int) {
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "refused %d %s expect=%q", status, r.Method, r.Header.Get("Expect"))
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "served "+r.URL.Path) })
	addr := startH1(t, ok, Options{MaxHeaderBytes: 4096, ReadHeaderTimeout: 10 * time.Second, Refuse: refuse})
	cases := []struct {
		name, raw string
		want      string
	}{
		{"differing content-length", "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", "refused 400 POST"},
		{"garbled content-length", "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", "refused 400 POST"},
		{"duplicate host", "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "refused 400 GET"},
		{"missing host", "GET /a HTTP/1.1\r\nX: y\r\n\r\n", "refused 400 GET"},
		{"nul in a value", "GET /a HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", "refused 400 GET"},
		{"bad field name", "GET /a HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n", "refused 400 GET"},
		{"bad request line", "GARBAGE\r\nHost: a\r\n\r\n", "refused 400 "},
		{"te and cl", "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "refused 400 POST"},
		{"unknown coding", "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc", "refused 501 POST"},
		{"http/3", "GET /a HTTP/3.0\r\nHost: a\r\n\r\n", "refused 505 GET"},
		{"expectation", "POST /a HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", `refused 417 POST expect="200-ok"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := refusedAnswer(t, addr, tc.raw)
			status := tc.want[len("refused ") : len("refused ")+3]
			if !strings.HasPrefix(got, "HTTP/1.1 "+status+" ") || !strings.Contains(got, "\r\n\r\n"+tc.want) ||
				!strings.Contains(got, "Connection: close\r\n") {
				t.Fatalf("got:\n%s\nwant %s from Refuse, and the connection closed", got, tc.want)
			}
		})
	}
	t.Run("empty lines before the request line", func(t *testing.T) {
		for _, lead := range []string{"\r\n", "\n", "\r\n\r\n"} {
			for _, raw := range []string{
				"GET /plain HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",                // the fast path's
				"GET /folded HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\nConnection: close\r\n\r\n", // net/http's reader's
			} {
				got := refusedAnswer(t, addr, lead+raw)
				path := raw[len("GET "):strings.Index(raw, " HTTP")]
				if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.HasSuffix(got, "served "+path) {
					t.Fatalf("%q: got:\n%s", lead+raw, got)
				}
			}
		}
		// A CR alone is no empty line.
		if got := refusedAnswer(t, addr, "\rGET /a HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 400 ") {
			t.Fatalf("a lone CR: got:\n%s", got)
		}
	})
	t.Run("head timeout", func(t *testing.T) {
		// The server's own deadline ends the wait, however long it takes.
		addr := startH1(t, ok, Options{ReadHeaderTimeout: 50 * time.Millisecond, Refuse: refuse})
		for _, half := range []string{"GET /a HTTP/1.1\r\nHost: a\r\nX-Slow: ", "GET /a HT", "G"} {
			if got := refusedAnswer(t, addr, half); !strings.HasPrefix(got, "HTTP/1.1 408 ") || !strings.Contains(got, "\r\n\r\nrefused 408 ") {
				t.Fatalf("%q: got:\n%s\nwant 408 from Refuse", half, got)
			}
		}
		// Without Refuse: the plain-text 408.
		addr = startH1(t, ok, Options{ReadHeaderTimeout: 50 * time.Millisecond})
		if got := refusedAnswer(t, addr, "GET /a HTTP/1.1\r\nHost: a\r\nX-Slow: "); !strings.HasPrefix(got, "HTTP/1.1 408 Request Timeout\r\n") {
			t.Fatalf("got:\n%s", got)
		}
	})
}
