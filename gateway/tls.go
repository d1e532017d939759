package gateway

import (
	"container/list"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/internal/wirenames"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/h2"
	"github.com/portico-dev/portico/internal/rawio"
)

// DomainResolver maps requests to custom domain names onto API stages;
// edge.Edge satisfies it. Resolve chooses the mapping by r's host and path
// (r's escaped path, as it is or with its dot segments resolved: the gateway
// resolves a custom domain's path before the mapping is chosen on it); it
// returns nil for a request to no custom domain, errdefs.ErrNotFound for a path no mapping of
// the domain covers and errdefs.ErrForbidden for a mutual TLS domain reached
// without its handshake.
type DomainResolver interface {
	Resolve(r *http.Request, path string) (*edge.Target, error)
}

// TLSSource gives the TLS listener its configuration; edge.Edge satisfies it. A
// nil configuration leaves TLS off.
type TLSSource interface {
	TLSConfig() *tls.Config
}

// TLSOffExplainer is a TLSSource that may already have said why it gives no
// configuration, and what to do (edge.Edge: a development certificate that
// does not load); the server then does not say it again.
type TLSOffExplainer interface {
	TLSOffSaid() bool
}

// TruststoreWatcher is a DomainResolver that tells when mutual TLS domains'
// truststores change and which connections they still admit; edge.Edge
// satisfies it. The gateway closes the WebSocket connections that a change
// leaves unverified (HTTP requests are checked by Resolve, one by one).
type TruststoreWatcher interface {
	DomainResolver
	// OnTruststoreChange sets the function to call after a change is in
	// effect.
	OnTruststoreChange(f func())
	// Verified reports whether a connection to host with TLS state cs (nil:
	// plain HTTP) would still pass Resolve's mutual TLS checks.
	Verified(host string, cs *tls.ConnectionState) bool
}

var _ TruststoreWatcher = (*edge.Edge)(nil)

// Close code and reason of a WebSocket connection that a mutual TLS domain's
// new truststore no longer admits: 1008, as for any connection whose
// credentials stopped passing the server's policy (1001 would tell the client
// the server is going away, and invite it to come back as it is).
const (
	closeUntrusted       = 1008 // websocket.ClosePolicyViolation
	closeUntrustedReason = "Client certificate not trusted by the domain's truststore"
)

// SetDomains makes the gateway route requests to custom domain names through d.
// Call it before serving.
func (g *Gateway) SetDomains(d DomainResolver) {
	g.domains = d
	if w, ok := d.(TruststoreWatcher); ok {
		w.OnTruststoreChange(g.truststoreChanged)
	}
}

// truststoreChanged closes, with a close frame (closeUntrusted) and the
// $disconnect route, every WebSocket connection to a custom domain that its
// truststore as it is now no longer admits.
func (g *Gateway) truststoreChanged() {
	if g.ws == nil {
		return
	}
	if n := g.ws.m.Reverify(closeUntrusted, closeUntrustedReason); n > 0 {
		g.log.Info("closed WebSocket connections a mutual TLS domain's truststore no longer admits", "connections", n)
	}
}

// verifyDomainConn returns the Verify function of a WebSocket connection
// upgraded through a custom domain (connections.Endpoint.Verify), nil when
// there is nothing to check.
func (g *Gateway) verifyDomainConn(r *http.Request, c *pipeline.Context) func() bool {
	w, ok := g.domains.(TruststoreWatcher)
	if !ok || !c.CustomDomain {
		return nil
	}
	host, cs := r.Host, r.TLS
	return func() bool { return w.Verified(host, cs) }
}

// locateDomain resolves a request to a custom domain name: it reports whether
// r's host is one (escaped is r's escaped path), filling c's API, stage and
// the path after the base path, and returns the stage's entry. The mapping is
// chosen on the path with its dot segments resolved, the path the route is
// matched on: "/x/../v2/pets" is "/v2/pets", under the mapping v2.
func (g *Gateway) locateDomain(r *http.Request, escaped string, c *pipeline.Context) (*stageEntry, bool, error) {
	if g.domains == nil {
		return nil, false, nil
	}
	t, err := g.domains.Resolve(r, escaped)
	if t == nil && err == nil {
		return nil, false, nil // no custom domain: the path is not looked at here
	}
	// A custom domain's: the mapping is chosen again on the normalized path
	// when normalizing changed it (a path without dots or escapes is returned
	// as it is, at no cost). One that does not normalize is 400, unless the
	// connection itself is refused.
	path, nerr := normalizePath(escaped)
	switch {
	case nerr != nil:
		if err == nil || errors.Is(err, errdefs.ErrNotFound) {
			return nil, true, nerr
		}
	case path != escaped:
		t, err = g.domains.Resolve(r, path)
	}
	if err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return nil, true, fmt.Errorf("%w: %w", errForbidden, err)
		}
		return nil, true, err
	}
	e, err := g.loadStage(r.Context(), t.APIID, t.Stage)
	if err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return nil, true, fmt.Errorf("domain %s maps to %s/%s: %w: %w", t.DomainName, t.APIID, t.Stage, errForbidden, err)
		}
		return nil, true, err
	}
	// The rest of a normalized path is normalized.
	rest, _ := strings.CutPrefix(path, t.BasePath)
	if rest == "" || rest[0] != '/' {
		rest = "/" + rest
	}
	c.APIID, c.Stage, c.Protocol = t.APIID, e.stage.Name, e.dep.API.Protocol
	c.StagePrefix, c.DomainName, c.DomainPrefix, c.CustomDomain = t.BasePath, t.DomainName, t.DomainPrefix, true
	c.AtBasePath = t.BasePath != "" && path == t.BasePath
	c.Path = rest
	return e, true, nil
}

// executeAPIEndpointDisabled reports whether the API of a stage turned its
// default endpoints off (x-amazon-apigateway-endpoint-configuration's
// disableExecuteApiEndpoint).
func executeAPIEndpointDisabled(e *stageEntry) bool {
	return edge.ExecuteAPIEndpointDisabled(e.dep.API.Extensions)
}

// Defaults of the TLS listener.
const (
	DefaultTLSListen           = ":8443"
	DefaultTLSHandshakeTimeout = 10 * time.Second
)

// Bounds of the handshakes in flight on the TLS listener (handshakeLimits).
const (
	maxPendingHandshakes          = 1024
	maxPendingHandshakesPerSource = 64
	// silentHandshakeGrace is how long a new connection may be silent
	// before its source's bound counts against it: many round trips, and
	// time for a client that opens hundreds of connections at once to
	// send their ClientHellos.
	silentHandshakeGrace = 3 * time.Second
)

// handshakeLimits bounds a handshakeListener's handshakes in flight: at most
// total, and at most perSource silent ones from one source (an IPv4 address,
// an IPv6 /64). A handshake is silent until its client's ClientHello has
// arrived whole (nothing sent, or a ClientHello begun and not finished); after
// it, the handshake waits for the server's CPU or for a client that answers
// within a round trip, and a source's new connections do not cut it short: a
// burst of real handshakes completes. A connection over either bound makes
// room by closing a silent handshake in flight: the source's oldest, once it
// has been silent for grace (younger ones, a burst whose clients have yet to
// send, count only against the total); over the total, the oldest of the
// source with the most silent ones, or with none silent, the oldest handshake
// of the source with the most in flight. Accepting never stops, and clients
// that hold handshakes open without finishing them delay no one else's.
type handshakeLimits struct {
	total, perSource int
	grace            time.Duration    // silentHandshakeGrace when 0; none (the bound holds at once) when negative
	now              func() time.Time // time.Now when nil; tests' clock
}

// SetTLS gives the server its TLS configuration; with a non-nil one Start also
// listens on Config.TLSListen. Call it before Start.
func (s *Server) SetTLS(cfg *tls.Config) { s.tlsCfg = cfg }

// SetTLSFrom is SetTLS with src's configuration; a src that already said why
// it has none (TLSOffExplainer) leaves Start silent about it. Call it before
// Start.
func (s *Server) SetTLSFrom(src TLSSource) {
	s.SetTLS(src.TLSConfig())
	if x, ok := src.(TLSOffExplainer); ok && s.tlsCfg == nil {
		s.tlsOffSaid = x.TLSOffSaid()
	}
}

// startTLS binds the TLS listener and serves it: handshakes run on their own,
// bounded by Config.TLSHandshakeTimeout, before a server sees the connection.
// Under the h1 engine (the default) HTTP/1.1 connections are h1's, as on the
// plain listener, and HTTP/2 ones internal/h2's; under the others net/http's
// server serves both.
func (s *Server) startTLS() error {
	if s.gw.cfg.TLSListen == "" || s.gw.cfg.TLSListen == ListenOff {
		return nil
	}
	if s.tlsCfg == nil {
		if s.tlsOffSaid {
			return nil // the source said why, once
		}
		// Said, not silent: a TLS listener asked for that does not start
		// left only a refused connection to go by. A warning when the
		// address is the operator's, news when it is the default.
		level := slog.LevelWarn
		if s.gw.cfg.TLSListen == DefaultTLSListen {
			level = slog.LevelInfo
		}
		s.log.Log(context.Background(), level, "TLS listener off: no certificate (no --tls-cert/--tls-key, and no development certificate in the data directory): run `portico tls init --data-dir DATA` with the server's data directory and restart, give --tls-cert and --tls-key, or set --tls-listen off",
			"tls_listen", s.gw.cfg.TLSListen)
		return nil
	}
	addr := s.gw.cfg.TLSListen
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s (TLS): %w", addr, err)
	}
	split := s.engine() == EngineH1
	hl := newHandshakeListener(ln, s.tlsCfg, s.gw.cfg.TLSHandshakeTimeout, handshakeLimits{}, split, s.log)
	s.tlsLn = hl
	recordAddr(&s.tlsAddr, ln)
	if split {
		// h2 serves the HTTP/2 connections and h1 the others, with the
		// plain listener's limits: header size, header, body and idle
		// timeouts.
		s.tlsH2 = h2.New(s.limits.Handler(http.HandlerFunc(s.serve)), s.h2Options())
		s.tlsH1 = h1.New(s.limits.Handler(http.HandlerFunc(s.serve)), s.h1Options())
		srv2, srv1 := s.tlsH2, s.tlsH1
		s.counts.add(ListenerHTTPS, ln.Addr().String(), srv1, srv2)
		go func() {
			if err := srv2.Serve(hl.std); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("gateway TLS server stopped", "err", err)
			}
		}()
		go func() {
			if err := srv1.Serve(hl.h1); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("gateway TLS server stopped", "err", err)
			}
		}()
		s.log.Info("gateway listening (TLS)", "addr", ln.Addr().String())
		return nil
	}
	// The plain listener's limits: header size, header, body and idle timeouts.
	s.tlsSrv = s.limits.Server(boundStalls(http.HandlerFunc(s.serveTLS), s.limits.IdleTimeout))
	s.tlsSrv.HTTP2 = s.stdHTTP2()
	s.tlsSrv.TLSConfig = s.tlsCfg
	s.tlsSrv.DisableGeneralOptionsHandler = true // OPTIONS * is the gateway's to answer, as under h1
	s.tlsSrv.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)
	// HTTP/1.x connections record the client's spelling of header names, as
	// the plain listener's do; HTTP/2 ones reach net/http as *tls.Conn
	// (wirenames.Listener).
	s.tlsSrv.ConnContext = wirenames.ConnContext
	// Its connections, HTTP/1.1 and HTTP/2, count against the public
	// listeners' limit, as h1's and h2's do (connlimit.go).
	counted := s.stdConns("net/http TLS", true)
	counted.serve(s.tlsSrv)
	liftWriteDeadline(s.tlsSrv)
	rl := wirenames.Listener{Listener: counted.listener(hl.std), MaxHeaderBytes: s.limits.MaxHeaderBytes}
	go func() {
		if err := s.tlsSrv.Serve(rl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("gateway TLS server stopped", "err", err)
		}
	}()
	s.log.Info("gateway listening (TLS)", "addr", ln.Addr().String())
	return nil
}

// TLSOff says, after Start, why the TLS listener does not serve and what
// to do, for a custom domain name that requires mutual TLS or not; "" when it
// serves. Custom domain names read it back (domainNameStatusMessage), as they
// are not served over HTTPS without it. The plain listener serves a domain
// without mutual TLS by Host meanwhile, but refuses a mutual TLS domain
// (403): nothing reaches one until the TLS listener is on, and the message
// begins by saying so.
func (s *Server) TLSOff(mutualTLS bool) string {
	if s.TLSAddr() != "" {
		return ""
	}
	why := "the server started without a certificate, its TLS listener off; restart it to serve HTTPS (after `portico tls init`, or with --tls-cert and --tls-key)"
	off := s.gw.cfg.TLSListen == "" || s.gw.cfg.TLSListen == ListenOff
	switch {
	case off:
		why = "the TLS listener is off (--tls-listen off)"
	case s.tlsOffSaid:
		why = "the development certificate did not load when the server started (it had expired, or its files were bad: the server's log says which), so its TLS listener is off; restart it to serve HTTPS (after `portico tls init`)"
	}
	switch {
	case mutualTLS:
		return "not reachable at all until the TLS listener is on: this domain requires mutual TLS, which only HTTPS serves (the plain listener refuses it, 403), and " + why
	case off:
		return "not served over HTTPS: " + why + "; the plain listener serves it by Host meanwhile"
	}
	return "not served over HTTPS yet: " + why + "; the plain listener serves it by Host meanwhile"
}

// TLSAddr returns the TLS listener's bound address, "" when TLS is off.
func (s *Server) TLSAddr() string {
	if a := s.tlsAddr.Load(); a != nil {
		return *a
	}
	return ""
}

// handshakeListener accepts TCP connections, completes their TLS handshakes in
// the background within a deadline and hands a server only the connections
// whose handshake finished. A client that never finishes its handshake holds a
// goroutine until the deadline, never a server's accept loop; the handshakes in
// flight are bounded (handshakeLimits), and a connection over the bounds closes
// a silent one rather than wait for room, so that silent connections cannot
// stop the listener from accepting. A plain HTTP request
// gets 400, as net/http answers it (unless plain: then it is served, see
// newHandshakeListenerPlain). Its connections come out of one view (std),
// or, split, out of two: h1 has those whose ALPN chose HTTP/1.1 (or nothing),
// std those that chose h2. The socket closes when every view has closed.
type handshakeListener struct {
	ln      net.Listener
	cfg     *tls.Config
	timeout time.Duration
	limits  handshakeLimits
	log     *slog.Logger

	std, h1 *tlsView // h1 is nil unless split
	// plain: connections that do not start with a TLS handshake are served
	// as plain HTTP (newHandshakeListenerPlain).
	plain bool

	failed chan struct{} // closed when accepting failed: err says why
	err    error
	views  atomic.Int32  // views not closed yet
	stop   chan struct{} // closed when every view has closed

	mu       sync.Mutex
	pending  list.List // of *pendingHandshake, oldest first
	bySource map[netip.Addr]*sourceHandshakes

	// clientCertLog paces the INFO lines of handshakes refused for their
	// client certificate (mutual TLS): the first ten, then one a minute.
	clientCertLog rate.Sometimes
}

// sourceHandshakes are one source's handshakes in flight: all, and those not
// known to be past their ClientHello (silent).
type sourceHandshakes struct {
	all, silent list.List // of *pendingHandshake, oldest first
}

// pendingHandshake is a connection whose handshake is in flight.
type pendingHandshake struct {
	c      net.Conn
	source netip.Addr
	at     time.Time // admitted
	// hello is set by the handshake's goroutine when its client's
	// ClientHello has arrived whole (waitFirstRecord): it is not silent.
	hello atomic.Bool
	// In pending, in bySource[source].all and .silent; nil once released
	// (silent once known not to be).
	all, own, silent *list.Element
}

// tlsView is one server's share of a handshakeListener's connections.
type tlsView struct {
	l     *handshakeListener
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandshakeListener(ln net.Listener, cfg *tls.Config, timeout time.Duration, limits handshakeLimits, split bool, log *slog.Logger) *handshakeListener {
	return newHandshakeListenerPlain(ln, cfg, timeout, limits, split, false, log)
}

// newHandshakeListenerPlain is newHandshakeListener; with plain, a connection
// whose first byte does not start a TLS handshake is handed on as it is, plain
// HTTP, after that byte came within the handshake's deadline (sniffTLS), to
// the view that has HTTP/1.1 connections: one port answers both.
func newHandshakeListenerPlain(ln net.Listener, cfg *tls.Config, timeout time.Duration, limits handshakeLimits, split, plain bool, log *slog.Logger) *handshakeListener {
	if timeout <= 0 {
		timeout = DefaultTLSHandshakeTimeout
	}
	if limits.total <= 0 {
		limits.total = maxPendingHandshakes
	}
	if limits.perSource <= 0 || limits.perSource > limits.total {
		limits.perSource = min(maxPendingHandshakesPerSource, limits.total)
	}
	if limits.grace == 0 {
		limits.grace = silentHandshakeGrace
	}
	if limits.now == nil {
		limits.now = time.Now
	}
	l := &handshakeListener{
		ln: ln, cfg: cfg, timeout: timeout, limits: limits, log: log, plain: plain,
		failed: make(chan struct{}), stop: make(chan struct{}),
		bySource:      make(map[netip.Addr]*sourceHandshakes),
		clientCertLog: rate.Sometimes{First: 10, Interval: time.Minute},
	}
	l.std = l.newView()
	if split {
		l.h1 = l.newView()
	}
	go l.acceptLoop()
	return l
}

func (l *handshakeListener) newView() *tlsView {
	l.views.Add(1)
	return &tlsView{l: l, conns: make(chan net.Conn), done: make(chan struct{})}
}

// Addr is the listener's bound address.
func (l *handshakeListener) Addr() net.Addr { return l.ln.Addr() }

func (l *handshakeListener) acceptLoop() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			select {
			case <-l.stop:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.err = err
			close(l.failed)
			return
		}
		go l.handshake(c, l.admit(c))
	}
}

// handshakeSource is the source a connection's handshakes are counted under:
// its peer's IPv4 address, or its IPv6 address's /64 (what one host is
// usually given).
func handshakeSource(c net.Conn) netip.Addr {
	var a netip.Addr
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		a = ta.AddrPort().Addr().Unmap()
	} else if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		a = ap.Addr().Unmap()
	}
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			a = p.Addr()
		}
	}
	return a
}

// admit records c's handshake as in flight, first closing the handshakes in
// flight that c's arrival puts over the limits (handshakeLimits): its
// source's oldest silent one when the source has its bound of silent ones
// and that one has been silent for the grace, and when the listener is at its
// bound the oldest silent one of the source with the most, or with none
// silent, the oldest one of the source with the most in flight.
func (l *handshakeListener) admit(c net.Conn) *pendingHandshake {
	p := &pendingHandshake{c: c, source: handshakeSource(c), at: l.limits.now()}
	var evicted []*pendingHandshake
	l.mu.Lock()
	own := l.bySource[p.source]
	if own == nil {
		own = &sourceHandshakes{}
		l.bySource[p.source] = own
	}
	if own.silent.Len() >= l.limits.perSource {
		if o := l.oldestSilentLocked(&own.silent); o != nil && p.at.Sub(o.at) >= l.limits.grace {
			evicted = append(evicted, l.releaseLocked(o))
		}
	}
	if l.pending.Len() >= l.limits.total {
		evicted = append(evicted, l.releaseLocked(l.busiestSourceOldestLocked()))
	}
	if l.bySource[p.source] == nil { // the eviction emptied it
		l.bySource[p.source] = own
	}
	p.all, p.own, p.silent = l.pending.PushBack(p), own.all.PushBack(p), own.silent.PushBack(p)
	l.mu.Unlock()
	for _, o := range evicted {
		// Its handshake fails at once, and its goroutine ends.
		_ = o.c.Close()
		l.log.Debug("TLS handshake closed to make room for a new connection", "remote", o.c.RemoteAddr().String(), "pending", l.limits.total, "pendingPerSource", l.limits.perSource)
	}
	return p
}

// oldestSilentLocked returns the oldest handshake of a source's silent list
// whose client is still silent, nil when there is none. Those found past
// their ClientHello on the way, by their goroutine (hello) or by their socket
// (a ClientHello their goroutine has not read yet), leave the list for good.
func (l *handshakeListener) oldestSilentLocked(silent *list.List) *pendingHandshake {
	for e := silent.Front(); e != nil; {
		p := e.Value.(*pendingHandshake)
		e = e.Next()
		if !p.hello.Load() && !firstRecordArrived(p.c) {
			return p
		}
		l.notSilentLocked(p)
	}
	return nil
}

// notSilentLocked takes p off its source's silent list.
func (l *handshakeListener) notSilentLocked(p *pendingHandshake) {
	if p.silent == nil {
		return
	}
	if own := l.bySource[p.source]; own != nil {
		own.silent.Remove(p.silent)
	}
	p.silent = nil
}

// busiestSourceOldestLocked returns the handshake to close when the listener
// is at its bound: the oldest silent one of the source with the most silent
// ones, or with none silent, the oldest one of the source with the most in
// flight (the one whose oldest is older among equals); a source that floods
// the listener loses its own. The listener has at least one handshake in
// flight.
func (l *handshakeListener) busiestSourceOldestLocked() *pendingHandshake {
	for {
		var most *sourceHandshakes
		for _, s := range l.bySource {
			if s.silent.Len() > 0 && (most == nil || busier(&s.silent, &most.silent)) {
				most = s
			}
		}
		if most == nil {
			break
		}
		// Those it finds past their ClientHello leave the silent list:
		// this ends.
		if p := l.oldestSilentLocked(&most.silent); p != nil {
			return p
		}
	}
	var most *sourceHandshakes
	for _, s := range l.bySource {
		if most == nil || busier(&s.all, &most.all) {
			most = s
		}
	}
	return most.all.Front().Value.(*pendingHandshake)
}

// busier reports whether a source's list of handshakes a has more than b, or
// as many and an older first one.
func busier(a, b *list.List) bool {
	if a.Len() != b.Len() {
		return a.Len() > b.Len()
	}
	return a.Front().Value.(*pendingHandshake).at.Before(b.Front().Value.(*pendingHandshake).at)
}

// release removes p from the handshakes in flight (once: it may have been
// evicted already).
func (l *handshakeListener) release(p *pendingHandshake) {
	l.mu.Lock()
	l.releaseLocked(p)
	l.mu.Unlock()
}

func (l *handshakeListener) releaseLocked(p *pendingHandshake) *pendingHandshake {
	if p.all == nil {
		return p
	}
	l.notSilentLocked(p)
	l.pending.Remove(p.all)
	if own := l.bySource[p.source]; own != nil {
		own.all.Remove(p.own)
		if own.all.Len() == 0 {
			delete(l.bySource, p.source)
		}
	}
	p.all, p.own = nil, nil
	return p
}

func (l *handshakeListener) handshake(c net.Conn, p *pendingHandshake) {
	defer l.release(p)
	_ = c.SetDeadline(time.Now().Add(l.timeout))
	// Wait for the client's ClientHello whole before anything reads it: a
	// handshake past it is no longer silent (handshakeLimits).
	first, known, err := waitFirstRecord(c)
	if err != nil {
		_ = c.Close()
		l.log.Debug("connection closed before its ClientHello", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	if known && first == recordTypeHandshake {
		p.hello.Store(true)
	}
	if known && l.plain && first != recordTypeHandshake {
		_ = c.SetDeadline(time.Time{})
		l.hand(l.plainView(), c, c)
		return
	}
	if l.plain && !known {
		pc, isTLS, err := sniffTLS(c)
		if err != nil {
			_ = c.Close()
			l.log.Debug("connection closed before its first byte", "remote", c.RemoteAddr().String(), "err", err)
			return
		}
		if !isTLS {
			_ = c.SetDeadline(time.Time{})
			l.hand(l.plainView(), pc, c)
			return
		}
	}
	tc := tls.Server(rawio.Wrap(c), l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err = tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader[:]) {
			_, _ = re.Conn.Write([]byte("HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"))
		}
		_ = c.Close()
		if clientCertRefused(err) {
			// An operator asks why a client of a mutual TLS domain is
			// refused; the client only sees an alert.
			l.clientCertLog.Do(func() {
				l.log.Info("mutual TLS handshake refused: the client certificate was missing or not trusted (logged at most once a minute after the first ten)",
					"domain", tc.ConnectionState().ServerName, "remote", c.RemoteAddr().String(), "reason", err.Error())
			})
		}
		l.log.Debug("TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	_ = c.SetDeadline(time.Time{})
	v := l.std
	if l.h1 != nil && tc.ConnectionState().NegotiatedProtocol != "h2" {
		v = l.h1
	}
	l.hand(v, tc, c)
}

// plainView is the view of plain HTTP connections: h1's when split.
func (l *handshakeListener) plainView() *tlsView {
	if l.h1 != nil {
		return l.h1
	}
	return l.std
}

// hand gives c to v's server, or closes its socket raw when v has closed.
func (l *handshakeListener) hand(v *tlsView, c, raw net.Conn) {
	select {
	case v.conns <- c:
	case <-v.done:
		_ = raw.Close()
	}
}

func looksLikeHTTP(hdr []byte) bool {
	switch string(hdr) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE":
		return true
	}
	return false
}

// Accept implements net.Listener: the view's next connection whose handshake
// finished.
func (v *tlsView) Accept() (net.Conn, error) {
	select {
	case c := <-v.conns:
		return c, nil
	case <-v.l.failed:
		return nil, v.l.err
	case <-v.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener: the view accepts no more; the last view's
// Close closes the socket.
func (v *tlsView) Close() error {
	var err error
	v.once.Do(func() {
		close(v.done)
		if v.l.views.Add(-1) == 0 {
			close(v.l.stop)
			err = v.l.ln.Close()
		}
	})
	return err
}

// Addr implements net.Listener.
func (v *tlsView) Addr() net.Addr { return v.l.ln.Addr() }

// checkDefaultEndpoint refuses a stage reached at a default endpoint
// ({apiId}.execute-api... or /{apiId}/{stage}) when its API turned them off.
func checkDefaultEndpoint(e *stageEntry) error {
	if executeAPIEndpointDisabled(e) {
		return fmt.Errorf("api %s disables its default endpoint: %w", e.dep.API.ID, errForbidden)
	}
	return nil
}

// clientCertV2 is requestContext.authentication of an HTTP API (2.0) event.
func clientCertV2(r *http.Request) events.APIGatewayV2HTTPRequestContextAuthentication {
	c := edge.ClientCertOf(r.TLS)
	if c == nil {
		return events.APIGatewayV2HTTPRequestContextAuthentication{}
	}
	return events.APIGatewayV2HTTPRequestContextAuthentication{ClientCert: events.APIGatewayV2HTTPRequestContextAuthenticationClientCert{
		ClientCertPem: c.PEM, SubjectDN: c.SubjectDN, IssuerDN: c.IssuerDN, SerialNumber: c.SerialNumber,
		Validity: events.APIGatewayV2HTTPRequestContextAuthenticationClientCertValidity{NotBefore: c.NotBefore, NotAfter: c.NotAfter},
	}}
}

// plainPort is the port of the plain listener when r came over TLS: the
// domainName of a wss connection's events names it, so that functions reach
// @connections over plain HTTP at the callback host without trusting the
// gateway's certificate.
func (g *Gateway) plainPort(r *http.Request) string {
	if r.TLS == nil {
		return ""
	}
	p, _ := g.plainListen.Load().(string)
	return p
}

// clientCertRefused reports whether a server handshake failed for the
// client's certificate: none given where the domain requires one, or one
// the domain's truststore does not verify (unknown issuer, expired, not for
// client authentication, self-signed).
func clientCertRefused(err error) bool {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var ce *tls.CertificateVerificationError
	if errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &ce) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "client didn't provide a certificate") || strings.Contains(msg, "the client certificate is self-signed")
}
