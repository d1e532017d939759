package gateway

import (
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

// boundStalls wraps the handler of net/http's TLS server so that, over
// HTTP/2, a response that waits for the client's flow-control window for d
// (the listener's idle timeout) is given up: its stream is reset, as h2's
// WriteTimeout resets it under h1. net/http's HTTP/2 waits for a window for
// ever (its WriteTimeout would bound the whole response, streaming ones too),
// so a client that opens streams and never takes their answers would hold
// their handlers and its connection for good. Each write of the handler, and
// the answer's end after it returns, runs under a write deadline of d that
// is lifted again once the write is done: a handler that works for long
// between writes is not cut off. HTTP/1.1 is left alone.
func boundStalls(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// HTTP/2's preface sent where HTTP/1.1 is spoken reaches the
		// handler as a request "PRI * HTTP/2.0" on an HTTP/1.1 connection,
		// which refuseHTTP2Preface hijacks: it is left alone too.
		if r.ProtoMajor != 2 || r.Method == "PRI" || d <= 0 {
			h.ServeHTTP(w, r)
			return
		}
		sw := &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d}
		h.ServeHTTP(sw, r)
		// What is still buffered goes out after the handler returns: under
		// a deadline that stays, which the stream's end stops.
		_ = sw.rc.SetWriteDeadline(time.Now().Add(d))
	})
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
