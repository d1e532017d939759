//go:build linux

package h2

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// dormantOptions never sweep on their own (the tests call sweep).
var dormantOptions = Options{DormantAfter: time.Hour, IdleTimeout: time.Hour}

func startDormant(t *testing.T) *testServer {
	t.Helper()
	return startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok "+r.Header.Get("X-Seq"))
	}), dormantOptions)
}

// onlyConn returns the server's one connection.
func onlyConn(t *testing.T, s *Server) *conn {
	t.Helper()
	conns := s.set.Snapshot(nil)
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	return conns[0]
}

// waitPhase waits for the connection's reader to bring it to want
// (phaseWaiting: waiting or dormant, the two phases of a connection at rest).
func waitPhase(t *testing.T, c *conn, want int32) {
	t.Helper()
	at := func() bool {
		p := c.phase.Load()
		return p == want || want == phaseWaiting && p == phaseDormant
	}
	for i := 0; !at(); i++ {
		if i == 10000 {
			t.Fatalf("connection phase %d, want %d", c.phase.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitReaders waits until n goroutines read connections (an earlier test's
// may still be ending).
func waitReaders(t *testing.T, n int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for i := 0; ; i++ {
		got := bytes.Count(buf[:runtime.Stack(buf, true)], []byte("h2.(*conn).readFrames("))
		if got == n {
			return
		}
		if i == 10000 {
			t.Fatalf("%d goroutines read connections, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// putToSleep sweeps until the connection is dormant: the first look records
// its count of frames, a later one finds it unchanged once its handlers have
// returned (a response can reach the client just before its handler's end).
func putToSleep(t *testing.T, s *Server, c *conn) {
	t.Helper()
	for i := 0; c.phase.Load() != phaseDormant; i++ {
		if i == 10000 {
			t.Fatalf("connection phase %d, want dormant", c.phase.Load())
		}
		s.sweep(time.Now())
		time.Sleep(time.Millisecond)
	}
	waitReaders(t, 0)
}

// TestDormantConnection: a connection without a stream, idle across two
// sweeps, goes dormant (no reader goroutine) and is read again when the
// client sends: requests (whose header blocks use the HPACK table built
// before) and a PING; twice over.
func TestDormantConnection(t *testing.T) {
	ts := startDormant(t)
	rc := rawDial(t, ts.addr)
	rc.request(1, "GET", "/", true, "x-seq", "1")
	rc.ok(1, "ok 1")
	// The client's last frames (its acknowledgement of the server's
	// SETTINGS, written as it read the response) reach the server before
	// the PING, whose acknowledgement says they have been read: nothing more
	// arrives to wake the reader between the two sweeps.
	rc.ping()
	sc := onlyConn(t, ts.srv)
	waitPhase(t, sc, phaseWaiting)
	waitReaders(t, 1)
	ts.srv.sweep(time.Now())
	if p := sc.phase.Load(); p != phaseWaiting {
		t.Fatalf("phase %d after one sweep: the first look only counts", p)
	}
	id := uint32(3)
	for range 2 {
		putToSleep(t, ts.srv, sc)
		rc.ping()
		waitPhase(t, sc, phaseWaiting)
		putToSleep(t, ts.srv, sc)
		rc.request(id, "GET", "/", true, "x-seq", "1")
		rc.ok(id, "ok 1")
		id += 2
		waitPhase(t, sc, phaseWaiting)
	}
	if rc.goAway != nil {
		t.Fatalf("GOAWAY(%v)", rc.goAway.ErrCode)
	}
}

// TestDormantBusyConnectionStays: a connection with a stream open, or that
// read a frame since the sweep's last look, is not told to go dormant.
func TestDormantBusyConnectionStays(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			started <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "done")
	}), dormantOptions)
	rc := rawDial(t, ts.addr)
	rc.request(1, "GET", "/block", true)
	recv(t, started, "handler start")
	sc := onlyConn(t, ts.srv)
	waitPhase(t, sc, phaseWaiting)
	ts.srv.sweep(time.Now())
	ts.srv.sweep(time.Now())
	if p := sc.phase.Load(); p != phaseWaiting {
		t.Fatalf("phase %d with a stream open", p)
	}
	close(release)
	rc.ok(1, "done")
	waitPhase(t, sc, phaseWaiting)
	ts.srv.sweep(time.Now())
	rc.ping()
	waitPhase(t, sc, phaseWaiting)
	ts.srv.sweep(time.Now())
	if p := sc.phase.Load(); p != phaseWaiting {
		t.Fatalf("phase %d after a sweep that followed a frame", p)
	}
}

// TestDormantIdleTimeout: a dormant connection is sent GOAWAY(NO_ERROR) and
// closed once its idle deadline has passed, by the sweep (whose clock the
// test gives).
func TestDormantIdleTimeout(t *testing.T) {
	ts := startDormant(t)
	rc := rawDial(t, ts.addr)
	rc.request(1, "GET", "/", true)
	rc.ok(1, "ok ")
	sc := onlyConn(t, ts.srv)
	waitPhase(t, sc, phaseWaiting)
	putToSleep(t, ts.srv, sc)
	ts.srv.sweep(time.Now().Add(30 * time.Minute))
	if p := sc.phase.Load(); p != phaseDormant {
		t.Fatalf("phase %d before the idle deadline", p)
	}
	ts.srv.sweep(time.Now().Add(2 * time.Hour))
	if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeNo || ga.LastStreamID != 1 {
		t.Fatalf("GOAWAY %v, last stream %d; want NO_ERROR, 1", ga.ErrCode, ga.LastStreamID)
	}
	rc.waitClosed()
}

// TestDormantShutdown: Shutdown sends a dormant connection GOAWAY, closes it
// and returns.
func TestDormantShutdown(t *testing.T) {
	ts := startDormant(t)
	rc := rawDial(t, ts.addr)
	rc.request(1, "GET", "/", true)
	rc.ok(1, "ok ")
	sc := onlyConn(t, ts.srv)
	waitPhase(t, sc, phaseWaiting)
	putToSleep(t, ts.srv, sc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if ga := rc.waitGoAway(); ga.ErrCode != http2.ErrCodeNo {
		t.Fatalf("GOAWAY %v, want NO_ERROR", ga.ErrCode)
	}
	rc.waitClosed()
}

// TestDormantRace: requests that come while the sweep tells their connection
// to go dormant are all served, whichever comes first.
func TestDormantRace(t *testing.T) {
	ts := startDormant(t)
	rc := rawDial(t, ts.addr)
	rc.request(1, "GET", "/", true)
	rc.ok(1, "ok ")
	sc := onlyConn(t, ts.srv)
	dormant := 0
	for i := range 300 {
		waitPhase(t, sc, phaseWaiting)
		swept := make(chan struct{})
		go func() {
			ts.srv.sweep(time.Now())
			ts.srv.sweep(time.Now())
			close(swept)
		}()
		if i%3 == 0 {
			runtime.Gosched()
		}
		if sc.phase.Load() == phaseDormant {
			dormant++
		}
		id := uint32(3 + 2*i)
		rc.request(id, "GET", "/", true, "x-seq", "r")
		rc.ok(id, "ok r")
		<-swept
	}
	t.Logf("dormant before the request %d times of 300", dormant)
	if rc.goAway != nil {
		t.Fatalf("GOAWAY(%v)", rc.goAway.ErrCode)
	}
}
