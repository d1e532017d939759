//go:build linux

package h1

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/idlepoll"
	"github.com/portico-dev/portico/internal/rawio"
)

// dormantOptions never sweep on their own (the tests call sweep).
var dormantOptions = Options{DormantAfter: time.Hour, IdleTimeout: time.Hour}

// onlyConn returns the server's one connection.
func onlyConn(t *testing.T, s *Server) *conn {
	t.Helper()
	conns := s.set.Snapshot(nil)
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	return conns[0]
}

// waitState waits for c's goroutine to bring c to want (stateIdle: idle or
// dormant, the two states of a connection at rest).
func waitState(t *testing.T, c *conn, want int32) {
	t.Helper()
	at := func() bool {
		st := c.state.Load()
		return st == want || want == stateIdle && st == stateDormant
	}
	for i := 0; !at(); i++ {
		if i == 10000 {
			t.Fatalf("connection state %d, want %d", c.state.Load(), want)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// putToSleep sweeps twice (the first look records the connection's count,
// the second finds it unchanged) and waits for c to be dormant.
func putToSleep(t *testing.T, s *Server, c *conn) {
	t.Helper()
	s.sweep(time.Now())
	s.sweep(time.Now())
	waitState(t, c, stateDormant)
	waitConnGoroutines(t, 0)
}

// waitConnGoroutines waits until n goroutines serve a connection (those of an
// earlier test's server may still be ending).
func waitConnGoroutines(t *testing.T, n int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for i := 0; ; i++ {
		got := bytes.Count(buf[:runtime.Stack(buf, true)], []byte("h1.(*conn).run("))
		if got == n {
			return
		}
		if i == 10000 {
			t.Fatalf("%d goroutines serve connections, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDormantKeepAlive: a keep-alive connection idle across two sweeps goes
// dormant (no goroutine, no read buffer), and its next request is served, on
// the same connection, as if it had waited; twice over.
func TestDormantKeepAlive(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps := startPark(t, tr, dormantOptions)
		c := ps.dial(t)
		c.get(t, "/plain", "")
		if got := c.read(t); got != "plain" {
			t.Fatalf("got %q", got)
		}
		sc := onlyConn(t, ps.srv)
		waitState(t, sc, stateIdle)
		waitConnGoroutines(t, 1)
		ps.srv.sweep(time.Now())
		if st := sc.state.Load(); st != stateIdle {
			t.Fatalf("state %d after one sweep: the first look only counts", st)
		}
		for range 2 {
			putToSleep(t, ps.srv, sc)
			c.get(t, "/plain", "")
			if got := c.read(t); got != "plain" {
				t.Fatalf("after dormancy: %q", got)
			}
			waitState(t, sc, stateIdle)
			if sc.waiter != nil {
				t.Fatal("an awake connection is still on the idle poller")
			}
		}
	})
}

// TestDormantBusyConnectionStays: a connection that read a request between
// two sweeps is not told to go dormant.
func TestDormantBusyConnectionStays(t *testing.T) {
	ps := startPark(t, plain, dormantOptions)
	c := ps.dial(t)
	c.get(t, "/plain", "")
	c.read(t)
	sc := onlyConn(t, ps.srv)
	waitState(t, sc, stateIdle)
	ps.srv.sweep(time.Now())
	c.get(t, "/plain", "")
	c.read(t)
	waitState(t, sc, stateIdle)
	ps.srv.sweep(time.Now())
	if st := sc.state.Load(); st != stateIdle {
		t.Fatalf("state %d after a sweep that followed a request", st)
	}
}

// TestDormantIdleTimeout: a dormant connection is closed once its idle
// deadline has passed, by the sweep (whose clock the test gives).
func TestDormantIdleTimeout(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps := startPark(t, tr, dormantOptions)
		c := ps.dial(t)
		c.get(t, "/plain", "")
		c.read(t)
		sc := onlyConn(t, ps.srv)
		waitState(t, sc, stateIdle)
		putToSleep(t, ps.srv, sc)
		ps.srv.sweep(time.Now().Add(30 * time.Minute))
		if st := sc.state.Load(); st != stateDormant {
			t.Fatalf("state %d before the idle deadline", st)
		}
		ps.srv.sweep(time.Now().Add(2 * time.Hour))
		if _, err := c.br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("the connection was not closed: %v", err)
		}
		if n := len(ps.srv.set.Snapshot(nil)); n != 0 {
			t.Fatalf("%d connections left", n)
		}
	})
}

// TestDormantShutdown: Shutdown closes dormant connections and returns.
func TestDormantShutdown(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps := startPark(t, tr, dormantOptions)
		c := ps.dial(t)
		c.get(t, "/plain", "")
		c.read(t)
		sc := onlyConn(t, ps.srv)
		waitState(t, sc, stateIdle)
		putToSleep(t, ps.srv, sc)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := ps.srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if _, err := c.br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("the connection was not closed: %v", err)
		}
	})
}

// TestDormantRace: requests that come while the sweep tells their connection
// to go dormant are all served, whichever comes first.
func TestDormantRace(t *testing.T) {
	overBoth(t, func(t *testing.T, tr transport) {
		ps := startPark(t, tr, dormantOptions)
		c := ps.dial(t)
		c.get(t, "/plain", "")
		c.read(t)
		sc := onlyConn(t, ps.srv)
		dormant := 0
		for i := range 300 {
			waitState(t, sc, stateIdle)
			swept := make(chan struct{})
			go func() {
				ps.srv.sweep(time.Now())
				ps.srv.sweep(time.Now())
				close(swept)
			}()
			if i%3 == 0 {
				runtime.Gosched()
			}
			if sc.state.Load() == stateDormant {
				dormant++
			}
			c.get(t, "/plain", "")
			if got := c.read(t); got != "plain" {
				t.Fatalf("request %d: %q", i, got)
			}
			<-swept
		}
		t.Logf("dormant before the request %d times of 300", dormant)
	})
}

// TestDormantPartialRequest: a request whose head is partly sent when the
// sweep comes is served once the rest arrives.
func TestDormantPartialRequest(t *testing.T) {
	ps := startPark(t, plain, dormantOptions)
	c := ps.dial(t)
	c.get(t, "/plain", "")
	c.read(t)
	sc := onlyConn(t, ps.srv)
	waitState(t, sc, stateIdle)
	ps.srv.sweep(time.Now())
	if _, err := io.WriteString(c, "GET /plain HTTP/1.1\r\nHo"); err != nil {
		t.Fatal(err)
	}
	ps.srv.sweep(time.Now())
	if _, err := io.WriteString(c, "st: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := c.read(t); got != "plain" {
		t.Fatalf("got %q", got)
	}
}

// TestDormantThenHijacked: a connection woken from dormancy is off the idle
// poller, so a handler that hijacks it can hand its socket to the poller
// (as WebSocket connections do).
func TestDormantThenHijacked(t *testing.T) {
	armed := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hijack" {
			_, _ = io.WriteString(w, "plain")
			return
		}
		nc, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			armed <- err
			return
		}
		defer nc.Close()
		p, err := idlepoll.Shared()
		if err != nil {
			armed <- err
			return
		}
		wt := p.Add(rawConn(rawio.SocketOf(nc)), func() {})
		defer wt.Remove()
		armed <- wt.Arm()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(h, dormantOptions)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	ps := &parkServer{addr: ln.Addr().String(), srv: srv}
	c := ps.dial(t)
	c.get(t, "/plain", "")
	c.read(t)
	sc := onlyConn(t, srv)
	waitState(t, sc, stateIdle)
	putToSleep(t, srv, sc)
	c.get(t, "/hijack", "")
	select {
	case err := <-armed:
		if err != nil {
			t.Fatalf("arming the hijacked socket: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the hijacking handler did not run")
	}
}

// TestSweepsAtOnce: Sweep may run beside the server's own sweep (and
// another Sweep) while connections go dormant and wake.
func TestSweepsAtOnce(t *testing.T) {
	ps := startPark(t, plain, dormantOptions)
	clients := make([]*parkClient, 4)
	for i := range clients {
		clients[i] = ps.dial(t)
	}
	done := make(chan struct{})
	swept := make(chan struct{})
	for range 2 {
		go func() {
			defer func() { swept <- struct{}{} }()
			for {
				select {
				case <-done:
					return
				default:
					ps.srv.Sweep(time.Now())
					runtime.Gosched()
				}
			}
		}()
	}
	for round := range 50 {
		for i, c := range clients {
			c.get(t, "/plain", "")
			if got := c.read(t); got != "plain" {
				t.Fatalf("round %d, client %d: %q", round, i, got)
			}
		}
	}
	close(done)
	<-swept
	<-swept
}
