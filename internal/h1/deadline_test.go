package h1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// deadlineConn records the read deadlines set on a connection, and the one in
// force at each read.
type deadlineConn struct {
	net.Conn
	mu     sync.Mutex
	read   []time.Time
	cur    time.Time
	atRead []time.Time
	reads  chan struct{} // a read began
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.read = append(c.read, t)
	c.cur = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.atRead = append(c.atRead, c.cur)
	c.mu.Unlock()
	c.reads <- struct{}{}
	return c.Conn.Read(p)
}

func (c *deadlineConn) deadlines() (set, atRead []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.read...), append([]time.Time(nil), c.atRead...)
}

type deadlineListener struct {
	net.Listener
	conns chan *deadlineConn
}

func (l deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	dc := &deadlineConn{Conn: c, reads: make(chan struct{}, 64)}
	l.conns <- dc
	return dc, nil
}

// TestIdleDeadlineAfterHandler: the read deadline in force while a keep-alive
// connection waits for its next request is at least the end of the last
// handler (and of the discarding of an unread request body) plus the idle
// timeout, whether the response went out at the end (whose Date reading it
// shares) or was flushed while the handler ran, and at most the wait's start
// plus the idle timeout and its slack (idleSlack).
func TestIdleDeadlineAfterHandler(t *testing.T) {
	const idle = time.Hour
	var mu sync.Mutex
	var ends []time.Time // when each handler returned
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hi")
		if r.URL.Path == "/flush" {
			w.(http.Flusher).Flush()
		}
		mu.Lock()
		ends = append(ends, time.Now())
		mu.Unlock()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dl := deadlineListener{Listener: ln, conns: make(chan *deadlineConn, 1)}
	s := New(h, Options{IdleTimeout: idle})
	done := make(chan error, 1)
	go func() { done <- s.Serve(dl) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	sc := <-dl.conns
	br := bufio.NewReader(c)
	reqs := []string{
		"GET /held HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /flush HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /held HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", // the body left unread
		"GET /held HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /held HTTP/1.1\r\nHost: h\r\n\r\n",
	}
	<-sc.reads // the wait for the first request
	var latest []time.Time
	for _, raw := range reqs {
		roundTrip(t, c, br, raw)
		<-sc.reads // the server waits for the next request
		latest = append(latest, time.Now().Add(idle+idleSlack(idle)))
	}
	set, atRead := sc.deadlines()
	mu.Lock()
	defer mu.Unlock()
	if len(atRead) != len(reqs)+1 || len(ends) != len(reqs) {
		t.Fatalf("%d reads, %d handlers, want %d and %d", len(atRead), len(ends), len(reqs)+1, len(reqs))
	}
	for i := range reqs {
		d := atRead[i+1]
		if d.Before(ends[i].Add(idle)) {
			t.Errorf("request %d: idle deadline at the handler's end + %v, want at least + %v", i+1, d.Sub(ends[i]), idle)
		}
		if d.After(latest[i]) {
			t.Errorf("request %d: idle deadline %v past the wait's start + %v", i+1, d.Sub(latest[i]), idle+idleSlack(idle))
		}
	}
	t.Logf("%d read deadlines set for %d requests", len(set), len(reqs))
}

// TestKeepAliveTimeoutsHold: on a real TCP connection (raw reads), after
// several requests, a connection that sends nothing is closed (IdleTimeout)
// and one that sends half a head is answered 408 and closed
// (ReadHeaderTimeout), however the idle deadline was carried over.
//
// The timeouts are what the client may take between two requests: at 50 ms a
// test stalled that long on a loaded machine (CI runs packages side by side)
// found its connection closed mid-sequence, 8 runs in 200 under a load of 28.
func TestKeepAliveTimeoutsHold(t *testing.T) {
	const bound = 30 * time.Second // a safety net: the server is to close first
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hi") })
	addr := startH1(t, h, Options{ReadHeaderTimeout: time.Second, IdleTimeout: time.Second})
	for _, tail := range []string{"", "GET / HTTP/1.1\r\nHost: h\r\nX-Slow: "} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		for range 5 {
			roundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		}
		if _, err := io.WriteString(c, tail); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(bound))
		rest, err := io.ReadAll(br)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("after %q: the connection was kept open", tail)
		}
		// Half a head is answered 408 (RFC 9110 15.5.9), nothing else.
		if want := map[bool]string{true: "", false: "HTTP/1.1 408 "}[tail == ""]; !strings.HasPrefix(string(rest), want) || (want == "" && len(rest) > 0) {
			t.Fatalf("after %q: answered %q, want %q", tail, rest, want)
		}
		_ = c.Close()
	}
}
