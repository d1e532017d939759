package cache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

const token = "admin-token-for-tests"

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t atomic.Int64 }

func (f *fakeClock) now() time.Time          { return time.Unix(0, f.t.Load()) }
func (f *fakeClock) advance(d time.Duration) { f.t.Add(int64(d)) }

// harness runs requests through the cache stage compiled for one stage
// deployment, with a terminal that counts its calls and answers status/body.
type harness struct {
	t      *testing.T
	s      *Stage
	clock  *fakeClock
	calls  atomic.Int64
	status int
	body   string
	// header is added to every answer of the integration.
	header http.Header
	// encoded is the integration's pipeline.Context.ResponseEncoded.
	encoded bool
	chains  map[bool]pipeline.Handler // canary?
	dep     *apis.Deployment
}

// wantCalls fails the test unless the integration ran n times; format has
// one %d, for the count.
func (h *harness) wantCalls(n int64, format string) {
	h.t.Helper()
	if got := h.calls.Load(); got != n {
		h.t.Fatalf(format, got)
	}
}

func newHarness(t *testing.T, st *apis.Stage, routes ...apis.Route) *harness {
	t.Helper()
	h := &harness{t: t, s: New(Config{AdminToken: token}, nil), clock: &fakeClock{}, status: 200, chains: map[bool]pipeline.Handler{}}
	h.clock.t.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	h.s.SetClock(h.clock.now)
	h.dep = &apis.Deployment{ID: "dep001", APIID: st.APIID, API: apis.API{ID: st.APIID, Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: routes}}}
	st.DeploymentID = h.dep.ID
	h.compile(st, h.dep, false)
	return h
}

func (h *harness) compile(st *apis.Stage, dep *apis.Deployment, canary bool) {
	h.t.Helper()
	d := &pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API, Variables: st.Variables, Canary: canary}
	terminal := pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
		n := h.calls.Add(1)
		c.ResponseEncoded = h.encoded
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Amzn-Requestid", "req")
		for k, v := range h.header {
			w.Header()[k] = v
		}
		w.WriteHeader(h.status)
		_, _ = fmt.Fprintf(w, "%s#%d", h.body, n)
		return nil
	})
	mw, err := h.s.Compile(d)
	if err != nil {
		h.t.Fatal(err)
	}
	var chain pipeline.Handler = terminal
	if mw != nil {
		chain = mw(terminal)
	}
	h.chains[canary] = chain
}

// do serves one request; route matching is done here as the route stage would.
func (h *harness) do(canary bool, method, target string, hdr http.Header, params map[string]string) (*httptest.ResponseRecorder, *pipeline.Context, error) {
	h.t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header[k] = v
	}
	c := &pipeline.Context{PathParameters: params}
	dep := h.dep
	for i := range dep.API.Routes {
		rt := &dep.API.Routes[i]
		if rt.Method == method || rt.Method == apis.MethodAny {
			c.Route, c.ResourcePath = rt, rt.Path
			break
		}
	}
	w := httptest.NewRecorder()
	err := h.chains[canary].ServeRequest(w, r, c)
	return w, c, err
}

func (h *harness) get(target string, hdr http.Header) string {
	h.t.Helper()
	w, _, err := h.do(false, http.MethodGet, target, hdr, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return w.Body.String()
}

func route(method string, keys ...string) apis.Route {
	return apis.Route{Method: method, Path: "/items", RouteKey: method + " /items",
		Integration: &apis.Integration{Type: apis.IntegrationMock, CacheKeyParameters: keys}}
}

func cachedStage() *apis.Stage {
	return &apis.Stage{APIID: "abcdefghij", Name: "prod", CacheClusterEnabled: true, CacheClusterSize: "0.5"}
}

func TestServesFromCacheUntilTTL(t *testing.T) {
	h := newHarness(t, cachedStage(), route("GET"))
	first := h.get("/items", nil)
	w, c, err := h.do(false, http.MethodGet, "/items", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Body.String() != first || h.calls.Load() != 1 || !c.CacheHit {
		t.Fatalf("second GET: body %q (first %q), calls %d, hit %v; want the cached answer", w.Body.String(), first, h.calls.Load(), c.CacheHit)
	}
	if got := w.Header().Get("X-Amzn-Requestid"); got != "" {
		t.Errorf("a hit replays the request id %q of the miss", got)
	}
	if w.Header().Get("Content-Type") != "text/plain" {
		t.Errorf("a hit lost the response headers: %v", w.Header())
	}
	h.clock.advance(299 * time.Second)
	h.get("/items", nil)
	if h.calls.Load() != 1 {
		t.Fatalf("at 299 s of a 300 s TTL the integration ran again")
	}
	h.clock.advance(time.Second)
	if got := h.get("/items", nil); got == first || h.calls.Load() != 2 {
		t.Fatalf("at the TTL: body %q, calls %d; want a fresh call", got, h.calls.Load())
	}
	if s := h.s.Stats("abcdefghij", "prod")["/items/GET"]; s.Hits != 2 || s.Misses != 2 {
		t.Errorf("stats %+v, want 2 hits and 2 misses", s)
	}
}

func TestMethodTTLAndZeroTTL(t *testing.T) {
	st := cachedStage()
	st.MethodSettings = map[string]apis.MethodSetting{"*/*": func() apis.MethodSetting {
		m := apis.DefaultMethodSetting()
		m.CachingEnabled, m.CacheTTLInSeconds = true, 10
		return m
	}()}
	h := newHarness(t, st, route("GET"))
	h.get("/items", nil)
	h.clock.advance(9 * time.Second)
	h.get("/items", nil)
	h.wantCalls(1, "calls %d within a 10 s TTL")
	h.clock.advance(time.Second)
	h.get("/items", nil)
	h.wantCalls(2, "calls %d after a 10 s TTL")

	m := st.MethodSettings["*/*"]
	m.CacheTTLInSeconds = 0
	st.MethodSettings["*/*"] = m
	h = newHarness(t, st, route("GET"))
	h.get("/items", nil)
	h.get("/items", nil)
	h.wantCalls(2, "TTL 0 still cached (calls %d)")
}

func TestCacheKeyParameters(t *testing.T) {
	h := newHarness(t, cachedStage(), route("GET", "method.request.querystring.type", "method.request.header.X-Tenant"))
	a := h.get("/items?type=a", http.Header{"X-Tenant": {"t1"}})
	b := h.get("/items?type=b", http.Header{"X-Tenant": {"t1"}})
	c := h.get("/items?type=a", http.Header{"X-Tenant": {"t2"}})
	if a == b || a == c || h.calls.Load() != 3 {
		t.Fatalf("different key parameters shared an entry: %q %q %q (calls %d)", a, b, c, h.calls.Load())
	}
	if got := h.get("/items?type=a&other=zzz", http.Header{"X-Tenant": {"t1"}}); got != a || h.calls.Load() != 3 {
		t.Fatalf("a parameter outside the key changed the entry: %q, want %q", got, a)
	}
	// Without key parameters, API Gateway's key is the resource path: the
	// query string does not count.
	h = newHarness(t, cachedStage(), route("GET"))
	x := h.get("/items?type=a", nil)
	if y := h.get("/items?type=b", nil); y != x {
		t.Fatalf("no key parameters: %q then %q", x, y)
	}
}

func TestPathKeyParameter(t *testing.T) {
	rt := route("GET", "method.request.path.id")
	rt.Path = "/items/{id}"
	h := newHarness(t, cachedStage(), rt)
	w1, _, _ := h.do(false, http.MethodGet, "/items/1", nil, map[string]string{"id": "1"})
	w2, _, _ := h.do(false, http.MethodGet, "/items/2", nil, map[string]string{"id": "2"})
	w3, _, _ := h.do(false, http.MethodGet, "/items/1", nil, map[string]string{"id": "1"})
	if w1.Body.String() == w2.Body.String() || w3.Body.String() != w1.Body.String() || h.calls.Load() != 2 {
		t.Fatalf("path key: %q %q %q, calls %d", w1.Body, w2.Body, w3.Body, h.calls.Load())
	}
}

func TestOnlyGETUnlessItsOwnSetting(t *testing.T) {
	h := newHarness(t, cachedStage(), route("POST"))
	h.do(false, http.MethodPost, "/items", nil, nil)
	h.do(false, http.MethodPost, "/items", nil, nil)
	h.wantCalls(2, "POST cached by default (calls %d)")
	st := cachedStage()
	own := apis.DefaultMethodSetting()
	own.CachingEnabled = true
	st.MethodSettings = map[string]apis.MethodSetting{"/items/POST": own}
	h = newHarness(t, st, route("POST"))
	h.do(false, http.MethodPost, "/items", nil, nil)
	h.do(false, http.MethodPost, "/items", nil, nil)
	h.wantCalls(1, "POST with its own caching setting not cached (calls %d)")
	// "*/*" with caching on still caches GET only.
	st = cachedStage()
	st.MethodSettings = map[string]apis.MethodSetting{"*/*": own}
	h = newHarness(t, st, route("POST"))
	h.do(false, http.MethodPost, "/items", nil, nil)
	h.do(false, http.MethodPost, "/items", nil, nil)
	h.wantCalls(2, "*/* caching cached a POST (calls %d)")
	// Caching off for the method.
	off := apis.DefaultMethodSetting()
	st.MethodSettings = map[string]apis.MethodSetting{"/items/GET": off}
	h = newHarness(t, st, route("GET"))
	h.get("/items", nil)
	h.get("/items", nil)
	h.wantCalls(2, "a method with caching off was cached (calls %d)")
}

func TestErrorsAndLargeBodiesNotCached(t *testing.T) {
	h := newHarness(t, cachedStage(), route("GET"))
	h.status = 500
	h.get("/items", nil)
	h.status = 404
	h.get("/items", nil)
	h.wantCalls(2, "error responses were cached (calls %d)")
	h.status = 200
	h.body = strings.Repeat("x", MaxEntryBytes)
	h.get("/items", nil)
	h.get("/items", nil)
	h.wantCalls(4, "a body over 1 MB was cached (calls %d)")
	h.body = strings.Repeat("x", 1000)
	h.get("/items", nil)
	h.get("/items", nil)
	h.wantCalls(5, "a small 200 was not cached (calls %d)")
}

// signed returns headers that sign GET target with secret as the admin.
func signed(t *testing.T, target, secret string) http.Header {
	t.Helper()
	return signedFor(t, target, secret, "execute-api", "us-east-1")
}

// signedFor returns headers that sign GET target with secret as the admin,
// scoped to service and region.
func signedFor(t *testing.T, target, secret, service, region string) http.Header {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Cache-Control", "max-age=0")
	sigv4test.Sign(t, r, aws.Credentials{AccessKeyID: AdminAccessKeyID, SecretAccessKey: secret}, sigv4test.EmptyHash, service, region, time.Now())
	return r.Header
}

func TestMaxAgeZero(t *testing.T) {
	maxAge := http.Header{"Cache-Control": {"max-age=0"}}
	withStrategy := func(require bool, strategy string) *apis.Stage {
		st := cachedStage()
		m := apis.DefaultMethodSetting()
		m.CachingEnabled, m.RequireAuthorizationForCacheControl, m.UnauthorizedCacheControlHeaderStrategy = true, require, strategy
		st.MethodSettings = map[string]apis.MethodSetting{"*/*": m}
		return st
	}
	t.Run("no authorization required", func(t *testing.T) {
		h := newHarness(t, withStrategy(false, apis.CacheControlFail), route("GET"))
		first := h.get("/items", nil)
		fresh := h.get("/items", maxAge)
		if fresh == first || h.get("/items", nil) != fresh || h.calls.Load() != 2 {
			t.Fatalf("max-age=0 did not refetch and replace: %q, %q (calls %d)", first, fresh, h.calls.Load())
		}
	})
	t.Run("FAIL_WITH_403", func(t *testing.T) {
		h := newHarness(t, withStrategy(true, apis.CacheControlFail), route("GET"))
		h.get("/items", nil)
		_, _, err := h.do(false, http.MethodGet, "/items", maxAge, nil)
		pe, ok := pipeline.AsError(err)
		if !ok || pe.Status != http.StatusForbidden {
			t.Fatalf("unauthorized max-age=0: err %v, want a 403", err)
		}
		if h.calls.Load() != 1 {
			t.Fatalf("a refused max-age=0 reached the integration")
		}
	})
	for _, tc := range []struct {
		strategy string
		header   bool
	}{{apis.CacheControlWithHeader, true}, {apis.CacheControlWithoutHeader, false}} {
		t.Run(tc.strategy, func(t *testing.T) {
			h := newHarness(t, withStrategy(true, tc.strategy), route("GET"))
			first := h.get("/items", nil)
			w, _, err := h.do(false, http.MethodGet, "/items", maxAge, nil)
			if err != nil {
				t.Fatal(err)
			}
			if w.Body.String() != first || h.calls.Load() != 1 {
				t.Fatalf("unauthorized max-age=0 was not ignored: %q (calls %d)", w.Body, h.calls.Load())
			}
			if got := w.Header().Get(WarningHeader) != ""; got != tc.header {
				t.Fatalf("warning header present %v, want %v", got, tc.header)
			}
		})
	}
	t.Run("signed by the admin", func(t *testing.T) {
		h := newHarness(t, withStrategy(true, apis.CacheControlFail), route("GET"))
		first := h.get("/items", nil)
		fresh := h.get("/items", signed(t, "/items", token))
		if fresh == first || h.get("/items", nil) != fresh {
			t.Fatalf("signed max-age=0 did not refetch and replace: %q %q", first, fresh)
		}
		if _, _, err := h.do(false, http.MethodGet, "/items", signed(t, "/items", "wrong-secret"), nil); err == nil {
			t.Fatal("a request signed with another secret invalidated the cache")
		}
	})
	// A signature scoped to another region or service invalidates nothing and,
	// under FAIL_WITH_403, answers API Gateway's InvalidSignatureException.
	for _, tc := range []struct{ service, region, want string }{
		{"execute-api", "eu-west-1", "Credential should be scoped to a valid region, not 'eu-west-1'. "},
		{"apigateway", "us-east-1", "Credential should be scoped to correct service: 'execute-api'. "},
	} {
		t.Run("signed for "+tc.service+" in "+tc.region, func(t *testing.T) {
			h := newHarness(t, withStrategy(true, apis.CacheControlFail), route("GET"))
			h.get("/items", nil)
			_, _, err := h.do(false, http.MethodGet, "/items", signedFor(t, "/items", token, tc.service, tc.region), nil)
			pe, ok := pipeline.AsError(err)
			if !ok || pe.Type != pipeline.InvalidSignature || pe.Message != tc.want || h.calls.Load() != 1 {
				t.Fatalf("err %v, want InvalidSignature %q (calls %d)", err, tc.want, h.calls.Load())
			}
			h2 := newHarness(t, withStrategy(true, apis.CacheControlWithoutHeader), route("GET"))
			first := h2.get("/items", nil)
			if got := h2.get("/items", signedFor(t, "/items", token, tc.service, tc.region)); got != first || h2.calls.Load() != 1 {
				t.Fatalf("a signature scoped elsewhere invalidated the cache: %q (calls %d)", got, h2.calls.Load())
			}
		})
	}
}

func TestFlush(t *testing.T) {
	h := newHarness(t, cachedStage(), route("GET"))
	h.get("/items", nil)
	h.get("/items", nil)
	h.s.Flush("abcdefghij", "prod")
	h.get("/items", nil)
	h.wantCalls(2, "calls %d after a flush, want 2")
}

func TestCanaryCachedApartUnlessUseStageCache(t *testing.T) {
	for _, tc := range []struct {
		useStage bool
		depID    string
	}{{false, "dep002"}, {true, "dep002"}, {false, "dep001"}, {true, "dep001"}} {
		useStage := tc.useStage
		st := cachedStage()
		h := newHarness(t, st, route("GET"))
		st.CanarySettings = &apis.CanarySettings{PercentTraffic: 50, DeploymentID: tc.depID, UseStageCache: useStage}
		canaryDep := *h.dep
		canaryDep.ID = tc.depID
		h.compile(st, &canaryDep, true)
		base := h.get("/items", nil)
		w, _, _ := h.do(true, http.MethodGet, "/items", nil, nil)
		if shared := w.Body.String() == base; shared != useStage {
			t.Fatalf("useStageCache %v, canary on %s: canary answered %q, base %q", useStage, tc.depID, w.Body, base)
		}
	}
}

func TestDisabledStageCompilesToNothing(t *testing.T) {
	s := New(Config{}, nil)
	st := &apis.Stage{APIID: "abcdefghij", Name: "prod"}
	dep := &apis.Deployment{ID: "dep001", API: apis.API{Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{route("GET")}}}}
	if mw, err := s.Compile(&pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API}); mw != nil || err != nil {
		t.Fatalf("cache off: %v, %v", mw != nil, err)
	}
	st.CacheClusterEnabled, st.CacheClusterSize = true, "3"
	if _, err := s.Compile(&pipeline.Deployed{Stage: st, Deployment: dep, API: &dep.API}); err == nil {
		t.Fatal("a cache size outside AWS's list compiled")
	}
}

func (s *Stage) cached(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caches[key] != nil
}

func TestWatchFreesDeletedAndDisabledStages(t *testing.T) {
	_, svc := gwtest.APIs(t)
	ctx := context.Background()
	a, err := svc.Create(ctx, &apis.API{Name: "c", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{route("GET")}}})
	if err != nil {
		t.Fatal(err)
	}
	on := true
	s := New(Config{}, nil)
	s.Watch(svc)
	compile := func(name string) {
		t.Helper()
		_, stg, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: name, CacheClusterEnabled: &on})
		if err != nil {
			t.Fatal(err)
		}
		dep, err := svc.GetDeployment(ctx, a.ID, stg.DeploymentID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Compile(&pipeline.Deployed{Stage: stg, Deployment: dep, API: &dep.API}); err != nil {
			t.Fatal(err)
		}
	}
	compile("one")
	compile("two")
	off := false
	if _, err := svc.UpdateStage(ctx, a.ID, "one", apis.StagePatch{CacheClusterEnabled: &off}); err != nil {
		t.Fatal(err)
	}
	if s.cached(a.ID+"/one") || !s.cached(a.ID+"/two") {
		t.Fatalf("after turning one's cache off: one %v, two %v", s.cached(a.ID+"/one"), s.cached(a.ID+"/two"))
	}
	if err := svc.DeleteStage(ctx, a.ID, "two"); err != nil {
		t.Fatal(err)
	}
	if s.cached(a.ID + "/two") {
		t.Fatal("a deleted stage kept its cache")
	}
}

// TestHitKeepsHeadersSetInFrontOfTheCache: headers the stages in front of the
// cache set for the request (its trace header, anything of theirs) are this
// request's on a hit, never the ones the miss that filled the entry had.
func TestHitKeepsHeadersSetInFrontOfTheCache(t *testing.T) {
	h := newHarness(t, cachedStage(), route("GET"))
	serve := func(front string) *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		w.Header().Set("X-Amzn-Trace-Id", "Root="+front)
		w.Header().Set("X-Front", front)
		c := &pipeline.Context{Route: &h.dep.API.Routes[0], ResourcePath: "/items"}
		if err := h.chains[false].ServeRequest(w, httptest.NewRequest(http.MethodGet, "/items", nil), c); err != nil {
			t.Fatal(err)
		}
		return w
	}
	first := serve("first")
	second := serve("second")
	h.wantCalls(1, "integration ran %d times, want 1 (the second GET is a hit)")
	if second.Body.String() != first.Body.String() {
		t.Fatalf("hit body %q, want %q", second.Body.String(), first.Body.String())
	}
	for k, want := range map[string]string{"X-Amzn-Trace-Id": "Root=second", "X-Front": "second", "Content-Type": "text/plain"} {
		if got := second.Header().Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("hit's %s = %q, want [%q]", k, got, want)
		}
	}
}

// TestHitKeepsResponseEncoded: a hit on an answer whose backend had
// content-coded it says so again (Context.ResponseEncoded), so that the
// compression stage in front does not compress it a second time.
func TestHitKeepsResponseEncoded(t *testing.T) {
	h := newHarness(t, cachedStage(), route("GET"))
	h.encoded = true
	h.get("/items", nil)
	h.encoded = false
	_, c, err := h.do(false, http.MethodGet, "/items", nil, nil)
	if err != nil || !c.CacheHit || !c.ResponseEncoded {
		t.Fatalf("hit %v, ResponseEncoded %v (%v); want a hit that says the body is encoded", c.CacheHit, c.ResponseEncoded, err)
	}
}
