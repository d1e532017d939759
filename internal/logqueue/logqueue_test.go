package logqueue

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// blockingWriter blocks every Write until released, telling when one began.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// TestBlockedOutputDropsAndSaysSo is what the obs20 tester found: with the
// server log's reader stalled, every request that logged hung. Writes go to
// a bounded queue; past it they are dropped and counted, and once the output
// takes lines again a warning says how many were lost.
func TestBlockedOutputDropsAndSaysSo(t *testing.T) {
	out := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	w := New(out, 10)
	if _, err := w.Write([]byte("a\n")); err != nil {
		t.Fatal(err)
	}
	<-out.entered // the writer is stuck writing "a"
	for _, l := range []string{"b\n", "c\n", "d\n", "e\n", "f\n", "gg\n", "h\n"} {
		if n, err := w.Write([]byte(l)); n != len(l) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", l, n, err)
		}
	}
	if got := w.Dropped(); got != 2 {
		t.Errorf("dropped %d, want 2 (gg and h)", got)
	}
	close(out.release)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := out.buf.String()
	if !strings.HasPrefix(got, "a\nb\nc\nd\ne\nf\n") || strings.Contains(got, "gg") || strings.Contains(got, "h\n") {
		t.Errorf("written %q", got)
	}
	if !strings.Contains(got, "level=WARN") || !strings.Contains(got, "dropped=2") {
		t.Errorf("no warning about the 2 dropped lines: %q", got)
	}
	if n, _ := w.Write([]byte("late\n")); n != 5 || w.Dropped() != 3 {
		t.Errorf("a write after Close: %d bytes, dropped %d; want taken and dropped", n, w.Dropped())
	}
}

// TestCloseDoesNotWaitForABlockedOutput: Close gives up when its context
// ends.
func TestCloseDoesNotWaitForABlockedOutput(t *testing.T) {
	out := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(out.release)
	w := New(out, 0)
	_, _ = w.Write([]byte("a\n"))
	<-out.entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Close(ctx); err == nil {
		t.Error("Close returned nil with the output blocked")
	}
}

// brokenPipe fails every write as a pipe whose reader exited does.
type brokenPipe struct{ writes int }

func (b *brokenPipe) Write([]byte) (int, error) {
	b.writes++
	return 0, syscall.EPIPE
}

// TestBrokenOutputDropsAndCounts: an output whose reader went away (EPIPE,
// portico serve 2>&1 | head) drops the lines, counted in Dropped, and the
// writer neither retries them nor spins.
func TestBrokenOutputDropsAndCounts(t *testing.T) {
	out := &brokenPipe{}
	w := New(out, 0)
	for range 3 {
		if n, err := w.Write([]byte("line\n")); n != 5 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.Dropped(); got != 3 {
		t.Errorf("dropped %d, want the 3 lines the output did not take", got)
	}
	if out.writes > 3 {
		t.Errorf("%d writes to the broken output for 3 lines: retried", out.writes)
	}
}
