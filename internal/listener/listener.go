// Package listener holds the limits of Portico's public HTTP listeners, the
// gateway and the admin API: how large a request's header may be and how long a
// client may take to send its header and its body, or keep an idle connection.
// Both servers take them from here, so a slow or oversized client is treated the
// same on either, and the admin API is never looser than the gateway.
//
// A WebSocket connection is not bound by these: once a handler hijacks a
// connection the HTTP server's timeouts no longer apply to it, and the WebSocket
// layer keeps its own idle and lifetime limits (2 h by default).
package listener

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/ids"
)

// Limits are an HTTP listener's limits. Zero fields take the defaults
// (DefaultLimits). A Limits value is immutable once a server uses it.
type Limits struct {
	// MaxHeaderBytes bounds a request's header block: request line and header
	// fields (64 KB). A larger one is refused with 431.
	MaxHeaderBytes int `yaml:"max-header-bytes"`
	// HeaderTimeout is how long a client has to send a request's header block,
	// from the first byte (10 s).
	HeaderTimeout time.Duration `yaml:"header-timeout"`
	// BodyTimeout is how long a client has to send a request's body, from the
	// end of its header block (60 s: 10 MB at about 170 KB/s). A body that has
	// not arrived by then is cut off and the connection closed. It does not
	// bound the handler: an integration may take its 29 s after the body came.
	BodyTimeout time.Duration `yaml:"body-timeout"`
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request (120 s).
	IdleTimeout time.Duration `yaml:"idle-timeout"`
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxHeaderBytes: 64 << 10,
		HeaderTimeout:  10 * time.Second,
		BodyTimeout:    60 * time.Second,
		IdleTimeout:    120 * time.Second,
	}
}

// WithDefaults returns l with its zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.HeaderTimeout == 0 {
		l.HeaderTimeout = d.HeaderTimeout
	}
	if l.BodyTimeout == 0 {
		l.BodyTimeout = d.BodyTimeout
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	return l
}

// Validate reports limits that cannot work.
func (l Limits) Validate() error {
	var errs []error
	if l.MaxHeaderBytes < 0 {
		errs = append(errs, fmt.Errorf("listener: max-header-bytes %d is negative", l.MaxHeaderBytes))
	} else if l.MaxHeaderBytes > 0 && l.MaxHeaderBytes < 1024 {
		errs = append(errs, fmt.Errorf("listener: max-header-bytes %d is too small for a request line and a Host header: give 1024 or more", l.MaxHeaderBytes))
	}
	for name, d := range map[string]time.Duration{"header-timeout": l.HeaderTimeout, "body-timeout": l.BodyTimeout, "idle-timeout": l.IdleTimeout} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("listener: %s %s is negative", name, d))
		}
	}
	return errors.Join(errs...)
}

// Tighten returns l, each of whose limits is no looser than other's: the smaller
// header size and the shorter timeouts. The admin API's limits are its own
// tightened by the gateway's.
func (l Limits) Tighten(other Limits) Limits {
	l, other = l.WithDefaults(), other.WithDefaults()
	return Limits{
		MaxHeaderBytes: min(l.MaxHeaderBytes, other.MaxHeaderBytes),
		HeaderTimeout:  min(l.HeaderTimeout, other.HeaderTimeout),
		BodyTimeout:    min(l.BodyTimeout, other.BodyTimeout),
		IdleTimeout:    min(l.IdleTimeout, other.IdleTimeout),
	}
}

// Server returns an http.Server for h with the limits applied.
func (l Limits) Server(h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: l.WithDefaults().HeaderTimeout} // Apply sets it too
	l.Apply(srv)
	return srv
}

// Apply sets srv's header size, header and idle timeouts, and wraps its handler
// so that a request body must arrive within BodyTimeout (see Handler). Call it
// before the server serves. Other fields of srv (TLS, ConnContext) are left as
// they are.
func (l Limits) Apply(srv *http.Server) {
	l = l.WithDefaults()
	srv.MaxHeaderBytes = l.MaxHeaderBytes
	srv.ReadHeaderTimeout = l.HeaderTimeout
	srv.IdleTimeout = l.IdleTimeout
	srv.ReadTimeout = 0  // it would also bound the handler's time: see BodyTimeout
	srv.WriteTimeout = 0 // responses may stream; integrations bound their own time
	srv.Handler = l.Handler(srv.Handler)
}

// Handler wraps h so that a request's body must arrive within BodyTimeout of
// its header: the connection's read deadline is set before h runs and cleared
// once the body has been read to its end, so that it never cuts off a handler
// that is still working, a response being written, or a connection h hijacks
// after reading the body. A body closed before its end keeps the deadline, which
// then bounds the server's discarding of the rest. Requests without a body (a WebSocket upgrade,
// most GETs) get no deadline.
func (l Limits) Handler(h http.Handler) http.Handler {
	d := l.WithDefaults().BodyTimeout
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		// One allocation: the controller is held by value, and the body
		// clears the deadline through it (no closure).
		b := &deadlineBody{ReadCloser: r.Body, timeout: d, rc: *http.NewResponseController(w)}
		if err := b.rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			h.ServeHTTP(w, r) // a writer without deadlines (a test recorder): nothing to bound
			return
		}
		r.Body = b
		h.ServeHTTP(w, r)
	})
}

// RefusedErrorType is the x-amzn-ErrorType of an answer a listener's server
// gives itself, before any surface routes the request (h1.Options.Refuse,
// h2.Options.Refuse): 431 RequestHeaderFieldsTooLargeException (a header over
// MaxHeaderBytes) and 414 RequestURITooLongException (a request line alone
// over it), named as the body-timeout's 408 RequestTimeoutException is, which
// a head not received in time gets too, and 400 BadRequestException (a
// malformed head); "" for any other status.
func RefusedErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "BadRequestException"
	case http.StatusRequestTimeout:
		return BodyTimeoutType
	case http.StatusRequestHeaderFieldsTooLarge:
		return "RequestHeaderFieldsTooLargeException"
	case http.StatusRequestURITooLong:
		return "RequestURITooLongException"
	}
	return ""
}

// Refuse answers, in API Gateway's error shape ({"message": "..."},
// x-amzn-ErrorType and a new x-amzn-RequestId), a request a listener's server
// refused itself (h1.Options.Refuse): 431, 414, 408, 400 (RefusedErrorType),
// 503 ServiceUnavailableException (the server began to stop before the head
// came in whole), any other 5xx (501, 505) ServiceException and any other 4xx
// (417) ClientException. For a listener with no AWS surface of its own
// (--metrics-listen); the gateway and the admin API answer in theirs.
func Refuse(w http.ResponseWriter, _ *http.Request, status int) {
	typ := RefusedErrorType(status)
	switch {
	case typ != "":
	case status == http.StatusServiceUnavailable:
		typ = "ServiceUnavailableException"
	case status >= 500:
		typ = "ServiceException"
	default:
		typ = "ClientException"
	}
	body := `{"message": "` + http.StatusText(status) + `"}`
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amzn-Errortype", typ)
	h.Set("X-Amzn-Requestid", ids.UUID())
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// ErrBodyTimeout is the kind of a request body read that a deadline ended:
// the client did not send the whole body in time (BodyTimeout, or a shorter
// deadline a handler set). The client is still there to be answered: the
// gateway answers 408, and the connection is closed after the answer.
var ErrBodyTimeout = errors.New("request body not received in time")

// BodyTimeoutType and BodyTimeoutMessage are the x-amzn-ErrorType and the
// message every surface (the gateway, the admin API, @connections) answers a
// body read that ErrBodyTimeout ended with, beside its 408.
const (
	BodyTimeoutType    = "RequestTimeoutException"
	BodyTimeoutMessage = "Request body not received in time: send the whole body without pausing"
)

// BodyTimeoutError returns the error a surface answers a body read that
// ErrBodyTimeout ended with: kind ErrBodyTimeout, BodyTimeoutType,
// BodyTimeoutMessage. The read's own error (which may name the connection's
// socket addresses) stays out of it, for the server's log alone.
func BodyTimeoutError() *errdefs.Kinded {
	return &errdefs.Kinded{Kind: ErrBodyTimeout, Type: BodyTimeoutType, Message: BodyTimeoutMessage}
}

// ReadCause is what an answer says of a request body that could not be read:
// the cause (i/o timeout, unexpected EOF, a bad chunk size), without the
// socket addresses a net.OpError names, which belong in the server's log alone.
func ReadCause(err error) string {
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// deadlineBody clears the connection's read deadline once the body is read to
// its end, and marks a read that a deadline ended with ErrBodyTimeout.
type deadlineBody struct {
	io.ReadCloser
	timeout time.Duration
	rc      http.ResponseController
	cleared bool
}

// Read implements io.Reader.
func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.cleared {
		b.cleared = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w (body-timeout %s): %w", ErrBodyTimeout, b.timeout, err)
	}
	return n, err
}
