package invoker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

var _ EventInvokeConfigs = (*fakeFunctions)(nil)

// GetEventInvokeConfig implements EventInvokeConfigs.
func (f *fakeFunctions) GetEventInvokeConfig(_ context.Context, name, qualifier string) (*functions.EventInvokeConfig, error) {
	if qualifier == "" {
		qualifier = functions.Latest
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.eic[name+":"+qualifier]
	if !ok {
		return nil, fmt.Errorf("event invoke config %s:%s: %w", name, qualifier, errdefs.ErrNotFound)
	}
	return c, nil
}

// setEventInvoke sets the event invoke configuration of name's qualifier.
func (f *fakeFunctions) setEventInvoke(name, qualifier string, retries, ageSeconds *int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.eic == nil {
		f.eic = map[string]*functions.EventInvokeConfig{}
	}
	f.eic[name+":"+qualifier] = &functions.EventInvokeConfig{FunctionName: name, Qualifier: qualifier,
		MaximumRetryAttempts: retries, MaximumEventAgeInSeconds: ageSeconds}
}

// starts counts the invocations of fn its log holds.
func (e *env) starts(fn string) int {
	log, _ := e.inv.Logs().Read(fn, -1)
	return strings.Count(string(log), "START RequestId")
}

// TestEventInvokeConfigRetries: a failing Event invocation is retried as
// many times as the event invoke configuration of the qualifier it was
// invoked through says, a minute and then two minutes apart on the clock.
func TestEventInvokeConfigRetries(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		qualifier string // the configuration's
		invoked   string // the ARN's qualifier
		retries   int
		runs      int
	}{
		{"never retried", functions.Latest, "", 0, 1},
		{"retried once", functions.Latest, functions.Latest, 1, 2},
		{"alias never retried", "live", "live", 0, 1},
		{"other qualifier's setting does not apply", "live", "", 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			fn := e.fns.add(&functions.Config{FunctionName: name})
			e.fns.setEventInvoke(name, tc.qualifier, &tc.retries, nil)
			if _, err := e.inv.InvokeAsync(ctx, Request{Function: fn, Payload: []byte(`{"fail":"always"}`),
				InvokedARN: functions.ARN(name, tc.invoked)}); err != nil {
				t.Fatal(err)
			}
			for attempt := 1; attempt < tc.runs; attempt++ {
				e.retryAfter(t, attempt, time.Duration(attempt)*time.Minute)
			}
			waitFor(t, "the event dropped", func() bool { return e.queued() == 0 })
			if got := e.starts(name); got != tc.runs {
				t.Fatalf("ran %d times, want %d", got, tc.runs)
			}
		})
	}
}

// TestEventInvokeConfigMaximumAge: an event older than its maximum event age
// is dropped with a log line and not run, whether it waited in the queue or
// for a retry.
func TestEventInvokeConfigMaximumAge(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	minute, ninety := 60, 90

	// Queued while the queue was stopped, past its minute when it starts.
	old := e.fns.add(&functions.Config{FunctionName: "old"})
	e.fns.setEventInvoke("old", functions.Latest, nil, &minute)
	e.inv.async.stop()
	if _, err := e.inv.InvokeAsync(ctx, Request{Function: old, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(61 * time.Second)
	e.inv.async.start()
	waitFor(t, "the old event dropped", func() bool { return e.queued() == 0 })
	if got := e.starts("old"); got != 0 {
		t.Fatalf("an event past its maximum age ran %d times", got)
	}
	if !strings.Contains(e.logs.String(), "older than its maximum event age") {
		t.Fatalf("no log line for the dropped event:\n%s", e.logs.String())
	}

	// Its second retry would be three minutes after it was queued: past 90 s.
	fail := e.fns.add(&functions.Config{FunctionName: "fail"})
	e.fns.setEventInvoke("fail", functions.Latest, nil, &ninety)
	if _, err := e.inv.InvokeAsync(ctx, Request{Function: fail, Payload: []byte(`{"fail":"always"}`)}); err != nil {
		t.Fatal(err)
	}
	e.retryAfter(t, 1, time.Minute)
	e.retryAfter(t, 2, 2*time.Minute)
	waitFor(t, "the failing event dropped", func() bool { return e.queued() == 0 })
	if got := e.starts("fail"); got != 2 {
		t.Fatalf("ran %d times, want 2: the second retry was past the maximum age", got)
	}
}

// TestEventRetryWhenTheClockMovesBeforeItsTimer: the clock reaches a
// retry's due time after the queue read it and before its timer is set (a
// test's clock jumps so; a wall clock can pass a near due time so). The
// timer is then for a moment already past: the queue must not wait a whole
// delay more, or, on a clock that moves no further, for ever.
func TestEventRetryWhenTheClockMovesBeforeItsTimer(t *testing.T) {
	e := newEnv(t, nil)
	fn := e.fns.add(&functions.Config{FunctionName: "late"})
	retries := 1
	e.fns.setEventInvoke("late", functions.Latest, &retries, nil)
	var jump sync.Once
	hook := func(d time.Duration) {
		if d != time.Minute {
			return
		}
		for _, ev := range e.queuedEvents() {
			if ev.Attempt == 1 {
				jump.Do(func() { e.clock.Advance(time.Minute) })
			}
		}
	}
	e.clock.beforeTimer.Store(&hook)
	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: fn, Payload: []byte(`{"fail":"always"}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event retried once and dropped", func() bool { return e.queued() == 0 })
	if got := e.starts("late"); got != 2 {
		t.Fatalf("ran %d times, want 2", got)
	}
}

// TestEventRetriesLoweredWhileARetryWaits: MaximumRetryAttempts lowered
// while a failed event waits for its retry applies to that retry: when it
// comes due, the event has had as many attempts as the setting allows now
// and is dropped, as an event whose last retry failed is, without running.
func TestEventRetriesLoweredWhileARetryWaits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		retries  int // set after the attempt that failed
		failures int // attempts that fail before the setting changes
	}{
		{"retries set to zero after the first failure", 0, 1},
		{"retries set to one after the second failure", 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			fn := e.fns.add(&functions.Config{FunctionName: "poison"})
			if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: fn, Payload: []byte(`{"fail":"always"}`)}); err != nil {
				t.Fatal(err)
			}
			for attempt := 1; attempt < tc.failures; attempt++ {
				e.retryAfter(t, attempt, time.Duration(attempt)*time.Minute)
			}
			waitFor(t, "the failure that schedules a retry", func() bool {
				ev, ok := e.onlyEvent()
				return ok && ev.Attempt == tc.failures
			})
			e.fns.setEventInvoke("poison", functions.Latest, &tc.retries, nil)
			e.clock.Advance(time.Duration(tc.failures) * time.Minute)
			waitFor(t, "the event dropped", func() bool { return e.queued() == 0 })
			if got := e.starts("poison"); got != tc.failures {
				t.Fatalf("ran %d times, want %d: the retry ran after MaximumRetryAttempts went to %d", got, tc.failures, tc.retries)
			}
			if !strings.Contains(e.logs.String(), "MaximumRetryAttempts") {
				t.Fatalf("no log line for the dropped event:\n%s", e.logs.String())
			}
		})
	}
}

// TestEventMaximumAgeLogReadsOlder: an event dropped a nanosecond past its
// maximum age is logged with an age that reads older than the maximum, not
// one rounded down to equal it.
func TestEventMaximumAgeLogReadsOlder(t *testing.T) {
	e := newEnv(t, nil)
	minute := 60
	fn := e.fns.add(&functions.Config{FunctionName: "edge"})
	e.fns.setEventInvoke("edge", functions.Latest, nil, &minute)
	e.inv.async.stop()
	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: fn, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute + time.Nanosecond)
	e.inv.async.start()
	waitFor(t, "the event dropped", func() bool { return e.queued() == 0 })
	if !strings.Contains(e.logs.String(), "age=1m0.001s maximumEventAge=1m0s") {
		t.Fatalf("the drop's log line does not read older than the maximum:\n%s", e.logs.String())
	}
}

// fakeAliases is a Resolver with plain aliases of the fake functions.
type fakeAliases struct {
	fns *fakeFunctions
	mu  sync.Mutex
	to  map[string]string // name + ":" + alias: its version
}

func (a *fakeAliases) Shares(ctx context.Context, ref functions.Ref) ([]functions.Share, error) {
	a.mu.Lock()
	v, ok := a.to[ref.Name+":"+ref.Qualifier]
	a.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("alias %s: %w", ref, errdefs.ErrNotFound)
	}
	c, err := a.fns.Get(ctx, ref.Name, v)
	if err != nil {
		return nil, err
	}
	return []functions.Share{{Config: c, Weight: 1}}, nil
}

// TestDeletedAliasKeepsItsEventsRetrySettings (r-invoker28 #3): an event
// queued through an alias whose configuration allows one retry keeps that
// configuration when the alias, and the configuration with it, is deleted
// while a retry waits: it runs twice, not three times under the default.
func TestDeletedAliasKeepsItsEventsRetrySettings(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	fn := e.fns.add(&functions.Config{FunctionName: "ea"})
	aliases := &fakeAliases{fns: e.fns, to: map[string]string{"ea:a1": fn.Version}}
	e.inv.p.Resolver = aliases
	one := 1
	e.fns.setEventInvoke("ea", "a1", &one, nil)
	if _, err := e.inv.InvokeAsync(ctx, Request{Function: fn, Payload: []byte(`{"fail":"always"}`),
		InvokedARN: functions.ARN("ea", "a1")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "attempt 1 to fail", func() bool {
		ev, ok := e.onlyEvent()
		return ok && ev.Attempt == 1
	})
	// DeleteAlias: the alias and its event invoke configuration go.
	aliases.mu.Lock()
	delete(aliases.to, "ea:a1")
	aliases.mu.Unlock()
	e.fns.mu.Lock()
	delete(e.fns.eic, "ea:a1")
	e.fns.mu.Unlock()
	e.clock.Advance(time.Minute)
	waitFor(t, "the event dropped after its one retry", func() bool { return e.queued() == 0 })
	if got := e.starts("ea"); got != 2 {
		t.Fatalf("ran %d times, want 2 (the deleted alias's one retry)", got)
	}
}
