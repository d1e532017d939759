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
	type answer struct {
		status int
		header http.Header
		close  bool
		body   string
	}
	send := func(t *testing.T, addr, raw string) answer {
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
		return answer{resp.StatusCode, resp.Header, resp.Close, string(b)}
	}
	const raw = "GET /echo/%zz?a=1 HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"
	addr := startH1(t, testHandler(), Options{BadTarget: bad})
	a := send(t, addr, raw)
	if a.status != 400 || a.body != `{"message":"Bad Request"}` || a.header.Get("X-Target") != "GET /echo/%zz?a=1" || !a.close {
		t.Fatalf("%+v", a)
	}
	plain := startH1(t, testHandler(), Options{})
	if a := send(t, plain, raw); a.status != 400 || a.header.Get("X-Target") != "" {
		t.Fatalf("without a handler: %+v", a)
	}
}
