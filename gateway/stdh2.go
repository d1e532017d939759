package gateway

import (
	"net"
	"net/http"
	"time"

	"github.com/portico-dev/portico/internal/h2"
)

// stdHTTP2 is the HTTP/2 configuration of net/http's TLS server (the engines
// other than h1), set explicitly to what internal/h2 holds under h1 rather
// than net/http's more generous defaults (1 MB frames): the same concurrent
// streams, frame size and receive windows, and a connection whose writes
// make no progress for the idle timeout is closed (net/http's default is to
// wait for ever).
func (s *Server) stdHTTP2() *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxConcurrentStreams:          h2.DefaultMaxConcurrentStreams,
		MaxReadFrameSize:              16 << 10,
		MaxReceiveBufferPerConnection: 1 << 20,
		MaxReceiveBufferPerStream:     1 << 20,
		WriteByteTimeout:              s.limits.IdleTimeout,
	}
}

// boundStalls wraps the handler of a net/http server of the gateway (the
// plain listener's under the net/http engine, the TLS listener's under the
// engines other than h1) so that an answer its client takes nothing of for d
// (the listener's idle timeout) is given up, as h1's and h2's WriteTimeout
// give it up under h1. net/http waits for a client that does not read for
// ever (its WriteTimeout would bound the whole response, streaming ones too),
// so a client that asks for a large or streamed answer and never reads it
// would hold the handler, its backend request and its buffers for good. Each
// write and flush of the handler runs under a write deadline of d that is
// lifted again once it is done, so a handler that works for long between
// writes, and a slow client that reads, are not cut off; a write that fails
// on it ends the request's context. What is still buffered goes out after the
// handler returns under a deadline of d that stays: over HTTP/2 the stream's
// end stops it, over HTTP/1.x the connection's next state (liftWriteDeadline).
// Over HTTP/2 a response that waits for the client's flow-control window is
// given up the same way (its stream is reset).
func boundStalls(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// HTTP/2's preface sent where HTTP/1.1 is spoken reaches the
		// handler as a request "PRI * HTTP/2.0" on an HTTP/1.1 connection,
		// which refuseHTTP2Preface hijacks (asserting http.Hijacker): it
		// is left alone.
		if r.Method == "PRI" || d <= 0 {
			h.ServeHTTP(w, r)
			return
		}
		sw := &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}
		h.ServeHTTP(sw, r)
		_ = sw.rc.SetWriteDeadline(time.Now().Add(d))
	})
}

// liftWriteDeadline has srv, whose handler boundStalls wraps, lift the write
// deadline an HTTP/1.x answer ends under once it is written (the connection
// goes idle) or the connection's next request is read (it goes active), so
// that neither the wait for the next request nor what net/http writes itself
// for it (100 Continue, its own refusals) runs under an old deadline. It
// keeps srv's ConnState hook, if any, set before.
func liftWriteDeadline(srv *http.Server) {
	next := srv.ConnState
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateIdle || st == http.StateActive {
			_ = c.SetWriteDeadline(time.Time{})
		}
		if next != nil {
			next(c, st)
		}
	}
}

// stallWriter puts each write and flush of a response under a deadline.
type stallWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *stallWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	n, err := w.ResponseWriter.Write(p)
	_ = w.rc.SetWriteDeadline(time.Time{})
	return n, err
}

// FlushError implements the flush that http.ResponseController looks for
// first.
func (w *stallWriter) FlushError() error {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.d))
	err := w.rc.Flush()
	_ = w.rc.SetWriteDeadline(time.Time{})
	return err
}

// Flush implements http.Flusher.
func (w *stallWriter) Flush() { _ = w.FlushError() }

// Unwrap gives http.ResponseController the server's writer.
func (w *stallWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
