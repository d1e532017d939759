package invoker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

// TestBudgetHoldsWhileAliasMovesAcrossTenVersions moves the version that 16
// concurrent callers call across ten versions, as an alias moved by deploys
// would, with a budget of 20 sandboxes: the sandboxes running never exceed 20
// and no call fails, because the idle sandboxes of older versions make room.
func TestBudgetHoldsWhileAliasMovesAcrossTenVersions(t *testing.T) {
	const budget, callers, versions, callsPerVersion = 20, 16, 10, 64
	e := newEnv(t, func(c *Config) {
		c.MaxSandboxes = budget
		c.ThrottleWait = 10 * time.Second // a bound on waiting for an evicted sandbox, not a timing
	})
	var cfgs []*functions.Config
	for v := 1; v <= versions; v++ {
		cfgs = append(cfgs, e.fns.add(&functions.Config{FunctionName: "moving", Version: strconvI(v)}))
	}
	var current atomic.Int64 // index of the version the "alias" names
	var calls atomic.Int64

	var peak, colds atomic.Int64
	sample := func() { // the count, after every call
		st := e.inv.Stats()
		n := int64(max(st.Sandboxes, st.Budget.Sandboxes))
		for cur := peak.Load(); n > cur && !peak.CompareAndSwap(cur, n); cur = peak.Load() {
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := calls.Add(1)
				if n > versions*callsPerVersion {
					return
				}
				// Every callsPerVersion calls the alias moves to the next version.
				idx := min((n-1)/callsPerVersion, versions-1)
				if idx > current.Load() {
					current.Store(idx)
				}
				cfg := cfgs[current.Load()]
				res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"sleepMs":2}`)})
				if err != nil {
					errs <- err
					return
				}
				if res.FunctionError != "" {
					errs <- errors.New(string(res.Payload))
					return
				}
				sample()
				if res.ColdStart {
					colds.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a call failed: %v", err)
	}
	if p := peak.Load(); p > budget {
		t.Fatalf("%d sandboxes running at once, budget %d", p, budget)
	}
	if s := e.inv.Stats(); s.Sandboxes > budget || s.Budget.Sandboxes > budget {
		t.Fatalf("after the run: %+v", s.Budget)
	}
	t.Logf("peak %d sandboxes (budget %d), %d cold starts for %d calls", peak.Load(), budget, colds.Load(), versions*callsPerVersion)
}

func strconvI(v int) string { return string(rune('0'+v/10)) + string(rune('0'+v%10)) }

// TestBudgetThrottlesWhenNothingIsIdle checks that at the budget, with every
// sandbox busy, a call that needs a new sandbox waits ThrottleWait and then
// fails as throttled; once a sandbox is idle it is stopped to make room.
func TestBudgetThrottlesWhenNothingIsIdle(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1; c.ThrottleWait = 20 * time.Millisecond })
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 30})
	b := e.fns.add(&functions.Config{FunctionName: "b"})
	busy := hold(t, e, a, "")
	pidA := busy.pid

	_, err := e.inv.Invoke(context.Background(), Request{Function: b})
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrThrottled) || !errors.As(err, &k) || k.Type != "TooManyRequestsException" || k.Reason != "SandboxBudgetExceeded" {
		t.Fatalf("at the budget with nothing idle: want TooManyRequestsException, got %v", err)
	}
	busy.release(t)
	waitIdle(t, e.inv.pool(a), 1)
	// a's sandbox is idle now: b's call stops it to make room.
	if res, _ := invoke(t, e, b, `{}`); res.FunctionError != "" || !res.ColdStart {
		t.Fatalf("b after a went idle: %+v", res)
	}
	waitGone(t, pidA)
	if s := e.inv.Stats(); s.Budget.Sandboxes != 1 || s.Sandboxes != 1 {
		t.Fatalf("budget use %+v, sandboxes %d", s.Budget, s.Sandboxes)
	}
}

// TestBudgetQueuesCallsForOwnSandboxes checks that at the budget a call to a
// version whose own sandbox is busy waits for that sandbox to come back instead
// of failing as throttled (a load of more connections than the budget holds
// sandboxes gets answers, not 429s), while a version with no sandbox of its own
// still fails after ThrottleWait.
func TestBudgetQueuesCallsForOwnSandboxes(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1; c.ThrottleWait = 20 * time.Millisecond })
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 30})
	b := e.fns.add(&functions.Config{FunctionName: "b"})
	busy := hold(t, e, a, "")

	queued := make(chan error, 1)
	var res *Result
	go func() {
		var err error
		res, err = e.inv.Invoke(context.Background(), Request{Function: a, Payload: []byte(`{"echo":"queued"}`)})
		queued <- err
	}()
	waitFor(t, "the second call of a to wait", func() bool { return e.inv.Stats().Waiting == 1 })
	// b's start waits ThrottleWait for room from a later start than a's
	// waiter's, so once b is throttled a's start has been refused too.
	if _, err := e.inv.Invoke(context.Background(), Request{Function: b}); !errors.Is(err, errdefs.ErrThrottled) {
		t.Fatalf("b with no sandbox of its own at the budget: want throttled, got %v", err)
	}
	select {
	case err := <-queued:
		t.Fatalf("the queued call of a ended before a's sandbox came back: %v", err)
	default:
	}
	busy.release(t)
	if err := <-queued; err != nil || res.FunctionError != "" || res.ColdStart {
		t.Fatalf("queued call of a: %v %+v", err, res)
	}
	if s := e.inv.Stats(); s.Started != 1 {
		t.Fatalf("sandboxes started: %d, want 1", s.Started)
	}
}

// TestMemoryBudgetStopsLeastRecentlyUsed checks the memory budget: with room for
// two 128 MB sandboxes, a third version's start stops the sandbox idle longest.
func TestMemoryBudgetStopsLeastRecentlyUsed(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxMemoryMB = 300 })
	a := e.fns.add(&functions.Config{FunctionName: "a", MemorySize: 128})
	b := e.fns.add(&functions.Config{FunctionName: "b", MemorySize: 128})
	c := e.fns.add(&functions.Config{FunctionName: "c", MemorySize: 128})
	_, oa := invoke(t, e, a, `{}`)
	waitIdle(t, e.inv.pool(a), 1)
	e.clock.Advance(time.Second)
	_, ob := invoke(t, e, b, `{}`)
	waitIdle(t, e.inv.pool(b), 1)
	e.clock.Advance(time.Second)
	if res, _ := invoke(t, e, c, `{}`); res.FunctionError != "" {
		t.Fatalf("c: %s", res.Payload)
	}
	waitGone(t, oa.Pid)
	if res, o := invoke(t, e, b, `{}`); res.ColdStart || o.Pid != ob.Pid {
		t.Fatalf("b, used more recently than a, lost its sandbox: cold=%v pid %d, was %d; a was %d; %+v", res.ColdStart, o.Pid, ob.Pid, oa.Pid, e.inv.Stats())
	}
	if s := e.inv.Stats(); s.Budget.MemoryMB > 300 {
		t.Fatalf("memory in use %d MB over the budget", s.Budget.MemoryMB)
	}
}

// TestProvisionedSandboxesGoLast checks that at the budget an idle provisioned
// sandbox is kept while another idle sandbox can go, even a more recently used one.
func TestProvisionedSandboxesGoLast(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 2 })
	prov := e.fns.add(&functions.Config{FunctionName: "prov", Version: "1"})
	other := e.fns.add(&functions.Config{FunctionName: "other"})
	third := e.fns.add(&functions.Config{FunctionName: "third"})
	e.fns.mu.Lock()
	e.fns.prov = []functions.ProvisionedConfig{{FunctionName: "prov", Qualifier: "1", Requested: 1}}
	e.fns.mu.Unlock()
	pp := e.inv.pool(prov)
	e.tick(t)
	waitIdle(t, pp, 1)
	e.clock.Advance(time.Second) // the provisioned sandbox is now the one idle longest
	_, oo := invoke(t, e, other, `{}`)
	waitIdle(t, e.inv.pool(other), 1)
	if res, _ := invoke(t, e, third, `{}`); res.FunctionError != "" {
		t.Fatalf("third: %s", res.Payload)
	}
	waitGone(t, oo.Pid)
	if res, o := invoke(t, e, prov, `{"env":"AWS_LAMBDA_INITIALIZATION_TYPE"}`); res.ColdStart || o.Env != "provisioned-concurrency" {
		t.Fatalf("the provisioned sandbox was stopped: cold=%v", res.ColdStart)
	}
}

// TestBudgetThrottleBesideAnIdleProvisionedSandbox: at the budget, with the
// only sandbox an idle provisioned one (stopped only for another provisioned
// one), a call to another version is throttled, and its message does not say
// that no sandbox was idle: none was one that may be stopped.
func TestBudgetThrottleBesideAnIdleProvisionedSandbox(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1; c.ThrottleWait = 20 * time.Millisecond })
	prov := e.fns.add(&functions.Config{FunctionName: "prov", Version: "1"})
	other := e.fns.add(&functions.Config{FunctionName: "other"})
	e.fns.mu.Lock()
	e.fns.prov = []functions.ProvisionedConfig{{FunctionName: "prov", Qualifier: "1", Requested: 1}}
	e.fns.mu.Unlock()
	e.tick(t)
	waitIdle(t, e.inv.pool(prov), 1)
	_, err := e.inv.Invoke(context.Background(), Request{Function: other})
	var k *errdefs.Kinded
	if !errors.As(err, &k) || k.Reason != "SandboxBudgetExceeded" {
		t.Fatalf("want SandboxBudgetExceeded, got %v", err)
	}
	if strings.Contains(k.Message, "none idle") || !strings.Contains(k.Message, "none that may be stopped") {
		t.Fatalf("message %q: a provisioned sandbox was idle; want \"none that may be stopped\"", k.Message)
	}
}

// TestBudgetSmallerThanProvisionedIsRefused checks that provisioned concurrency
// the budget cannot hold is refused, both as a change and at start.
func TestBudgetSmallerThanProvisionedIsRefused(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 2; c.MaxMemoryMB = 1024 })
	e.fns.add(&functions.Config{FunctionName: "p", Version: "1", MemorySize: 256})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		list []functions.ProvisionedConfig
		ok   bool
	}{
		{"fits", []functions.ProvisionedConfig{{FunctionName: "p", Qualifier: "1", Requested: 2}}, true},
		{"over the count", []functions.ProvisionedConfig{{FunctionName: "p", Qualifier: "1", Requested: 3}}, false},
		{"over the count in all", []functions.ProvisionedConfig{{FunctionName: "p", Qualifier: "1", Requested: 2}, {FunctionName: "q", Qualifier: "live", Requested: 1}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.inv.CheckProvisioned(ctx, tc.list)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, errdefs.ErrInvalid)) {
				t.Fatalf("got %v", err)
			}
		})
	}
	mem := newEnv(t, func(c *Config) { c.MaxMemoryMB = 500 })
	mem.fns.add(&functions.Config{FunctionName: "p", Version: "1", MemorySize: 256})
	if err := mem.inv.CheckProvisioned(ctx, []functions.ProvisionedConfig{{FunctionName: "p", Qualifier: "1", Requested: 2}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("512 MB provisioned with a 500 MB budget: %v", err)
	}

	// At start: an invoker whose budget is smaller than what is configured.
	e.fns.mu.Lock()
	e.fns.prov = []functions.ProvisionedConfig{{FunctionName: "p", Qualifier: "1", Requested: 3}}
	e.fns.mu.Unlock()
	inv, err := New(Params{Config: Config{MaxSandboxes: 2}, Runtime: e.inv.rt, Functions: e.fns, Store: e.st, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Start(ctx); err == nil || !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("start with 3 provisioned and a budget of 2: %v", err)
	}
}

// fakeUsage is a hand-written Usage: the versions in use.
type fakeUsage struct {
	mu    sync.Mutex
	inUse map[string]bool
}

func (u *fakeUsage) InUse(_ context.Context, fn, version string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.inUse[fn+":"+version]
}

// TestUnusedVersionReapedAfterShortIdle checks that a version nothing uses loses
// its idle sandboxes after UnusedIdleTimeout while a version in use keeps its
// warm ones until IdleTimeout.
func TestUnusedVersionReapedAfterShortIdle(t *testing.T) {
	usage := &fakeUsage{inUse: map[string]bool{"fn:2": true}}
	e := newEnv(t, func(c *Config) { c.IdleTimeout = 10 * time.Minute; c.UnusedIdleTimeout = time.Minute })
	e.inv.p.Usage = usage
	v1 := e.fns.add(&functions.Config{FunctionName: "fn", Version: "1"})
	v2 := e.fns.add(&functions.Config{FunctionName: "fn", Version: "2"})
	_, o1 := invoke(t, e, v1, `{}`)
	_, o2 := invoke(t, e, v2, `{}`)
	waitIdle(t, e.inv.pool(v1), 1)
	waitIdle(t, e.inv.pool(v2), 1)

	for range int(time.Minute/e.inv.tickPeriod()) + 2 { // just past the short idle time
		e.tick(t)
	}
	waitGone(t, o1.Pid)
	waitFor(t, "version 1's sandbox forgotten", func() bool { return e.inv.Stats().Sandboxes == 1 })
	if res, o := invoke(t, e, v2, `{}`); res.ColdStart || o.Pid != o2.Pid {
		t.Fatal("the version in use lost its warm sandbox after the short idle time")
	}
	if s := e.inv.Stats(); s.Sandboxes != 1 {
		t.Fatalf("%d sandboxes left, want the one of version 2", s.Sandboxes)
	}
}

// waitIdle waits until p has n idle sandboxes.
func waitIdle(t testing.TB, p *pool, n int) {
	t.Helper()
	waitFor(t, "idle sandboxes", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.idle) == n })
}

// TestMemoryBudgetOverHostWarns checks that a memory budget larger than the
// host's memory is accepted with a warning that says so.
func TestMemoryBudgetOverHostWarns(t *testing.T) {
	host := hostMemoryMB()
	if host <= 0 {
		t.Skip("the host's memory is not known on this platform")
	}
	e := newEnv(t, nil)
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	if _, err := New(Params{Config: Config{MaxMemoryMB: 2 * host}, Runtime: e.inv.rt, Functions: e.fns, Store: e.st, Clock: e.clock, Log: log}); err != nil {
		t.Fatalf("a memory budget over the host's memory is refused: %v", err)
	}
	if !strings.Contains(logged.String(), "larger than the host's memory") {
		t.Fatalf("no warning: %q", logged.String())
	}
	logged.Reset()
	if _, err := New(Params{Config: Config{MaxMemoryMB: host / 2}, Runtime: e.inv.rt, Functions: e.fns, Store: e.st, Clock: e.clock, Log: log}); err != nil || logged.Len() > 0 {
		t.Fatalf("half the host's memory: %v, logged %q", err, logged.String())
	}
}

// TestUnneededStartGivesUp checks that a start waiting for room in the budget
// gives up once its pool no longer needs it: here the call it was started for
// is served by the pool's own sandbox coming back. Without that, the start saw
// the sandbox go idle, stopped it to make room, and started another for nobody.
func TestUnneededStartGivesUp(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1; c.ThrottleWait = time.Hour })
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 30})
	busy := hold(t, e, a, "")
	queued := make(chan error, 1)
	go func() {
		_, err := e.inv.Invoke(context.Background(), Request{Function: a, Payload: []byte(`{}`)})
		queued <- err
	}()
	p := e.inv.pool(a)
	startingOf := func() int { p.mu.Lock(); defer p.mu.Unlock(); return p.starting }
	waitFor(t, "a start for the queued call", func() bool { return startingOf() == 1 })
	busy.release(t)
	if err := <-queued; err != nil {
		t.Fatalf("queued call: %v", err)
	}
	waitFor(t, "the start to end", func() bool { return startingOf() == 0 })
	if s := e.inv.Stats(); s.Started != 1 {
		t.Fatalf("sandboxes started: %d, want 1 (the queued call's start went on once the call was served)", s.Started)
	}
	if _, o := invoke(t, e, a, `{}`); o.Pid != busy.pid {
		t.Fatalf("a's sandbox was replaced: pid %d, was %d", o.Pid, busy.pid)
	}
}

// TestStopEndsStartsWaitingForRoom checks that Stop does not return while a
// start waits for room in the budget: the start gives up, and no sandbox is
// started (and left running, its pid file in the runtime's directory) once the
// sandboxes Stop stopped have made room.
func TestStopEndsStartsWaitingForRoom(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1; c.ThrottleWait = time.Hour; c.DrainTimeout = time.Nanosecond })
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 30})
	hold(t, e, a, "") // never released: Stop stops its sandbox
	go func() { _, _ = e.inv.Invoke(context.Background(), Request{Function: a, Payload: []byte(`{}`)}) }()
	p := e.inv.pool(a)
	startingOf := func() int { p.mu.Lock(); defer p.mu.Unlock(); return p.starting }
	waitFor(t, "a start for the queued call", func() bool { return startingOf() == 1 })
	inv := e.inv
	e.stop()
	if n := startingOf(); n != 0 {
		t.Fatalf("Stop returned with %d start(s) still on their way", n)
	}
	if n := inv.launched.Load(); n != 1 {
		t.Fatalf("sandboxes launched: %d, want 1", n)
	}
	entries, err := os.ReadDir(filepath.Join(e.dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		t.Errorf("left in the runtime's directory after Stop: %s", en.Name())
	}
}

// TestSplitProvisioned: an alias's provisioned sandboxes go to its versions by
// weight, the additional version's share rounded, and add up to the request.
func TestSplitProvisioned(t *testing.T) {
	share := func(w ...float64) []functions.Share {
		out := make([]functions.Share, len(w))
		for i, x := range w {
			out[i] = functions.Share{Config: &functions.Config{}, Weight: x}
		}
		return out
	}
	for _, tc := range []struct {
		n      int
		shares []functions.Share
		want   []int
	}{
		{3, share(1), []int{3}},
		{4, share(0.5, 0.5), []int{2, 2}},
		{1, share(0.7, 0.3), []int{1, 0}},
		{3, share(0.5, 0.5), []int{1, 2}},
		{10, share(0.9, 0.1), []int{9, 1}},
		{2, share(0.01, 0.99), []int{0, 2}},
	} {
		if got := splitProvisioned(tc.n, tc.shares); !slices.Equal(got, tc.want) {
			t.Errorf("splitProvisioned(%d, %v) = %v, want %v", tc.n, tc.shares, got, tc.want)
		}
	}
}

// initType is the AWS_LAMBDA_INITIALIZATION_TYPE a held call's sandbox saw.
func initType(t *testing.T, h *held) string {
	t.Helper()
	res := h.release(t)
	var o out
	if res == nil || json.Unmarshal(res.Payload, &o) != nil {
		t.Fatalf("held call: %+v", res)
	}
	return o.Env
}

// TestProvisionedSandboxesServeFirst: provisioned concurrency put on a version
// that already has warm on-demand sandboxes starts provisioned sandboxes of its
// own; calls go to them first, only the overflow to the on-demand ones, which
// are then reaped as idle while the provisioned ones stay.
func TestProvisionedSandboxesServeFirst(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IdleTimeout = time.Minute })
	cfg := e.fns.add(&functions.Config{FunctionName: "prov", Version: "1", Timeout: 30})
	const env = `"env":"AWS_LAMBDA_INITIALIZATION_TYPE",`
	a, b := hold(t, e, cfg, env), hold(t, e, cfg, env)
	if ta, tb := initType(t, a), initType(t, b); ta != "on-demand" || tb != "on-demand" {
		t.Fatalf("before provisioned concurrency: %q %q", ta, tb)
	}
	p := e.inv.pool(cfg)
	waitIdle(t, p, 2)

	pc := functions.ProvisionedConfig{FunctionName: "prov", Qualifier: "1", Requested: 2}
	e.fns.mu.Lock()
	e.fns.prov = []functions.ProvisionedConfig{pc}
	e.fns.mu.Unlock()
	e.tick(t)
	waitFor(t, "two provisioned sandboxes ready", func() bool {
		st, err := e.inv.ProvisionedStatus(context.Background(), pc)
		return err == nil && st.Allocated == 2
	})
	waitIdle(t, p, 4)

	for range 4 {
		waitIdle(t, p, 4) // the last call's sandbox back in next
		if res, o := invoke(t, e, cfg, `{`+env+`"x":1}`); res.ColdStart || o.Env != "provisioned-concurrency" {
			t.Fatalf("a call with provisioned sandboxes idle ran on: %q (cold %v)", o.Env, res.ColdStart)
		}
	}
	waitIdle(t, p, 4)
	h1, h2 := hold(t, e, cfg, env), hold(t, e, cfg, env)
	spill := hold(t, e, cfg, env)
	t1, t2 := initType(t, h1), initType(t, h2)
	waitIdle(t, p, 3)
	if ts := initType(t, spill); t1 != "provisioned-concurrency" || t2 != "provisioned-concurrency" || ts != "on-demand" {
		t.Fatalf("three concurrent calls ran on %q %q %q, want the two provisioned, then on-demand", t1, t2, ts)
	}
	// The on-demand sandbox is now the one used last; the next call still
	// goes to a provisioned one.
	waitIdle(t, p, 4)
	if res, o := invoke(t, e, cfg, `{`+env+`"x":1}`); res.ColdStart || o.Env != "provisioned-concurrency" {
		t.Fatalf("a call after the overflow ran on: %q (cold %v)", o.Env, res.ColdStart)
	}
	waitIdle(t, p, 4)

	e.clock.Advance(2 * time.Minute) // past IdleTimeout
	e.tick(t)
	waitFor(t, "the on-demand sandboxes reaped", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.all) == 2
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	for sb := range p.all {
		if !sb.provisioned {
			t.Errorf("on-demand sandbox %s kept idle past the idle timeout", sb.id)
		}
	}
}
