package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/wirenames"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/connset"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/h2"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/store"
)

// Server is the gateway's HTTP server: stage URLs plus /healthz. Safe for
// concurrent use after Start.
type Server struct {
	gw     *Gateway
	log    *slog.Logger
	limits listener.Limits
	srv    *http.Server
	ln     net.Listener

	tlsCfg *tls.Config // SetTLS; nil: no TLS listener (tls.go)
	// tlsOffSaid: the TLS source said why tlsCfg is nil (SetTLSFrom).
	tlsOffSaid bool
	tlsSrv     *http.Server       // serves tlsLn under the net/http and nbio engines
	tlsH1      *h1.Server         // serves tlsLn's HTTP/1.1 connections under the h1 engine
	tlsH2      *h2.Server         // serves tlsLn's HTTP/2 connections under the h1 engine
	tlsLn      *handshakeListener // the TLS listener
	// addr and tlsAddr are the listeners' bound addresses, set by Start and
	// read by anyone (the admin API names the gateway's URL from its own
	// goroutines, which nothing orders after Start's writes).
	addr, tlsAddr atomic.Pointer[string]
	cb            *callbackServer
	nbio          *nbioServer // with Config.Engine "nbio" (engine_nbio.go), instead of srv
	h1            *h1.Server  // with Config.Engine "h1" (engine.go), instead of srv
	// unread bounds the response bytes the h1 connections of both
	// listeners hold for clients that do not read (Config.MaxUnreadBytes);
	// nil: no bound.
	unread *h1.UnreadBudget
	// counts are the listeners whose connections Connections counts.
	counts connCounts
	// conns bounds the public listeners' connections together
	// (Config.MaxConns); nil: no bound.
	conns *h1.ConnLimit
	// std are the counts of the servers under it that are neither h1 nor h2
	// (connlimit.go): net/http's and nbio's; stopped with the server.
	std []*stdConns
	// perIP bounds one client address's connections on the public
	// listeners together, whatever serves them (Config.MaxConnsPerIP); nil
	// for no bound.
	perIP *connset.PerIP
	// recording is set when the plain listener's connections record header
	// spellings (wirenames.Listener: the net/http engine); h1 keeps them
	// itself.
	recording bool
}

// NewServer returns a server for gw on gw's Config.Listen, with the listener
// limits l (zero fields take listener.DefaultLimits).
func NewServer(gw *Gateway, log *slog.Logger, l listener.Limits) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{gw: gw, log: log, limits: l.WithDefaults()}
	if n := maxConns(gw.cfg.MaxConns); n > 0 {
		s.conns = h1.NewConnLimit(n)
		gw.wsConns.Store(s.conns)
	}
	s.perIP = connset.NewPerIP(gw.cfg.MaxConnsPerIP)
	gw.wsPerIP.Store(s.perIP)
	if n := maxUnread(gw.cfg.MaxUnreadBytes); n > 0 {
		s.unread = h1.NewUnreadBudget(n, UnreadStall)
		s.unread.Log = log.With("setting", "gateway-max-unread-bytes")
	}
	return s
}

// ServeHTTP serves the plain listener: /healthz, and everything else goes to
// the gateway. Under the net/http engine every request takes its header block
// from its connection's recorder first (so that the blocks stay in step with
// the requests), which gives events the client's spelling of header names
// (internal/wirenames); under h1 the request's context has them already.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.recording {
		r = wirenames.Take(r)
		if s.gw.refuseStdFraming(w, r) {
			return
		}
	}
	s.serve(w, r)
}

// serveTLS serves the TLS listener, whose HTTP/1.x connections always record
// (tls.go): every request takes its header block, as under the net/http
// engine. An HTTP/2 request has no recorder, and Take leaves it as it is.
func (s *Server) serveTLS(w http.ResponseWriter, r *http.Request) {
	r = wirenames.Take(r)
	if s.gw.refuseStdFraming(w, r) {
		return
	}
	s.serve(w, r)
}

// serve refuses a Host whose port is not a number (validHostPort), serves
// /healthz at the gateway's own address, refuses HTTP/2's connection preface
// and hands everything else to the gateway.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !validHostPort(r.Host) {
		// RFC 9112 3.2: a Host field value that is invalid is 400, in the
		// gateway's shape, before anything is located by it.
		s.gw.writeUnrouted(w, r, gatewayError(fmt.Errorf("host %.200q: the port is not a number: %w", r.Host, errBadRequest), ""))
		return
	}
	switch r.URL.Path {
	case "/healthz":
		if s.gw.namesAPI(r) {
			break // the API's path, as any other (an HTTP API's $default stage, a custom domain)
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// GET-only, as the admin API's GET-only paths answer.
			w.Header().Set("Allow", "GET, HEAD")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"message":"Method Not Allowed"}` + "\n"))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
		return
	case "*":
		if r.Method == "PRI" && r.ProtoMajor == 2 {
			refuseHTTP2Preface(w, r)
			return
		}
	}
	s.gw.ServeHTTP(w, r)
}

// Start binds the listeners, then serves in the background. With Config.Listen
// "off" there is no plain listener and the TLS listener must start. Once
// serving, it has the $disconnect of the WebSocket connections the last server
// left open run (connections.Manager.DisconnectOrphans).
func (s *Server) Start(ctx context.Context) error {
	if err := s.start(); err != nil {
		return err
	}
	if s.gw.ws != nil {
		s.gw.ws.m.DisconnectOrphans(context.Background(), wsDispatcher{s.gw})
	}
	return nil
}

func (s *Server) start() error {
	if s.gw.cfg.Listen == ListenOff {
		if err := s.startTLS(); err != nil {
			return err
		}
		if s.tlsLn == nil {
			return errdefs.New(errdefs.ErrInvalid, "", "gateway: --listen off leaves no listener: the TLS listener needs a certificate (--tls-cert and --tls-key, or `portico tls init`) and --tls-listen other than off")
		}
		return s.startCallback()
	}
	addr := s.gw.cfg.Listen
	engine := s.engine()
	if engine == EngineNbio {
		if err := s.startNbio(addr); err != nil {
			return err
		}
		// The sandbox-facing endpoint is h1's whatever the engine: its
		// services (a traffic shift's hooks report there) serve under nbio too.
		if err := s.startCallback(); err != nil {
			_ = s.nbio.Close()
			return err
		}
		s.log.Info("gateway listening", "addr", s.ln.Addr().String(), "domain", s.gw.cfg.Domain, "engine", EngineNbio)
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: listen on %s: %w", addr, err)
	}
	s.ln = ln
	recordAddr(&s.addr, ln)
	if _, port, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		s.gw.plainListen.Store(port)
	}
	if err := s.startCallback(); err != nil {
		_ = ln.Close()
		return err
	}
	if engine == EngineH1 {
		s.serveH1(ln)
	} else {
		counted := s.stdConns("net/http", true)
		rl := wirenames.Listener{Listener: counted.listener(ln), MaxHeaderBytes: s.limits.MaxHeaderBytes}
		s.recording = true
		// An answer its client takes nothing of for the idle timeout is
		// given up, as under h1 (boundStalls).
		s.srv = s.limits.Server(boundStalls(s, s.limits.IdleTimeout))
		s.srv.ConnContext = wirenames.ConnContext
		s.srv.DisableGeneralOptionsHandler = true // OPTIONS * is the gateway's to answer, as under h1
		counted.serve(s.srv)
		liftWriteDeadline(s.srv)
		srv := s.srv
		go func() {
			if err := srv.Serve(rl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("gateway server stopped", "err", err)
			}
		}()
	}
	s.log.Info("gateway listening", "addr", ln.Addr().String(), "domain", s.gw.cfg.Domain, "engine", engine)
	if err := s.startTLS(); err != nil {
		if s.srv != nil {
			_ = s.srv.Close()
		}
		if s.h1 != nil {
			_ = s.h1.Close()
		}
		return err
	}
	return nil
}

// stdConns returns the counting of a net/http or nbio server's connections
// against the public listeners' limit, nil without one (connlimit.go).
func (s *Server) stdConns(server string, shed bool) *stdConns {
	if s.conns == nil && s.perIP == nil {
		return nil
	}
	c := newStdConns(s.conns, s.perIP, s.log, server, shed)
	s.std = append(s.std, c)
	return c
}

// startCallback starts the sandbox-facing @connections endpoint when WebSockets
// are on and Config.CallbackBind names where (callback.go).
func (s *Server) startCallback() error {
	if s.gw.ws == nil || s.gw.cfg.CallbackBind == "" {
		return nil
	}
	cb, err := s.gw.startCallback(s.gw.cfg.CallbackBind, s.gw.ws.m.Config().CallbackHost, s.limits)
	if err != nil {
		s.closeTLS()
		return err
	}
	s.cb = cb
	s.counts.add(ListenerCallback, cb.ln.Addr().String(), cb.srv)
	return nil
}

// Stop shuts the server down: requests in flight may finish within
// shutdown.Graceful(ctx), then the connections still busy are closed (their
// requests' contexts cancelled), so that the hooks after this one (the
// invoker's, which stops the sandboxes) still run before ctx ends. It closes
// idle backend connections, the transport's and the fast proxy's.
func (s *Server) Stop(ctx context.Context) error {
	defer s.gw.transport.CloseIdleConnections()
	for _, c := range s.std {
		c.stop()
	}
	if s.gw.fast != nil {
		defer s.gw.fast.CloseIdle()
	}
	var errs []error
	stop := func(srv shutdown.Server) {
		if err := shutdown.Stop(ctx, srv); err != nil {
			errs = append(errs, err)
		}
	}
	if s.cb != nil {
		defer func() { _ = shutdown.Stop(ctx, s.cb.srv) }()
	}
	if s.nbio != nil {
		stop(s.nbio)
	}
	if s.tlsH1 != nil {
		stop(s.tlsH1)
	}
	if s.tlsH2 != nil {
		stop(s.tlsH2)
	}
	if s.tlsSrv != nil {
		stop(s.tlsSrv)
	}
	if s.srv != nil {
		stop(s.srv)
	}
	if s.h1 != nil {
		stop(s.h1)
	}
	var stalled int64
	for _, srv := range []*h1.Server{s.h1, s.tlsH1} {
		if srv != nil {
			stalled += srv.StalledAtStop()
		}
	}
	if s.unread != nil && s.unread.Cut() > 0 {
		s.log.Info("slow readers cut off while answers waiting for their clients held more than gateway-max-unread-bytes",
			s.unreadCutAttrs()...)
	}
	if stalled > 0 {
		// Their requests had run: only the client's socket held them.
		s.log.Info("shutdown: closed connections whose client took none of its answer for a second (slow readers)", "connections", stalled)
	}
	if len(errs) > 0 {
		s.log.Warn("shutdown: requests still running when the shutdown timeout ended were cut off", "err", errors.Join(errs...))
		shutdown.NoteCutOff(ctx, "gateway requests still running")
	}
	return nil
}

// closeTLS closes the TLS listener's servers at once.
func (s *Server) closeTLS() {
	if s.tlsH1 != nil {
		_ = s.tlsH1.Close()
	}
	if s.tlsH2 != nil {
		_ = s.tlsH2.Close()
	}
	if s.tlsSrv != nil {
		_ = s.tlsSrv.Close()
	}
}

// Addr returns the plain listener's bound address, after Start; "" when it is
// off (Config.Listen "off").
func (s *Server) Addr() string {
	if a := s.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// recordAddr records a listener's bound address for Addr or TLSAddr.
func recordAddr(to *atomic.Pointer[string], ln net.Listener) {
	a := ln.Addr().String()
	to.Store(&a)
}

// URL returns the server's base URL, http://127.0.0.1:PORT when bound to all
// interfaces, after Start; with the plain listener off, the TLS listener's
// https://localhost:PORT.
func (s *Server) URL() string {
	addr := s.Addr()
	if tlsAddr := s.TLSAddr(); addr == "" && s.gw.cfg.Listen == ListenOff && tlsAddr != "" {
		_, port, _ := net.SplitHostPort(tlsAddr)
		return "https://localhost:" + port
	}
	if addr == "" {
		addr = s.gw.cfg.Listen
	}
	return netaddr.DialURL(addr)
}

// StageURL returns the path-based URL of a stage on this server.
func (s *Server) StageURL(apiID, stage string) string { return StageURL(s.URL(), apiID, stage) }

// Gateway returns the handler.
func (s *Server) Gateway() *Gateway { return s.gw }

// Params are the gateway module's dependencies.
type Params struct {
	fx.In

	Config  Config `optional:"true"`
	Store   *store.Store
	Aliases *aliases.Service
	Invoker *invoker.Invoker
	Log     *slog.Logger
	// Connections, when provided, enables WEBSOCKET APIs (websocket.go).
	Connections *connections.Manager `optional:"true"`
	// Stages are the request pipeline's stages (pipeline.AsStage).
	Stages []pipeline.Stage `group:"pipeline.stages"`
	// Domains, when provided, routes custom domain names (tls.go).
	Domains DomainResolver `optional:"true"`
	// Runtime, when provided, is where the sandbox-facing @connections endpoint
	// binds (its HostAddr).
	Runtime runtimes.Runtime `optional:"true"`
	// ConnectAuthorizer runs WebSocket $connect authorizers (gateway/auth).
	ConnectAuthorizer ConnectAuthorizer `optional:"true"`
	// CallbackTLS, when provided, has the sandbox-facing @connections
	// endpoint answer HTTPS beside plain HTTP (callback.go).
	CallbackTLS CallbackTLS `optional:"true"`
}

// ServerParams are the gateway server's fx dependencies.
type ServerParams struct {
	fx.In

	Gateway *Gateway
	Log     *slog.Logger
	// Limits are the listener's limits; without them, the defaults. The TLS
	// listener has the same.
	Limits listener.Limits `optional:"true"`
	// TLS, when provided with a configuration, starts the TLS listener (tls.go).
	TLS TLSSource `optional:"true"`
}

// Module provides the data plane (*Gateway) and its server (*Server), which
// listens on Config.Listen for the app's lifetime. The API service it serves from
// comes from apis.Module.
var Module = fx.Module("gateway",
	fx.Provide(
		func(p Params, svc *apis.Service) *Gateway {
			cfg := p.Config
			if p.Runtime != nil && p.Connections != nil {
				cfg.CallbackBind = CallbackBind(cfg.CallbackBind, p.Runtime.HostAddr())
			}
			gw := New(cfg, svc, p.Aliases, p.Invoker, p.Log.With("component", "gateway"))
			gw.Use(p.Stages...)
			gw.EnableWebSockets(p.Connections)
			if p.Domains != nil {
				gw.SetDomains(p.Domains)
			}
			if p.ConnectAuthorizer != nil {
				gw.SetConnectAuthorizer(p.ConnectAuthorizer)
			}
			if p.CallbackTLS != nil {
				gw.SetCallbackTLS(p.CallbackTLS)
			}
			return gw
		},
		func(p ServerParams) *Server {
			s := NewServer(p.Gateway, p.Log.With("component", "gateway"), p.Limits)
			if p.TLS != nil {
				s.SetTLSFrom(p.TLS)
			}
			return s
		},
	),
	fx.Invoke(func(lc fx.Lifecycle, s *Server) {
		lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	}),
)

// CallbackBind is where the sandbox-facing @connections endpoint listens,
// from the operator's setting (Config.CallbackBind) and the runtime's host
// address, the one sandboxes reach the server at: the setting as given
// (host:port), or the host address with the setting's port (:port) or with
// any port (empty).
func CallbackBind(setting, hostAddr string) string {
	switch {
	case setting == "":
		return net.JoinHostPort(hostAddr, "0")
	case strings.HasPrefix(setting, ":"):
		return net.JoinHostPort(hostAddr, setting[1:])
	}
	return setting
}

// unreadCutAttrs are the stop summary's attributes for the slow readers the
// unread budget cut off: how many, and the budget in effect (512 MiB when
// gateway-max-unread-bytes is unset, not the unset 0).
func (s *Server) unreadCutAttrs() []any {
	return []any{"connections", s.unread.Cut(), "gatewayMaxUnreadBytes", s.unread.Limit()}
}
