// Package h2 is a narrow HTTP/2 server (RFC 9113) for http.Handler over TLS:
// one goroutine reads each connection's frames (none while a connection
// without a stream is left idle, with Options.DormantAfter), each request's
// handler runs on a goroutine of its own, and a handler's response goes out with its
// HEADERS and DATA frames in one TLS record, written by the handler's own
// goroutine.
//
// net/http's HTTP/2 server hands every frame a handler writes to the
// connection's serving goroutine, which writes it from yet another goroutine
// and flushes it on its own (a goroutine, a TLS record and a system call per
// frame, two frames per small response). Here a writer appends its frames to
// the connection's buffer under a lock and then flushes: a flush writes
// everything appended so far, so concurrent streams share system calls
// (group commit) and a lone request costs one write. Control frames the
// reader owes (SETTINGS and PING acknowledgements, WINDOW_UPDATE, RST_STREAM)
// are flushed when it has read all it had, or with the next response.
//
// Framing and HPACK are golang.org/x/net/http2's Framer and hpack packages
// (the header-list limit, CONTINUATION bounds and field validation are
// theirs). What net/http's server does around them is done here too: flow
// control both ways, the concurrent-stream limit (and, against streams that
// are opened and reset at once, a bound on handlers still running), request
// headers checked (pseudo-headers, :authority or host for http and https,
// connection-specific fields, content-length),
// a header list over the limit answered with 431, Expect: 100-continue, a
// request body left unread answered with RST_STREAM(NO_ERROR), trailers both
// ways, Date and Content-Type (sniffed) and Content-Length set on a response
// the handler finished, HEAD, 1xx responses, http.Flusher, and the read
// deadline and full-duplex switch of http.ResponseController. A handler's
// context ends when the client resets its stream or the connection closes.
// Server push, priorities (accepted, ignored, as net/http now does) and
// extended CONNECT are not served.
package h2

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"github.com/portico-dev/portico/internal/connset"
	"github.com/portico-dev/portico/internal/idlepoll"
	"go.uber.org/fx"
)

// Module provides nothing: servers are built with New by their owners.
var Module = fx.Module("h2")

// Defaults.
const (
	DefaultMaxConcurrentStreams = 250
	// streamWindow and connWindow are the receive windows advertised for
	// request bodies (net/http's: 1 MB per stream and per connection).
	streamWindow = 1 << 20
	connWindow   = 1 << 20
	// maxFrameRead is the largest frame read: the protocol's default
	// SETTINGS_MAX_FRAME_SIZE, which the server keeps (a connection's read
	// buffer grows to its largest frame).
	maxFrameRead = 16 << 10
	// maxSettings is the most entries a SETTINGS frame may have (net/http's
	// server's bound): a frame with more ends the connection with
	// PROTOCOL_ERROR.
	maxSettings = 100
	// smallBody is the response body held until the handler returns, to go
	// out with its HEADERS frame (and a Content-Length).
	smallBody = 4 << 10
	// DefaultWriteTimeout bounds one write to the connection, and a stream's
	// wait for the client's flow-control window: a client that takes nothing
	// for that long is gone.
	DefaultWriteTimeout = time.Minute
)

// Options are a server's limits. Zero fields take the defaults.
type Options struct {
	// MaxHeaderBytes bounds a request's header list (SETTINGS_MAX_HEADER_LIST_SIZE,
	// counted as RFC 9113 does: names, values and 32 bytes per field);
	// a larger one is answered with 431 (http.DefaultMaxHeaderBytes).
	MaxHeaderBytes int
	// ReadHeaderTimeout is how long a new connection has for its handshake,
	// its preface and its first SETTINGS frame, and how long a header block
	// continued in CONTINUATION frames may take from its HEADERS frame to
	// END_HEADERS. Zero: no limit.
	ReadHeaderTimeout time.Duration
	// IdleTimeout is how long a connection may have no open stream before it
	// is sent GOAWAY and closed. Zero: ReadHeaderTimeout; both zero: no limit.
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to a connection, and each wait of a
	// stream for the client's flow-control window (DefaultWriteTimeout): a
	// stream left without a window that long is reset, and its handler's
	// writes fail with an error that is os.ErrDeadlineExceeded.
	WriteTimeout time.Duration
	// MaxConcurrentStreams is SETTINGS_MAX_CONCURRENT_STREAMS
	// (DefaultMaxConcurrentStreams).
	MaxConcurrentStreams uint32
	// ConnContext, when set, modifies the context of a new connection's
	// requests, as http.Server.ConnContext does.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// DormantAfter, when positive, lets a connection without a stream that
	// has read no frame for between half of it and all of it give back its
	// reader goroutine and its buffers: it waits in the process's idle
	// poller (internal/idlepoll; Linux) until the client sends again or
	// leaves, and a new reader goroutine reads it then. Its idle timeout
	// still holds, to within half DormantAfter. Zero: every connection
	// keeps its reader.
	DormantAfter time.Duration
	// BadTarget, when set, serves a request whose :path does not parse (a
	// bad percent-encoding, "/a/%zz", which url.ParseRequestURI refuses) in
	// place of a stream reset: its URL has Path "/" and RequestURI is the
	// :path as sent.
	BadTarget http.Handler
	// Refuse, when set, answers a request whose header list was over
	// MaxHeaderBytes in place of the plain-text 431, with status 431; its
	// request is the stream's, with the fields that fit.
	Refuse func(w http.ResponseWriter, r *http.Request, status int)
	// Conns, when set, bounds the connections of this server and of the
	// others sharing it together (connset.Limit): a connection past it is
	// closed as it is accepted, and idle connections are shed to make room.
	Conns *connset.Limit
	// PerIP, when set, bounds how many connections one client address holds
	// open on this server and the others sharing it: one past it is closed
	// as soon as it is accepted.
	PerIP *connset.PerIP
	// Log receives handler panics and accept errors (discarded when nil).
	Log *slog.Logger
}

// Server serves HTTP/2 on listeners of TLS connections. Safe for concurrent
// use.
type Server struct {
	h    http.Handler
	opts Options
	std  *http.Server // the value of http.ServerContextKey

	base       context.Context
	cancelBase context.CancelFunc

	workers *workers
	set     connset.Set[*conn]

	sweeper idlepoll.Sweeper
	sweepMu sync.Mutex // one sweep at a time: it owns swept and the connections' seen
	swept   []*conn    // the sweep's snapshot, reused
}

// New returns a server for h with opts.
func New(h http.Handler, opts Options) *Server {
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = opts.ReadHeaderTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.MaxConcurrentStreams == 0 {
		opts.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{h: h, opts: opts,
		std:     &http.Server{Handler: h, MaxHeaderBytes: opts.MaxHeaderBytes, ReadHeaderTimeout: opts.ReadHeaderTimeout, IdleTimeout: opts.IdleTimeout},
		workers: newWorkers()}
	s.base, s.cancelBase = context.WithCancel(context.WithValue(context.Background(), http.ServerContextKey, s.std))
	return s
}

// Serve accepts connections on ln (TLS connections: *tls.Conn, whose
// handshake it finishes if the listener has not) and serves each on its own
// goroutine until the server shuts down (then it returns http.ErrServerClosed)
// or ln fails. It closes ln on return.
func (s *Server) Serve(ln net.Listener) error {
	s.startSweep()
	var self *connset.Shedder
	if s.opts.Conns != nil {
		self = s.opts.Conns.AddShedder(s.ShedIdle)
		defer self.Remove()
	}
	return s.set.Serve(ln, s.opts.Log.With("server", "h2"), func(rwc net.Conn) bool {
		if s.opts.Conns != nil && !s.opts.Conns.AcquireShedding(s.opts.Log, "h2", self) {
			_ = rwc.Close()
			s.opts.Conns.Refused(s.opts.Log, "h2")
			return true
		}
		ip, ok := s.opts.PerIP.Admit(rwc, s.opts.Log, "h2")
		if !ok {
			_ = rwc.Close()
			s.releaseConn()
			return true
		}
		c := s.newConn(rwc, ip)
		if c == nil {
			s.opts.PerIP.Release(ip)
			s.releaseConn()
			return false
		}
		go c.serve()
		return true
	})
}

// ServeConn serves one connection on the caller's goroutine until it closes
// (or goes dormant: Options.DormantAfter).
func (s *Server) ServeConn(rwc net.Conn) {
	s.startSweep()
	if s.opts.Conns != nil && !s.opts.Conns.AcquireShedding(s.opts.Log, "h2", nil) {
		_ = rwc.Close()
		s.opts.Conns.Refused(s.opts.Log, "h2")
		return
	}
	ip, ok := s.opts.PerIP.Admit(rwc, s.opts.Log, "h2")
	if !ok {
		_ = rwc.Close()
		s.releaseConn()
		return
	}
	c := s.newConn(rwc, ip)
	if c == nil {
		_ = rwc.Close()
		s.opts.PerIP.Release(ip)
		s.releaseConn()
		return
	}
	c.serve()
}

// newConn registers a connection counted under ip (Options.PerIP), nil once
// the server is shutting down.
func (s *Server) newConn(rwc net.Conn, ip netip.Addr) *conn {
	c := newConn(s, rwc)
	c.ip = ip
	if !s.set.Add(c) {
		c.cancel()
		return nil
	}
	return c
}

// forget removes c from the server's connections once it has closed, and
// gives back its counts of Options.Conns and Options.PerIP.
func (s *Server) forget(c *conn) {
	s.set.Forget(c)
	s.opts.PerIP.Release(c.ip)
	s.releaseConn()
}

// releaseConn gives back a connection's count of Options.Conns.
func (s *Server) releaseConn() {
	if s.opts.Conns != nil {
		s.opts.Conns.Release()
	}
}

// ShedIdle sends GOAWAY to up to n of s's idle connections (no stream open,
// waiting for a frame or dormant), which then close, and returns how many.
func (s *Server) ShedIdle(n int) int {
	shed := 0
	for _, c := range s.set.Snapshot(nil) {
		if shed >= n {
			break
		}
		if c.claimIdle() {
			go c.goAway(http2.ErrCodeNo, false)
			shed++
		}
	}
	return shed
}

// Sweep runs the sweep of idle connections at once, with now as its clock
// (the server runs one every half Options.DormantAfter): for tests and
// benchmarks.
func (s *Server) Sweep(now time.Time) { s.sweep(now) }

// Open returns how many connections the server holds.
func (s *Server) Open() int { return s.set.Len() }

// Dormant returns how many of the server's connections are dormant
// (Options.DormantAfter).
func (s *Server) Dormant() int {
	return s.set.Count(func(c *conn) bool { return c.phase.Load() == phaseDormant })
}

// Shutdown stops accepting, sends every connection GOAWAY and waits until
// their open streams have finished and they closed, or ctx ends (then it
// closes them and returns ctx's error). A request body still coming in has
// stopGrace for each of its reads: one that stalls fails with h1.ErrShutdown
// (the handler answers 503), as HTTP/1.1's does.
func (s *Server) Shutdown(ctx context.Context) error {
	conns, drained := s.set.Stop()
	for _, c := range conns {
		// Not waited for: a client that takes nothing (or is still in its
		// TLS handshake) holds the write until Close.
		go c.goAway(0, false)
		c.wakeBodyReads()
	}
	if drained == nil {
		s.workers.close()
		return nil
	}
	select {
	case <-drained:
		s.workers.close()
		return nil
	case <-ctx.Done():
		_ = s.Close()
		return ctx.Err()
	}
}

// Close closes every listener and connection at once; handlers' contexts are
// cancelled.
func (s *Server) Close() error {
	conns, _ := s.set.Stop()
	s.cancelBase()
	for _, c := range conns {
		c.close(errServerClosed)
	}
	s.workers.close()
	return nil
}

var errServerClosed = errors.New("h2: server closed")
