package invoker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

func (f *fakeFunctions) Reservations(context.Context) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, c := range f.fns {
		if c.Version == functions.Latest && c.ReservedConcurrency != nil {
			out[c.FunctionName] = *c.ReservedConcurrency
		}
	}
	return out, nil
}

// setReserved puts (n >= 0) or deletes (n < 0) name's reserved concurrency,
// as PutFunctionConcurrency does: on a copy of its $LATEST, then tells the
// subscribers.
func (f *fakeFunctions) setReserved(name string, n int) {
	f.mu.Lock()
	c := *f.fns[name+":"+functions.Latest]
	c.ReservedConcurrency = nil
	if n >= 0 {
		c.ReservedConcurrency = &n
	}
	f.fns[name+":"+functions.Latest] = &c
	subs := f.subs
	f.mu.Unlock()
	for _, s := range subs {
		s(name)
	}
}

// wantThrottled asserts that a call of fn is throttled for reason.
func wantThrottled(t *testing.T, e *env, fn *functions.Config, reason string) {
	t.Helper()
	_, err := e.inv.Invoke(context.Background(), Request{Function: fn, Payload: []byte(`{}`)})
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrThrottled) || !errors.As(err, &k) || k.Reason != reason {
		t.Fatalf("call of %s: got %v, want throttled (%s)", fn.FunctionName, err, reason)
	}
}

// wantSlots asserts the invoker's division of the account's concurrency,
// waiting for the sandboxes of calls that have ended to be back in next: each
// holds its call's slot until then.
func wantSlots(t *testing.T, e *env, want SlotStats) {
	t.Helper()
	var got SlotStats
	deadline := time.Now().Add(20 * time.Second)
	for got = e.inv.Slots(); got != want && time.Now().Before(deadline); got = e.inv.Slots() {
		time.Sleep(5 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("slots = %+v, want %+v", got, want)
	}
}

// TestReservedConcurrencyIsSetAside: a reservation is taken out of the account's
// concurrency for its function alone; the functions without one share the rest
// and, when they use all of it, do not take the reservation's slots.
func TestReservedConcurrencyIsSetAside(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AccountConcurrency = 4; c.ThrottleWait = 20 * time.Millisecond })
	two := 2
	r := e.fns.add(&functions.Config{FunctionName: "reserved", ReservedConcurrency: &two, Timeout: 30})
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 30})
	b := e.fns.add(&functions.Config{FunctionName: "b", Timeout: 30})
	e.fns.setReserved("reserved", 2) // known to the invoker as at a start
	wantSlots(t, e, SlotStats{Limit: 4, Reserved: 2, Unreserved: 2})

	ha, hb := hold(t, e, a, ""), hold(t, e, b, "")
	wantThrottled(t, e, a, reasonAccount) // the pool is 4 - 2
	// The reservation is still whole.
	r1, r2 := hold(t, e, r, ""), hold(t, e, r, "")
	wantThrottled(t, e, r, reasonReserved)
	wantSlots(t, e, SlotStats{Limit: 4, Reserved: 2, Unreserved: 2, InUse: 4, UnreservedInUse: 2})
	for _, h := range []*held{ha, hb, r1, r2} {
		if res := h.release(t); res == nil || res.FunctionError != "" {
			t.Fatalf("held call: %+v", res)
		}
	}
	wantSlots(t, e, SlotStats{Limit: 4, Reserved: 2, Unreserved: 2})
}

// TestReservationChangesWithCallsInFlight: putting and deleting a function's
// reservation while its calls run moves them between the pool and the
// reservation; new calls see the new limits at once, a waiting call is
// granted by a raise, and when every call has ended no slot is left held.
func TestReservationChangesWithCallsInFlight(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AccountConcurrency = 5; c.ThrottleWait = 20 * time.Millisecond })
	f := e.fns.add(&functions.Config{FunctionName: "f", Timeout: 30})
	g := e.fns.add(&functions.Config{FunctionName: "g", Timeout: 30})

	f1, f2 := hold(t, e, f, ""), hold(t, e, f, "")
	wantSlots(t, e, SlotStats{Limit: 5, Unreserved: 5, InUse: 2, UnreservedInUse: 2})

	// A reservation of 1 under 2 calls in flight: they count against it, not
	// the pool, and the next call of f waits for them.
	e.fns.setReserved("f", 1)
	wantSlots(t, e, SlotStats{Limit: 5, Reserved: 1, Unreserved: 4, InUse: 2})
	wantThrottled(t, e, f, reasonReserved)
	f1.release(t)
	wantThrottled(t, e, f, reasonReserved) // still 1 in flight, of 1
	f2.release(t)
	wantSlots(t, e, SlotStats{Limit: 5, Reserved: 1, Unreserved: 4})
	f3 := hold(t, e, f, "")

	// A call of f that waits for the reservation is granted by a raise.
	e.inv.slots.wait = time.Hour
	waited := make(chan error, 1)
	go func() {
		_, err := e.inv.Invoke(context.Background(), Request{Function: f, Payload: []byte(`{}`)})
		waited <- err
	}()
	waitFor(t, "the call to wait for a slot", func() bool { return e.inv.Slots().Waiting == 1 })
	e.fns.setReserved("f", 2)
	if err := <-waited; err != nil {
		t.Fatalf("the waiting call, after a raise: %v", err)
	}
	e.inv.slots.wait = 20 * time.Millisecond

	// Deleting the reservation moves f's call in flight into the pool.
	g1 := hold(t, e, g, "")
	e.fns.setReserved("f", -1)
	wantSlots(t, e, SlotStats{Limit: 5, Unreserved: 5, InUse: 2, UnreservedInUse: 2})
	f3.release(t)
	g1.release(t)
	wantSlots(t, e, SlotStats{Limit: 5, Unreserved: 5})
}

// TestReservationZeroThrottlesWaiters: lowering a reservation to 0 throttles
// the calls waiting for it at once.
func TestReservationZeroThrottlesWaiters(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ThrottleWait = time.Hour })
	f := e.fns.add(&functions.Config{FunctionName: "f", Timeout: 30})
	e.fns.setReserved("f", 1)
	h := hold(t, e, f, "")
	waited := make(chan error, 1)
	go func() {
		_, err := e.inv.Invoke(context.Background(), Request{Function: f, Payload: []byte(`{}`)})
		waited <- err
	}()
	waitFor(t, "the call to wait for a slot", func() bool { return e.inv.Slots().Waiting == 1 })
	e.fns.setReserved("f", 0)
	var k *errdefs.Kinded
	if err := <-waited; !errors.As(err, &k) || k.Reason != reasonReserved {
		t.Fatalf("waiting call after the reservation went to 0: %v", err)
	}
	h.release(t)
	wantSlots(t, e, SlotStats{Limit: 1000, Unreserved: 1000})
}

func TestMinUnreservedAndCheckReservations(t *testing.T) {
	for limit, want := range map[int]int{1000: 100, 50: 5, 5: 1, 1: 1, 3000: 300} {
		if got := MinUnreserved(limit); got != want {
			t.Errorf("MinUnreserved(%d) = %d, want %d", limit, got, want)
		}
	}
	e := newEnv(t, func(c *Config) { c.AccountConcurrency = 50 })
	if err := e.inv.CheckReservations(45); err != nil {
		t.Errorf("45 of 50 leaves the minimum 5: %v", err)
	}
	err := e.inv.CheckReservations(46)
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrInvalid) || !errors.As(err, &k) || k.Message !=
		"Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [5]." {
		t.Errorf("46 of 50 = %v", err)
	}
}

// TestSlotsLoadedAtStart: the reservations stored before a start are set aside
// before any call of their functions.
func TestSlotsLoadedAtStart(t *testing.T) {
	seven := 7
	e := newEnvWith(t, t.TempDir(), func(c *Config) { c.AccountConcurrency = 100 },
		&functions.Config{FunctionName: "r", ReservedConcurrency: &seven})
	wantSlots(t, e, SlotStats{Limit: 100, Reserved: 7, Unreserved: 93})
	// A function deleted gives its reservation back.
	e.fns.mu.Lock()
	delete(e.fns.fns, "r:"+functions.Latest)
	subs := e.fns.subs
	e.fns.mu.Unlock()
	for _, s := range subs {
		s("r")
	}
	wantSlots(t, e, SlotStats{Limit: 100, Unreserved: 100})
}

// remove deletes name's versions (all of them, the function, when none is
// named) and tells the subscribers, as DeleteFunction does.
func (f *fakeFunctions) remove(name string, versions ...string) {
	f.mu.Lock()
	for key, c := range f.fns {
		if c.FunctionName == name && (len(versions) == 0 || slices.Contains(versions, c.Version)) {
			delete(f.fns, key)
		}
	}
	subs := f.subs
	f.mu.Unlock()
	for _, s := range subs {
		s(name)
	}
}

// startWaiting starts n calls of fn that wait for a slot, and returns their
// outcomes' channel once all n wait.
func startWaiting(t *testing.T, e *env, fn *functions.Config, n int) chan error {
	t.Helper()
	before := e.inv.Slots().Waiting
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := e.inv.Invoke(context.Background(), Request{Function: fn, Payload: []byte(`{}`)})
			errs <- err
		}()
	}
	waitFor(t, "the calls to wait for a slot", func() bool { return e.inv.Slots().Waiting == before+n })
	return errs
}

// starts counts the calls of fn that ran: the START lines in its log.
func starts(t *testing.T, e *env, fn string) int {
	t.Helper()
	log, err := e.inv.Logs().Read(fn, -1)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(log), "START RequestId")
}

// TestDeletedFunctionFailsItsWaitingCalls: the calls of a function waiting for
// a slot of its reservation when the function is deleted fail with not found
// at once; none is granted a slot (of the pool its reservation went back to)
// or runs the deleted code.
func TestDeletedFunctionFailsItsWaitingCalls(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ThrottleWait = time.Hour })
	f := e.fns.add(&functions.Config{FunctionName: "f", Timeout: 30})
	e.fns.setReserved("f", 1)
	h := hold(t, e, f, "")
	errs := startWaiting(t, e, f, 3)

	e.fns.remove("f")
	for range 3 {
		if err := <-errs; !errors.Is(err, errdefs.ErrNotFound) {
			t.Fatalf("a call waiting when its function was deleted: %v, want not found", err)
		}
	}
	h.release(t)
	if n := starts(t, e, "f"); n != 1 {
		t.Fatalf("%d calls ran, want only the one in flight at the deletion", n)
	}
	wantSlots(t, e, SlotStats{Limit: 1000, Unreserved: 1000})
}

// TestDeletedVersionFailsItsWaitingCalls: calls of a version waiting for a
// slot of their function's reservation when the version is deleted fail with
// not found once a slot frees, and do not run the deleted version.
func TestDeletedVersionFailsItsWaitingCalls(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ThrottleWait = time.Hour })
	e.fns.add(&functions.Config{FunctionName: "f", Timeout: 30})
	v1 := e.fns.add(&functions.Config{FunctionName: "f", Version: "1", Timeout: 30})
	e.fns.setReserved("f", 1)
	h := hold(t, e, v1, "")
	errs := startWaiting(t, e, v1, 2)

	e.fns.remove("f", "1")
	h.release(t)
	for range 2 {
		if err := <-errs; !errors.Is(err, errdefs.ErrNotFound) {
			t.Fatalf("a call waiting when its version was deleted: %v, want not found", err)
		}
	}
	if n := starts(t, e, "f"); n != 1 {
		t.Fatalf("%d calls ran, want only the one in flight at the deletion", n)
	}
	wantSlots(t, e, SlotStats{Limit: 1000, Reserved: 1, Unreserved: 999})
}

// TestDeletedFunctionDropsWaitingEvents: Event invocations waiting for a slot,
// or in the queue, when their function is deleted are dropped, none run or
// retried.
func TestDeletedFunctionDropsWaitingEvents(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ThrottleWait = time.Hour; c.AsyncRetryDelays = []time.Duration{time.Hour} })
	obs := &fakeObserver{}
	e.inv.obs = obs
	f := e.fns.add(&functions.Config{FunctionName: "f", Timeout: 30})
	e.fns.setReserved("f", 1)
	h := hold(t, e, f, "")
	for range 2 {
		if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: f, Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// One event at a time, as f's reservation admits: the other stays queued.
	waitFor(t, "an event to wait for a slot", func() bool { return e.inv.Slots().Waiting == 1 })

	e.fns.remove("f")
	waitFor(t, "the events dropped", func() bool { return e.queued() == 0 })
	h.release(t)
	if n := starts(t, e, "f"); n != 1 {
		t.Fatalf("%d calls ran, want only the one in flight at the deletion", n)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if want := []AsyncOutcome{AsyncQueued, AsyncQueued, AsyncDropped, AsyncDropped}; !slices.Equal(obs.async, want) {
		t.Fatalf("event outcomes %v, want %v", obs.async, want)
	}
}
