package invoker

import (
	"time"

	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
)

// preparingRuntime adds runtimes.Preparer to a runtime: Prepare records the spec,
// Start of the prepared sandbox starts it then.
type preparingRuntime struct {
	runtimes.Runtime
	prepared, started, discarded atomic.Int32
}

type fakePrepared struct {
	rt   *preparingRuntime
	spec runtimes.Spec
	once sync.Once
}

func (r *preparingRuntime) Prepare(_ context.Context, spec runtimes.Spec) (runtimes.Prepared, error) {
	r.prepared.Add(1)
	return &fakePrepared{rt: r, spec: spec}, nil
}

func (p *fakePrepared) Start(ctx context.Context) (runtimes.Sandbox, error) {
	p.rt.started.Add(1)
	return p.rt.Start(ctx, p.spec)
}

func (p *fakePrepared) Discard(context.Context) error {
	p.once.Do(func() { p.rt.discarded.Add(1) })
	return nil
}

func TestColdStartsUsePreparedSpare(t *testing.T) {
	e := newEnv(t, nil)
	rt := &preparingRuntime{Runtime: e.inv.rt}
	e.inv.rt = rt
	cfg := e.fns.add(&functions.Config{FunctionName: "spare"})

	res, first := invoke(t, e, cfg, `{}`)
	if !res.ColdStart || rt.started.Load() != 0 {
		t.Fatalf("first call: cold=%v, prepared starts %d", res.ColdStart, rt.started.Load())
	}
	p := e.inv.pool(cfg)
	waitFor(t, "a spare to be prepared", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.spare != nil
	})
	// Stop the warm sandbox: the next call is a cold start, served by the spare.
	p.mu.Lock()
	for sb := range p.all {
		sb.stop()
	}
	p.mu.Unlock()
	waitGone(t, first.Pid)
	// The process is gone before the pool hears of it (died): until then the
	// next call could be handed the dead sandbox, not a cold start.
	waitFor(t, "the pool to drop the stopped sandbox", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.all) == 0 })
	res2, second := invoke(t, e, cfg, `{"env":"AWS_LAMBDA_FUNCTION_NAME"}`)
	if !res2.ColdStart || rt.started.Load() != 1 || second.Env != "spare" || second.Pid == first.Pid {
		t.Fatalf("second call: cold=%v prepared starts=%d env=%q", res2.ColdStart, rt.started.Load(), second.Env)
	}
	// Using the spare prepares the next one; retiring the pool discards it.
	waitFor(t, "the next spare", func() bool { return rt.prepared.Load() == 2 })
	waitFor(t, "spare stored", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.spare != nil })
	retireFunction(e.inv, "spare")
	waitFor(t, "the spare to be discarded", func() bool { return rt.discarded.Load() == 1 })
}

func TestUpdatedRevisionOfAHotFunctionGetsASpare(t *testing.T) {
	e := newEnv(t, nil)
	rt := &preparingRuntime{Runtime: e.inv.rt}
	e.inv.rt = rt
	cfg := e.fns.add(&functions.Config{FunctionName: "deploy"})
	if res, _ := invoke(t, e, cfg, `{}`); !res.ColdStart {
		t.Fatal("first call should be cold")
	}
	// A new revision of $LATEST (an update) while the function is in use.
	next := e.fns.add(&functions.Config{FunctionName: "deploy", Environment: map[string]string{"V": "2"}})
	e.inv.functionChanged("deploy")
	p := e.inv.pool(next)
	waitFor(t, "a spare for the new revision", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.spare != nil })
	before := rt.started.Load()
	res, o := invoke(t, e, next, `{"env":"V"}`)
	if !res.ColdStart || o.Env != "2" || rt.started.Load() != before+1 {
		t.Fatalf("first call of the new revision: cold=%v env=%q prepared starts %d -> %d", res.ColdStart, o.Env, before, rt.started.Load())
	}
	// A function nobody called gets no spare on update.
	e.fns.add(&functions.Config{FunctionName: "never-called"})
	e.fns.add(&functions.Config{FunctionName: "never-called", Environment: map[string]string{"V": "2"}})
	e.inv.functionChanged("never-called")
	cur, _ := e.fns.Get(context.Background(), "never-called", "")
	np := e.inv.pool(cur)
	np.mu.Lock()
	spare := np.spare != nil || np.preparing
	np.mu.Unlock()
	if spare {
		t.Fatal("a function nobody called got a spare")
	}
	startedBefore := rt.started.Load()
	if res, _ := invoke(t, e, cur, `{}`); !res.ColdStart {
		t.Fatal("first call of never-called should be cold")
	}
	// (Being called now, it gets a spare for its next cold start; this one was
	// a full start.)
	if rt.started.Load() != startedBefore {
		t.Fatal("never-called was started from a spare")
	}
}

// TestSpareCap checks the invoker-wide cap on prepared spares: at the cap, the
// spare of the version used least recently gives way to a version used more
// recently, and never the other way round.
func TestSpareCap(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSpares = 1 })
	rt := &preparingRuntime{Runtime: e.inv.rt}
	e.inv.rt = rt
	older := e.fns.add(&functions.Config{FunctionName: "older"})
	newer := e.fns.add(&functions.Config{FunctionName: "newer"})
	hasSpare := func(p *pool) bool { p.mu.Lock(); defer p.mu.Unlock(); return p.spare != nil }

	if res, _ := invoke(t, e, older, `{}`); !res.ColdStart {
		t.Fatal("first call of older should be cold")
	}
	po := e.inv.pool(older)
	waitFor(t, "older's spare", func() bool { return hasSpare(po) })

	// newer is called after older: at the cap, older's spare goes.
	e.clock.Advance(time.Second)
	if res, _ := invoke(t, e, newer, `{}`); !res.ColdStart {
		t.Fatal("first call of newer should be cold")
	}
	pn := e.inv.pool(newer)
	waitFor(t, "newer's spare", func() bool { return hasSpare(pn) })
	waitFor(t, "older's spare to be discarded", func() bool { return rt.discarded.Load() == 1 })
	if hasSpare(po) {
		t.Fatal("older kept its spare past the cap")
	}
	// older, used less recently than newer, cannot take newer's place.
	if e.inv.reserveSpare(po) {
		t.Fatal("a spare was reserved for the least recently used version at the cap")
	}
	if !hasSpare(pn) || rt.prepared.Load() != 2 {
		t.Fatalf("newer's spare: %v, prepared %d", hasSpare(pn), rt.prepared.Load())
	}
}

// TestNoSparesWhenCapIsZero checks that MaxSpares 0 turns spares off.
func TestNoSparesWhenCapIsZero(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSpares = 0 })
	rt := &preparingRuntime{Runtime: e.inv.rt}
	e.inv.rt = rt
	cfg := e.fns.add(&functions.Config{FunctionName: "nospare"})
	if res, _ := invoke(t, e, cfg, `{}`); !res.ColdStart {
		t.Fatal("first call should be cold")
	}
	p := e.inv.pool(cfg)
	p.prepareSpare() // what the cold start did in the background, now synchronously
	if rt.prepared.Load() != 0 {
		t.Fatalf("%d spares prepared with MaxSpares 0", rt.prepared.Load())
	}
}

// TestDeletedVersionStopsItsSandboxes: deleting a published version stops its
// idle sandboxes and discards its spare at once, as deleting the function
// does; they held the budget until the idle timeout, and a spare could even
// start after the delete. $LATEST's sandbox is left alone.
func TestDeletedVersionStopsItsSandboxes(t *testing.T) {
	e := newEnv(t, nil)
	rt := &preparingRuntime{Runtime: e.inv.rt}
	e.inv.rt = rt
	latest := e.fns.add(&functions.Config{FunctionName: "v"})
	v1 := e.fns.add(&functions.Config{FunctionName: "v", Version: "1"})
	_, l := invoke(t, e, latest, `{}`)
	_, one := invoke(t, e, v1, `{}`)
	p := e.inv.pool(v1)
	waitFor(t, "a spare for version 1", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.spare != nil })

	e.fns.remove("v", "1")
	waitGone(t, one.Pid)
	waitFor(t, "version 1's spare to be discarded", func() bool { return rt.discarded.Load() >= 1 })
	for _, v := range e.inv.Stats().Versions {
		if v.Version == "1" {
			t.Fatalf("version 1 still has sandboxes after its delete: %+v", v)
		}
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(l.Pid) + "/stat"); err != nil || strings.Contains(string(b), ") Z ") {
		t.Fatalf("$LATEST's sandbox was stopped with version 1's: %v", err)
	}
}
