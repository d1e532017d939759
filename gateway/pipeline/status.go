package pipeline

import "net/http"

// StatusWriter wraps a ResponseWriter and records the status the rest of the
// pipeline answers with (200 when it writes a body without a status), for the
// observing stages. Reuse one by resetting both fields. Not safe for concurrent
// use, as a ResponseWriter is not.
type StatusWriter struct {
	http.ResponseWriter
	// Status is the status written, 0 before any.
	Status int
}

// WriteHeader implements http.ResponseWriter.
func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 && code >= 200 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *StatusWriter) Flush() {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer (for http.ResponseController).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// PassesThrough implements PassThrough.
func (w *StatusWriter) PassesThrough() http.ResponseWriter { return w.ResponseWriter }

// PassThrough is a ResponseWriter wrapper that hands every header, status and
// byte on to the writer it wraps as it gets them (it may record the status,
// count the bytes, or add headers when the status is written), and after its
// handler returns only reads what it recorded. An integration may have its
// answer written by another goroutine (gateway/function.go: the function's
// result, from the goroutine that reads it) only through wrappers that all
// are; one that holds the response back (compression, the cache's recorder,
// a span to end) is not. A wrapper that embeds one that is, and is not
// itself, must say so: PassesThrough returning nil.
type PassThrough interface {
	http.ResponseWriter
	// PassesThrough returns the wrapped writer, or nil when this wrapper
	// does not pass through.
	PassesThrough() http.ResponseWriter
}

// Innermost returns the writer under w's PassThrough wrappers and true, or
// nil and false when one of them does not pass through. The server's own
// writer is what it returns when every stage wrapped w in one.
func Innermost(w http.ResponseWriter) (http.ResponseWriter, bool) {
	for {
		p, ok := w.(PassThrough)
		if !ok {
			return w, true
		}
		if w = p.PassesThrough(); w == nil {
			return nil, false
		}
	}
}
