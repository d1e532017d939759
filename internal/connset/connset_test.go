package connset

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
)

func TestStopDrainsAndRefuses(t *testing.T) {
	var s Set[int]
	if conns, drained := s.Stop(); conns != nil || drained != nil {
		t.Fatalf("empty set: %v, %v", conns, drained)
	}
	var s2 Set[int]
	for i := range 3 {
		if !s2.Add(i) {
			t.Fatalf("Add(%d) refused before Stop", i)
		}
	}
	conns, drained := s2.Stop()
	if len(conns) != 3 || drained == nil || !s2.Stopping() {
		t.Fatalf("Stop: %v, %v, stopping %v", conns, drained, s2.Stopping())
	}
	if s2.Add(9) {
		t.Fatal("Add after Stop accepted")
	}
	s2.Forget(0)
	s2.Forget(1)
	select {
	case <-drained:
		t.Fatal("drained with a connection left")
	default:
	}
	s2.Forget(2)
	<-drained
}

// flakyListener fails its first accepts with a full file table, then hands
// out one connection, then blocks until closed.
type flakyListener struct {
	fails  int
	conn   net.Conn
	closed chan struct{}
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, syscall.EMFILE
	}
	if c := l.conn; c != nil {
		l.conn = nil
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *flakyListener) Close() error {
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return nil
}

func (l *flakyListener) Addr() net.Addr { return &net.TCPAddr{} }

func TestServeRetriesAndStops(t *testing.T) {
	var s Set[net.Conn]
	a, b := net.Pipe()
	defer b.Close()
	ln := &flakyListener{fails: 2, conn: a, closed: make(chan struct{})}
	got := make(chan net.Conn, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ln, slog.New(slog.DiscardHandler), func(c net.Conn) bool {
			if !s.Add(c) {
				return false
			}
			got <- c
			return true
		})
	}()
	if c := <-got; c != a {
		t.Fatalf("accepted %v", c)
	}
	conns, _ := s.Stop() // closes the listener: Serve returns
	if len(conns) != 1 {
		t.Fatalf("Stop: %d connections", len(conns))
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestLenAndCount(t *testing.T) {
	var s Set[int]
	for i := range 5 {
		s.Add(i)
	}
	s.Forget(4)
	if n := s.Len(); n != 4 {
		t.Fatalf("Len %d, want 4", n)
	}
	if n := s.Count(func(i int) bool { return i%2 == 0 }); n != 2 {
		t.Fatalf("Count of the even ones %d, want 2", n)
	}
}
