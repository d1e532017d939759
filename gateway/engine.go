package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/h2"
)

// Listener engines (Config.Engine).
const (
	// EngineNetHTTP serves the gateway with net/http's server.
	EngineNetHTTP = "net/http"
	// EngineH1 serves plain HTTP with internal/h1: net/http's request parsing
	// and handler contract without its per-request background read, and each
	// small response in one write (docs/performance.md).
	EngineH1 = "h1"
	// EngineNbio serves plain HTTP with github.com/lesismal/nbio's event-loop
	// engine (nbhttp): an experiment kept for measurement (docs/performance.md).
	// It does not serve WebSocket upgrades (its hijacked connections are nbio's
	// own, which the connections package can neither poll nor read) nor record
	// the client's header spellings.
	EngineNbio = "nbio"
)

// DefaultEngine is the plain listener's engine when Config.Engine is empty.
// Under h1 the TLS listener's HTTP/1.1 connections are h1's too; its HTTP/2
// ones, and every TLS connection under the other engines, are net/http's.
const DefaultEngine = EngineH1

// CheckEngine refuses an unknown listener engine name.
func CheckEngine(name string) error {
	switch name {
	case "", EngineNetHTTP, EngineH1, EngineNbio:
		return nil
	}
	return fmt.Errorf("gateway: unknown listener engine %q (want %q, %q or %q)", name, EngineNetHTTP, EngineH1, EngineNbio)
}

// engine is the plain listener's engine.
func (s *Server) engine() string {
	if s.gw.cfg.Engine == "" {
		return DefaultEngine
	}
	return s.gw.cfg.Engine
}

// serveH1 serves the plain listener ln with internal/h1, under the same limits
// as the net/http engine. h1 keeps the client's spelling of header names
// itself (h1.Options.WireNames), so ln needs no wirenames recorder.
func (s *Server) serveH1(ln net.Listener) {
	s.h1 = h1.New(s.limits.Handler(s), s.h1Options())
	srv := s.h1
	s.counts.add(ListenerHTTP, ln.Addr().String(), srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("gateway server stopped", "err", err)
		}
	}()
}

// h2Options are the HTTP/2 server's limits: the plain listener's. Its header
// list may be as large as an HTTP/1.1 header block (with h1's and net/http's
// 4 KB of slack, and RFC 9113's 32 bytes per field counted in).
func (s *Server) h2Options() h2.Options {
	return h2.Options{
		MaxHeaderBytes:    s.limits.MaxHeaderBytes + 4096,
		ReadHeaderTimeout: s.limits.HeaderTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		// A client that takes nothing, neither the bytes written to it
		// nor, by a flow-control window, the answers of its streams, for
		// the idle timeout is as gone as an idle one: its streams are
		// reset and the connection closes (h2's default is a minute,
		// whatever the listener's limits).
		WriteTimeout:         s.limits.IdleTimeout,
		MaxConcurrentStreams: h2.DefaultMaxConcurrentStreams,
		DormantAfter:         dormantAfter,
		Conns:                s.conns,
		PerIP:                s.perIP,
		BadTarget:            http.HandlerFunc(s.gw.serveBadTarget),
		Refuse:               s.gw.serveRefused,
		Log:                  s.log,
	}
}

// dormantAfter is about how long an idle connection of the h1 engine (an
// HTTP/1.1 keep-alive connection, or an HTTP/2 one without a stream) waits
// with a goroutine of its own: after that it waits in the idle poller, without
// a goroutine or buffers (h1.Options, h2.Options).
var dormantAfter = 2 * time.Second // a variable for BenchmarkIdleKeepAlive

// h1Options are h1's limits, the listener's, for the plain and the TLS
// listener.
func (s *Server) h1Options() h1.Options {
	return h1.Options{
		MaxHeaderBytes:    s.limits.MaxHeaderBytes,
		ReadHeaderTimeout: s.limits.HeaderTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		DormantAfter:      dormantAfter,
		Conns:             s.conns,
		PerIP:             s.perIP,
		WireNames:         true,
		BadTarget:         http.HandlerFunc(s.gw.serveBadTarget),
		GlobalOptions:     true, // answered as a target no API serves, as over HTTP/2
		Refuse:            s.gw.serveRefused,
		Log:               s.log,
		// A client that takes no byte of an answer (a large or streamed
		// one it never reads) for the idle timeout is as gone as an idle
		// one: the write fails, the request's context ends and the
		// connection closes, as over HTTP/2 (h2Options).
		WriteTimeout: s.limits.IdleTimeout,
		// Past the budget, that is a second (Config.MaxUnreadBytes).
		Unread: s.unread,
	}
}

// refuseStdFraming answers, on a connection net/http's server reads (the
// net/http engine's plain listener, and the TLS listener under the engines
// other than h1), an HTTP/1.x request whose framing h1 would refuse, as far
// as the handler can still tell, and reports whether it did. net/http frames
// a request with both Transfer-Encoding and Content-Length by its chunked
// coding and then removes Content-Length, so a front proxy that framed the
// same bytes by Content-Length may have seen another request end there
// (request smuggling, docs/operations.md): since the handler can no longer
// see whether there was a Content-Length, every request with a
// Transfer-Encoding is refused, 400 in the gateway's shape, and its
// connection closed. net/http ignores and removes a Transfer-Encoding on an
// HTTP/1.0 request, where h1 refuses it: such a connection is closed after
// its answer instead of being kept alive (Connection: close), so that no byte
// after a body framed otherwise is read as a request.
func (g *Gateway) refuseStdFraming(w http.ResponseWriter, r *http.Request) bool {
	if r.ProtoMajor != 1 {
		return false
	}
	if r.ProtoMinor == 0 {
		w.Header().Set("Connection", "close")
	}
	if len(r.TransferEncoding) == 0 {
		return false
	}
	w.Header().Set("Connection", "close")
	g.refuseFraming(w, r, http.StatusBadRequest, fmt.Sprintf("Transfer-Encoding %q under a net/http server, which cannot tell whether the request also had a Content-Length", r.TransferEncoding))
	return true
}

// refuseFraming answers, in the gateway's error shape, a request that a
// listener engine other than h1 parsed but h1 would have refused (status 400,
// 414 or 431), for the reason why. No API is located.
func (g *Gateway) refuseFraming(w http.ResponseWriter, r *http.Request, status int, why string) {
	if status != http.StatusBadRequest {
		g.serveRefused(w, r, status)
		return
	}
	g.writeUnrouted(w, r, gatewayError(fmt.Errorf("%s: %w", why, errBadRequest), ""))
}
