package h1

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReasonPhraseOfUnknownStatus: a status without a standard text (444, 299,
// 599) goes out with an empty reason phrase ("HTTP/1.1 444 "), as API Gateway
// answers, not net/http's "status code 444"; a known one keeps its text.
func TestReasonPhraseOfUnknownStatus(t *testing.T) {
	addr := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("s"))
		w.WriteHeader(code)
	}), Options{})
	for _, tc := range []struct{ code, want string }{
		{"444", "HTTP/1.1 444 \r\n"}, {"299", "HTTP/1.1 299 \r\n"}, {"599", "HTTP/1.1 599 \r\n"}, {"418", "HTTP/1.1 418 I'm a teapot\r\n"},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, "GET /?s="+tc.code+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(c)
		_ = c.Close()
		if line, _, _ := strings.Cut(string(b), "\n"); err != nil || line+"\n" != tc.want {
			t.Errorf("status %s: status line %q (%v), want %q", tc.code, line, err, tc.want)
		}
	}
}
