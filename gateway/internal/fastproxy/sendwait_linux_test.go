package fastproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tracedConn is a backend connection that counts its writes, the waits its
// raw reads start after a send, and the reads it is asked for while nothing
// has arrived (each a read system call that fails with EAGAIN before the
// goroutine parks). Both of the last two tell the backend, on ready, that the
// proxy is about to wait for its answer.
type tracedConn struct {
	*net.TCPConn
	raw        syscall.RawConn
	writes     atomic.Int64 // net.Conn writes
	sends      atomic.Int64 // raw reads that wrote and then waited
	emptyReads atomic.Int64 // net.Conn reads begun with nothing to read
	ready      chan struct{}
	// expireOnSend passes the connection's deadline once a request was sent
	// with the wait: as if the soft deadline came while it waits.
	expireOnSend bool
}

func (c *tracedConn) signal() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

func (c *tracedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.TCPConn.Write(p)
}

func (c *tracedConn) Read(p []byte) (int, error) {
	var b [1]byte
	empty := false
	_ = c.raw.Control(func(fd uintptr) {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		empty = errors.Is(err, syscall.EAGAIN)
	})
	if empty {
		c.emptyReads.Add(1)
		c.signal()
	}
	return c.TCPConn.Read(p)
}

func (c *tracedConn) SyscallConn() (syscall.RawConn, error) { return tracedRaw{c}, nil }

// tracedRaw is tracedConn's RawConn: it sees when a raw read's function asks
// to wait.
type tracedRaw struct{ c *tracedConn }

func (r tracedRaw) Control(f func(uintptr)) error { return r.c.raw.Control(f) }
func (r tracedRaw) Write(f func(uintptr) bool) error {
	return r.c.raw.Write(f)
}
func (r tracedRaw) Read(f func(uintptr) bool) error {
	return r.c.raw.Read(func(fd uintptr) bool {
		if f(fd) {
			return true
		}
		r.c.sends.Add(1)
		if r.c.expireOnSend {
			_ = r.c.SetReadDeadline(time.Unix(1, 0))
		}
		r.c.signal()
		return false
	})
}

// heldBackend answers each request on a connection only once the proxy
// waits for the answer (tracedConn.ready): so a proxy that reads before the
// answer came is caught doing so, whatever the machine's speed.
func heldBackend(t *testing.T, ready <-chan struct{}) string {
	return holdingBackend(t, func() bool {
		select {
		case <-ready:
			return true
		case <-time.After(time.Minute):
			return false
		}
	})
}

// holdingBackend answers each request once hold returns true, and drops the
// connection when it returns false.
func holdingBackend(t *testing.T, hold func() bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = nc.Close() }()
				br := bufio.NewReader(nc)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if !hold() {
						return
					}
					if _, err := io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// TestRequestSentWithTheWait: a request that fits one write goes out through
// the raw read that then waits for the answer, so no read meets an empty
// socket, on a fresh connection and on a pooled one, with and without a
// body; the connection stays pooled.
func TestRequestSentWithTheWait(t *testing.T) {
	ready := make(chan struct{}, 1)
	backend := heldBackend(t, ready)
	var conns []*tracedConn
	p := New(8)
	p.wrapConn = func(nc net.Conn) net.Conn {
		tc := nc.(*net.TCPConn)
		raw, err := tc.SyscallConn()
		if err != nil {
			t.Error(err)
			return nc
		}
		c := &tracedConn{TCPConn: tc, raw: raw, ready: ready}
		conns = append(conns, c)
		return c
	}
	u, err := url.Parse(backend + "/x")
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct{ method, body string }{
		{http.MethodGet, ""}, {http.MethodGet, ""}, {http.MethodPost, "small body"}, {http.MethodPut, strings.Repeat("p", 1000)}, {http.MethodGet, ""},
	} {
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		r := httptest.NewRequest(tc.method, "/x", body)
		hp := p.Route(u, tc.method, r)
		if hp == nil {
			t.Fatalf("request %d: the fast path declined %s", i, tc.method)
		}
		w := httptest.NewRecorder()
		if err := p.Serve(w, r, hp, u, tc.method, time.Minute); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if w.Code != http.StatusOK || w.Body.String() != "ok" {
			t.Fatalf("request %d: %d %q", i, w.Code, w.Body)
		}
	}
	if len(conns) != 1 {
		t.Fatalf("%d connections dialled, want the one reused", len(conns))
	}
	c := conns[0]
	if n := c.sends.Load(); n != 5 {
		t.Errorf("%d requests sent with the wait for the answer, want 5", n)
	}
	if n := c.writes.Load(); n != 0 {
		t.Errorf("%d ordinary writes, want none", n)
	}
	if n := c.emptyReads.Load(); n != 0 {
		t.Errorf("%d reads began before the answer came, want none", n)
	}
}

// TestLargeRequestWrittenAsBefore: a body larger than the connection's
// buffer goes out in ordinary writes (the head first), and the answer is
// read as before.
func TestLargeRequestWrittenAsBefore(t *testing.T) {
	ready := make(chan struct{}, 1)
	backend := heldBackend(t, ready)
	var conn *tracedConn
	p := New(8)
	p.wrapConn = func(nc net.Conn) net.Conn {
		tc := nc.(*net.TCPConn)
		raw, _ := tc.SyscallConn()
		conn = &tracedConn{TCPConn: tc, raw: raw, ready: ready}
		return conn
	}
	u, _ := url.Parse(backend + "/x")
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(strings.Repeat("L", 100<<10)))
	hp := p.Route(u, http.MethodPost, r)
	w := httptest.NewRecorder()
	if err := p.Serve(w, r, hp, u, http.MethodPost, time.Minute); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusOK || w.Body.String() != "ok" {
		t.Fatalf("%d %q", w.Code, w.Body)
	}
	if conn.sends.Load() != 0 || conn.writes.Load() < 2 {
		t.Errorf("%d sends with the wait and %d writes, want none and the head and body apart", conn.sends.Load(), conn.writes.Load())
	}
}

// TestSendWaitPastSoftDeadline: when the soft deadline passes while a request
// sent with the wait is waiting for its answer, the exchange goes on (the
// abort armed, the deadline moved to the request's) and gets the answer.
func TestSendWaitPastSoftDeadline(t *testing.T) {
	ready := make(chan struct{}, 1)
	backend := heldBackend(t, ready)
	p := New(8)
	var conn *tracedConn
	p.wrapConn = func(nc net.Conn) net.Conn {
		tc := nc.(*net.TCPConn)
		raw, _ := tc.SyscallConn()
		conn = &tracedConn{TCPConn: tc, raw: raw, ready: ready, expireOnSend: true}
		return conn
	}
	u, _ := url.Parse(backend + "/x")
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	hp := p.Route(u, http.MethodGet, r)
	w := httptest.NewRecorder()
	if err := p.Serve(w, r, hp, u, http.MethodGet, time.Minute); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusOK || w.Body.String() != "ok" {
		t.Fatalf("%d %q", w.Code, w.Body)
	}
	if conn.sends.Load() != 1 || p.extends.Load() != 1 {
		t.Errorf("%d sends with the wait, %d exchanges past their soft deadline; want 1 and 1", conn.sends.Load(), p.extends.Load())
	}
	if idle, _ := p.Idle(u); idle != 1 {
		t.Errorf("%d idle connections, want the one kept", idle)
	}
}
