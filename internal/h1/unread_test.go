package h1

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestUnreadBudgetCutsStalledReaders: answers that clients do not read are
// held in memory only up to the unread budget: under it a stalled write
// waits for WriteTimeout (an hour here); once a second stalled answer takes
// the writes past the budget, both stalled writes fail after the budget's
// short stall timeout and their connections close (the faults22 tester's
// finding 2: 400 clients that never read 5 MB answers pinned 2.3 GB).
func TestUnreadBudgetCutsStalledReaders(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 4<<20)
	b := NewUnreadBudget(6<<20, 20*time.Millisecond)
	errs := make(chan error, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := w.Write(big)
		errs <- err
	})
	s, addr := startH1Server(t, h, Options{ReadHeaderTimeout: time.Hour, IdleTimeout: time.Hour, WriteTimeout: time.Hour, Unread: b})
	stall := func() net.Conn {
		c := dialSmall(t, addr)
		_ = c.SetDeadline(time.Now().Add(5 * time.Minute)) // a safety net, not a timing assertion
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// What the response writer buffered itself (its first few KB) is not
	// the write's.
	waitHeld := func(want func(int64) bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !want(b.Held()); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the budget holds %d bytes", b.Held())
			}
		}
	}
	stall()
	waitHeld(func(n int64) bool { return n > 3<<20 })
	select {
	case err := <-errs:
		t.Fatalf("a stalled write under the budget ended: %v", err)
	default:
	}
	stall()
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("a stalled write past the budget failed with %v, want a deadline error", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("stalled writes past the budget still wait")
		}
	}
	waitHeld(func(n int64) bool { return n == 0 })
	if got := b.Cut(); got != 2 {
		t.Errorf("Cut %d, want 2", got)
	}
	for deadline := time.Now().Add(time.Minute); s.Open() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server still holds %d connections", s.Open())
		}
	}
}
