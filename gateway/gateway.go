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
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// Config configures the data plane.
type Config struct {
	// Listen is the gateway's address (default ":8080").
	Listen string
	// Domain is the domain of host-based stage URLs, {apiId}.{Domain} (default
	// "execute-api.localhost").
	Domain string
	// MaxBodyBytes bounds request bodies (default 10 MB); larger gives 413.
	MaxBodyBytes int64
	// MaxIdleConnsPerHost sizes the HTTP_PROXY transport's idle pool per backend
	// (default 512).
	MaxIdleConnsPerHost int
}

// Defaults.
const (
	DefaultListen       = ":8080"
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
	if c.MaxIdleConnsPerHost <= 0 {
		c.MaxIdleConnsPerHost = 512
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
	cfg      Config
	log      *slog.Logger
	apis     *apis.Service
	resolver Resolver
	invoker  Invoker
	now      func() time.Time

	proxy     *reverseProxy
	transport *http.Transport
	fast      *fastProxy // HTTP_PROXY to plain-HTTP backends; nil sends all through proxy

	mu     sync.RWMutex
	gen    uint64
	stages map[string]*stageEntry // apiID + "/" + stage

	ws *wsState // WebSocket APIs (websocket.go); nil until EnableWebSockets
}

// stageEntry is a stage and its deployment compiled for routing.
type stageEntry struct {
	stage  *apis.Stage
	dep    *apis.Deployment
	router *router
	// uris caches each route's integration URI with the stage variables
	// substituted (*apis.Route -> uriEntry); the entry is dropped with the stage
	// when a variable changes.
	uris sync.Map
	// urls caches parsed backend URLs by URI (string -> *url.URL, never mutated).
	urls sync.Map
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
	uri, err := apis.SubstituteStageVariables(in.URI, e.stage.Variables)
	e.uris.Store(r, uriEntry{uri, err})
	return uri, err
}

// New returns a Gateway. resolver and invoker may be nil when no API uses function
// integrations (calls then fail with 500).
func New(cfg Config, svc *apis.Service, resolver Resolver, inv Invoker, log *slog.Logger) *Gateway {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg: cfg.withDefaults(), log: log, apis: svc, resolver: resolver, invoker: inv,
		now:    func() time.Time { return time.Now().UTC() },
		stages: map[string]*stageEntry{},
	}
	g.transport = newTransport(g.cfg)
	g.proxy = newReverseProxy(g)
	g.fast = newFastProxy(g.cfg)
	svc.Subscribe(g.invalidate)
	return g
}

// SetClock replaces the gateway's clock (for tests).
func (g *Gateway) SetClock(now func() time.Time) { g.now = now }

// Config returns the effective configuration.
func (g *Gateway) Config() Config { return g.cfg }

// invalidate drops the cached stages of an API after any change to it, so that a
// new variable, deployment or rollback takes effect with the next request.
func (g *Gateway) invalidate(apiID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gen++
	for k := range g.stages {
		if strings.HasPrefix(k, apiID+"/") {
			delete(g.stages, k)
		}
	}
}

// loadStage returns the compiled stage, from the cache or the store.
func (g *Gateway) loadStage(ctx context.Context, apiID, stage string) (*stageEntry, error) {
	key := apiID + "/" + stage
	g.mu.RLock()
	e, gen := g.stages[key], g.gen
	g.mu.RUnlock()
	if e != nil {
		return e, nil
	}
	st, dep, err := g.apis.Resolve(ctx, apiID, stage)
	if err != nil {
		return nil, err
	}
	e = &stageEntry{stage: st, dep: dep, router: newRouter(dep.API.Routes)}
	g.mu.Lock()
	if g.gen == gen {
		g.stages[key] = e
	}
	g.mu.Unlock()
	return e, nil
}

// Response header names, canonical.
var (
	hdrRequestID      = http.CanonicalHeaderKey("x-amzn-RequestId")
	hdrAPIGWRequestID = http.CanonicalHeaderKey("apigw-requestid")
	hdrAPIGWID        = http.CanonicalHeaderKey("x-amz-apigw-id")
)

// reqCtx is what the pipeline knows about one request.
type reqCtx struct {
	requestID  string
	extendedID string
	start      time.Time
	apiID      string
	stageName  string
	protocol   string
	// path is the request path relative to the stage, escaped, starting with "/".
	path string
	// stagePrefix is the path prefix up to and including the stage ("/abc/dev",
	// "/dev" on host-based URLs, "" for the $default stage).
	stagePrefix string
	domainName  string
	entry       *stageEntry
	route       *apis.Route
	params      map[string]string
}

// ServeHTTP serves stage URLs.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := &reqCtx{requestID: newUUID(), extendedID: newExtendedID(), start: g.now()}
	w.Header()[hdrRequestID] = []string{rc.requestID}
	if err := g.serve(w, r, rc); err != nil {
		g.writeError(w, r, rc, err)
	}
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	if g.serveConnectionsShortcut(w, r, rc) { // {stage}/@connections/{id} (websocket.go)
		return nil
	}
	if err := g.locate(r, rc); err != nil {
		return err
	}
	if rc.protocol == apis.ProtocolHTTP {
		w.Header()[hdrAPIGWRequestID] = []string{rc.extendedID}
	} else {
		w.Header()[hdrAPIGWID] = []string{rc.extendedID}
	}
	if rc.protocol == apis.ProtocolWebSocket {
		return g.serveWebSocket(w, r, rc) // upgrades and @connections (websocket.go)
	}
	route, params := rc.entry.router.match(r.Method, rc.path)
	if route == nil {
		return fmt.Errorf("%s %s on api %s stage %s: %w", r.Method, rc.path, rc.apiID, rc.stageName, errRouteNotFound)
	}
	rc.route, rc.params = route, params
	if r.ContentLength > g.cfg.MaxBodyBytes {
		return fmt.Errorf("content-length %d: %w", r.ContentLength, errTooLarge)
	}
	r.Body = http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes)
	in := route.Integration
	if in == nil {
		return fmt.Errorf("route %q has no integration: %w", route.RouteKey, errConfig)
	}
	switch in.Type {
	case apis.IntegrationMock:
		return g.serveMock(w, r, rc, in)
	case apis.IntegrationHTTPProxy:
		return g.serveHTTPProxy(w, r, rc, in)
	case apis.IntegrationHTTP:
		return g.serveHTTP(w, r, rc, in)
	case apis.IntegrationAWSProxy:
		return g.serveFunctionProxy(w, r, rc, in)
	case apis.IntegrationAWS:
		return g.serveFunction(w, r, rc, in)
	default:
		return fmt.Errorf("integration type %q: %w", in.Type, errConfig)
	}
}

// locate finds the API, stage and stage-relative path of r from its host or path.
func (g *Gateway) locate(r *http.Request, rc *reqCtx) error {
	host := r.Host
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	rc.domainName = hostname
	escaped := r.URL.EscapedPath()
	var apiID, rest, prefix string
	if id, ok := strings.CutSuffix(hostname, "."+g.cfg.Domain); ok && apis.ValidAPIID(id) {
		apiID, rest = id, escaped
	} else {
		seg, after := cutSegment(escaped)
		if !apis.ValidAPIID(seg) {
			return fmt.Errorf("path %q names no api: %w", escaped, errAPINotFound)
		}
		apiID, rest, prefix = seg, after, "/"+seg
	}
	rc.apiID = apiID
	stage, after := cutSegment(rest)
	ctx := r.Context()
	if stage != "" && apis.ValidStageName(unescape(stage)) {
		e, err := g.loadStage(ctx, apiID, unescape(stage))
		if err == nil {
			rc.entry, rc.stageName, rc.protocol, rc.path = e, e.stage.Name, e.dep.API.Protocol, after
			rc.stagePrefix = prefix + "/" + stage
			return nil
		}
		if !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
	}
	// No such stage: an HTTP API's $default stage serves paths without a stage.
	e, err := g.loadStage(ctx, apiID, apis.RouteDefault)
	if err == nil {
		rc.entry, rc.stageName, rc.protocol, rc.path, rc.stagePrefix = e, apis.RouteDefault, e.dep.API.Protocol, rest, prefix
		return nil
	}
	if !errors.Is(err, errdefs.ErrNotFound) {
		return err
	}
	protocol, _, perr := g.apis.StageNames(ctx, apiID)
	if perr != nil {
		if errors.Is(perr, errdefs.ErrNotFound) {
			return fmt.Errorf("api %s: %w", apiID, errAPINotFound)
		}
		return perr
	}
	rc.protocol = protocol
	return fmt.Errorf("stage %q of api %s: %w", unescape(stage), apiID, errStageNotFound)
}

// cutSegment splits "/a/b/c" into "a" and "/b/c"; the rest is at least "/".
func cutSegment(p string) (string, string) {
	p = strings.TrimPrefix(p, "/")
	seg, rest, found := strings.Cut(p, "/")
	if !found {
		return seg, "/"
	}
	return seg, "/" + rest
}

// StageURL returns the path-based URL of a stage on base ("http://127.0.0.1:8080").
func StageURL(base, apiID, stage string) string {
	base = strings.TrimSuffix(base, "/")
	if stage == apis.RouteDefault {
		return base + "/" + apiID + "/"
	}
	return base + "/" + apiID + "/" + stage + "/"
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// newExtendedID returns an id shaped like API Gateway's extended request ids
// ("TWegAcC4EowCHnA=").
func newExtendedID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}
