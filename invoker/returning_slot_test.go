package invoker

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// returningWithReservation serves one call of a function with a reservation
// of 1 on the test's runtime, which posts the result and does not call next
// again: the caller has its answer at once, and the sandbox, busy until its
// runtime is back in next, keeps the call's concurrency (the slot and the
// concurrent-executions count), so that the next call is throttled, as on
// Lambda. It returns the runtime's connection and the observer.
func returningWithReservation(t *testing.T) (*clientEnv, *rapiClient, *fakeObserver) {
	t.Helper()
	ce := newClientEnv(t)
	c := ce.poll(t) // the setup's call is over: its sandbox is in next
	obs := &fakeObserver{}
	ce.inv.obs = obs
	ce.fns.setReserved(ce.cfg.FunctionName, 1)

	res := ce.call(t, `{"n":1}`)
	resp, body := c.read(t)
	if resp.StatusCode != http.StatusOK || body != `{"n":1}` {
		t.Fatalf("next: %d %s", resp.StatusCode, body)
	}
	c.respond(t, resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), `"ok"`)
	awaitOK(t, res) // answered with no next from the runtime

	if got := ce.inv.Slots().InUse; got != 1 {
		t.Fatalf("slots in use while the runtime is not back in next: %d, want 1", got)
	}
	obs.mu.Lock()
	conc := obs.concurrency[ce.cfg.FunctionName]
	obs.mu.Unlock()
	if conc != 1 {
		t.Fatalf("concurrent executions while the runtime is not back in next: %d, want 1", conc)
	}
	wantThrottled(t, ce.env, ce.cfg, reasonReserved)
	return ce, c, obs
}

// wantConcurrencyFree waits for the function's concurrency to be given back.
func wantConcurrencyFree(t *testing.T, ce *clientEnv, obs *fakeObserver) {
	t.Helper()
	waitFor(t, "the slot given back", func() bool { return ce.inv.Slots().InUse == 0 })
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if n := obs.concurrency[ce.cfg.FunctionName]; n != 0 {
		t.Fatalf("concurrent executions after the sandbox came free: %d, want 0", n)
	}
}

// TestReturningSandboxHoldsItsConcurrencyUntilNext: a sandbox whose runtime
// posted its result but is not back in next is busy and keeps its call's
// concurrency: with a reservation of 1 a second call is throttled
// (ReservedFunctionConcurrentInvocationLimitExceeded) instead of getting a
// sandbox of its own, so one function cannot take the host's sandbox budget.
// Its next gives the concurrency back, and the call after it runs.
func TestReturningSandboxHoldsItsConcurrencyUntilNext(t *testing.T) {
	ce, c, obs := returningWithReservation(t)
	c.send(t, http.MethodGet, pathNext, "")
	wantConcurrencyFree(t, ce, obs)
	ce.callOn(t, c, `{"n":2}`)
	if n := len(ce.inv.pool(ce.cfg).all); n != 1 {
		t.Fatalf("%d sandboxes, want 1", n)
	}
}

// TestReturningSandboxStoppedGivesItsConcurrencyBack: one that never comes
// back to next gives the concurrency back when it is stopped, past its
// invocation's deadline.
func TestReturningSandboxStoppedGivesItsConcurrencyBack(t *testing.T) {
	ce, _, obs := returningWithReservation(t)
	ce.clock.Advance(4 * time.Second) // past the call's 3 s timeout
	ce.tick(t)
	ce.tick(t) // two passes in a row find it overdue
	select {
	case <-ce.rsb.stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the sandbox that never called next again was not stopped")
	}
	wantConcurrencyFree(t, ce, obs)
	// The function's log says why (r-invoker28 #1), not the server's alone.
	log, _ := ce.inv.Logs().Read(ce.cfg.FunctionName, -1)
	if !strings.Contains(string(log), "Error: the runtime did not call next within the function's timeout after posting its response; sandbox stopped") {
		t.Fatalf("the function's log does not say the sandbox was stopped:\n%s", log)
	}
}
