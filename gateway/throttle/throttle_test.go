package throttle

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time          { return f.t }
func (f *fakeClock) advance(d time.Duration) { f.t = f.t.Add(d) }

func deployed(protocol string, settings map[string]apis.MethodSetting, routes ...apis.Route) *pipeline.Deployed {
	dep := &apis.Deployment{ID: "d1", APIID: "api1", API: apis.API{ID: "api1", Protocol: protocol, Definition: apis.Definition{Routes: routes}}}
	return &pipeline.Deployed{Stage: &apis.Stage{APIID: "api1", Name: "dev", MethodSettings: settings}, Deployment: dep, API: &dep.API}
}

// harness compiles s for d around a terminal that counts calls, and serves
// requests to route i.
type harness struct {
	t     *testing.T
	d     *pipeline.Deployed
	h     pipeline.Handler
	calls int
}

func compile(t *testing.T, s *Stage, d *pipeline.Deployed) *harness {
	t.Helper()
	hs := &harness{t: t, d: d}
	mw, err := s.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	hs.h = pipeline.HandlerFunc(func(http.ResponseWriter, *http.Request, *pipeline.Context) error { hs.calls++; return nil })
	if mw != nil {
		hs.h = mw(hs.h)
	}
	return hs
}

// serve sends n requests to route i and returns how many passed; a refusal must
// be a THROTTLED error.
func (hs *harness) serve(i, n int) int {
	hs.t.Helper()
	before := hs.calls
	for range n {
		r := &hs.d.API.Routes[i]
		c := &pipeline.Context{APIID: "api1", Stage: "dev", Route: r, RouteKey: r.RouteKey}
		err := hs.h.ServeRequest(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), c)
		if err != nil {
			if e, ok := pipeline.AsError(err); !ok || e.Type != pipeline.Throttled {
				hs.t.Fatalf("error %v, want THROTTLED", err)
			}
		}
	}
	return hs.calls - before
}

var (
	getPets  = apis.Route{Method: "GET", Path: "/pets", RouteKey: "GET /pets"}
	postPets = apis.Route{Method: "POST", Path: "/pets", RouteKey: "POST /pets"}
	getPet   = apis.Route{Method: "GET", Path: "/pets/{id}", RouteKey: "GET /pets/{id}"}
)

func TestThrottle(t *testing.T) {
	unlimited := Config{RateLimit: -1}
	for _, tc := range []struct {
		name     string
		cfg      Config
		protocol string
		settings map[string]apis.MethodSetting
		// sent requests per route index, and how many must pass
		route, send, want int
	}{
		{"account burst", Config{RateLimit: 1, BurstLimit: 3}, apis.ProtocolREST, nil, 0, 10, 3},
		{"account unlimited, no settings", unlimited, apis.ProtocolREST, nil, 0, 50, 50},
		{"stage default", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(1, 4)}, 0, 10, 4},
		{"method overrides default", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{
			"*/*": limit(1, 4), "/pets/GET": limit(1, 2)}, 0, 10, 2},
		{"other method keeps default", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{
			"*/*": limit(1, 4), "/pets/GET": limit(1, 2)}, 1, 10, 4},
		{"templated path key", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"/pets/{id}/GET": limit(1, 1)}, 2, 10, 1},
		{"setting without throttle values", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"/pets/GET": {CachingEnabled: true}}, 0, 10, 10},
		{"negative rate is no limit", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(-1, -1)}, 0, 10, 10},
		// A value a method's setting leaves out is inherited, as on API
		// Gateway (a new entry takes "*/*"'s values, which default to the
		// account's): from "*/*", then from the account. It never means
		// "admit nothing" (that throttled every request of a method whose
		// rate alone was set, served by builds before c118483).
		{"rate without burst takes the account's burst", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": {ThrottlingRateLimit: new(float64(2))}}, 0, 10, 10},
		{"rate without burst takes the account's burst (account 3)", Config{RateLimit: -1, BurstLimit: 3}, apis.ProtocolREST, map[string]apis.MethodSetting{"~1pets/GET": {ThrottlingRateLimit: new(float64(100))}}, 0, 10, 3},
		{"method rate without burst takes */*'s burst", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{
			"*/*": limit(1, 4), "~1pets/GET": {ThrottlingRateLimit: new(float64(100))}}, 0, 10, 4},
		{"method burst without rate takes */*'s rate", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{
			"*/*": limit(0, 4), "~1pets/GET": {ThrottlingBurstLimit: new(2)}}, 0, 10, 2},
		{"http route rate without burst takes the default route's burst", unlimited, apis.ProtocolHTTP, map[string]apis.MethodSetting{
			"*/*": limit(5, 3), "GET /pets": {ThrottlingRateLimit: new(float64(50))}}, 0, 10, 3},
		{"rate with burst 0", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(100, 0)}, 0, 10, 0},
		{"http route rate without burst", unlimited, apis.ProtocolHTTP, map[string]apis.MethodSetting{"GET /pets": {ThrottlingRateLimit: new(float64(50))}}, 0, 10, 10},
		{"http default route settings burst 0", unlimited, apis.ProtocolHTTP, map[string]apis.MethodSetting{"*/*": limit(1000, 0)}, 1, 10, 0},
		{"http route key", unlimited, apis.ProtocolHTTP, map[string]apis.MethodSetting{"GET /pets": limit(1, 3)}, 0, 10, 3},
		{"http default route settings", unlimited, apis.ProtocolHTTP, map[string]apis.MethodSetting{"*/*": limit(1, 5)}, 1, 10, 5},
		// 0 is a limit, not "not set": 0/0 throttles every request (API
		// Gateway's way to close a method), rate 0 never refills.
		{"stage default 0/0", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(0, 0)}, 0, 10, 0},
		{"method 0/0", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(100, 100), "/pets/GET": limit(0, 0)}, 0, 10, 0},
		{"method 0/0 leaves the others", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(100, 100), "/pets/GET": limit(0, 0)}, 1, 10, 10},
		{"method without throttle under a 0/0 default", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{
			"*/*": limit(0, 0), "/pets/GET": {CachingEnabled: true}}, 0, 10, 0},
		{"rate 0, burst 2", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(0, 2)}, 0, 10, 2},
		{"rate 0 without burst takes the account's burst", Config{RateLimit: -1, BurstLimit: 3}, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": {ThrottlingRateLimit: new(0.0)}}, 0, 10, 3},
		{"burst 0 without rate", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": {ThrottlingBurstLimit: new(0)}}, 0, 10, 0},
		{"burst without rate is no limit", unlimited, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": {ThrottlingBurstLimit: new(2)}}, 0, 10, 10},
		{"http route 0/0", unlimited, apis.ProtocolHTTP, map[string]apis.MethodSetting{"GET /pets": limit(0, 0)}, 0, 10, 0},
		{"account and stage: the tighter wins", Config{RateLimit: 1, BurstLimit: 2}, apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(1, 6)}, 0, 10, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			s := New(tc.cfg, nil)
			s.SetClock(clk.now)
			hs := compile(t, s, deployed(tc.protocol, tc.settings, getPets, postPets, getPet))
			if got := hs.serve(tc.route, tc.send); got != tc.want {
				t.Fatalf("%d of %d passed, want %d", got, tc.send, tc.want)
			}
		})
	}
}

func TestThrottleRefillsWithTheClock(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Config{RateLimit: 2, BurstLimit: 2}, nil)
	s.SetClock(clk.now)
	hs := compile(t, s, deployed(apis.ProtocolREST, nil, getPets))
	if got := hs.serve(0, 5); got != 2 {
		t.Fatalf("first burst: %d passed", got)
	}
	clk.advance(time.Second) // two tokens
	if got := hs.serve(0, 5); got != 2 {
		t.Fatalf("after a second: %d passed, want 2", got)
	}
}

// TestZeroRateNeverRefills: a rate of 0 adds no tokens however long the
// clock runs; 0/0 lets nothing through at any time.
func TestZeroRateNeverRefills(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Config{RateLimit: -1}, nil)
	s.SetClock(clk.now)
	hs := compile(t, s, deployed(apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(0, 2), "/pets/POST": limit(0, 0)}, getPets, postPets))
	if got := hs.serve(0, 5); got != 2 {
		t.Fatalf("rate 0 burst 2: %d passed, want 2", got)
	}
	clk.advance(time.Hour)
	if got := hs.serve(0, 5); got != 0 {
		t.Fatalf("rate 0 an hour later: %d passed, want 0", got)
	}
	if got := hs.serve(1, 5); got != 0 {
		t.Fatalf("0/0: %d passed, want 0", got)
	}
}

// limit is a method setting with a throttle.
func limit(rate float64, burst int) apis.MethodSetting {
	return apis.MethodSetting{ThrottlingRateLimit: &rate, ThrottlingBurstLimit: &burst}
}

func TestNoLimitsCompilesToNothing(t *testing.T) {
	s := New(Config{RateLimit: -1}, nil)
	mw, err := s.Compile(deployed(apis.ProtocolREST, nil, getPets))
	if err != nil || mw != nil {
		t.Fatalf("middleware %v, err %v: want none", mw != nil, err)
	}
}

func TestRecompileKeepsCountsAndAppliesNewRates(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	lim := NewBuckets()
	s := New(Config{RateLimit: -1}, lim)
	s.SetClock(clk.now)
	settings := map[string]apis.MethodSetting{"*/*": limit(1, 3)}
	if got := compile(t, s, deployed(apis.ProtocolREST, settings, getPets)).serve(0, 3); got != 3 {
		t.Fatalf("first compile: %d passed", got)
	}
	// The same settings compiled again (a redeploy): the bucket is still empty.
	if got := compile(t, s, deployed(apis.ProtocolREST, settings, getPets)).serve(0, 3); got != 0 {
		t.Fatalf("after recompile: %d passed, want 0 (counts kept)", got)
	}
	// A higher rate: the bucket refills at it from its first request on.
	settings = map[string]apis.MethodSetting{"*/*": limit(100, 100)}
	hs := compile(t, s, deployed(apis.ProtocolREST, settings, getPets))
	if got := hs.serve(0, 1); got != 0 {
		t.Fatalf("new rate, no time passed: %d passed, want 0", got)
	}
	clk.advance(100 * time.Millisecond) // 10 tokens at the new rate
	if got := hs.serve(0, 50); got != 10 {
		t.Fatalf("after new rate: %d passed, want 10", got)
	}
	if n := lim.Len(); n != 2 { // account + one method
		t.Fatalf("%d buckets, want 2", n)
	}
}

func TestCheckMessageWebSocket(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Config{RateLimit: -1}, nil)
	s.SetClock(clk.now)
	d := deployed(apis.ProtocolWebSocket, map[string]apis.MethodSetting{
		"sendmessage": limit(1, 2)},
		apis.Route{RouteKey: "sendmessage"}, apis.Route{RouteKey: "$default"})
	count := func(key string, n int) (passed int) {
		for range n {
			err := s.CheckMessage(&pipeline.Context{Stage: "dev", RouteKey: key, Deployed: d})
			if err == nil {
				passed++
			} else if e, ok := pipeline.AsError(err); !ok || e.Type != pipeline.Throttled {
				t.Fatalf("error %v", err)
			}
		}
		return passed
	}
	if got := count("sendmessage", 5); got != 2 {
		t.Fatalf("sendmessage: %d passed, want 2", got)
	}
	if got := count("$default", 5); got != 5 {
		t.Fatalf("$default: %d passed, want 5", got)
	}
}

// TestThrottleAllocations keeps the stage's per-request work allocation-free.
func TestThrottleAllocations(t *testing.T) {
	s := New(Config{RateLimit: 1e9, BurstLimit: 1e9}, nil)
	d := deployed(apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(1e9, 1e9)}, getPets)
	mw, err := s.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	h := mw(pipeline.HandlerFunc(func(http.ResponseWriter, *http.Request, *pipeline.Context) error { return nil }))
	w, r := httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)
	c := &pipeline.Context{Route: &d.API.Routes[0]}
	if n := testing.AllocsPerRun(100, func() {
		if err := h.ServeRequest(w, r, c); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

// TestRemovedMethodSettingDropsItsBucket: a method drained under its own
// throttle setting starts afresh when a stage update removes the setting: on
// recompile the method is under the stage default with a full bucket, at the
// same instant of the fake clock (no refill), and without any limit its
// bucket is forgotten. A setting that stays keeps its counts across a
// recompile.
func TestRemovedMethodSettingDropsItsBucket(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	lim := NewBuckets()
	s := New(Config{RateLimit: -1}, lim)
	s.SetClock(clk.now)
	strict := map[string]apis.MethodSetting{
		"/pets/GET": limit(0.001, 1),
		"*/*":       limit(1, 2),
	}
	if got := compile(t, s, deployed(apis.ProtocolREST, strict, getPets)).serve(0, 3); got != 1 {
		t.Fatalf("under 0.001 rps burst 1: %d of 3 passed, want 1", got)
	}
	if got := compile(t, s, deployed(apis.ProtocolREST, strict, getPets)).serve(0, 1); got != 0 {
		t.Fatalf("a recompile with the same settings reset the bucket: %d passed", got)
	}
	lenient := map[string]apis.MethodSetting{"*/*": limit(1, 2)}
	if got := compile(t, s, deployed(apis.ProtocolREST, lenient, getPets)).serve(0, 3); got != 2 {
		t.Fatalf("after the setting's removal, under the default burst 2: %d of 3 passed, want 2", got)
	}
	if n := lim.Len(); n != 2 { // account, /pets/GET
		t.Fatalf("%d buckets, want 2", n)
	}
	compile(t, s, deployed(apis.ProtocolREST, map[string]apis.MethodSetting{"/pets/GET": limit(0.001, 1)}, getPets)).serve(0, 1)
	if got := compile(t, s, deployed(apis.ProtocolREST, nil, getPets)).serve(0, 5); got != 5 {
		t.Fatalf("without any limit: %d of 5 passed", got)
	}
	if n := lim.Len(); n != 1 { // account only
		t.Errorf("%d buckets after every limit went, want 1 (the account's)", n)
	}
}

// TestThrottleAtRequestTime: without SetClock a request is throttled at its
// Context.RequestTime, not at a clock reading of the stage's own: requests
// stamped a second apart refill the bucket whatever the real clock did
// meanwhile, and requests stamped at one instant do not.
func TestThrottleAtRequestTime(t *testing.T) {
	s := New(Config{RateLimit: 1, BurstLimit: 1}, nil)
	mw, err := s.Compile(deployed(apis.ProtocolREST, nil, getPets))
	if err != nil {
		t.Fatal(err)
	}
	passed := 0
	h := mw(pipeline.HandlerFunc(func(http.ResponseWriter, *http.Request, *pipeline.Context) error { passed++; return nil }))
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) // far from the real clock
	for i, at := range []time.Duration{0, 0, 0, time.Second, time.Second, 3 * time.Second, 3 * time.Second} {
		c := &pipeline.Context{Route: &getPets, RequestTime: t0.Add(at)}
		_ = h.ServeRequest(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), c)
		if i == 2 && passed != 1 {
			t.Fatalf("three requests at one instant: %d passed, want 1", passed)
		}
	}
	if passed != 3 { // t0, t0+1s, t0+3s (burst 1: the third second's token is not kept)
		t.Fatalf("%d passed, want 3", passed)
	}
}

// TestBucketTimesOutOfOrder: a bucket asked at an earlier time than it last
// saw counts it as that later time, so the interval between them does not
// refill it twice. rate.Limiter alone takes an earlier time that it lets
// through as its last update, and refills from it again at the next.
func TestBucketTimesOutOfOrder(t *testing.T) {
	b := NewBuckets().Bucket("k")
	l := Limit{Rate: 1, Burst: 2}
	t0 := time.Unix(1_700_000_000, 0)
	for i, st := range []struct {
		at   time.Duration
		want bool
	}{
		{time.Second, true},              // the full bucket's first token
		{0, true},                        // earlier: counted at 1s, the second token
		{time.Second, false},             // 1s again: nothing refilled
		{1500 * time.Millisecond, false}, // half a token
		{2 * time.Second, true},          // one second after the first
		{2 * time.Second, false},
	} {
		if got := b.Allow(t0.Add(st.at), l); got != st.want {
			t.Fatalf("step %d (at %v): allowed %v, want %v", i, st.at, got, st.want)
		}
	}
}

// TestChangedLimitAppliesFromTheChange: a limit raised by a recompile
// refills the bucket at the new rate, up to the new burst, from the time of
// the change; it was measured with the old rate and burst for all the time
// since the bucket's last request, so the first request after the change
// found at most the old burst (one token here, where the new limit promises
// twenty). A lowered limit applies from the change the same way.
func TestChangedLimitAppliesFromTheChange(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Config{RateLimit: -1}, nil)
	s.SetClock(clk.now)
	if got := compile(t, s, deployed(apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(100, 1)}, getPets)).serve(0, 3); got != 1 {
		t.Fatalf("rate 100 burst 1: %d passed, want 1", got)
	}
	clk.advance(10 * time.Millisecond) // one token at the old rate
	hs := compile(t, s, deployed(apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(10, 20)}, getPets))
	clk.advance(3 * time.Second) // 30 tokens at the new rate, capped at 20
	if got := hs.serve(0, 25); got != 20 {
		t.Fatalf("raised to rate 10 burst 20, 3 s later: %d passed, want 20", got)
	}
	// Lowered to 1/s with the bucket empty: 10 s under the old rate would
	// have given 20 tokens; since the change, 10 at 1/s.
	hs = compile(t, s, deployed(apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(1, 20)}, getPets))
	clk.advance(10 * time.Second)
	if got := hs.serve(0, 25); got != 10 {
		t.Fatalf("lowered to rate 1, 10 s later: %d passed, want 10", got)
	}
	// The same limit compiled again (a redeploy) changes nothing.
	clk.advance(2 * time.Second)
	hs = compile(t, s, deployed(apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(1, 20)}, getPets))
	clk.advance(time.Second)
	if got := hs.serve(0, 25); got != 3 {
		t.Fatalf("recompiled unchanged, 3 s after the bucket emptied: %d passed, want 3", got)
	}
}

// TestChangedLimitAppliesFromTheStagesUpdate: the gateway compiles a changed
// stage at its first request after the change, maybe long after it: the new
// limit applies from the stage's update, not from that compile (verify27a:
// raised from 100/s burst 1 to 10/s burst 20, 3 s before the next requests,
// and they were measured under the old limit all that time).
func TestChangedLimitAppliesFromTheStagesUpdate(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := New(Config{RateLimit: -1}, nil)
	s.SetClock(clk.now)
	if got := compile(t, s, deployed(apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(100, 1)}, getPets)).serve(0, 3); got != 1 {
		t.Fatalf("rate 100 burst 1: %d passed, want 1", got)
	}
	clk.advance(10 * time.Millisecond)
	changed := clk.now()
	clk.advance(3 * time.Second) // 30 tokens at the new rate, capped at 20
	d := deployed(apis.ProtocolREST, map[string]apis.MethodSetting{"*/*": limit(10, 20)}, getPets)
	d.Stage.UpdatedAt = changed
	if got := compile(t, s, d).serve(0, 25); got != 20 {
		t.Fatalf("raised to rate 10 burst 20 3 s before the compile: %d passed, want 20", got)
	}
}

// TestSetLimitKeepsTimeOrder: a change announced at a time before the
// bucket's latest request counts from that request, so that no interval
// refills the bucket twice.
func TestSetLimitKeepsTimeOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := NewBuckets().Bucket("k")
	l := Limit{Rate: 1, Burst: 5}
	for range 5 {
		b.Allow(t0.Add(time.Second), l)
	}
	SetLimit(b, t0, Limit{Rate: 2, Burst: 5}) // before the requests
	n := 0
	for range 10 {
		if b.Allow(t0.Add(2*time.Second), Limit{Rate: 2, Burst: 5}) {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d passed 1 s after the bucket emptied at rate 2, want 2", n)
	}
}
