package h1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestMaxConnsPerIP checks that a client address holds at most
// Options.MaxConnsPerIP connections: one past the bound is closed without an
// answer while the others are served, and a connection closed makes room for
// a new one.
func TestMaxConnsPerIP(t *testing.T) {
	addr := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), Options{ReadHeaderTimeout: time.Minute, MaxConnsPerIP: 3})

	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		return c
	}
	// get sends a request on c and reports whether it was answered 200.
	get := func(c net.Conn) bool {
		t.Helper()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}

	held := []net.Conn{dial(), dial(), dial()}
	for i, c := range held {
		if !get(c) {
			t.Fatalf("connection %d of 3 was not served", i+1)
		}
	}
	if get(dial()) {
		t.Fatal("a fourth connection from the same address was served; want it closed")
	}
	for i, c := range held {
		if !get(c) {
			t.Fatalf("connection %d of 3 was not served after the fourth was refused", i+1)
		}
	}
	_ = held[0].Close()
	// The server notices the close when its read ends: until then a new
	// connection may still be refused.
	deadline := time.Now().Add(20 * time.Second)
	for !get(dial()) {
		if time.Now().After(deadline) {
			t.Fatal("no connection was served after one of the three closed")
		}
	}
}

// TestVetRefusedDoNotCount checks that connections Options.Vet refuses are
// closed unanswered and do not count against MaxConnsPerIP: the accepted ones
// from the same address are still served however many refused ones are held.
func TestVetRefusedDoNotCount(t *testing.T) {
	var n atomic.Int64
	addr := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), Options{ReadHeaderTimeout: time.Minute, MaxConnsPerIP: 2,
		// The first five connections are refused, the rest accepted.
		Vet: func(net.Conn) bool { return n.Add(1) > 5 }})
	for i := range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) || err == nil {
			t.Fatalf("refused connection %d: read %v, want it closed", i+1, err)
		}
	}
	for i := range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("accepted connection %d after refused ones: %v %v", i+1, resp, err)
		}
		_ = resp.Body.Close()
	}
}
