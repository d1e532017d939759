package h1

import (
	"net/http"
	"time"
)

// SetStopStall lets a long answer whose client reads in bursts (a download
// under curl's --limit-rate, which pauses up to a few seconds between reads)
// go on through a stop: once Shutdown began, a write of w's response fails
// when its client takes nothing of it for d, instead of a second (the
// default, for answers whose clients should not hold the stop). The stop's
// own deadline (its context, --shutdown-timeout) still bounds it. It holds
// until the response ends. For any other ResponseWriter it does nothing.
func SetStopStall(w http.ResponseWriter, d time.Duration) {
	if rw, ok := w.(*response); ok && !rw.c.hijacked && d > 0 {
		rw.c.stopStall.Store(int64(d))
	}
}

// CancelOnGone makes a handler served by this package notice its client going
// away while it waits (a stream that writes only now and then): the request's
// context is cancelled once the client closes the connection (bytes it sends
// meanwhile, a pipelined request, end the watch and cancel nothing).
// Call stop before the handler reads the connection again (the request body)
// or returns. The handler must have read its request body to the end. For any
// other ResponseWriter (net/http's server cancels the context itself) it does
// nothing.
func CancelOnGone(w http.ResponseWriter) (stop func()) {
	rw, ok := w.(*response)
	if !ok || rw.c.hijacked || rw.c.reqCtx == nil {
		return func() {}
	}
	rw.c.deadlineSet.Store(true) // the watch sets the read deadline
	gw := WatchClosed(rw.c.rwc, rw.c.reqCtx.end)
	return func() { gw.Stop() }
}

// Watchable reports whether CancelOnGone can watch w's connection: w is this
// package's, on a connection not hijacked. Call it from the handler.
func Watchable(w http.ResponseWriter) bool {
	rw, ok := w.(*response)
	return ok && !rw.c.hijacked && rw.c.reqCtx != nil
}
