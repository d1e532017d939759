// Package cache is the gateway's response-cache stage (pipeline.OrderCache), API
// Gateway's stage cache: a REST stage with cacheClusterEnabled keeps the
// integration's responses in memory, one github.com/dgraph-io/ristretto/v2 cache
// per stage whose budget is the stage's cacheClusterSize (an upper bound on the
// bytes kept, not an allocation), each entry costing its bytes.
//
// What is cached: GET methods by default; another method when its own method
// setting enables caching. A method setting ("/pets/GET", else "*/*") decides
// cachingEnabled and cacheTtlInSeconds (default 300, 0 turns caching off); an
// entry is served while younger than both the TTL in force and the one it was
// stored with. Only 2xx responses up to MaxEntryBytes without Set-Cookie are
// kept (API Gateway keeps error responses too, a frequent complaint; Portico
// does not), with the headers the integration answered: those the stages in
// front of the cache set (request ids, the trace header) are the current
// request's on a hit too. The key is the method, the integration's
// cacheNamespace (default: the resource path) and the values of its
// cacheKeyParameters (method.request.querystring.x, .multivaluequerystring.x,
// .header.x, .multivalueheader.x, .path.x; every value of a repeated one, in
// order), within the method's cache generation (turning its caching off and
// on again starts a new one) and the stage deployment that answered: a new
// deployment starts a fresh key space, and canary requests are cached apart
// (even on the stage's own deployment) unless useStageCache is set.
//
// A client's Cache-Control: max-age=0 fetches again and replaces the entry when
// the method does not require authorization for it, or the request is authorized:
// signed by an IAM principal whose policies allow execute-api:InvalidateCache on
// the method's ARN (the Invalidators hook, which gateway/auth provides), or
// signed with access key id "portico" and the admin token as the secret (the
// operator); an unauthorized one is refused (FAIL_WITH_403), or served as if
// it had not asked, with a Warning header (SUCCEED_WITH_RESPONSE_HEADER) or
// without (SUCCEED_WITHOUT_RESPONSE_HEADER).
package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/internal/sigv4"
)

// MaxEntryBytes bounds a cached response's body: larger responses are not cached.
const MaxEntryBytes = 1 << 20

// SigningService is the service that signatures invalidating a cache entry are
// scoped to, as API Gateway's are.
const SigningService = "execute-api"

// AdminAccessKeyID is the access key id of requests signed with the admin token.
const AdminAccessKeyID = "portico"

// WarningHeader is the header an unauthorized max-age=0 gets under
// SUCCEED_WITH_RESPONSE_HEADER.
const WarningHeader = "Warning"

// warningValue is WarningHeader's value (RFC 7234's miscellaneous warning).
const warningValue = `199 - "Cache-Control: max-age=0 ignored: the request is not authorized to invalidate the cache"`

// Config configures the cache stage.
type Config struct {
	// AdminToken authorizes cache invalidation by signed requests; empty means no
	// request is authorized.
	AdminToken string
}

// Invalidators decide whether a request may invalidate its cache entry
// (execute-api:InvalidateCache); gateway/auth's stage satisfies it for IAM
// principals.
type Invalidators interface {
	// AuthorizeInvalidation reports whether r's caller may invalidate, and
	// the error of a signature that does not verify with the principals' keys
	// (nil for an unsigned request, or a verified caller not allowed).
	AuthorizeInvalidation(r *http.Request, c *pipeline.Context) (bool, error)
}

// SetInvalidators sets who may invalidate entries besides the admin token's
// signature; call it before serving.
func (s *Stage) SetInvalidators(inv Invalidators) { s.invalidators = inv }

// SetSignIns makes invalidations count the signatures that verify with
// neither an IAM key nor the admin token in l, the limiter of failed sign-ins
// the admin API shares, per client address ($context.identity.sourceIp); a
// client that failed too often gets, under FAIL_WITH_403, 429
// TooManyRequestsException with Retry-After instead of a check of its
// signature (under the SUCCEED strategies it is served as unauthorized). Call
// it before serving.
func (s *Stage) SetSignIns(l *signin.Limiter) { s.signIns = l }

// Counts are a method's cache hits and misses.
type Counts struct {
	Hits   int64 `json:"hits"`
	Misses int64 `json:"misses"`
}

// counter is a method's live counts.
type counter struct{ hits, misses atomic.Int64 }

// Stage is the cache stage. It holds one cache per stage with caching on and the
// hit and miss counters of every cached method; both outlive recompiles. Safe
// for concurrent use.
type Stage struct {
	cfg          Config
	log          *slog.Logger
	invalidators Invalidators
	// signIns counts failed signatures per client address (SetSignIns).
	signIns *signin.Limiter

	now atomic.Pointer[func() time.Time]

	mu     sync.Mutex
	caches map[string]*stageCache // apiID + "/" + stage
	// methods are the generations of every method the stage compiled, by
	// stage key and method key ("/pets/GET"); guarded by mu.
	methods map[string]map[string]*generation
	counts  sync.Map // apiID + "/" + stage + "\x00" + method key -> *counter
}

var _ pipeline.Stage = (*Stage)(nil)

// New returns the cache stage.
func New(cfg Config, log *slog.Logger) *Stage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stage{cfg: cfg, log: log.With("component", "cache"), caches: map[string]*stageCache{},
		methods: map[string]map[string]*generation{}}
	s.SetClock(time.Now)
	return s
}

// SetClock replaces the clock entries expire by (for tests).
func (s *Stage) SetClock(now func() time.Time) { s.now.Store(&now) }

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "cache" }

// Order implements pipeline.Stage.
func (*Stage) Order() int { return pipeline.OrderCache }

// stageCache is one stage's cache.
type stageCache struct {
	size string
	c    *ristretto.Cache[string, *entry]
}

// entry is a cached response.
type entry struct {
	status int
	header http.Header
	body   []byte
	// encoded is the answer's pipeline.Context.ResponseEncoded: its body is
	// content-coded by the backend, and the compression stage leaves it so.
	encoded bool
	// stored is when the entry was written: it is served while younger than
	// the method's TTL in force when it is read, so that lowering the TTL
	// takes effect at once, and never past expires, what the TTL in force
	// when it was written allowed.
	stored, expires time.Time
}

// generation is one method's cache generation, part of its keys: turning
// caching off for the method (caching/enabled false, ttlInSeconds 0) and on
// again starts a new one, so that entries stored before cannot come back.
type generation struct {
	path, method string
	off          bool
	n            uint64
}

// cachedMethod reports whether st caches the method, and with which settings.
func cachedMethod(st *apis.Stage, path, method string) (ms apis.MethodSetting, own, cached bool) {
	ms, own, ok := st.EffectiveMethodSetting(path, method)
	enabled := ms.CachingEnabled || !ok
	if !enabled || ms.CacheTTLInSeconds <= 0 || (!own && method != http.MethodGet && method != apis.MethodAny) {
		return ms, own, false
	}
	return ms, own, true
}

// observeLocked records whether st caches the method and returns its
// generation; a method that st caches after it was seen not cached starts a
// new one. The caller holds s.mu.
func (s *Stage) observeLocked(stageKey string, st *apis.Stage, path, method string) uint64 {
	gens := s.methods[stageKey]
	if gens == nil {
		gens = map[string]*generation{}
		s.methods[stageKey] = gens
	}
	k := path + "/" + method
	g := gens[k]
	if g == nil {
		g = &generation{path: path, method: method}
		gens[k] = g
	}
	g.update(st)
	return g.n
}

// update records whether st caches g's method.
func (g *generation) update(st *apis.Stage) {
	_, _, cached := cachedMethod(st, g.path, g.method)
	switch {
	case !cached:
		g.off = true
	case g.off:
		g.off, g.n = false, g.n+1
	}
}

// sizeBytes turns a cache cluster size in GB into bytes.
func sizeBytes(size string) (int64, error) {
	gb, err := strconv.ParseFloat(size, 64)
	if err != nil || !apis.ValidCacheClusterSize(size) {
		return 0, fmt.Errorf("cache cluster size %q is not one of %s", size, strings.Join(apis.CacheClusterSizes, ", "))
	}
	return int64(gb * (1 << 30)), nil
}

// cacheFor returns the stage's cache, created (or replaced, when its size
// changed) as needed.
func (s *Stage) cacheFor(key, size string) (*stageCache, error) {
	if size == "" {
		size = apis.DefaultCacheClusterSize
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.caches[key]; sc != nil && sc.size == size {
		return sc, nil
	}
	budget, err := sizeBytes(size)
	if err != nil {
		return nil, err
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, *entry]{
		NumCounters: 100_000, MaxCost: budget, BufferItems: 64, IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("stage cache: %w", err)
	}
	if old := s.caches[key]; old != nil {
		old.c.Close()
	}
	sc := &stageCache{size: size, c: c}
	s.caches[key] = sc
	return sc, nil
}

// drop closes and forgets a stage's cache (caching turned off).
func (s *Stage) drop(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.caches[key]; sc != nil {
		sc.c.Close()
		delete(s.caches, key)
	}
	delete(s.methods, key)
}

// Watch frees the caches of stages that are deleted or turn their cache off as
// soon as svc reports the change, rather than at the stage's next request.
func (s *Stage) Watch(svc *apis.Service) {
	svc.Subscribe(func(apiID string) {
		s.mu.Lock()
		var keys []string
		for k := range s.caches {
			if strings.HasPrefix(k, apiID+"/") {
				keys = append(keys, k)
			}
		}
		s.mu.Unlock()
		for _, k := range keys {
			st, err := svc.GetStage(context.Background(), apiID, k[len(apiID)+1:])
			switch {
			case errors.Is(err, errdefs.ErrNotFound) || (err == nil && !st.CacheClusterEnabled):
				s.drop(k)
			case err == nil:
				// A method whose caching is turned off now starts a new
				// generation when turned on again, even if no request
				// compiled the stage in between.
				s.mu.Lock()
				for _, g := range s.methods[k] {
					g.update(st)
				}
				s.mu.Unlock()
			}
		}
	})
}

// Flush empties a stage's cache (flush-stage-cache); a stage without one has
// nothing to flush.
func (s *Stage) Flush(apiID, stage string) {
	s.mu.Lock()
	sc := s.caches[apiID+"/"+stage]
	s.mu.Unlock()
	if sc != nil {
		sc.c.Clear()
	}
}

// Stats returns a stage's hit and miss counts by method key ("/pets/GET").
func (s *Stage) Stats(apiID, stage string) map[string]Counts {
	prefix := apiID + "/" + stage + "\x00"
	out := map[string]Counts{}
	s.counts.Range(func(k, v any) bool {
		if m, ok := strings.CutPrefix(k.(string), prefix); ok {
			c := v.(*counter)
			out[m] = Counts{Hits: c.hits.Load(), Misses: c.misses.Load()}
		}
		return true
	})
	return out
}

func (s *Stage) counter(stageKey, methodKey string) *counter {
	v, _ := s.counts.LoadOrStore(stageKey+"\x00"+methodKey, new(counter))
	return v.(*counter)
}

// routeCache is what the stage compiled for one route.
type routeCache struct {
	// onlyGET is set when caching comes from "*/*" or the defaults, which cache
	// GET only; a method's own setting caches that method.
	onlyGET bool
	ttl     time.Duration
	// prefix starts every key of the route: deployment, method and namespace.
	prefix      string
	params      []apis.CacheKeyParameter
	requireAuth bool
	strategy    string
	counts      *counter
}

// Compile implements pipeline.Stage: nil unless the stage is a REST stage with
// its cache enabled and at least one cacheable method.
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	st := d.Stage
	stageKey := st.APIID + "/" + st.Name
	if d.API.Protocol != apis.ProtocolREST || !st.CacheClusterEnabled {
		if !d.Canary {
			s.drop(stageKey)
		}
		return nil, nil
	}
	sc, err := s.cacheFor(stageKey, st.CacheClusterSize)
	if err != nil {
		return nil, err
	}
	// Entries belong to the deployment that answered; canary requests have
	// their own (they see other variables, even on the stage's deployment)
	// unless the canary uses the stage's cache.
	depID := d.Deployment.ID
	if d.Canary {
		if st.CanarySettings != nil && st.CanarySettings.UseStageCache {
			depID = st.DeploymentID
		} else {
			depID = "canary:" + depID
		}
	}
	routes := map[*apis.Route]*routeCache{}
	for i := range d.API.Routes {
		r := &d.API.Routes[i]
		if r.Integration == nil || r.Path == "" || r.Path == apis.RouteDefault {
			continue
		}
		s.mu.Lock()
		gen := s.observeLocked(stageKey, st, r.Path, r.Method)
		s.mu.Unlock()
		ms, own, cached := cachedMethod(st, r.Path, r.Method)
		if !cached {
			continue
		}
		rc := &routeCache{onlyGET: !own, ttl: time.Duration(ms.CacheTTLInSeconds) * time.Second,
			requireAuth: ms.RequireAuthorizationForCacheControl, strategy: ms.UnauthorizedCacheControlHeaderStrategy,
			counts: s.counter(stageKey, r.Path+"/"+r.Method)}
		ns := r.Integration.CacheNamespace
		if ns == "" {
			ns = r.Path
		}
		rc.prefix = depID + "\x00" + ns + "\x00" + strconv.FormatUint(gen, 10) + "\x00"
		for _, p := range r.Integration.CacheKeyParameters {
			// The API's validation refused any other when it was written.
			if kp, ok := apis.ParseCacheKeyParameter(p); ok {
				rc.params = append(rc.params, kp)
			}
		}
		routes[r] = rc
	}
	if len(routes) == 0 {
		return nil, nil
	}
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			rc := routes[c.Route]
			if rc == nil || (rc.onlyGET && r.Method != http.MethodGet) {
				return next.ServeRequest(w, r, c)
			}
			return s.serve(w, r, c, next, sc, rc)
		})
	}, nil
}

// serve answers a cacheable request from the cache, or runs the rest of the
// pipeline and keeps what it answered.
func (s *Stage) serve(w http.ResponseWriter, r *http.Request, c *pipeline.Context, next pipeline.Handler,
	sc *stageCache, rc *routeCache) error {
	key := rc.key(r, c)
	refresh := false
	if maxAgeZero(r.Header) {
		ok, scopeErr := true, error(nil)
		if rc.requireAuth {
			ok, scopeErr = s.authorized(r, c)
		}
		switch {
		case ok:
			refresh = true
		case rc.strategy == apis.CacheControlFail && scopeErr != nil:
			return scopeErr
		case rc.strategy == apis.CacheControlFail:
			return &pipeline.Error{Type: pipeline.AccessDenied, Status: http.StatusForbidden, Message: "Unauthorized",
				Cause: fmt.Errorf("cache-control max-age=0 on %s %s without authorization", r.Method, c.ResourcePath)}
		case rc.strategy == apis.CacheControlWithoutHeader:
		default:
			w.Header().Set(WarningHeader, warningValue)
		}
	}
	t := (*s.now.Load())()
	if !refresh {
		if e, ok := sc.c.Get(key); ok {
			if t.Before(e.expires) && t.Before(e.stored.Add(rc.ttl)) {
				rc.counts.hits.Add(1)
				c.CacheHit, c.Status = true, int32(e.status) //nolint:gosec // G115: an HTTP status
				c.ResponseEncoded = e.encoded
				h := w.Header()
				for k, v := range e.header {
					h[k] = v
				}
				w.WriteHeader(e.status)
				_, _ = w.Write(e.body)
				return nil
			}
			sc.c.Del(key)
		}
	}
	rc.counts.misses.Add(1)
	c.CacheMiss = true
	// What the stages before this one set (request ids, the trace header)
	// belongs to this request: the entry keeps only what the integration
	// answered below.
	before := w.Header().Clone()
	rec := &recorder{ResponseWriter: w}
	err := next.ServeRequest(rec, r, c)
	// An answer that sets a cookie belongs to its client: replayed from the
	// cache it would hand one client's session to the next (nginx's
	// proxy_cache does not store it either).
	if err != nil || rec.status < 200 || rec.status > 299 || rec.overflow || len(rec.header.Values("Set-Cookie")) > 0 {
		return err
	}
	e := &entry{status: rec.status, header: storedHeader(rec.header, before), body: rec.body, encoded: c.ResponseEncoded, stored: t, expires: t.Add(rc.ttl)}
	cost := int64(len(e.body)) + 256
	for k, v := range e.header {
		cost += int64(len(k))
		for _, x := range v {
			cost += int64(len(x))
		}
	}
	if sc.c.SetWithTTL(key, e, cost, rc.ttl) {
		sc.c.Wait()
	}
	return nil
}

// key builds the request's cache key.
func (rc *routeCache) key(r *http.Request, c *pipeline.Context) string {
	var b strings.Builder
	b.Grow(len(rc.prefix) + len(r.Method) + 16*len(rc.params))
	b.WriteString(rc.prefix)
	b.WriteString(r.Method)
	if len(rc.params) == 0 {
		return b.String()
	}
	var q map[string][]string
	for _, p := range rc.params {
		b.WriteByte(0)
		b.WriteString(p.In)
		b.WriteByte('.')
		b.WriteString(p.Name)
		b.WriteByte('=')
		var vals []string
		switch p.In {
		case "querystring":
			if q == nil {
				q = r.URL.Query()
			}
			vals = q[p.Name]
		case "header":
			vals = pipeline.HeaderValues(r, p.Name)
		case "path":
			if v, ok := c.PathParameters[p.Name]; ok {
				vals = []string{v}
			}
		}
		// Every value, in order, whether or not the parameter is a
		// multivalue one: an HTTP_PROXY backend sees them all, and may act
		// on the first, so two requests share an entry only when the
		// backend sees the same values.
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(v))
		}
	}
	return b.String()
}

// maxAgeZero reports whether the request asks to refetch: Cache-Control: max-age=0.
func maxAgeZero(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "max-age=0") {
				return true
			}
		}
	}
	return false
}

// authorized reports whether r may invalidate: an IAM principal allowed
// execute-api:InvalidateCache, or a signature with the admin credentials,
// scoped as API Gateway scopes them (service execute-api, Portico's region).
// A signature with the admin key scoped elsewhere also returns the error API
// Gateway answers for it (InvalidSignatureException, "Credential should be
// scoped to ..."). A signature that verifies with neither counts as a failed
// sign-in (SetSignIns); a client that failed too often is not checked, and
// gets the THROTTLED error (429, Retry-After).
func (s *Stage) authorized(r *http.Request, c *pipeline.Context) (bool, error) {
	// A SigV4 signature; a bearer token (a JWT or Lambda authorizer's) is not
	// the cache's to count.
	signed := strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") || strings.Contains(r.URL.RawQuery, "X-Amz-Signature=")
	now := (*s.now.Load())()
	if signed {
		if d := s.signIns.Wait(c.Identity.SourceIP, now); d > 0 {
			return false, &pipeline.Error{Type: pipeline.Throttled, Header: http.Header{"Retry-After": {signin.RetryAfter(d)}},
				Cause: fmt.Errorf("cache-control max-age=0: too many failed signatures from this address: wait %s s", signin.RetryAfter(d))}
		}
	}
	iamFailed := true
	if s.invalidators != nil {
		ok, err := s.invalidators.AuthorizeInvalidation(r, c)
		if ok {
			return true, nil
		}
		iamFailed = err != nil
	}
	ok, err := s.adminSigned(r, c)
	if !ok && signed && iamFailed {
		s.signIns.Failed(c.Identity.SourceIP, now)
	}
	return ok, err
}

// adminSigned reports whether r is signed with the admin credentials.
func (s *Stage) adminSigned(r *http.Request, c *pipeline.Context) (bool, error) {
	if s.cfg.AdminToken == "" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		return false, nil
	}
	body, err := c.ReadBody(r)
	if err != nil {
		return false, nil
	}
	v := sigv4.Verifier{Service: SigningService, Region: functions.Region,
		Secret: func(id string) (string, bool) { return s.cfg.AdminToken, id == AdminAccessKeyID }}
	_, err = v.Verify(r, body)
	if scope, ok := errors.AsType[*sigv4.ScopeError](err); ok {
		return false, &pipeline.Error{Type: pipeline.InvalidSignature, Message: scope.Message(), Cause: err}
	}
	return err == nil, nil
}

// perRequest are the response headers that belong to one request, never
// cached even when the integration set them.
var perRequest = []string{"X-Amzn-Requestid", "X-Amz-Apigw-Id", "Apigw-Requestid", "X-Amzn-Trace-Id", "Date", WarningHeader}

// storedHeader copies the headers of h that the rest of the pipeline set or
// changed, those not in before (what the stages in front of the cache had
// set: request ids, the trace header) and not per-request, its slices clipped
// so that an Add on a served copy cannot write into the entry.
func storedHeader(h, before http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		if slices.Contains(perRequest, k) {
			continue
		}
		if b, ok := before[k]; ok && slices.Equal(b, v) {
			continue
		}
		out[k] = slices.Clip(slices.Clone(v))
	}
	return out
}

// recorder passes a response through and keeps a copy of it (status, headers,
// body up to MaxEntryBytes).
type recorder struct {
	http.ResponseWriter
	status   int
	header   http.Header
	body     []byte
	overflow bool
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
		r.header = r.ResponseWriter.Header().Clone()
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if !r.overflow {
		if len(r.body)+len(p) > MaxEntryBytes {
			r.overflow, r.body = true, nil
		} else {
			r.body = append(r.body, p...)
		}
	}
	return r.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the underlying writer (flushes).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Params are the stage's fx dependencies.
type Params struct {
	fx.In

	Config Config
	Log    *slog.Logger
	// Invalidators, when provided, authorize max-age=0 for IAM principals.
	Invalidators Invalidators `optional:"true"`
}

// Module provides the cache stage to the pipeline and as *Stage (flushes,
// counts), and frees the caches of stages that go away.
var Module = fx.Module("cache",
	fx.Provide(
		func(p Params) *Stage {
			s := New(p.Config, p.Log)
			if p.Invalidators != nil {
				s.SetInvalidators(p.Invalidators)
			}
			return s
		},
		pipeline.AsStage(func(s *Stage) *Stage { return s }),
	),
	fx.Invoke(func(s *Stage, svc *apis.Service) { s.Watch(svc) }),
)
