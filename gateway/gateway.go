// Package gateway is Portico's data plane: it routes requests at stage URLs to the
// route of the deployment a stage serves and runs the route's integration (MOCK,
// HTTP, HTTP_PROXY or a function through AWS_PROXY), answering errors as API
// Gateway does.
//
// Stage URLs are path-based, http://HOST:PORT/{apiId}/{stage}/{path}, or host-based,
// http://{apiId}.{domain}:PORT/{stage}/{path}. HTTP APIs with a "$default" stage
// also answer without a stage segment.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/internal/fastproxy"
	"github.com/portico-dev/portico/gateway/internal/restevent"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/gateway/responses"
	"github.com/portico-dev/portico/internal/connset"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/ownaddr"
	"github.com/portico-dev/portico/internal/rawquery"
	"github.com/portico-dev/portico/internal/redact"
	"github.com/portico-dev/portico/internal/tracing"
	"github.com/portico-dev/portico/invoker"
)

// Config configures the data plane.
type Config struct {
	// Listen is the gateway's plain HTTP address (default ":8080"); ListenOff
	// turns the plain listener off, leaving the TLS listener alone.
	Listen string
	// Domain is the domain of host-based stage URLs, {apiId}.{Domain} (default
	// "execute-api.localhost").
	Domain string
	// MaxBodyBytes bounds request bodies (default 10 MB); larger gives 413.
	// It bounds HTTP integrations' response bodies too: one announced
	// larger is a 500, one that grows larger as it streams is cut off.
	MaxBodyBytes int64
	// MaxIdleConnsPerHost sizes the HTTP_PROXY transport's idle pool per backend
	// (default 512).
	MaxIdleConnsPerHost int
	// TLSListen is the TLS listener's address (default ":8443"; "off" turns it
	// off). It listens only when the server has a TLS configuration (tls.go).
	TLSListen string
	// TLSHandshakeTimeout bounds a TLS handshake (default 10 s).
	TLSHandshakeTimeout time.Duration
	// CallbackBind is the host:port (port 0 for any) of the sandbox-facing
	// @connections endpoint (callback.go). The module sets it to the runtime's
	// host address; empty means sandboxes call @connections on the public
	// listener.
	CallbackBind string
	// CallbackMaxConnsPerIP bounds the connections one sandbox address holds
	// open on the sandbox-facing endpoint, so that code in a container cannot
	// open them until Portico runs out of file descriptors. Zero takes the
	// default: DefaultCallbackMaxConnsPerIP when the endpoint is bound off
	// loopback (container sandboxes, each with an address of its own), no
	// bound on loopback (the process runtime's sandboxes, the host's own
	// processes, share 127.0.0.1). Negative: no bound.
	CallbackMaxConnsPerIP int
	// TrustedProxies are the proxies (CIDR blocks) whose X-Forwarded-For the
	// gateway believes: a request from one of them has, as its source IP
	// ($context.identity.sourceIp, aws:SourceIp), the right-most address of
	// X-Forwarded-For that is not itself a trusted proxy. Requests from any
	// other peer have the peer's address, whatever they send.
	TrustedProxies []netip.Prefix
	// MaxConns bounds the connections the public listeners (plain and TLS)
	// hold open together, so that one client's thousands of idle keep-alive
	// connections cannot use up the process's file descriptors and leave the
	// admin API, the Runtime API, the store and the sandboxes none. Zero: the
	// file descriptor limit (RLIMIT_NOFILE) less a reserve (DefaultMaxConns);
	// negative: no bound. Every connection counts, HTTP/1.1 and HTTP/2, under
	// every engine. At the bound a new connection is closed at once and idle
	// keep-alive connections, of either listener, are closed to make room.
	MaxConns int
	// MaxConnsPerIP, when positive, bounds the connections one client address
	// holds open on the public listeners together (default: no bound; clients
	// behind one NAT share an address). Every connection counts, HTTP/1.1 and
	// HTTP/2, plain and TLS, under every engine; one past the bound is closed
	// at once, unanswered.
	MaxConnsPerIP int
	// MaxUnreadBytes bounds the response bytes that the public listeners'
	// HTTP/1.1 connections (the h1 engine's) hold together in writes their
	// clients have not taken: past it, a write that makes no progress for
	// UnreadStall fails and its connection closes, instead of after the
	// listener's idle timeout (h1.UnreadBudget). Zero: DefaultMaxUnreadBytes;
	// negative: no bound.
	MaxUnreadBytes int64
	// Engine is the plain listener's engine: EngineNetHTTP, EngineH1 or EngineNbio
	// (an experiment: HTTP only, see engine_nbio.go); empty: DefaultEngine.
	Engine string
	// TemplateMemory bounds, in bytes, what the REST mapping template renders
	// in flight hold together, each render of a body of 64 KiB or more taken
	// to hold eight times its body (tmplbudget.go). A render that cannot get
	// its share within TemplateMemoryWait (default 1 s) is answered 429 Too
	// Many Requests. Zero: DefaultTemplateMemory(MaxBodyBytes); negative: no
	// bound.
	TemplateMemory     int64
	TemplateMemoryWait time.Duration
}

// Defaults.
const (
	// DefaultMaxUnreadBytes is Config.MaxUnreadBytes's default.
	DefaultMaxUnreadBytes = 512 << 20
	// UnreadStall is how long a write may make no progress while the
	// writes in progress hold more than Config.MaxUnreadBytes.
	UnreadStall   = time.Second
	DefaultListen = ":8080"
	// DefaultCallbackMaxConnsPerIP is Config.CallbackMaxConnsPerIP's default
	// off loopback: far more than a function broadcasting needs (the SDKs
	// keep up to 50 connections to a host).
	DefaultCallbackMaxConnsPerIP = 256
	// ListenOff, as Config.Listen or Config.TLSListen, turns that listener off.
	ListenOff           = "off"
	DefaultDomain       = "execute-api.localhost"
	DefaultMaxBodyBytes = 10 << 20
)

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.TemplateMemory == 0 {
		c.TemplateMemory = DefaultTemplateMemory(c.MaxBodyBytes)
	}
	if c.TemplateMemoryWait <= 0 {
		c.TemplateMemoryWait = DefaultTemplateMemoryWait
	}
	if c.MaxIdleConnsPerHost <= 0 {
		c.MaxIdleConnsPerHost = 512
	}
	if c.TLSListen == "" {
		c.TLSListen = DefaultTLSListen
	}
	if c.TLSHandshakeTimeout <= 0 {
		c.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	}
	return c
}

// Resolver resolves a function reference (name, version or alias) to the version
// that a call runs; aliases.Service satisfies it. Unknown functions are
// errdefs.ErrNotFound.
type Resolver interface {
	Resolve(ctx context.Context, ref functions.Ref) (*functions.Config, error)
}

// Invoker runs one synchronous invocation; invoker.Invoker satisfies it. A function
// error or timeout is a Result with FunctionError set; a throttle is
// errdefs.ErrThrottled.
type Invoker interface {
	Invoke(ctx context.Context, req invoker.Request) (*invoker.Result, error)
}

// Gateway is the data-plane HTTP handler. Safe for concurrent use.
type Gateway struct {
	// own are Portico's other listeners (SetOwnListeners), and self the
	// gateway's own sandbox-facing @connections endpoint: no integration
	// may reach them (refuseOwnListener).
	own  OwnListeners
	self ownaddr.Set

	cfg      Config
	log      *slog.Logger
	apis     *apis.Service
	resolver Resolver
	invoker  Invoker
	// now reads the clock (time.Now; SetClock). Its readings keep time.Now's
	// monotonic reading, so that latencies, differences of two readings, do
	// not follow changes of the wall clock; whoever formats one does it in UTC.
	now func() time.Time
	// fakeClock is set by SetClock: then latencies are differences of two
	// readings of now; with the real clock they come from the monotonic
	// clock alone (since).
	fakeClock bool
	// draw picks canary or base: a request goes to the canary when draw()*100 is
	// under the canary's percentTraffic.
	draw func() float64

	// stages are the pipeline's stages (other than the built-in responses and
	// route stages); resp writes every error.
	stages []pipeline.Stage
	resp   *responses.Writer
	// wsObservers are the stages that learn of WebSocket route dispatches.
	wsObservers []WebSocketObserver
	// wsLoggers are the stages that log WebSocket route dispatches.
	wsLoggers []WebSocketLogger

	proxy     *reverseProxy
	transport *http.Transport
	fast      *fastproxy.Proxy // HTTP_PROXY to plain-HTTP backends; nil sends all through proxy

	// compiled is the cache of compiled stages, replaced whole (under mu)
	// on every change: a request reads it with one atomic load, where a read
	// lock's two atomic additions on a word both cores write cost a cache
	// line's trip between them on every request.
	compiled atomic.Pointer[stageCache]
	mu       sync.Mutex // orders the replacements of compiled

	ws *wsState // WebSocket APIs (websocket.go); nil until EnableWebSockets
	// wsConns is the public listeners' connection bound (Server.conns,
	// Config.MaxConns) that WebSocket connections count against once
	// upgraded (connections.Endpoint.Conns); nil: none. Set by NewServer.
	wsConns atomic.Pointer[connset.Limit]
	// wsPerIP is the public listeners' bound per client address
	// (Server.perIP, Config.MaxConnsPerIP) that WebSocket connections count
	// against once upgraded (connections.Endpoint.PerIP); nil: none. Set by
	// NewServer.
	wsPerIP atomic.Pointer[connset.PerIP]
	// callbackTLS, when set, has the sandbox-facing endpoint answer HTTPS
	// too (callback.go).
	callbackTLS CallbackTLS
	// sandboxServices are the AWS APIs the sandbox-facing endpoint serves
	// beside @connections (AddSandboxService); sandboxURL is that endpoint's
	// URL once it listens (scheme://host:port).
	sandboxServices []SandboxService
	sandboxURL      atomic.Pointer[string]

	domains DomainResolver // custom domain names (tls.go); nil: none
	// plainListen is the plain listener's bound port, for the @connections
	// domainName of wss connections (tls.go); set by Server.Start.
	plainListen atomic.Value
	// connectAuth authorizes WebSocket upgrades ($connect authorizers).
	connectAuth ConnectAuthorizer
	// tmpl bounds the memory of the mapping template renders in flight
	// (Config.TemplateMemory); nil: no bound.
	tmpl *templateBudget
}

// stageKey keys a compiled stage.
type stageKey struct{ apiID, stage string }

// stageCache is a snapshot of the compiled stages, read-only once stored;
// gen counts the invalidations, so that a stage compiled from a model older
// than the last one is not stored.
type stageCache struct {
	gen uint64
	m   map[stageKey]*stageEntry
}

// stageEntry is a stage and its deployment compiled for serving: the router, the
// pipeline and the caches of substituted integration URIs. A stage with a canary
// has a second entry for the canary's side.
type stageEntry struct {
	stage    *apis.Stage
	dep      *apis.Deployment
	deployed *pipeline.Deployed
	router   *router
	chain    pipeline.Handler
	// canary, when set, serves canaryPercent of the stage's requests.
	canary        *stageEntry
	canaryPercent float64
	// uris caches each route's integration URI with the stage variables
	// substituted (*apis.Route -> uriEntry); the entry is dropped with the stage
	// when a variable changes.
	uris sync.Map
	// targets caches each function integration's target (*apis.Route ->
	// *fnTarget), dropped with the stage as uris are.
	targets sync.Map
	// urls caches parsed backend URLs by URI (string -> *url.URL, never mutated).
	urls sync.Map
	// plans are the non-proxy integrations' templates and selection patterns,
	// compiled once per stage deployment, by integration; read-only once compiled.
	plans map[*apis.Integration]*integrationPlan
	// resourceIDs are $context.resourceId by resource path, for the routes'
	// paths; read-only once compiled.
	resourceIDs map[string]string
	// paramMaps are HTTP APIs' parameter mappings by integration, compiled once
	// per stage deployment; read-only once compiled.
	paramMaps map[*apis.Integration]*paramMapping
	// budget is the gateway's template memory budget (Gateway.tmpl).
	budget *templateBudget
}

// parsedURI parses a substituted URI without path parameters, cached.
func (e *stageEntry) parsedURI(raw string) (*url.URL, error) {
	if v, ok := e.urls.Load(raw); ok {
		return v.(*url.URL), nil
	}
	u, err := parseHTTPURL(raw)
	if err != nil {
		return nil, err
	}
	e.urls.Store(raw, u)
	return u, nil
}

// uriEntry is an integration URI with stage variables substituted.
type uriEntry struct {
	uri string
	err error
}

// stageURI returns in's URI with the stage's variables substituted, cached.
func (e *stageEntry) stageURI(r *apis.Route, in *apis.Integration) (string, error) {
	if v, ok := e.uris.Load(r); ok {
		u := v.(uriEntry)
		return u.uri, u.err
	}
	uri, err := apis.SubstituteStageVariables(in.URI, e.deployed.Variables)
	e.uris.Store(r, uriEntry{uri, err})
	return uri, err
}

// fnTarget is a function integration's target with the stage's variables
// substituted: the function reference and the ARN a call names, or why there
// is none.
type fnTarget struct {
	ref functions.Ref
	arn string
	err error
}

// functionTarget returns the target of route r's function integration in,
// cached.
func (e *stageEntry) functionTarget(r *apis.Route, in *apis.Integration) *fnTarget {
	if v, ok := e.targets.Load(r); ok {
		return v.(*fnTarget)
	}
	t := &fnTarget{}
	if uri, err := e.stageURI(r, in); err != nil {
		t.err = fmt.Errorf("integration uri of route %q: %w", r.RouteKey, err)
	} else if ref, err := apis.FunctionRef(uri); err != nil {
		t.err = fmt.Errorf("%s: %w", err.Error(), errConfig)
	} else {
		t.ref, t.arn = ref, functions.ARN(ref.Name, ref.Qualifier)
	}
	e.targets.Store(r, t)
	return t
}

// New returns a Gateway. resolver and invoker may be nil when no API uses function
// integrations (calls then fail with 500).
func New(cfg Config, svc *apis.Service, resolver Resolver, inv Invoker, log *slog.Logger) *Gateway {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg: cfg.withDefaults(), log: log, apis: svc, resolver: resolver, invoker: inv,
		now:  time.Now,
		draw: mrand.Float64,
		resp: responses.New(log),
	}
	g.tmpl = newTemplateBudget(g.cfg.TemplateMemory, g.cfg.TemplateMemoryWait, log)
	g.compiled.Store(&stageCache{m: map[stageKey]*stageEntry{}})
	g.transport = newTransport(g.cfg, g.refuseOwnListener)
	g.proxy = newReverseProxy(g)
	g.fast = fastproxy.New(g.cfg.MaxIdleConnsPerHost)
	g.fast.SetMaxResponseBody(g.cfg.MaxBodyBytes)
	g.fast.SetDialControl(g.refuseOwnListener)
	g.fast.SetRename(restRemapped)
	svc.Subscribe(g.invalidate)
	return g
}

// Use adds stages to the request pipeline; call it before serving. The gateway
// orders them by their Order, around its built-in responses and route stages.
func (g *Gateway) Use(stages ...pipeline.Stage) {
	g.stages = append(g.stages, stages...)
	for _, s := range stages {
		if o, ok := s.(WebSocketObserver); ok {
			g.wsObservers = append(g.wsObservers, o)
		}
		if l, ok := s.(WebSocketLogger); ok {
			g.wsLoggers = append(g.wsLoggers, l)
		}
	}
	g.Invalidate()
}

// WebSocketObserver is an optional ability of a pipeline stage: WebSocket
// route dispatches ($connect requests and messages) do not pass through the
// pipeline, so the gateway tells the stages that have it of each one, with the
// route and the event type (CONNECT, MESSAGE, DISCONNECT). Called on the
// message's path: it must be quick.
type WebSocketObserver interface {
	ObserveWebSocket(d *pipeline.Deployed, route *apis.Route, eventType string)
}

// WebSocketLogger is an optional ability of a pipeline stage: logging a
// WebSocket route dispatch. LogWebSocket is called before the route's
// integration runs and returns nil, or a func the gateway calls with the
// dispatch's outcome; o, which the gateway fills in meanwhile (the $connect
// authorizer's answer, whether the integration ran, a refusal), is complete
// when that func is called.
type WebSocketLogger interface {
	LogWebSocket(d *pipeline.Deployed, route *apis.Route, ev *events.APIGatewayWebsocketProxyRequest, o *pipeline.WSOutcome) func(*connections.Response, error)
}

// SetClock replaces the gateway's clock (for tests). Its readings stamp
// requests (RequestTime, formatted in UTC) and time integrations
// (IntegrationLatency, a difference of two readings).
func (g *Gateway) SetClock(now func() time.Time) { g.now, g.fakeClock = now, true }

// since returns the time elapsed since t, a reading of g.now. With the real
// clock it reads the monotonic clock alone (time.Since), half the cost of a
// time.Now, which reads the wall clock too.
func (g *Gateway) since(t time.Time) time.Duration {
	if g.fakeClock {
		return g.now().Sub(t)
	}
	return time.Since(t)
}

// Config returns the effective configuration.
func (g *Gateway) Config() Config { return g.cfg }

// Invalidate drops every compiled stage, so that the next request compiles its
// stage again (for stages whose settings live outside the API model, such as usage
// plans).
func (g *Gateway) Invalidate() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.compiled.Store(&stageCache{gen: g.compiled.Load().gen + 1, m: map[stageKey]*stageEntry{}})
}

// invalidate drops the cached stages of an API after any change to it, so that a
// new variable, deployment or rollback takes effect with the next request.
func (g *Gateway) invalidate(apiID string) {
	g.mu.Lock()
	cur := g.compiled.Load()
	m := maps.Clone(cur.m)
	maps.DeleteFunc(m, func(k stageKey, _ *stageEntry) bool { return k.apiID == apiID })
	g.compiled.Store(&stageCache{gen: cur.gen + 1, m: m})
	g.mu.Unlock()
	if g.ws != nil {
		g.closeGoneStages(apiID) // ws_gone.go
	}
}

// loadStage returns the compiled stage, from the cache or the store.
func (g *Gateway) loadStage(ctx context.Context, apiID, stage string) (*stageEntry, error) {
	key := stageKey{apiID, stage}
	sc := g.compiled.Load()
	e, gen := sc.m[key], sc.gen
	if e != nil {
		return e, nil
	}
	st, dep, err := g.apis.Resolve(ctx, apiID, stage)
	if err != nil {
		return nil, err
	}
	e, err = g.compile(st, dep, st.Variables, false, dep.API.Name)
	if err != nil {
		return nil, err
	}
	if c := st.CanarySettings; c != nil && dep.API.Protocol == apis.ProtocolREST && c.DeploymentID != "" {
		canaryDep := dep
		if c.DeploymentID != dep.ID {
			if canaryDep, err = g.apis.GetDeployment(ctx, apiID, c.DeploymentID); err != nil {
				return nil, fmt.Errorf("canary of stage %s: %w", stage, err)
			}
		}
		// The canary's series go by the stage's name for the API, not
		// the one its (maybe older) deployment has.
		if e.canary, err = g.compile(st, canaryDep, st.CanaryVariables(), true, dep.API.Name); err != nil {
			return nil, err
		}
		e.canaryPercent = c.PercentTraffic
	}
	g.mu.Lock()
	if cur := g.compiled.Load(); cur.gen == gen {
		m := maps.Clone(cur.m) // O(stages) per compile; compiles are rare
		m[key] = e
		g.compiled.Store(&stageCache{gen: gen, m: m})
	}
	g.mu.Unlock()
	return e, nil
}

// compile builds the entry of one side of a stage: its router and its
// pipeline; apiName is the API's name that the stage goes by.
func (g *Gateway) compile(st *apis.Stage, dep *apis.Deployment, vars map[string]string, canary bool, apiName string) (*stageEntry, error) {
	e := &stageEntry{stage: st, dep: dep, router: newRouter(dep.API.Routes),
		deployed: &pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API, Variables: vars, Canary: canary, APIName: apiName,
			BodyLimit: g.cfg.MaxBodyBytes},
		plans: map[*apis.Integration]*integrationPlan{}, resourceIDs: map[string]string{}, budget: g.tmpl}
	for _, p := range append([]string{"/{proxy+}"}, routePaths(dep.API.Routes)...) {
		e.resourceIDs[p] = dep.API.ResourceIDOf(p)
	}
	for i := range dep.API.Routes {
		in := dep.API.Routes[i].Integration
		if in != nil && (dep.API.Protocol == apis.ProtocolHTTP || in.Type == apis.IntegrationHTTPProxy && dep.API.Protocol == apis.ProtocolREST) {
			compileMapping := compileParamMapping
			if dep.API.Protocol == apis.ProtocolREST {
				compileMapping = compileRESTProxyMapping
			}
			m, err := compileMapping(in)
			if err != nil {
				g.log.Error("parameter mapping does not compile: its requests answer 500", "api", st.APIID, "stage", st.Name, "route", dep.API.Routes[i].RouteKey, "err", err)
				m = &paramMapping{broken: err}
			}
			if m != nil {
				if e.paramMaps == nil {
					e.paramMaps = map[*apis.Integration]*paramMapping{}
				}
				e.paramMaps[in] = m
			}
		}
		if in == nil || in.Type == apis.IntegrationAWSProxy || in.Type == apis.IntegrationHTTPProxy {
			continue
		}
		p, err := compilePlan(in, dep.API.BinaryMediaTypes)
		if err != nil {
			g.log.Error("integration does not compile: its requests answer 500", "api", st.APIID, "stage", st.Name, "route", dep.API.Routes[i].RouteKey, "err", err)
			continue
		}
		e.plans[in] = p
	}
	stages := make([]pipeline.Stage, 0, len(g.stages)+3)
	stages = append(stages, g.stages...)
	stages = append(stages, g.resp, checkStage{g}, routeStage{g: g, e: e})
	chain, err := pipeline.Chain(e.deployed, stages, pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
		return g.integrate(w, r, newReqCtx(c, e))
	}))
	if err != nil {
		g.log.Error("stage does not compile: its requests answer 500", "api", st.APIID, "stage", st.Name, "err", err)
		return nil, pipeline.Wrap(pipeline.APIConfigurationError, err)
	}
	e.chain = chain
	return e, nil
}

// routePaths are the paths of routes.
func routePaths(routes []apis.Route) []string {
	out := make([]string, 0, len(routes))
	for i := range routes {
		out = append(out, routes[i].Path)
	}
	return out
}

// canonicalGet is h.Get(key) for a key in canonical form: a map lookup, where
// Get first checks and canonicalizes the key byte by byte (r.UserAgent() cost
// about 70 ns a request).
func canonicalGet(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Response header names, canonical.
var (
	hdrRequestID      = http.CanonicalHeaderKey("x-amzn-RequestId")
	hdrAPIGWRequestID = http.CanonicalHeaderKey("apigw-requestid")
	hdrAPIGWID        = http.CanonicalHeaderKey("x-amz-apigw-id")
)

// reqCtx is a request's pipeline context together with the compiled stage entry
// serving it, as the integrations see it.
type reqCtx struct {
	*pipeline.Context
	entry *stageEntry
	// irBuf, when set, is where prepareRequest puts the integration request,
	// allocated with the reqCtx (see newReqCtx); nil: prepareRequest allocates.
	irBuf *integrationRequest
	// integrationBase and integrationBegin are when the integration began,
	// as an offset from a clock reading (integrate).
	integrationBase  time.Time
	integrationBegin time.Duration
	// ans, when set, is room for a function integration's functionAnswer,
	// allocated with the reqCtx (see newReqCtx).
	ans *functionAnswer
	// watch is the watch of a request without a body (clientwatch.go),
	// ended when the integration returns.
	watch *clientWatch
	// proxy, when set, is an HTTP_PROXY request's room for the fast path,
	// allocated with the reqCtx (reqCtxProxy).
	proxy *proxyRoom
}

// reqCtxProxy is a reqCtx with room for what the fast proxy path would
// otherwise allocate (HTTP_PROXY): one allocation for both.
type reqCtxProxy struct {
	rc   reqCtx
	room proxyRoom
}

// proxyRoom is an HTTP_PROXY request's room for the fast path: its backend's
// X-Amzn-Trace-Id value (proxyForwardedView) and the values of the backend's
// usual few response fields, which the client's header gets (fastproxy's
// ServeExtra), and its counted body.
type proxyRoom struct {
	trace  [restevent.TraceIDMax]byte
	values [proxyValues]string
	// counted is the request's body when it has no known length
	// (countStream).
	counted countedBody
}

// proxyValues is how many response fields of a backend proxyRoom has room
// for: a usual head's (Content-Type, Content-Length, Date and a few more).
const proxyValues = 6

// answer returns the request's functionAnswer.
func (rc *reqCtx) answer() *functionAnswer {
	if rc.ans == nil {
		rc.ans = new(functionAnswer)
	}
	return rc.ans
}

// reqCtxAnswer is a reqCtx with room for its functionAnswer: one allocation
// for both.
type reqCtxAnswer struct {
	rc  reqCtx
	ans functionAnswer
}

// reqCtxIRAnswer is a reqCtx with room for its integration request and its
// functionAnswer (AWS integrations).
type reqCtxIRAnswer struct {
	rc  reqCtx
	ir  integrationRequest
	ans functionAnswer
}

// reqCtxIR is a reqCtx with room for its integration request: one allocation
// for both.
type reqCtxIR struct {
	rc reqCtx
	ir integrationRequest
}

// newReqCtx returns the reqCtx of a request served by entry e. Integrations that
// prepare an integration request (all but HTTP_PROXY and AWS_PROXY, whose fast
// paths do not) get its room in the same allocation.
func newReqCtx(c *pipeline.Context, e *stageEntry) *reqCtx {
	if c.Route != nil && c.Route.Integration != nil {
		switch c.Route.Integration.Type {
		case apis.IntegrationMock, apis.IntegrationHTTP:
			x := &reqCtxIR{rc: reqCtx{Context: c, entry: e}}
			x.rc.irBuf = &x.ir
			return &x.rc
		case apis.IntegrationAWS:
			x := &reqCtxIRAnswer{rc: reqCtx{Context: c, entry: e}}
			x.rc.irBuf, x.rc.ans = &x.ir, &x.ans
			return &x.rc
		case apis.IntegrationAWSProxy:
			x := &reqCtxAnswer{rc: reqCtx{Context: c, entry: e}}
			x.rc.ans = &x.ans
			return &x.rc
		case apis.IntegrationHTTPProxy:
			x := &reqCtxProxy{rc: reqCtx{Context: c, entry: e}}
			x.rc.proxy = &x.room
			return &x.rc
		}
	}
	return &reqCtx{Context: c, entry: e}
}

// request is what the gateway allocates for every request, in one allocation:
// the pipeline's context and the values of the id headers every answer carries
// (handed to the response header as one-element slices of ids).
type request struct {
	c   pipeline.Context
	ids [2]string
}

// ServeHTTP serves stage URLs.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := &request{}
	c := &q.c
	c.RequestID, c.ExtendedRequestID = ids.RequestIDs()
	c.RequestTime, c.HTTPMethod = g.now(), r.Method
	c.HTTPProtocol = r.Proto
	q.ids = [2]string{c.RequestID, c.ExtendedRequestID}
	w.Header()[hdrRequestID] = q.ids[0:1:1]
	if _, ok := r.Header[hopHeader]; ok && !g.hopsTrusted(r) {
		delete(r.Header, hopHeader) // a client's: it counts nothing (hops.go)
	}
	cw := watchBody(w, r)
	err := g.serve(w, r, q)
	cw.end()
	if err != nil {
		if errors.Is(err, edge.ErrStaleConnection) {
			// The connection closes (HTTP/2: GOAWAY) and the client's next
			// one is verified against the domain's truststore as it is now.
			w.Header().Set("Connection", "close")
		}
		g.resp.Write(w, r, c, gatewayError(err, c.Protocol))
	}
	if c.ClientGone && r.Context().Value(http.ServerContextKey) != nil {
		// The client went away and nothing was answered (responses.Writer):
		// the connection is dropped, where net/http's server would
		// otherwise send its own empty 200 for a handler that wrote nothing
		// (h1 and h2 drop it, or reset the stream, alike).
		panic(http.ErrAbortHandler)
	}
}

// serveBadTarget answers a request whose target the engine could not parse (a
// bad percent-encoding in its path, "/a/%zz"): 400 {"message":"Bad Request"}
// with the request id every answer carries, where the parser's answer was a
// bare text/plain 400 (h1) or a stream reset (h2). The engines call it
// (h1.Options.BadTarget, h2.Options.BadTarget); no API is located.
func (g *Gateway) serveBadTarget(w http.ResponseWriter, r *http.Request) {
	g.writeUnrouted(w, r, gatewayError(fmt.Errorf("request target %.200q: bad percent-encoding: %w", r.RequestURI, errBadRequest), ""))
}

// serveRefused answers, in the gateway's error shape, a request the engine
// refused before the gateway saw it (h1.Options.Refuse, h2.Options.Refuse):
// 431 for a header over the listener's max-header-bytes, 414 for a request
// line alone over it, 503 for a head that had not come in whole when the
// server began to stop, 408 for a head not received within the header
// timeout, 400 for a malformed head (BadRequestException, as the gateway's
// other 400s), 417 for an expectation other than 100-continue (DEFAULT_4XX's
// BadRequestException), 501 and
// 505 for a transfer coding or HTTP version the engine does not take, where
// the engine's answer was plain text. No API is located.
func (g *Gateway) serveRefused(w http.ResponseWriter, r *http.Request, status int) {
	err := &pipeline.Error{Type: pipeline.Default4XX, Status: status, Message: http.StatusText(status), ErrorType: listener.RefusedErrorType(status),
		Cause: fmt.Errorf("refused by the listener: %s", http.StatusText(status))}
	if status >= 500 {
		err.Type, err.ErrorType = pipeline.Default5XX, "" // DEFAULT_5XX's, as for a request the shutdown cut off
	}
	g.writeUnrouted(w, r, err)
}

// writeUnrouted answers err to a request no API was located for, with the
// request id every answer carries.
func (g *Gateway) writeUnrouted(w http.ResponseWriter, r *http.Request, err error) {
	q := &request{}
	c := &q.c
	c.RequestID, c.ExtendedRequestID = ids.RequestIDs()
	c.RequestTime, c.HTTPMethod = g.now(), r.Method
	c.HTTPProtocol = r.Proto
	w.Header()[hdrRequestID] = []string{c.RequestID}
	g.resp.Write(w, r, c, err)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, q *request) error {
	c := &q.c
	// Once: locate and the @connections shortcut both look at it. Runs of
	// slashes are merged before anything is located or routed (mergeSlashes).
	escaped := mergeSlashes(r.URL.EscapedPath())
	e, err := g.locate(r, escaped, c)
	if err != nil {
		// {stage}/@connections/{id} at no API's URL (websocket.go)
		served, serr := g.serveConnectionsShortcut(w, r, escaped, c, err)
		if served {
			return serr // a client gone before its body came in, or nil
		}
		if serr != nil {
			err = serr
		}
	}
	// The API's own id header goes on its refusals too (a path with a dot
	// segment above the stage, a stage it does not have), once the API is known.
	switch c.Protocol {
	case apis.ProtocolHTTP:
		// One id: x-amzn-RequestId is the apigw-requestid value, the
		// events' and logs' $context.requestId (APIRequestID).
		w.Header()[hdrAPIGWRequestID] = q.ids[1:2:2]
		w.Header()[hdrRequestID] = q.ids[1:2:2]
	case "":
	default:
		w.Header()[hdrAPIGWID] = q.ids[1:2:2]
	}
	if err != nil {
		return err
	}
	if e.canary != nil && g.drawCanary(e.canaryPercent) {
		e = e.canary
	}
	c.Deployed, c.DeploymentID, c.StageVariables, c.IsCanaryRequest = e.deployed, e.dep.ID, e.deployed.Variables, e.deployed.Canary
	c.Identity.SourceIP, c.Identity.UserAgent, c.Identity.TLS = g.clientIP(r), canonicalGet(r.Header, "User-Agent"), r.TLS
	if c.Protocol == apis.ProtocolWebSocket {
		if c.PathRefused {
			return refusedPath(c)
		}
		return g.serveWebSocket(w, r, &reqCtx{Context: c, entry: e}) // upgrades and @connections (websocket.go)
	}
	return e.chain.ServeRequest(w, r, c) // checkStage refuses what no route takes
}

// checkStage is the built-in stage that refuses requests no route takes (a
// declared body over the limit: 413; a bad percent-encoding in the query
// string, a path the gateway refuses: 400) and bounds the body's reads. It
// runs inside the observing stages, so that its refusals are counted, logged
// and traced as every other answer is (API Gateway's Count and 4XXError
// include them), and inside the CORS stage and the gateway responses, which
// every error leaves through.
type checkStage struct{ g *Gateway }

func (checkStage) Name() string { return "check" }
func (checkStage) Order() int   { return pipeline.OrderCheck }
func (s checkStage) Compile(*pipeline.Deployed) (pipeline.Middleware, error) {
	limit := s.g.cfg.MaxBodyBytes
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			if c.PathRefused {
				return gatewayError(refusedPath(c), c.Protocol)
			}
			if r.ContentLength > limit {
				return gatewayError(fmt.Errorf("content-length %d: %w", r.ContentLength, errTooLarge), c.Protocol)
			}
			// A bad percent-encoding in the query string is 400 on every
			// integration, as the proxy events refuse it, rather than a
			// parameter that templates drop and HTTP_PROXY passes on.
			if raw := r.URL.RawQuery; strings.IndexByte(raw, '%') >= 0 && !validEscapes(raw) {
				return gatewayError(fmt.Errorf("query string %q: bad percent-encoding: %w", redact.Query(raw), errBadRequest), c.Protocol)
			}
			// A raw ';' separates parameters as '&' does, as API Gateway
			// splits the data at it, for every later reader alike (events,
			// templates, mappings, validation, the cache key and an
			// HTTP_PROXY backend), where url.ParseQuery would refuse the
			// query and r.URL.Query drop the pair.
			// (A WebSocket $connect reads its query the same way.)
			r.URL.RawQuery = rawquery.AmpersandSeparated(r.URL.RawQuery)
			// Go's query parser refuses more than maxQueryParams parameters,
			// which made function events and templates 400 while HTTP_PROXY
			// passed such a query on: every integration refuses it alike.
			if raw := r.URL.RawQuery; len(raw) >= maxQueryParams && strings.Count(raw, "&") >= maxQueryParams {
				return gatewayError(fmt.Errorf("query string of more than %d parameters: %w", maxQueryParams, errBadRequest), c.Protocol)
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// refusablePath is normalizePath's path for p, or p itself and true when
// normalizePath refuses it: the stage's check stage refuses it then
// (refusedPath), so that the refusal passes the stage's CORS and gateway
// responses as the other errors do.
func refusablePath(p string) (string, bool) {
	n, err := normalizePath(p)
	if err != nil {
		return p, true
	}
	return n, false
}

// refusedPath is normalizePath's error for c's refused path (PathRefused).
func refusedPath(c *pipeline.Context) error {
	_, err := normalizePath(c.Path)
	return err
}

// maxQueryParams is the most parameters a query string may have (net/url's
// default bound, which url.ParseQuery enforces): a query with more is 400.
const maxQueryParams = 10000

// validEscapes reports whether every % in s starts a %XX escape, as
// url.QueryUnescape requires.
func validEscapes(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; {
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		j := strings.IndexByte(s[i+3:], '%')
		if j < 0 {
			return true
		}
		i += 3 + j
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// drawCanary reports whether a request goes to a canary that takes percent of
// the traffic.
func (g *Gateway) drawCanary(percent float64) bool {
	return percent > 0 && (percent >= 100 || g.draw()*100 < percent)
}

// SetCanaryDraw replaces the source of the canary draw, a uniform number in
// [0, 1) per request (for tests); call it before serving.
func (g *Gateway) SetCanaryDraw(draw func() float64) { g.draw = draw }

// routeStage is the built-in stage that matches the route; the stages after it
// see Context.Route.
type routeStage struct {
	g *Gateway
	e *stageEntry
}

func (routeStage) Name() string { return "route" }
func (routeStage) Order() int   { return pipeline.OrderRoute }
func (s routeStage) Compile(*pipeline.Deployed) (pipeline.Middleware, error) {
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			route, params := s.e.router.match(r.Method, c.Path)
			if route == nil {
				return gatewayError(fmt.Errorf("%s %s on api %s stage %s: %w", r.Method, c.Path, c.APIID, c.Stage, errRouteNotFound), c.Protocol)
			}
			c.Route, c.PathParameters, c.ResourcePath, c.RouteKey = route, params, route.Path, route.RouteKey
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// integrate runs the matched route's integration.
func (g *Gateway) integrate(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	in := rc.Route.Integration
	if in == nil {
		return gatewayError(fmt.Errorf("route %q has no integration: %w", rc.Route.RouteKey, errConfig), rc.Protocol)
	}
	// The integration's start and end are read as offsets from the request's
	// time: two monotonic readings instead of two time.Now.
	base := rc.RequestTime
	if base.IsZero() {
		base = g.now()
	}
	begin := g.since(base)
	rc.integrationBase, rc.integrationBegin = base, begin
	rc.Integration.Ran = true
	rc.Integration.HTTP = in.Type == apis.IntegrationHTTPProxy || in.Type == apis.IntegrationHTTP
	var span trace.Span
	// Only the tracing stage, on a stage with tracing enabled, puts a span in
	// the request's context: elsewhere the lookup (a walk up the context
	// chain) is spared.
	if st := rc.Deployed.Stage; st != nil && st.TracingEnabled && tracing.Traced(r.Context()) {
		ctx := r.Context()
		// Backends and functions see the integration's span as their parent:
		// HTTP backends in traceparent and X-Amzn-Trace-Id; functions (and
		// templates) in X-Amzn-Trace-Id only, as API Gateway passes it, their
		// events keeping the client's other headers as sent.
		ctx, span = tracing.Start(ctx, "integration "+in.Type, trace.SpanKindClient)
		r = r.WithContext(ctx)
		if in.Type == apis.IntegrationHTTPProxy || in.Type == apis.IntegrationHTTP {
			tracing.Inject(ctx, r.Header)
		} else {
			tracing.InjectXRay(ctx, r.Header)
		}
		defer span.End()
	}
	// A client that goes away while a backend or a function runs ends
	// the integration (clientwatch.go): watched from the start when the
	// request has no body, else once its body has been read (watchBody).
	switch in.Type {
	case apis.IntegrationHTTPProxy, apis.IntegrationHTTP, apis.IntegrationAWSProxy, apis.IntegrationAWS:
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			rc.watch = watchClient(w)
		}
	}
	var err error
	switch in.Type {
	case apis.IntegrationMock:
		err = g.serveMock(w, r, rc, in)
	case apis.IntegrationHTTPProxy:
		err = g.serveHTTPProxy(w, r, rc, in)
	case apis.IntegrationHTTP:
		err = g.serveHTTP(w, r, rc, in)
	case apis.IntegrationAWSProxy:
		if err = functionMethod(rc, in); err == nil {
			err = g.serveFunctionProxy(w, r, rc, in)
		}
	case apis.IntegrationAWS:
		if err = functionMethod(rc, in); err == nil {
			err = g.serveFunction(w, r, rc, in)
		}
	default:
		err = fmt.Errorf("integration type %q: %w", in.Type, errConfig)
	}
	rc.watch.end()
	if rc.AnsweredAt.IsZero() { // else set when it was answered (functionAnswer)
		rc.IntegrationLatency = g.since(base) - begin
	}
	if span != nil && span.IsRecording() {
		span.SetAttributes(attribute.String("portico.integration.type", in.Type))
		if err != nil {
			span.SetStatus(codes.Error, redact.Error(err))
		}
	}
	if err != nil {
		// Refused before anything was sent: no integration ran
		// ($context.integrationLatency "-"), though its error says why.
		rc.Integration.Ran = !notSent(err)
		rc.Integration.Error = pipeline.ErrorText(err)
		return gatewayError(err, rc.Protocol)
	}
	return nil
}

// validHostPort reports whether a request's Host (HTTP/2's :authority) has a
// valid port, if any: RFC 3986's authority is host [":" port] with port =
// *DIGIT, and a reg-name or IPv4 address holds no ":" ("api.test:abc" and
// "api.test:1:2" are invalid; "api.test:", "api.test:8080" and "[::1]:80" are
// valid). The engines check the characters (httpguts.ValidHostHeader) and
// take any port; RFC 9112 3.2 asks a server to answer 400 to an invalid Host.
func validHostPort(h string) bool {
	if strings.HasPrefix(h, "[") {
		i := strings.IndexByte(h, ']')
		if i < 0 {
			return false
		}
		h = h[i+1:]
		if h == "" {
			return true
		}
		if h[0] != ':' {
			return false
		}
		return allDigits(h[1:])
	}
	i := strings.IndexByte(h, ':')
	return i < 0 || allDigits(h[i+1:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hostOnly is net.SplitHostPort's host, or hostport itself when it has no port,
// without the error SplitHostPort allocates for a Host header without a port,
// and without the trailing dot of a fully qualified name
// ({apiId}.execute-api.localhost. is {apiId}.execute-api.localhost, as a custom
// domain's name is the same with or without it).
func hostOnly(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		if i := strings.LastIndex(hostport, "]:"); i > 0 {
			return hostport[1:i]
		}
		return hostport
	}
	if i := strings.IndexByte(hostport, ':'); i >= 0 && strings.IndexByte(hostport[i+1:], ':') < 0 {
		hostport = hostport[:i]
	}
	return strings.TrimSuffix(hostport, ".")
}

// hostAPIID returns the API id of a host-based stage URL's hostname,
// {apiId}.{Config.Domain}. Host names are case-insensitive and API ids are
// lowercase (apis.ValidAPIID), so the name is compared without regard to case
// and the id lowercased: AI2UVAIJIL.EXECUTE-API.localhost names ai2uvaijil.
func (g *Gateway) hostAPIID(hostname string) (string, bool) {
	const idLen = 10 // apis.ValidAPIID
	if len(hostname) != idLen+1+len(g.cfg.Domain) || hostname[idLen] != '.' || !strings.EqualFold(hostname[idLen+1:], g.cfg.Domain) {
		return "", false
	}
	id := hostname[:idLen]
	if !apis.ValidAPIID(id) {
		id = strings.ToLower(id) // allocates only for a name that is not in lower case already
		if !apis.ValidAPIID(id) {
			return "", false
		}
	}
	return id, true
}

// namesAPI reports whether r's host names an API: a host-based stage URL's
// {apiId}.{Domain}, or a custom domain name (mapped or not). The gateway's own
// paths (/healthz) are its own only at other hosts.
func (g *Gateway) namesAPI(r *http.Request) bool {
	hostname := hostOnly(r.Host)
	if _, ok := g.hostAPIID(hostname); ok {
		return true
	}
	if g.domains == nil {
		return false
	}
	t, err := g.domains.Resolve(r, mergeSlashes(r.URL.EscapedPath()))
	return t != nil || err != nil
}

// locate finds the API, stage and stage-relative path of r from its host or
// path (escaped: r's escaped path), and returns the stage's compiled entry.
func (g *Gateway) locate(r *http.Request, escaped string, c *pipeline.Context) (*stageEntry, error) {
	hostname := hostOnly(r.Host)
	c.DomainName, c.DomainPrefix = hostname, domainPrefix(hostname)
	if e, ok, err := g.locateDomain(r, escaped, c); ok || err != nil { // custom domain names (tls.go)
		return e, err
	}
	var apiID, rest, prefix string
	if id, ok := g.hostAPIID(hostname); ok {
		apiID, rest = id, escaped
	} else {
		seg, after := cutSegment(escaped)
		if !apis.ValidAPIID(seg) {
			return nil, fmt.Errorf("path %q names no api: %w", escaped, errAPINotFound)
		}
		apiID, rest, prefix = seg, after, joinPrefix(escaped, "", seg)
	}
	c.APIID = apiID
	stage, after := cutSegment(rest)
	ctx := r.Context()
	if stage != "" && apis.ValidStageName(unescape(stage)) {
		e, err := g.loadStage(ctx, apiID, unescape(stage))
		if err == nil {
			c.Stage, c.Protocol, c.StagePrefix = e.stage.Name, e.dep.API.Protocol, joinPrefix(escaped, prefix, stage)
			c.Path, c.PathRefused = refusablePath(after)
			return e, checkDefaultEndpoint(e)
		}
		if !errors.Is(err, errdefs.ErrNotFound) {
			return nil, err
		}
	}
	// No such stage: an HTTP API's $default stage serves paths without a stage.
	e, err := g.loadStage(ctx, apiID, apis.RouteDefault)
	if err == nil {
		c.Stage, c.Protocol, c.StagePrefix = apis.RouteDefault, e.dep.API.Protocol, prefix
		c.Path, c.PathRefused = refusablePath(rest)
		return e, checkDefaultEndpoint(e)
	}
	if !errors.Is(err, errdefs.ErrNotFound) {
		return nil, err
	}
	protocol, _, perr := g.apis.StageNames(ctx, apiID)
	if perr != nil {
		if errors.Is(perr, errdefs.ErrNotFound) {
			return nil, fmt.Errorf("api %s: %w", apiID, errAPINotFound)
		}
		return nil, perr
	}
	c.Protocol = protocol
	return nil, fmt.Errorf("stage %q of api %s: %w", unescape(stage), apiID, errStageNotFound)
}

// cutSegment splits "/a/b/c" into "a" and "/b/c"; the rest is at least "/".
func cutSegment(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	i := strings.IndexByte(p, '/')
	if i < 0 {
		return p, "/"
	}
	return p[:i], p[i:]
}

// joinPrefix returns a + "/" + b, as a slice of whole when whole starts with it
// (the path a stage prefix is cut from), so that it costs no allocation.
func joinPrefix(whole, a, b string) string {
	n := len(a) + 1 + len(b)
	if len(whole) >= n && whole[:len(a)] == a && whole[len(a)] == '/' && whole[len(a)+1:n] == b {
		return whole[:n]
	}
	return a + "/" + b
}

// StageURL returns the path-based URL of a stage on base ("http://127.0.0.1:8080").
func StageURL(base, apiID, stage string) string {
	base = strings.TrimSuffix(base, "/")
	if stage == apis.RouteDefault {
		return base + "/" + apiID + "/"
	}
	return base + "/" + apiID + "/" + stage + "/"
}

// functionMethod refuses a REST function integration whose integration method
// is not POST: API Gateway calls Lambda's Invoke with it, which takes POST only,
// and answers 500 {"message": "Internal server error"} (an API configuration
// error; the log says why). No method at all is taken for POST.
func functionMethod(rc *reqCtx, in *apis.Integration) error {
	if rc.Protocol != apis.ProtocolREST || in.HTTPMethod == "" || in.HTTPMethod == http.MethodPost {
		return nil
	}
	return fmt.Errorf("the function integration's httpMethod is %s: Lambda functions are invoked with POST: %w", in.HTTPMethod, errConfig)
}
