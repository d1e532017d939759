package gateway

import (
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
	cw.w, cw.ended, cw.stop = w, false, nil
	cw.t.Reset(clientWatchAfter)
	return cw
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
	pending := cw.t.Stop()
	cw.mu.Lock()
	cw.ended = true
	stop := cw.stop
	cw.w, cw.stop = nil, nil
	cw.mu.Unlock()
	if stop != nil {
		stop()
	}
	if pending { // else its start ran, or is running: not reused
		clientWatches.Put(cw)
	}
}
