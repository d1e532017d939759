package h1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestBadTargetHandler: a request target with a bad percent-encoding, which
// net/http's parser refuses with a plain 400, goes to Options.BadTarget when it
// is set, with the method and the target as sent; the connection closes after
// the answer. Without one the plain 400 stays.
func TestBadTargetHandler(t *testing.T) {
	bad := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Target", r.Method+" "+r.RequestURI)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"message":"Bad Request"}`)
	})
	send := func(t *testing.T, addr, raw string) (*http.Response, string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(time.Minute)) // a safety net, not a timing assertion
		if _, err := c.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp, string(b)
	}
	const raw = "GET /echo/%zz?a=1 HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"
	addr := startH1(t, testHandler(), Options{BadTarget: bad})
	resp, body := send(t, addr, raw)
	if resp.StatusCode != 400 || body != `{"message":"Bad Request"}` || resp.Header.Get("X-Target") != "GET /echo/%zz?a=1" || !resp.Close {
		t.Fatalf("%d %q %v (close %v)", resp.StatusCode, body, resp.Header, resp.Close)
	}
	plain := startH1(t, testHandler(), Options{})
	if resp, body := send(t, plain, raw); resp.StatusCode != 400 || resp.Header.Get("X-Target") != "" {
		t.Fatalf("without a handler: %d %q", resp.StatusCode, body)
	}
}
