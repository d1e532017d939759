package gateway

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/h1"
)

// The h1 engine does not read a connection in the background while its
// handler runs (net/http does, to notice a client that left): a client that
// goes away is noticed at the next write. An integration that waits (a
// backend, a function) would then run on, and the request be recorded as
// answered. So a request whose integration is still running after
// clientWatchAfter has its connection watched (h1.CancelOnGone): a client
// that goes away cancels the request's context, which ends the backend
// exchange (or the wait for the function), and the request is recorded 499
// (pipeline.ClientGone). Requests that finish sooner pay a pooled timer's
// Reset and Stop, no allocation and no goroutine.

// clientWatchAfter is how long an integration runs before its client's
// connection is watched.
var clientWatchAfter = 100 * time.Millisecond

// clientWatch watches one request's client once its timer fires. Pooled.
type clientWatch struct {
	t *time.Timer

	mu    sync.Mutex
	w     http.ResponseWriter // h1's own writer
	ended bool
	armed bool   // its timer was started
	gen   uint64 // counts its ends: a stale body's arm starts nothing
	stop  func()
}

var clientWatches = sync.Pool{New: func() any {
	cw := &clientWatch{}
	cw.t = time.AfterFunc(time.Hour, cw.start)
	cw.t.Stop()
	return cw
}}

// watchClient starts watching the client of w's request, an h1 request
// whose body was read to its end (or that has none), once clientWatchAfter
// has passed; nil for other engines' requests (net/http cancels the
// context itself). End it with end before the handler returns.
func watchClient(w http.ResponseWriter) *clientWatch {
	cw := newWatch(w)
	if cw != nil {
		cw.arm(cw.gen)
	}
	return cw
}

// watchBody wraps r's body, of an h1 request, so that the watch of its
// client (as watchClient's) starts once the body has been read to its end,
// by whatever reads it (a validator, a template, a function's event, an
// HTTP backend's transport): a client that leaves then ends the request's
// context during validation and template rendering too. It returns the
// watch (nil, the body untouched, for a request without a body or of
// another engine), which the caller ends before the handler returns.
func watchBody(w http.ResponseWriter, r *http.Request) *clientWatch {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	cw := newWatch(w)
	if cw != nil {
		r.Body = &watchedBody{ReadCloser: r.Body, cw: cw, gen: cw.gen}
	}
	return cw
}

// watchedBody is a request body that arms its watch at its end.
type watchedBody struct {
	io.ReadCloser
	cw  *clientWatch
	gen uint64
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.cw.arm(b.gen)
	}
	return n, err
}

// newWatch returns an unarmed watch of w's client, nil when w is not an h1
// writer.
func newWatch(w http.ResponseWriter) *clientWatch {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	if !h1.Watchable(w) {
		return nil
	}
	cw := clientWatches.Get().(*clientWatch)
	cw.mu.Lock()
	cw.w, cw.ended, cw.armed, cw.stop = w, false, false, nil
	cw.mu.Unlock()
	return cw
}

// arm starts the watch's timer, once, unless the watch of request gen has
// ended (a transport may read a body to its end after its request).
func (cw *clientWatch) arm(gen uint64) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if cw.ended || cw.armed || cw.gen != gen {
		return
	}
	cw.armed = true
	cw.t.Reset(clientWatchAfter)
}

// start watches the connection (on the timer's goroutine), unless the
// request ended meanwhile.
func (cw *clientWatch) start() {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	if !cw.ended {
		cw.stop = h1.CancelOnGone(cw.w)
		if hook := watchStartedHook.Load(); hook != nil {
			(*hook)()
		}
	}
}

// watchStartedHook, when set (by tests), runs each time a client's watch
// starts.
var watchStartedHook atomic.Pointer[func()]

// end stops the watch; the connection is the handler's again when it
// returns. A nil watch does nothing.
func (cw *clientWatch) end() {
	if cw == nil {
		return
	}
	cw.mu.Lock()
	pending := cw.t.Stop()
	reuse := !cw.armed || pending // else its start ran, or is running: not reused
	cw.ended = true
	cw.gen++
	stop := cw.stop
	cw.w, cw.stop = nil, nil
	cw.mu.Unlock()
	if stop != nil {
		stop()
	}
	if reuse {
		clientWatches.Put(cw)
	}
}
