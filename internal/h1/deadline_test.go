package h1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// deadlineConn records the read deadlines set on a connection.
type deadlineConn struct {
	net.Conn
	mu   sync.Mutex
	read []time.Time
	set  chan struct{} // a non-zero deadline was set
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.read = append(c.read, t)
	c.mu.Unlock()
	if !t.IsZero() {
		c.set <- struct{}{}
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) deadlines() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.read...)
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
	dc := &deadlineConn{Conn: c, set: make(chan struct{}, 16)}
	l.conns <- dc
	return dc, nil
}

// TestIdleDeadlineAfterHandler: the idle deadline of a keep-alive connection
// counts from after the handler returned (and after an unread request body
// was discarded), whether the response went out at the end (whose Date
// reading it shares) or was flushed while the handler ran.
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
	}
	for i, raw := range reqs {
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		<-sc.set // the server sets the next idle deadline after the response
	}
	var idles []time.Time
	for _, d := range sc.deadlines() {
		if !d.IsZero() {
			idles = append(idles, d)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(idles) != len(reqs) || len(ends) != len(reqs) {
		t.Fatalf("%d idle deadlines, %d handlers, want %d", len(idles), len(ends), len(reqs))
	}
	for i := range reqs {
		if idles[i].Before(ends[i].Add(idle)) {
			t.Errorf("request %d: idle deadline at the handler's end + %v, want at least + %v", i+1, idles[i].Sub(ends[i]), idle)
		}
	}
}
