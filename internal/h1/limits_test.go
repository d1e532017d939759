package h1

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRequestLineTooLong: a request line over the header limit is answered 414
// URI Too Long (RFC 9112 section 3); a header block over it, after a request
// line that ended, 431 as before.
func TestRequestLineTooLong(t *testing.T) {
	addr := startH1(t, testHandler(), Options{MaxHeaderBytes: 4096, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second})
	for _, tc := range []struct {
		name, raw string
		want      int
	}{
		{"long target", "GET /" + strings.Repeat("a", 100<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusRequestURITooLong},
		{"long header", "GET /small HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"long target and header", "GET /" + strings.Repeat("a", 2000) + " HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n",
			http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			// A safety net against a hung test, not a timing assertion.
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			go func() { _, _ = c.Write([]byte(tc.raw)) }() // the server answers before it reads it all
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want || !resp.Close {
				t.Fatalf("%d (close %v), want %d and the connection closed", resp.StatusCode, resp.Close, tc.want)
			}
		})
	}
}
