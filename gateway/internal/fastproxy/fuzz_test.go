package fastproxy

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzFastProxyResponse sends one request through the fast proxy to a backend
// that answers with the fuzzed bytes and closes: whatever the framing (lengths,
// chunked bodies, 1xx, trailers, malformed status lines), serve returns within
// its deadline without panicking, and a response it passes on has a valid status
// and no more body than the backend sent.
func FuzzFastProxyResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 1\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 OK\r\n\r\n",
		"garbage\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
		"",
	} {
		f.Add([]byte(s))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	var answer atomic.Pointer[[]byte]
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				for { // the request head, to its blank line
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				if b := answer.Load(); b != nil {
					_, _ = c.Write(*b)
				}
			}()
		}
	}()
	u := &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/fuzz"}
	f.Fuzz(func(t *testing.T, resp []byte) {
		answer.Store(&resp)
		fp := New(4)
		defer fp.CloseIdle()
		r := httptest.NewRequest("GET", "http://gateway/fuzz", nil)
		hp := fp.Route(u, "GET", r)
		if hp == nil {
			t.Fatal("the fast proxy declined a plain GET")
		}
		w := httptest.NewRecorder()
		start := time.Now()
		err := fp.Serve(w, r, hp, u, "GET", 2*time.Second)
		if time.Since(start) > 4*time.Second {
			t.Fatalf("serve took %v", time.Since(start))
		}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				t.Fatalf("serve: %v", err)
			}
			return
		}
		if w.Code < 100 || w.Code > 999 {
			t.Fatalf("status %d passed on", w.Code)
		}
		if w.Body.Len() > len(resp) {
			t.Fatalf("passed on %d body bytes of a %d-byte response", w.Body.Len(), len(resp))
		}
		if w.Code == http.StatusSwitchingProtocols {
			t.Fatalf("a 101 nobody asked for was passed on")
		}
	})
}
