package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// stuckWriter is a client that does not read: a Write blocks until the write
// deadline is set in the past, as a connection's does, and then fails.
type stuckWriter struct {
	header http.Header
	mu     sync.Mutex
	// deadlines are the write deadlines set, in order; woken is closed by a
	// deadline in the past.
	deadlines []time.Time
	woken     chan struct{}
	writes    int
	entered   chan struct{} // gets a value when a Write starts
}

func newStuckWriter() *stuckWriter {
	return &stuckWriter{header: http.Header{}, woken: make(chan struct{}), entered: make(chan struct{}, 16)}
}

func (w *stuckWriter) Header() http.Header { return w.header }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) FlushError() error   { return nil }

func (w *stuckWriter) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadlines = append(w.deadlines, t)
	if !t.IsZero() && t.Before(time.Unix(2, 0)) {
		select {
		case <-w.woken:
		default:
			close(w.woken)
		}
	}
	return nil
}

func (w *stuckWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	n := w.writes
	w.mu.Unlock()
	if n == 1 {
		return len(b), nil // the tail goes out
	}
	w.entered <- struct{}{}
	<-w.woken
	return 0, os.ErrDeadlineExceeded
}

// TestLogStreamSlowReader checks the log follow stream against a client that
// stops reading: every write goes out under a write deadline (so such a client
// is let go, not held for ever), and when the server stops, the write it is
// blocked in is cut short so that shutdown does not wait for it.
func TestLogStreamSlowReader(t *testing.T) {
	t.Parallel()
	s := &Server{stopping: make(chan struct{}), streamWriteTimeout: time.Hour}
	w := newStuckWriter()
	lines := make(chan []byte, 1)
	lines <- []byte("START RequestId: 1\n")
	r := httptest.NewRequest(http.MethodGet, "/portico/v1/functions/f/logs?follow=1", nil)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		s.streamLogs(w, r, []byte("tail\n"), lines)
	}()
	<-w.entered // blocked writing to a client that does not read
	w.mu.Lock()
	var set []time.Time
	set = append(set, w.deadlines...)
	w.mu.Unlock()
	if len(set) < 2 || set[0].IsZero() || set[1].IsZero() {
		t.Fatalf("write deadlines before the tail and the line: %v, want one before each", set)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-returned:
	case <-ctx.Done():
		t.Fatal("the stream still blocks on a client that does not read after the server stopped")
	}
	w.mu.Lock()
	last := w.deadlines[len(w.deadlines)-1]
	w.mu.Unlock()
	if !last.Before(time.Unix(2, 0)) {
		t.Fatalf("last deadline %v: a stopped stream must keep its deadline in the past", last)
	}
}

// TestLogTailClearsDeadline: a tail without follow leaves no write deadline
// behind on a connection that serves more requests.
func TestLogTailClearsDeadline(t *testing.T) {
	t.Parallel()
	s := &Server{stopping: make(chan struct{})}
	w := newStuckWriter()
	s.streamLogs(w, httptest.NewRequest(http.MethodGet, "/portico/v1/functions/f/logs", nil), []byte("tail\n"), nil)
	if n := len(w.deadlines); n < 2 || w.deadlines[0].IsZero() || !w.deadlines[n-1].IsZero() {
		t.Fatalf("deadlines %v: want one for the write, then none", w.deadlines)
	}
}

// TestLogStreamStopsCleanly: a follower that keeps up sees the stream end when
// the server stops, with no deadline in the past, so the end of the chunked
// body still goes out and the client sees a clean end, not a cut connection.
func TestLogStreamStopsCleanly(t *testing.T) {
	t.Parallel()
	s := &Server{stopping: make(chan struct{})}
	w := newStuckWriter() // its first write, the tail, goes out
	lines := make(chan []byte)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		s.streamLogs(w, httptest.NewRequest(http.MethodGet, "/portico/v1/functions/f/logs?follow=1", nil), []byte("tail\n"), lines)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-returned:
	case <-ctx.Done():
		t.Fatal("the stream did not end when the server stopped")
	}
	// The stop may land while the tail's write is under way and set its
	// deadline in the past; that write went out whole, so the stream's end
	// must not stay cut.
	last := w.deadlines[len(w.deadlines)-1]
	if !last.IsZero() && last.Before(time.Unix(2, 0)) {
		t.Fatalf("deadlines %v: a stream that kept up was cut", w.deadlines)
	}
	if last.IsZero() {
		t.Fatalf("deadlines %v: the end of a stopped stream must still be bounded", w.deadlines)
	}
}

// slowWriter is a client whose first Write (the tail) is still under way
// when the server stops: it takes no notice of the deadline set in the past
// meanwhile and goes out whole once released.
type slowWriter struct {
	header    http.Header
	mu        sync.Mutex
	deadlines []time.Time
	entered   chan struct{} // closed when the first Write starts
	cut       chan struct{} // closed by a deadline in the past
	release   chan struct{} // lets the first Write finish
	writes    int
}

func (w *slowWriter) Header() http.Header { return w.header }
func (w *slowWriter) WriteHeader(int)     {}
func (w *slowWriter) FlushError() error   { return nil }

func (w *slowWriter) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadlines = append(w.deadlines, t)
	if !t.IsZero() && t.Before(time.Unix(2, 0)) {
		select {
		case <-w.cut:
		default:
			close(w.cut)
		}
	}
	return nil
}

func (w *slowWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	first := w.writes == 1
	w.mu.Unlock()
	if first {
		close(w.entered)
		<-w.release
	}
	return len(b), nil
}

// TestLogStreamStopDuringAWriteThatGoesOut: when the server stops while a
// write is under way that then goes out whole (the client keeps up; the stop
// merely came during it), the stream's end is still written: its deadline
// is not left in the past.
func TestLogStreamStopDuringAWriteThatGoesOut(t *testing.T) {
	t.Parallel()
	s := &Server{stopping: make(chan struct{}), streamWriteTimeout: time.Hour}
	w := &slowWriter{header: http.Header{}, entered: make(chan struct{}), cut: make(chan struct{}), release: make(chan struct{})}
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		s.streamLogs(w, httptest.NewRequest(http.MethodGet, "/portico/v1/functions/f/logs?follow=1", nil), []byte("tail\n"), make(chan []byte))
	}()
	<-w.entered
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.cut: // the stop cut the write under way
	case <-ctx.Done():
		t.Fatal("the stop did not cut the write under way")
	}
	close(w.release)
	select {
	case <-returned:
	case <-ctx.Done():
		t.Fatal("the stream did not end when the server stopped")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if last := w.deadlines[len(w.deadlines)-1]; last.IsZero() || last.Before(time.Unix(2, 0)) {
		t.Fatalf("deadlines %v: the end of a stream whose write went out must get a bounded deadline, not one in the past", w.deadlines)
	}
}
