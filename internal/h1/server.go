// Package h1 is a narrow HTTP/1.1 server for http.Handler: one goroutine per
// connection (none for a keep-alive connection left idle, with
// Options.DormantAfter), pooled buffers, and a response that goes out in one
// write.
//
// A plain request (an origin-form target without escapes, HTTP/1.0 or 1.1,
// header fields without obs-fold or bare LF, no Transfer-Encoding, at most one
// Host and one valid Content-Length) whose head is already buffered is parsed
// straight from the read buffer: one string copy of the head that the method,
// target, names and values are sliced from, and the request, its URL, its
// header values and its response in one allocation. Every other request goes to
// net/http's own request reader (the function behind http.ReadRequest, reached
// through its supported linkname so that the Host header is still there to
// check); FuzzReadRequest holds the two to the same result. Then the checks
// net/http's server adds apply (Host required on HTTP/1.1 and well formed,
// header names and values valid, the header-size limit answered with 431), so
// what it accepts, and how it frames a request body (Content-Length,
// Transfer-Encoding), is net/http's, with one exception: a request with both
// Transfer-Encoding and Content-Length, or Transfer-Encoding on HTTP/1.0,
// which net/http serves, is refused with 400 and its connection closed (RFC
// 9112 §6.1; framedTwice). With Options.WireNames a
// request also carries the client's spelling of its header names, which
// net/http's header canonicalizes (WireNames). Requests reach the handler with the fields net/http's server sets
// (RemoteAddr, Host, RequestURI, URL, Proto*, ContentLength, TransferEncoding,
// Close, TLS) and the context values it sets (http.ServerContextKey, whose
// value is a *http.Server describing this server's limits, and
// http.LocalAddrContextKey).
//
// A response's status line, header and a small body (up to 4 KB) are held until
// the handler returns and then written in one system call with a Content-Length;
// a response that grows past that, or that the handler flushes, is sent chunked
// (or close-delimited to an HTTP/1.0 client). Keep-alive, "Connection: close",
// HTTP/1.0, "Expect: 100-continue", pipelined requests, request bodies the
// handler leaves unread (up to 256 KB are discarded before the response goes
// out; a body whose Content-Length leaves more than that unread is not read at
// all before it, as with net/http, so a 413 to a declared oversized body goes
// out at once; beyond that the connection closes, after a lingering close:
// half-closed, it reads and drops what the client still sends for up to 5 s
// and 16 MB, so that a client still sending a body the handler refused, say
// with 413, reads the answer and not a reset; no "100 Continue" is sent unless
// the handler reads the body), http.Hijacker, http.Flusher and the deadlines and full-duplex switch of
// http.ResponseController behave as with net/http's server. A handler may not
// use its ResponseWriter once it returned, and here that includes the map
// Header returned: the next response on the connection reuses it, cleared.
//
// Unlike net/http's server it does not read the connection in the background
// while a handler runs, which costs net/http a goroutine wake-up and a system
// call per request. So a client that goes away while its request is being
// handled is noticed, and the request's context cancelled, when the server next
// reads from (the request body) or writes to the connection, not at once. A
// read that a deadline ended does not cancel it (the client is still there to
// be answered), and a handler that answers nothing to a request whose body
// could not be read to its end gets no default 200: the connection closes
// without an answer. Close
// cancels every request's context; Shutdown lets running requests finish, but
// not a request whose head or body has not come in whole, for which nothing
// has run: its head is answered 503 (Options.Refuse, else plain text), and
// its body's read fails with ErrShutdown, for the handler to answer 503.
//
// A listener may hand it *tls.Conn connections: their handshake is finished
// (within ReadHeaderTimeout) if the listener has not, and their requests carry
// the connection's state in r.TLS, as with net/http's server. HTTP/2 is not
// served: a connection whose ALPN chose anything but "http/1.1" is closed (the
// listener is to hand those to a server that speaks it).
package h1

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/connset"
	"github.com/portico-dev/portico/internal/idlepoll"
	"github.com/portico-dev/portico/internal/rawio"
	"go.uber.org/fx"
)

// Module provides nothing: servers are built with New by their owners.
var Module = fx.Module("h1")

// Options are a server's limits. Zero fields take net/http's defaults.
type Options struct {
	// MaxHeaderBytes bounds a request's header block (http.DefaultMaxHeaderBytes).
	// A larger one is answered with 431. Like net/http, 4 KB of slack is allowed.
	MaxHeaderBytes int
	// ReadHeaderTimeout is how long a client has to send a request's header block
	// once its first byte arrived (or, for the first request, from accept). Zero:
	// no limit.
	ReadHeaderTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request, counted from the end of the last one. Zero: ReadHeaderTimeout;
	// both zero: no limit. Unless ConnContext is set, a connection is closed
	// up to an eighth of it (at most a second) later: the deadline is not
	// reset on every request (see conn.setIdleDeadline).
	IdleTimeout time.Duration
	// WriteTimeout, when positive, bounds how long a connection may take no
	// byte of a response (or of a "100 Continue"): a write that makes no
	// progress for it (from half of it to all of it: the write deadline is
	// not reset on every write) fails with an error that is
	// os.ErrDeadlineExceeded, the request's context ends and the connection
	// closes, so that a client that never reads a large or streamed answer
	// does not hold its handler, goroutine and buffers. Unlike net/http's
	// WriteTimeout it does not bound a whole response: a stream whose client
	// keeps reading goes on. A handler that sets a write deadline itself
	// (http.ResponseController) has it in force until its response ends.
	// Zero: no limit.
	WriteTimeout time.Duration
	// Unread, when set with WriteTimeout, bounds the response bytes that
	// this server's connections and those of the others sharing it hold in
	// writes their clients have not taken (UnreadBudget): past it, a write
	// that makes no progress for the budget's stall timeout fails.
	Unread *UnreadBudget
	// ConnContext, when set, modifies the context of a new connection's requests,
	// as http.Server.ConnContext does.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// WireNames keeps, for every request, the client's spelling of the names
	// of its header fields, for WireNames to return.
	WireNames bool
	// DormantAfter, when positive, lets a keep-alive connection that has
	// waited between half of it and all of it for its next request give back
	// its goroutine and read buffer: it waits in the process's idle poller
	// (internal/idlepoll; Linux) until the client sends again or leaves, and
	// a new goroutine serves it then. Its idle timeout still holds, to within
	// half DormantAfter. Zero: every connection keeps its goroutine.
	DormantAfter time.Duration
	// MaxConnsPerIP, when positive, bounds how many connections one client
	// address may hold open on the server at once. A connection past it is
	// closed as soon as it is accepted, before anything is read from it, so a
	// client that opens connections without end costs the process no more than
	// MaxConnsPerIP file descriptors (a hijacked connection no longer counts).
	// Zero: no bound.
	MaxConnsPerIP int
	// PerIP, when set, takes MaxConnsPerIP's place: a bound per client
	// address that this server shares with others (the public listeners',
	// whatever serves them), so that one address's connections count together.
	PerIP *connset.PerIP
	// Conns, when set, bounds the connections of this server and of the
	// others sharing it together (ConnLimit).
	Conns *ConnLimit
	// Vet, when set, decides about each accepted connection before anything
	// else: one it refuses is closed at once, unread and unanswered, and never
	// counts against MaxConnsPerIP, so that clients it refuses cannot use up
	// the bound of those it accepts. It runs on the accept loop: it must be
	// quick, and it is called for one connection at a time.
	Vet func(c net.Conn) bool
	// BadTarget, when set, answers a request whose target does not parse
	// (a bad percent-encoding, "/a/%zz", which net/http's parser refuses)
	// in place of the plain-text 400. Its request has the method, Proto and
	// the target as sent (RequestURI) but no header fields and a URL of Path
	// "/": the rest of the head is not read, and the connection closes after
	// the answer.
	BadTarget http.Handler
	// GlobalOptions, when set, gives "OPTIONS *" (a request about the server
	// as a whole) to the handler like any other request, as internal/h2 does,
	// so that the handler answers it in its own shape; unset, it is answered
	// 200 with no body, as net/http's server answers it.
	GlobalOptions bool
	// Refuse, when set, answers the requests the server refuses before a
	// handler runs, in place of its plain-text answer, with status: 431 (a
	// header block over MaxHeaderBytes), 414 (a request line alone over it),
	// 503 (a head that had not come in whole when Shutdown began), 408 (a
	// head begun but not ended within ReadHeaderTimeout), 400 (a malformed
	// head: a bad request line or field, a missing or bad Host, a Content-
	// Length that is not one number, Transfer-Encoding with Content-Length),
	// 501 (a transfer coding other than chunked) and 505 (an HTTP version
	// other than 1.x). Its request has the method, target and Proto of the
	// request line when that came in whole (else the method alone, when it
	// came, and the target "/"), no header fields and a URL of Path "/".
	// It also answers 417 to a request whose Expect is not 100-continue:
	// that request is the one read, with its header fields (its body is not
	// read). The connection closes after the answer.
	Refuse func(w http.ResponseWriter, r *http.Request, status int)
	// KeepAbsoluteFormHost leaves the Host field of a request with an
	// absolute-form target ("GET http://name/path") in its Header, where
	// net/http's server (and this one, unset) deletes it: Request.Host is
	// the target's host, and the name the Host field gave is otherwise lost
	// to a handler that must check what the client called the server (the
	// admin API's tokenless Host check).
	KeepAbsoluteFormHost bool
	// Log receives handler panics and accept errors (discarded when nil).
	Log *slog.Logger
}

// Server serves HTTP/1.x on listeners. Safe for concurrent use.
type Server struct {
	h    http.Handler
	opts Options
	std  *http.Server // the value of http.ServerContextKey

	base       context.Context
	cancelBase context.CancelCauseFunc

	set connset.Set[*conn]

	sweeper idlepoll.Sweeper
	sweepMu sync.Mutex // one sweep at a time: it owns swept and the connections' seen
	swept   []*conn    // the sweep's snapshot, reused

	// perIP counts the open connections of each client address
	// (Options.PerIP, or one of the server's own for MaxConnsPerIP); nil for
	// no bound.
	perIP *connset.PerIP

	// stalledAtStop counts the connections closed during Shutdown because
	// their client took nothing of an answer for stopGrace (StalledAtStop).
	stalledAtStop atomic.Int64
}

// New returns a server for h with opts.
func New(h http.Handler, opts Options) *Server {
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = opts.ReadHeaderTimeout
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{h: h, opts: opts, perIP: opts.PerIP,
		std: &http.Server{Handler: h, MaxHeaderBytes: opts.MaxHeaderBytes, ReadHeaderTimeout: opts.ReadHeaderTimeout, IdleTimeout: opts.IdleTimeout}}
	if s.perIP == nil {
		s.perIP = connset.NewPerIP(opts.MaxConnsPerIP)
	}
	s.base, s.cancelBase = context.WithCancelCause(context.WithValue(context.Background(), http.ServerContextKey, s.std))
	return s
}

// Serve accepts connections on ln and serves each on its own goroutine until
// the server shuts down (then it returns http.ErrServerClosed) or ln fails. It
// closes ln on return.
func (s *Server) Serve(ln net.Listener) error {
	s.startSweep()
	var self *connset.Shedder
	if s.opts.Conns != nil {
		self = s.opts.Conns.AddShedder(s.ShedIdle)
		defer self.Remove()
	}
	return s.set.Serve(ln, s.opts.Log.With("server", "h1"), func(rwc net.Conn) bool {
		if s.opts.Vet != nil && !s.opts.Vet(rwc) {
			_ = rwc.Close()
			return true
		}
		if s.opts.Conns != nil && !s.acquire(self) {
			_ = rwc.Close()
			return true
		}
		ip, ok := s.admit(rwc)
		if !ok {
			_ = rwc.Close()
			s.releaseConn()
			return true
		}
		c := s.newConn(rwc)
		if c == nil {
			s.releaseIP(ip)
			s.releaseConn()
			return false
		}
		c.ip = ip
		go c.serve()
		return true
	})
}

// admit counts a new connection against its client address's bound
// (Options.PerIP or MaxConnsPerIP); false when the address holds as many as
// it may. The address is the zero Addr when nothing is counted.
func (s *Server) admit(rwc net.Conn) (netip.Addr, bool) {
	return s.perIP.Admit(rwc, s.opts.Log, "h1")
}

// releaseIP gives back a connection's count (admit); the zero Addr is none.
func (s *Server) releaseIP(ip netip.Addr) { s.perIP.Release(ip) }

// newConn registers a new connection; nil once the server is shutting down.
func (s *Server) newConn(rwc net.Conn) *conn {
	c := &conn{s: s, rwc: rwc, rw: rwc}
	if x := rawio.New(rwc); x != nil {
		c.rw = x
	}
	c.out = c.rw
	if s.opts.WriteTimeout > 0 {
		c.tw.c = c
		c.out = &c.tw
	}
	ctx := context.WithValue(s.base, http.LocalAddrContextKey, rwc.LocalAddr())
	if s.opts.ConnContext != nil {
		ctx = s.opts.ConnContext(ctx, rwc)
		if ctx == nil {
			panic("h1: ConnContext returned nil")
		}
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	if !s.set.Add(c) {
		c.cancel()
		return nil
	}
	return c
}

// forget removes c from the server's connections (closed or hijacked). It is
// called once per connection.
func (s *Server) forget(c *conn) {
	s.set.Forget(c)
	s.releaseIP(c.ip)
	s.releaseConn()
}

// releaseConn gives back a connection's count of Options.Conns.
func (s *Server) releaseConn() {
	if s.opts.Conns != nil {
		s.opts.Conns.Release()
	}
}

// Sweep runs the sweep of idle connections at once, with now as its clock
// (the server runs one every half Options.DormantAfter): for tests and
// benchmarks.
func (s *Server) Sweep(now time.Time) { s.sweep(now) }

// Open returns how many connections the server holds; a hijacked one (a
// WebSocket) is no longer the server's.
func (s *Server) Open() int { return s.set.Len() }

// Active returns how many of the server's connections are reading or serving
// a request (a connection whose request's first byte came).
func (s *Server) Active() int {
	return s.set.Count(func(c *conn) bool { return c.state.Load() == stateActive })
}

// Dormant returns how many of the server's connections are dormant
// (Options.DormantAfter).
func (s *Server) Dormant() int {
	return s.set.Count(func(c *conn) bool { return c.state.Load() == stateDormant })
}

// StalledAtStop returns how many connections Shutdown closed because their
// client took nothing of its answer for a second (a slow reader): their
// handlers had run; only the client's socket held them.
func (s *Server) StalledAtStop() int64 { return s.stalledAtStop.Load() }

// Shutdown stops the server gracefully: it closes the listeners and the idle
// connections, ends the wait for a request's head or body (a head still
// coming is answered 503; a body's read that gets nothing for stopGrace fails
// with ErrShutdown, while a body that keeps coming goes on), ends, with
// Options.WriteTimeout, the write of an answer whose client takes nothing of
// it for stopGrace (StalledAtStop; one that keeps reading goes on), lets running
// requests finish (their responses say "Connection: close") and returns once
// every connection is closed, or with
// ctx's error when ctx ends first (the connections left are then the caller's
// to Close). Hijacked connections are not waited for.
func (s *Server) Shutdown(ctx context.Context) error {
	conns, drained := s.set.Stop()
	for _, c := range conns {
		c.closeIfIdle()
		c.wakeAnswered()
		c.interruptRead()
		c.interruptWrite()
	}
	if drained == nil {
		return nil
	}
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once, and cancels the
// contexts of the requests being handled.
func (s *Server) Close() error { return s.CloseCause(nil) }

// CloseCause is Close whose requests' contexts are cancelled with cause
// (context.Cause; nil: context.Canceled), before their connections close, so
// that a handler cut off sees why first rather than a failed connection.
func (s *Server) CloseCause(cause error) error {
	conns, _ := s.set.Stop()
	s.cancelBase(cause)
	for _, c := range conns {
		c.closeIfDormant()
		_ = c.rwc.Close()
	}
	return nil
}
