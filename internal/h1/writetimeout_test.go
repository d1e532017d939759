package h1

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestWriteTimeoutBoundsUnreadResponse: a client that sends a request and
// never reads its answer holds its handler no longer than Options.WriteTimeout
// once the connection takes nothing more: the handler's write fails with a
// deadline error, its request's context ends, and the connection closes,
// whether the response is one large write or a stream of small flushed ones.
// A handler that set a write deadline of its own (http.ResponseController)
// keeps it.
func TestWriteTimeoutBoundsUnreadResponse(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	type outcome struct {
		err      error
		ctxEnded bool
	}
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter) error
	}{
		{"large writes", func(w http.ResponseWriter) error {
			for {
				if _, err := io.WriteString(w, big); err != nil {
					return err
				}
			}
		}},
		{"stream", func(w http.ResponseWriter) error {
			rc := http.NewResponseController(w)
			for {
				if _, err := io.WriteString(w, big[:1000]); err != nil {
					return err
				}
				if err := rc.Flush(); err != nil {
					return err
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan outcome, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				err := tc.write(w)
				done <- outcome{err, r.Context().Err() != nil}
			})
			s, addr := startH1Server(t, h, Options{WriteTimeout: 200 * time.Millisecond})
			c := dialSmall(t, addr)
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			// The client reads nothing.
			select {
			case o := <-done:
				if !errors.Is(o.err, os.ErrDeadlineExceeded) {
					t.Errorf("handler's write failed with %v, want a deadline error", o.err)
				}
				if !o.ctxEnded {
					t.Error("the request's context did not end")
				}
			case <-time.After(15 * time.Second):
				t.Fatal("the handler still writes to a client that reads nothing")
			}
			for deadline := time.Now().Add(10 * time.Second); s.Open() != 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the server still holds %d connections", s.Open())
				}
			}
		})
	}
	t.Run("handler's own deadline", func(t *testing.T) {
		wrote := make(chan error, 1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A deadline already passed: the handler's, not the server's
			// refreshed one, is in force for its writes.
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(-time.Second))
			w.WriteHeader(http.StatusOK)
			_, err := io.WriteString(w, big)
			wrote <- err
		})
		_, addr := startH1Server(t, h, Options{WriteTimeout: time.Hour})
		c := dialSmall(t, addr)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if err := <-wrote; !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("write under the handler's past deadline: %v, want a deadline error", err)
		}
	})
	t.Run("deadline set from another goroutine", func(t *testing.T) {
		// A handler may cut its own blocked write short from another
		// goroutine (admin's log stream does, at a stop): a data race
		// under -race if the connection's flag for it is not atomic.
		wrote := make(chan error, 1)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			w.WriteHeader(http.StatusOK)
			go func() { _ = rc.SetWriteDeadline(time.Unix(1, 0)) }()
			var err error
			for err == nil {
				if _, err = io.WriteString(w, big); err == nil {
					err = rc.Flush()
				}
			}
			wrote <- err
		})
		_, addr := startH1Server(t, h, Options{WriteTimeout: time.Hour})
		c := dialSmall(t, addr)
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-wrote:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("write cut short from another goroutine: %v, want a deadline error", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the handler's deadline, set from another goroutine, did not end its write")
		}
	})
}

// dialSmall connects to addr with a small receive buffer, so that a response
// the client does not read fills it soon.
func dialSmall(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
