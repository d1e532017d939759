package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/internal/listener"
)

// The sandbox-facing @connections endpoint. Sandboxes reach Portico at the
// runtime's host address (runtimes.Runtime.HostAddr: 127.0.0.1 for processes,
// the bridge's gateway address for containers), where the invoker already binds
// each sandbox's Runtime API. The @connections callbacks listen there too, on a
// port of their own, whatever address the public listener has: a gateway on
// 127.0.0.1 is out of a container's reach, this endpoint is not. Events report
// it as requestContext.domainName, so "http://" + domainName + "/" + stage
// reaches it.
//
// With a CallbackTLS (SetCallbackTLS) the same port answers HTTPS too, so that
// "https://" + domainName + "/" + stage, as AWS's samples build the endpoint,
// works unmodified: a connection whose first byte starts a TLS handshake is
// served over TLS with a certificate for the reported host, signed by the CA
// that sandboxes are given to trust (runtimes.Spec.Trust); any other is plain
// HTTP, as it was (the byte is peeked at, not read, so a plain connection
// reaches h1 as the socket it is). The wait for the first byte is the TLS
// handshake's, and is bounded as the TLS listener's handshakes are.
//
// It is served by internal/h1, as the gateway's plain listener is: a function
// that broadcasts sends one POST per connection here (docs/performance.md,
// "Broadcast to 10k").

// CallbackTLS gives the sandbox-facing endpoint its TLS configuration, for the
// names (IP addresses, host names) sandboxes reach it by; edge.SandboxCA
// satisfies it.
type CallbackTLS interface {
	ServerConfig(names []string) (*tls.Config, error)
}

// SetCallbackTLS makes the sandbox-facing endpoint answer HTTPS beside plain
// HTTP, with c's configuration. Call it before serving.
func (g *Gateway) SetCallbackTLS(c CallbackTLS) { g.callbackTLS = c }

// SandboxService is an AWS API that the sandbox-facing endpoint serves beside
// @connections, for functions to call with their sandboxes' credentials from
// wherever they run: CodeDeploy's PutLifecycleEventHookExecutionStatus, for
// the hooks of traffic shifts (the admin package provides it). The gateway
// declares it and routes to it the calls it claims; the service authenticates
// and answers them itself. Implementations are safe for concurrent use.
type SandboxService interface {
	// EndpointVariable names the variable that points an AWS SDK's client of
	// the service at an endpoint (AWS_ENDPOINT_URL_CODEDEPLOY): every sandbox
	// gets it naming this endpoint (SandboxEndpoints), unless the function's
	// own environment sets it.
	EndpointVariable() string
	// Claims reports, from its method, path and headers, whether r is a call
	// of the service. It must claim no @connections path.
	Claims(r *http.Request) bool
	http.Handler
}

// AddSandboxService serves s on the sandbox-facing endpoint. Call it before
// serving.
func (g *Gateway) AddSandboxService(s SandboxService) {
	g.sandboxServices = append(g.sandboxServices, s)
}

// SandboxEndpoints returns, by variable (SandboxService.EndpointVariable),
// the URL at which sandboxes reach the services added with AddSandboxService:
// the sandbox-facing endpoint's, https:// when it answers HTTPS (sandboxes
// trust its CA), else http://. It is empty while the endpoint does not listen.
// The invoker adds them to each new sandbox's environment. Safe for
// concurrent use.
func (g *Gateway) SandboxEndpoints() map[string]string {
	u := g.sandboxURL.Load()
	if u == nil || len(g.sandboxServices) == 0 {
		return nil
	}
	out := make(map[string]string, len(g.sandboxServices))
	for _, s := range g.sandboxServices {
		out[s.EndpointVariable()] = *u
	}
	return out
}

// callbackServer serves the @connections API, and the SandboxServices, for
// sandboxes.
type callbackServer struct {
	g      *Gateway
	srv    *h1.Server
	ln     net.Listener
	domain string // host:port that sandboxes use
}

// startCallback binds the sandbox-facing endpoint on bind (host:port, port 0 for
// any) and reports it to sandboxes as host (a name or address they resolve) and
// the bound port. Its header block and body are bounded as the gateway
// listener's are (lim's max-header-bytes, header-timeout and body-timeout).
func (g *Gateway) startCallback(bind, host string, lim listener.Limits) (*callbackServer, error) {
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("gateway: sandbox-facing @connections endpoint on %s: %w", bind, err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if host == "" {
		host, _, _ = net.SplitHostPort(ln.Addr().String())
	}
	cs := &callbackServer{g: g, ln: ln, domain: net.JoinHostPort(host, port)}
	maxConns := callbackMaxConns(g.cfg.CallbackMaxConnsPerIP, ln.Addr())
	serveLn := ln
	tlsOn := false
	if g.callbackTLS != nil {
		bound, _, _ := net.SplitHostPort(ln.Addr().String())
		cfg, err := g.callbackTLS.ServerConfig([]string{host, bound})
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("gateway: sandbox-facing @connections endpoint's certificate for %s: %w", host, err)
		}
		// The handshakes (and first bytes) waited for are bounded per
		// sandbox address as the connections are, with no grace for a
		// burst (a sandbox's client opens tens at most): past the bound,
		// the address's oldest silent one is closed at once, so that a
		// sandbox holds no more descriptors silent than served
		// (r-runtimes19 #3: 400, up to the total, for the handshake
		// timeout). On loopback, where every process sandbox has the same
		// address, they are bounded by the total alone.
		limits := handshakeLimits{perSource: maxConns, grace: -1}
		if maxConns == 0 {
			limits = handshakeLimits{perSource: maxPendingHandshakes}
		}
		serveLn = newHandshakeListenerPlain(ln, cfg, g.cfg.TLSHandshakeTimeout, limits, false, true, g.log).std
		tlsOn = true
	}
	// A request's header must arrive within the listener's header-timeout,
	// and be no larger than its max-header-bytes; its body within the
	// listener's body-timeout (408 past it, as on the gateway listener).
	lim = lim.WithDefaults()
	limits := listener.Limits{MaxHeaderBytes: lim.MaxHeaderBytes, HeaderTimeout: lim.HeaderTimeout, BodyTimeout: lim.BodyTimeout, IdleTimeout: 120 * time.Second}
	// Its 431, 414 and 503 refusals are in API Gateway's shape, as its other
	// answers are (serveRefused), not the server's plain text.
	cs.srv = h1.New(limits.Handler(cs), h1.Options{MaxHeaderBytes: limits.MaxHeaderBytes, ReadHeaderTimeout: limits.HeaderTimeout, IdleTimeout: limits.IdleTimeout,
		WriteTimeout: limits.IdleTimeout, DormantAfter: dormantAfter, MaxConnsPerIP: maxConns, Log: g.log, Refuse: g.serveRefused})
	go func() {
		if err := cs.srv.Serve(serveLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("sandbox-facing @connections endpoint stopped", "err", err)
		}
	}()
	g.ws.callbackDomain.Store(&cs.domain)
	scheme := "http://"
	if tlsOn {
		scheme = "https://"
	}
	sandboxURL := scheme + cs.domain
	g.sandboxURL.Store(&sandboxURL)
	// The endpoint serves for the gateway's life: it stays in self.
	_ = g.self.Add("sandbox-facing @connections endpoint", ln.Addr().String())
	g.log.Info("sandbox-facing @connections endpoint listening", "addr", ln.Addr().String(), "domainName", cs.domain, "https", tlsOn)
	if unreachable(ln.Addr(), host) {
		// A container sandbox connects from another network namespace:
		// loopback there is its own (r-sam26 #3).
		g.log.Warn("sandboxes reach the sandbox-facing endpoint at "+cs.domain+" but it listens on loopback only: "+
			"@connections calls and traffic-shift hook reports from sandboxes will fail; use --callback-listen :"+port+" (or the address "+host+")",
			"addr", ln.Addr().String(), "domainName", cs.domain)
	}
	return cs, nil
}

// unreachable reports whether an endpoint bound at addr cannot be reached at
// host by a sandbox: it listens on loopback only and host is not loopback (a
// container sandbox's address for the server's host).
func unreachable(addr net.Addr, host string) bool {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return !ip.IsLoopback()
	}
	return host != "localhost"
}

// callbackMaxConns is h1's MaxConnsPerIP for the endpoint bound at addr, from
// Config.CallbackMaxConnsPerIP (see there).
func callbackMaxConns(configured int, addr net.Addr) int {
	switch {
	case configured > 0:
		return configured
	case configured < 0:
		return 0
	}
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		return 0
	}
	return DefaultCallbackMaxConnsPerIP
}

// ServeHTTP serves /{stage}/@connections/{id} and /{apiId}/{stage}/@connections/{id},
// and the calls a SandboxService claims; everything else is 404.
func (cs *callbackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, s := range cs.g.sandboxServices {
		if s.Claims(r) {
			s.ServeHTTP(w, r)
			return
		}
	}
	// Every @connections answer names its request, as the public listener's
	// (ServeHTTP) and AWS's do: an SDK error reports it as its RequestID.
	w.Header()[hdrRequestID] = []string{ids.UUID()}
	parts := strings.Split(strings.TrimPrefix(mergeSlashes(r.URL.EscapedPath()), "/"), "/")
	apiID, stage, id := "", "", ""
	switch {
	case len(parts) == 3 && isConnectionsSegment(parts[1]):
		stage, id = unescape(parts[0]), unescape(parts[2])
	case len(parts) == 4 && isConnectionsSegment(parts[2]):
		apiID, stage, id = parts[0], unescape(parts[1]), unescape(parts[3])
	}
	if stage == "" || id == "" {
		if r.ContentLength != 0 {
			// Decided from the head: answered at once, the connection closed,
			// not after the listener read and dropped the body.
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-ErrorType", "NotFoundException")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"message":"Not Found"}`))
		return
	}
	// An error is a client gone before its body came in: nothing is
	// answered, and h1 closes the connection (ServeManagement logged it 499).
	_ = cs.g.ws.m.ServeManagement(w, r, apiID, stage, id)
}

var _ connections.Integrations = (*Gateway)(nil)

// Integrates implements connections.Integrations: whether a route of apiID's
// stage, as deployed there (its canary's deployment included), integrates
// function, with the stage's variables substituted in integration URIs.
func (g *Gateway) Integrates(ctx context.Context, apiID, stage, function string) (bool, error) {
	e, err := g.loadStage(ctx, apiID, stage)
	if err != nil {
		return false, err
	}
	for ; e != nil; e = e.canary {
		routes := e.deployed.API.Routes
		for i := range routes {
			in := routes[i].Integration
			if in == nil || (in.Type != apis.IntegrationAWSProxy && in.Type != apis.IntegrationAWS) {
				continue
			}
			uri, err := e.stageURI(&routes[i], in)
			if err != nil {
				continue
			}
			if ref, err := apis.FunctionRef(uri); err == nil && ref.Name == function {
				return true, nil
			}
		}
	}
	return false, nil
}
