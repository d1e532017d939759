package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// gatedRuntime holds each sandbox start, once hold is set, until the test
// closes gate; entered says a start is held.
type gatedRuntime struct {
	runtimes.Runtime
	hold    atomic.Bool
	entered chan struct{}
	gate    chan struct{}
}

func newGatedRuntime(rt runtimes.Runtime) *gatedRuntime {
	return &gatedRuntime{Runtime: rt, entered: make(chan struct{}, 8), gate: make(chan struct{})}
}

func (r *gatedRuntime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	if r.hold.Load() {
		r.entered <- struct{}{}
		<-r.gate
	}
	return r.Runtime.Start(ctx, spec)
}

// callOutcome is what a call made in the background returned.
type callOutcome struct {
	res *Result
	err error
}

// callAsync invokes fn in the background with no deadline of its own: only
// the invoker can end the call.
func callAsync(e *env, fn *functions.Config, payload string) <-chan callOutcome {
	ch := make(chan callOutcome, 1)
	go func() {
		res, err := e.inv.Invoke(context.Background(), Request{Function: fn, Payload: []byte(payload)})
		ch <- callOutcome{res, err}
	}()
	return ch
}

// ended returns the call's outcome, failing the test if it does not come: a
// hang guard, no timing assertion (a call that ends at all ends in well under
// a second here).
func ended(t *testing.T, what string, ch <-chan callOutcome) callOutcome {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never returned", what)
		return callOutcome{}
	}
}

// waitersOf returns the calls waiting in p.
func waitersOf(p *pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiters)
}

// TestWaiterServedWhenConfigChangesDuringItsColdStart: a call waiting for the
// sandbox started for it when $LATEST's configuration changes is served by
// that sandbox (the old revision's, as the call was dispatched), not left
// waiting: the sandbox used to be stopped as stale when it reached next
// (410 SandboxStopping) and the call waited forever.
func TestWaiterServedWhenConfigChangesDuringItsColdStart(t *testing.T) {
	e := newEnv(t, nil)
	rt := newGatedRuntime(e.inv.rt)
	e.inv.rt = rt
	cfg := e.fns.add(&functions.Config{FunctionName: "f1"})
	if res, _ := invoke(t, e, cfg, `{}`); !res.ColdStart {
		t.Fatal("first call should be cold")
	}
	old := e.inv.pool(cfg)
	a := hold(t, e, cfg, "") // takes the warm sandbox
	rt.hold.Store(true)
	b := callAsync(e, cfg, `{"echo":"b"}`)
	<-rt.entered // b waits; its sandbox is starting
	e.fns.add(&functions.Config{FunctionName: "f1", Timeout: 12})
	e.inv.functionChanged("f1")
	close(rt.gate)

	got := ended(t, "the call waiting for its sandbox", b)
	if got.err != nil || got.res.FunctionError != "" || string(got.res.Payload) == "" {
		t.Fatalf("waiting call: %+v, %v", got.res, got.err)
	}
	if !got.res.ColdStart {
		t.Fatal("the waiting call should report its cold start")
	}
	if r := a.release(t); r == nil || r.FunctionError != "" {
		t.Fatalf("held call: %+v", r)
	}
	// The retired pool keeps nothing once its calls are served.
	waitGone(t, a.pid)
	waitFor(t, "the retired pool to empty", func() bool {
		old.mu.Lock()
		defer old.mu.Unlock()
		return len(old.all) == 0 && old.starting == 0 && len(old.idle) == 0
	})
}

// TestWaiterServedByReturningSandboxOfRetiredPool: at the sandbox budget, a
// call queued for its version's busy sandbox when $LATEST's configuration
// changes is served by that sandbox when it comes back (the retired pool's
// start for it, waiting for room, gives up as unneeded), not left waiting.
func TestWaiterServedByReturningSandboxOfRetiredPool(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1; c.ThrottleWait = time.Hour })
	cfg := e.fns.add(&functions.Config{FunctionName: "f1"})
	a := hold(t, e, cfg, "")
	old := e.inv.pool(cfg)
	b := callAsync(e, cfg, `{"echo":"b"}`)
	waitFor(t, "b to wait", func() bool { return waitersOf(old) == 1 })
	e.fns.add(&functions.Config{FunctionName: "f1", Timeout: 12})
	e.inv.functionChanged("f1")
	if r := a.release(t); r == nil || r.FunctionError != "" {
		t.Fatalf("held call: %+v", r)
	}
	got := ended(t, "the call queued for the busy sandbox", b)
	if got.err != nil || got.res.FunctionError != "" {
		t.Fatalf("queued call: %+v, %v", got.res, got.err)
	}
	var o out
	if err := json.Unmarshal(got.res.Payload, &o); err != nil || o.Pid != a.pid {
		t.Fatalf("queued call ran on pid %d (%v), want the busy sandbox's %d", o.Pid, err, a.pid)
	}
	waitGone(t, a.pid) // then stopped: its pool is retired
}

// TestStopFailsQueuedCalls: a call still waiting for a sandbox when Stop
// gives up draining ends with ServiceException, instead of waiting forever.
func TestStopFailsQueuedCalls(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1; c.ThrottleWait = time.Hour; c.DrainTimeout = time.Nanosecond })
	cfg := e.fns.add(&functions.Config{FunctionName: "f1", Timeout: 30})
	hold(t, e, cfg, "") // never released: Stop stops its sandbox
	p := e.inv.pool(cfg)
	b := callAsync(e, cfg, `{}`)
	waitFor(t, "b to wait", func() bool { return waitersOf(p) == 1 })
	e.stop()
	got := ended(t, "the queued call", b)
	var k *errdefs.Kinded
	if !errors.Is(got.err, errdefs.ErrUnavailable) || !errors.As(got.err, &k) || k.Type != "ServiceException" {
		t.Fatalf("queued call at shutdown: %+v, %v", got.res, got.err)
	}
}

// TestCallReachingRetiredPoolIsServed: a call that found its pool just before
// the pool was retired, and asks it for a sandbox just after, gets one (a
// retired pool starts sandboxes for the calls that wait in it), not a wait
// that nothing ends.
func TestCallReachingRetiredPoolIsServed(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "f1"})
	p := e.inv.pool(cfg)
	e.fns.add(&functions.Config{FunctionName: "f1", Timeout: 12})
	e.inv.functionChanged("f1")
	granted := make(chan grant, 1)
	go func() {
		granted <- p.acquire(context.Background(), nil, waitLimit{until: e.clock.Now().Add(time.Hour)})
	}()
	var g grant
	select {
	case g = <-granted:
	case <-time.After(20 * time.Second):
		t.Fatal("a call of the retired pool never got a sandbox")
	}
	if g.err != nil || g.fail != nil || g.sb == nil {
		t.Fatalf("grant: %+v", g)
	}
	p.release(g.sb) // no call waits any more: the sandbox stops
	<-g.sb.gone
}

// TestReturningSandboxThatNeverCallsNextIsReplaced: a call waiting for the
// pool's one sandbox, which posted its last result and never calls next
// again, gets another sandbox once that invocation's deadline has passed (the
// sandbox is stopped, as Lambda resets an environment whose invoke phase
// overruns its timeout), instead of waiting for it forever.
func TestReturningSandboxThatNeverCallsNextIsReplaced(t *testing.T) {
	ce := newClientEnv(t) // its sandbox posted call 0's result; no next follows
	rt := ce.inv.rt.(*clientRuntime)
	p := ce.inv.pool(ce.cfg)
	res := ce.call(t, `{"n":1}`)
	waitFor(t, "the call to wait", func() bool { return waitersOf(p) == 1 })
	// Past call 0's 3 s timeout, then one more maintenance pass: a sandbox
	// goes when two passes in a row find it overdue.
	ce.clock.Advance(4 * time.Second)
	ce.tick(t)
	ce.tick(t)
	select {
	case <-ce.rsb.stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the sandbox that never called next again was not stopped")
	}
	var spec runtimes.Spec
	select {
	case spec = <-rt.specs:
	case <-time.After(20 * time.Second):
		t.Fatal("no sandbox was started for the waiting call")
	}
	<-rt.started
	c := dialRAPI(t, spec.Env["AWS_LAMBDA_RUNTIME_API"])
	id, payload := c.next(t)
	if payload != `{"n":1}` {
		t.Fatalf("next delivered %s", payload)
	}
	c.respond(t, id, `"ok"`)
	awaitOK(t, res)
}

// TestCallDoesNotWaitLongForAReturningSandbox: a call that finds the pool's
// one sandbox returning (it posted its result, its next has not come) waits
// for it only returnWait, then gets a sandbox of its own, as Lambda, whose
// environment is busy until its runtime calls next again, would start one;
// not the returning invocation's timeout and more. The late sandbox, when it
// comes back, is idle.
func TestCallDoesNotWaitLongForAReturningSandbox(t *testing.T) {
	ce := newClientEnv(t) // its sandbox posted call 0's result; its next is late
	rt := ce.inv.rt.(*clientRuntime)
	p := ce.inv.pool(ce.cfg)
	bounded := ce.clock.expectTimer(returnWait)
	res := ce.call(t, `{"n":1}`)
	waitFor(t, "the call to wait", func() bool { return waitersOf(p) == 1 })
	bounded(t)
	select {
	case <-rt.specs:
		t.Fatal("a sandbox was started before the returning one had its time to come back")
	default:
	}
	ce.clock.Advance(returnWait)
	var spec runtimes.Spec
	select {
	case spec = <-rt.specs:
	case <-time.After(20 * time.Second):
		t.Fatal("no sandbox was started for the call past returnWait")
	}
	<-rt.started
	c := dialRAPI(t, spec.Env["AWS_LAMBDA_RUNTIME_API"])
	id, payload := c.next(t)
	if payload != `{"n":1}` {
		t.Fatalf("next delivered %s", payload)
	}
	c.respond(t, id, `"ok"`)
	if r := <-res; r == nil || string(r.Payload) != `"ok"` || !r.ColdStart {
		t.Fatalf("the call: %+v, want the new sandbox's cold answer", r)
	}
	// The late sandbox comes back to next: idle, and counted once.
	late := ce.poll(t)
	defer late.Close()
	waitFor(t, "the late sandbox idle", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, sb := range p.idle {
			if sb == ce.sb {
				return true
			}
		}
		return false
	})
	p.mu.Lock()
	returning := p.returning
	p.mu.Unlock()
	if returning != 1 { // the new sandbox's own return, its next not sent
		t.Fatalf("pool counts %d sandboxes returning, want 1", returning)
	}
}
