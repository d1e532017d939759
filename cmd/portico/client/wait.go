package client

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/clock"
)

// The bounds of a call to the admin API. A stopped server (kill -STOP) still
// accepts connections (the kernel does), so only the wait for the answer
// tells it from a slow one.
const (
	// DialTimeout bounds connecting to the admin API.
	DialTimeout = 10 * time.Second
	// DefaultWait bounds the wait for an answer's headers once the request
	// has been sent (Client.Wait).
	DefaultWait = 60 * time.Second
	// UploadWait is the wait of calls that store uploaded code or images,
	// which the server unpacks and writes before it answers.
	UploadWait = 5 * time.Minute
	// DefaultSlowAfter is how long a call waits before Client.Waiting is told,
	// and again each time as long after.
	DefaultSlowAfter = 5 * time.Second
)

// newHTTPClient returns the HTTP client of New: connecting is bounded by
// DialTimeout; the answer's wait is the Client's own (send), per call.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: t}
}

// NoAnswerError is the error of a call the admin API did not answer within
// the Client's Wait.
type NoAnswerError struct {
	Endpoint, Method, Path string
	Wait                   time.Duration
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("%s %s: the admin API at %s did not answer within %s: is `portico serve` running and not stopped "+
		"or overloaded? (a stopped process still accepts connections, but never answers)", e.Method, e.Path, e.Endpoint, e.Wait)
}

// waiter bounds one call's wait for its answer: the call is cancelled with a
// NoAnswerError once Wait passes with no progress (from the start, from the
// last part of the body the transport took, or from when all of it was sent)
// before the answer's headers came (stop); once the request is sent, Waiting
// is told every SlowAfter. Safe for concurrent use (the transport's goroutine
// reads the body).
type waiter struct {
	c      *Client
	cancel context.CancelCauseFunc
	cause  *NoAnswerError

	mu       sync.Mutex
	stopped  bool
	notices  bool
	stopWait func() bool
	stops    []func() bool
	waited   time.Duration
}

func (c *Client) clock() clock.Clock {
	if c.Clock == nil {
		return clock.Real{}
	}
	return c.Clock
}

// progress (re)starts the wait: the call has just started, or sent more.
func (w *waiter) progress() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.progressLocked()
}

func (w *waiter) progressLocked() {
	if w.stopped || w.cause.Wait <= 0 {
		return
	}
	if w.stopWait != nil {
		w.stopWait()
	}
	w.stopWait = w.c.clock().AfterFunc(w.cause.Wait, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.stopped {
			w.stopped = true
			w.cancel(w.cause)
		}
	})
}

// sent restarts the wait for the answer, all of the request being sent, and
// starts the notices; later calls do nothing.
func (w *waiter) sent() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.notices {
		return
	}
	w.notices = true
	w.progressLocked()
	if w.c.Waiting != nil {
		w.slowLocked(w.c.clock())
	}
}

// slowLocked arms the next "still waiting" notice.
func (w *waiter) slowLocked(clk clock.Clock) {
	every := w.c.SlowAfter
	if every <= 0 {
		every = DefaultSlowAfter
	}
	w.stops = append(w.stops, clk.AfterFunc(every, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.stopped {
			return
		}
		w.waited += every
		w.c.Waiting(w.cause.Method, w.cause.Path, w.waited)
		w.slowLocked(clk)
	}))
}

// stop ends the wait: the answer's headers came, or the call failed.
func (w *waiter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.stopWait != nil {
		w.stopWait()
	}
	for _, s := range w.stops {
		s()
	}
	w.stops = nil
}

// sentBody is a request body that tells its waiter once all of it has been
// read by the transport, and reports progress when asked to.
type sentBody struct {
	io.ReadCloser
	sent, total int64
	report      func(sent, total int64)
	w           *waiter
}

func (b *sentBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.sent += int64(n)
		if b.report != nil {
			b.report(b.sent, b.total)
		}
		b.w.progress()
	}
	if err == io.EOF || b.total >= 0 && b.sent >= b.total {
		b.w.sent()
	}
	return n, err
}

// cancelOnClose is an answer's body that ends the call's context once closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}
