package invoker

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

type callResult struct {
	res *Result
	err error
}

// queueCall starts a call of fn that finds the budget full and waits for a
// sandbox, and returns once it waits.
func queueCall(t *testing.T, e *env, req Request) <-chan callResult {
	t.Helper()
	got := make(chan callResult, 1)
	n := e.inv.Stats().Waiting
	go func() {
		res, err := e.inv.Invoke(context.Background(), req)
		got <- callResult{res, err}
	}()
	waitFor(t, "the call to wait for a sandbox", func() bool { return e.inv.Stats().Waiting > n })
	return got
}

// receive returns the call's result, failing the test if it does not come
// (a wait that nothing bounds).
func receive(t *testing.T, got <-chan callResult) callResult {
	t.Helper()
	select {
	case g := <-got:
		return g
	case <-time.After(20 * time.Second):
		t.Fatal("the call did not end at its deadline")
		return callResult{}
	}
}

// TestCallerDeadlineCountsTheQueue checks that a caller's timeout (an API's
// integration timeout) bounds the whole call, the wait for a sandbox
// included: a call queued past it fails as timed out at its deadline, not
// when a sandbox finally takes it.
func TestCallerDeadlineCountsTheQueue(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1 })
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 30})
	busy := hold(t, e, a, "")

	// Once the call waits, its bound is armed (the pool's timer).
	got := queueCall(t, e, Request{Function: a, Payload: []byte(`{}`), Timeout: 2 * time.Second})
	e.clock.Advance(2 * time.Second)
	g := receive(t, got)
	if !errors.Is(g.err, errdefs.ErrTimeout) {
		t.Fatalf("a call queued past its caller's deadline: want a timeout, got %v %+v", g.err, g.res)
	}
	if s := e.inv.Stats(); s.Waiting != 0 {
		t.Fatalf("the timed-out call still waits: %+v", s)
	}
	if res := busy.release(t); res == nil || res.FunctionError != "" {
		t.Fatalf("the held call: %+v", res)
	}
}

// TestCallerDeadlineLeftAfterQueueing checks that a call that waited for a
// sandbox runs only for what is left of its caller's timeout.
func TestCallerDeadlineLeftAfterQueueing(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1 })
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 30})
	busy := hold(t, e, a, "")

	pidFile, gate := filepath.Join(t.TempDir(), "pid"), filepath.Join(t.TempDir(), "gate")
	got := queueCall(t, e, Request{Function: a, Payload: []byte(`{"waitFile":"` + gate + `","pidFile":"` + pidFile + `"}`), Timeout: 2 * time.Second})
	e.clock.Advance(1500 * time.Millisecond)
	busy.release(t)
	waitForFile(t, pidFile) // the sandbox runs the queued call
	select {
	case g := <-got:
		t.Fatalf("the queued call ended before its deadline: %v %+v", g.err, g.res)
	default:
	}
	// Its deadline is the caller's, 2 s after the call: 0.5 s from now, not 2 s.
	e.clock.Advance(500 * time.Millisecond)
	g := receive(t, got)
	if g.err != nil || !g.res.TimedOut || !g.res.CallerTimeout {
		t.Fatalf("want the caller's timeout 2 s after the call: %v %+v", g.err, g.res)
	}
	writeFile(t, gate) // the function runs on past its caller's deadline: let it end
}

// TestQueueWaitThrottles checks that a direct Invoke (no caller timeout) waits
// for a sandbox at most QueueWait, then fails as Lambda throttles:
// TooManyRequestsException, ConcurrentInvocationLimitExceeded.
func TestQueueWaitThrottles(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxSandboxes = 1; c.QueueWait = 3 * time.Second })
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 30})
	busy := hold(t, e, a, "")

	got := queueCall(t, e, Request{Function: a, Payload: []byte(`{}`)})
	e.clock.Advance(3 * time.Second)
	g := receive(t, got)
	var k *errdefs.Kinded
	if !errors.Is(g.err, errdefs.ErrThrottled) || !errors.As(g.err, &k) || k.Type != "TooManyRequestsException" ||
		k.Reason != "ConcurrentInvocationLimitExceeded" {
		t.Fatalf("a call queued past QueueWait: want TooManyRequestsException, got %v %+v", g.err, g.res)
	}
	busy.release(t)
}
