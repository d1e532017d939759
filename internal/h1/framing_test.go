package h1

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFramedTwiceRefused: a request whose body length both Transfer-Encoding
// and Content-Length declare (or a Transfer-Encoding on HTTP/1.0) is refused
// with 400 and its connection closed, so a request hidden in its body is never
// served (net/http serves such a request and keeps the connection). A chunked
// request alone is served and its connection kept.
func TestFramedTwiceRefused(t *testing.T) {
	addr := startH1(t, testHandler(), Options{MaxHeaderBytes: 4096, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 10 * time.Second})
	smuggled := "GET /small HTTP/1.1\r\nHost: x\r\n\r\n"
	refused := "HTTP/1.1 400\n"
	cases := []struct {
		name, raw string
		methods   []string
		want      string // the start of what exchange describes
	}{
		{"cl then te", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
			[]string{"POST", "GET"}, refused},
		{"te then cl, lower case", "POST /echo HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 40\r\n\r\n0\r\n\r\n" + smuggled,
			[]string{"POST", "GET"}, refused},
		{"te on http/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled,
			[]string{"POST", "GET"}, refused},
		{"chunked alone", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + smuggled,
			[]string{"POST", "GET"}, "HTTP/1.1 200"},
	}
	var ex []exchangeCase
	for _, tc := range cases {
		ex = append(ex, exchangeCase{addr, tc.raw, tc.methods})
	}
	res := exchanges(t, ex)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := res[i]
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got:\n%s\nwant it to start with:\n%s", got, tc.want)
			}
			if tc.want == refused {
				if strings.Count(got, "\nte=") != 1 || !strings.Contains(got, "close=true") || !strings.HasSuffix(got, "open=false\n") {
					t.Fatalf("served the request in the body, or kept the connection:\n%s", got)
				}
				return
			}
			if strings.Count(got, "HTTP/1.1 200") != 2 || !strings.HasSuffix(got, "open=true\n") {
				t.Fatalf("a chunked request alone:\n%s", got)
			}
		})
	}
}

// bodyClient sends a request head and part of its body, and with halfClose
// ends its side of the connection; it returns what the server sent until it
// closed the connection.
func bodyClient(t *testing.T, addr, path string, halfClose bool) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart"); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		_ = c.(*net.TCPConn).CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open (read %q)", b)
	}
	return string(b)
}

// TestBodyCutOffNoDefault200: a handler that answers nothing to a request
// whose body could not be read to its end gets no default 200: a body whose
// read deadline passed, or whose client ended its side of the connection
// early, closes the connection without an answer. A deadline does not end the
// request's context (the client is still there, and the handler may answer
// it: then the answer goes out and the connection closes); a client that ended
// its side does.
func TestBodyCutOffNoDefault200(t *testing.T) {
	ctxErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/deadline") {
			// A deadline already passed: the read after the buffered part fails.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(-time.Second))
		}
		_, err := io.ReadAll(r.Body)
		ctxErr <- r.Context().Err()
		if err == nil {
			_, _ = io.WriteString(w, "whole body")
			return
		}
		if r.URL.Path == "/deadline-answered" && errors.Is(err, os.ErrDeadlineExceeded) {
			w.WriteHeader(http.StatusRequestTimeout)
			_, _ = io.WriteString(w, "too slow")
		}
	})
	addr := startH1(t, h, Options{})
	for _, tc := range []struct {
		name, path string
		halfClose  bool
		want       string // "" for no answer
		ctxErr     error
	}{
		{"deadline, no answer", "/deadline", false, "", nil},
		{"deadline, answered", "/deadline-answered", false, "HTTP/1.1 408 Request Timeout", nil},
		{"client half-closed", "/eof", true, "", context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := bodyClient(t, addr, tc.path, tc.halfClose)
			if err := <-ctxErr; !errors.Is(err, tc.ctxErr) {
				t.Errorf("request context: %v, want %v", err, tc.ctxErr)
			}
			if tc.want == "" {
				if got != "" {
					t.Fatalf("answered %q, want nothing", got)
				}
				return
			}
			if !strings.HasPrefix(got, tc.want) || !strings.Contains(got, "Connection: close\r\n") || !strings.HasSuffix(got, "too slow") {
				t.Fatalf("answered %q, want %s with Connection: close", got, tc.want)
			}
		})
	}
}
