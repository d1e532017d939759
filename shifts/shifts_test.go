package shifts

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/store"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

type env struct {
	dir   string
	st    *store.Store
	fns   *functions.Service
	al    *aliases.Service
	svc   *Service
	clk   *clock.Fake
	hooks *fakeHooks
}

// fakeHooks records the hook invocations.
type fakeHooks struct {
	mu    sync.Mutex
	calls []hookCall
	err   error
}

type hookCall struct {
	ref   functions.Ref
	event hookEvent
}

func (f *fakeHooks) InvokeHook(_ context.Context, ref functions.Ref, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	var ev hookEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return err
	}
	f.calls = append(f.calls, hookCall{ref, ev})
	return nil
}

func (f *fakeHooks) last(t *testing.T) hookCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("no hook was invoked")
	}
	return f.calls[len(f.calls)-1]
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clk: clock.NewFake(t0), hooks: &fakeHooks{}}
	e.open(t)
	t.Cleanup(func() { e.svc.Close(); _ = e.st.Close() })
	ctx := context.Background()
	if _, err := e.fns.Create(ctx, functions.CreateInput{FunctionName: "fn", ZipFile: testkit.Bootstrap(t, "#!/bin/sh\nv0")}); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"v1", "v2", "v3"} {
		if _, err := e.fns.UpdateCode(ctx, "fn", functions.CodeInput{ZipFile: testkit.Bootstrap(t, "#!/bin/sh\n"+body), Publish: true}); err != nil {
			t.Fatal(err)
		}
	}
	for _, hook := range []string{"pre", "post"} {
		if _, err := e.fns.Create(ctx, functions.CreateInput{FunctionName: hook, ZipFile: testkit.Bootstrap(t, "#!/bin/sh\n"+hook)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.al.Create(ctx, "fn", aliases.Input{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) open(t *testing.T) {
	t.Helper()
	st, err := store.Open(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	fns, err := functions.NewService(st, nil, aliases.Index{}, log)
	if err != nil {
		t.Fatal(err)
	}
	e.st, e.fns = st, fns
	e.al = aliases.NewService(st, fns, log)
	e.svc = NewService(st, fns, e.al, log, e.clk, Config{})
	e.svc.SetHookInvoker(e.hooks)
}

// restart closes the service and the store and opens them again, as a server
// restart does, and resumes the shifts.
func (e *env) restart(t *testing.T, meanwhile time.Duration) {
	t.Helper()
	e.svc.Close()
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(meanwhile)
	e.open(t)
	if err := e.svc.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// alias returns the alias's version and the weight of its additional version.
func (e *env) alias(t *testing.T) (string, map[string]float64) {
	t.Helper()
	a, err := e.al.Get(context.Background(), "fn", "live")
	if err != nil {
		t.Fatal(err)
	}
	if a.RoutingConfig == nil {
		return a.FunctionVersion, nil
	}
	return a.FunctionVersion, a.RoutingConfig.AdditionalVersionWeights
}

// waitFor waits until the shift of fn:live satisfies cond (the fake clock's
// timers run in goroutines of their own), and returns it.
func (e *env) waitFor(t *testing.T, what string, cond func(*Shift) bool) *Shift {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		changed := e.svc.Changed()
		sh, err := e.svc.Get(context.Background(), "fn", "live")
		if err == nil && cond(sh) {
			return sh
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("waiting for %s: shift is %+v (err %v)", what, sh, err)
		}
	}
}

func weight(w float64) func(*Shift) bool {
	return func(sh *Shift) bool { return weightsEqual(sh.Weight, w) }
}

func (e *env) start(t *testing.T, typ string, hooks Hooks) *Shift {
	t.Helper()
	sh, err := e.svc.Start(context.Background(), StartInput{FunctionName: "fn", Alias: "live", ToVersion: "2", Type: typ, Hooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func wantAlias(t *testing.T, e *env, version string, weights map[string]float64) {
	t.Helper()
	v, w := e.alias(t)
	if v != version || len(w) != len(weights) {
		t.Fatalf("alias is on %s with weights %v, want %s with %v", v, w, version, weights)
	}
	for k, x := range weights {
		if !weightsEqual(w[k], x) {
			t.Fatalf("alias is on %s with weights %v, want %s with %v", v, w, version, weights)
		}
	}
}

func TestLinearShiftMovesStepByStep(t *testing.T) {
	e := newEnv(t)
	sh := e.start(t, "Linear10PercentEvery1Minute", Hooks{})
	if sh.Status != StatusInProgress || sh.FromVersion != "1" || sh.ToVersion != "2" || !weightsEqual(sh.Weight, 0.1) || sh.Steps != 10 {
		t.Fatalf("started shift: %+v", sh)
	}
	if sh.NextStepAt == nil || !sh.NextStepAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("next step at %v, want %v", sh.NextStepAt, t0.Add(time.Minute))
	}
	wantAlias(t, e, "1", map[string]float64{"2": 0.1})
	for i := 2; i <= 9; i++ {
		e.clk.Advance(time.Minute)
		e.waitFor(t, "the next step", weight(float64(i)/10))
		wantAlias(t, e, "1", map[string]float64{"2": float64(i) / 10})
	}
	e.clk.Advance(time.Minute)
	sh = e.waitFor(t, "the end", func(sh *Shift) bool { return sh.Status == StatusSucceeded })
	if sh.NextStepAt != nil || sh.EndedAt == nil || !weightsEqual(sh.Weight, 1) {
		t.Fatalf("ended shift: %+v", sh)
	}
	wantAlias(t, e, "2", nil)
	if n := e.clk.Pending(); n != 0 {
		t.Fatalf("%d timers left pending", n)
	}
}

func TestShiftTypes(t *testing.T) {
	for _, tc := range []struct {
		typ      string
		first    float64
		interval time.Duration
	}{
		{"Canary10Percent5Minutes", 0.1, 5 * time.Minute},
		{"Canary10Percent10Minutes", 0.1, 10 * time.Minute},
		{"Canary10Percent15Minutes", 0.1, 15 * time.Minute},
		{"CodeDeployDefault.LambdaCanary10Percent30Minutes", 0.1, 30 * time.Minute},
		{"Linear10PercentEvery2Minutes", 0.1, 2 * time.Minute},
		{"Linear10PercentEvery3Minutes", 0.1, 3 * time.Minute},
		{"Linear10PercentEvery10Minutes", 0.1, 10 * time.Minute},
		{"AllAtOnce", 1, 0},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			e := newEnv(t)
			sh := e.start(t, tc.typ, Hooks{})
			if !weightsEqual(sh.Weight, tc.first) {
				t.Fatalf("first weight %v, want %v", sh.Weight, tc.first)
			}
			if tc.interval == 0 {
				if sh.Status != StatusSucceeded {
					t.Fatalf("AllAtOnce: %+v", sh)
				}
				wantAlias(t, e, "2", nil)
				return
			}
			e.clk.Advance(tc.interval - time.Second)
			if e.waitFor(t, "no change", func(*Shift) bool { return true }); e.clk.Pending() != 1 {
				t.Fatalf("pending timers %d", e.clk.Pending())
			}
			wantAlias(t, e, "1", map[string]float64{"2": tc.first})
			e.clk.Advance(time.Second)
			e.waitFor(t, "the second step", func(sh *Shift) bool { return sh.Step == 2 })
		})
	}
}

func TestUnknownTypeListsTheValidOnes(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.Start(context.Background(), StartInput{FunctionName: "fn", Alias: "live", ToVersion: "2", Type: "Linear50PercentEvery1Minute"})
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("err %v, want invalid", err)
	}
	for _, n := range []string{"AllAtOnce", "Canary10Percent5Minutes", "Linear10PercentEvery1Minute", "Linear10PercentEvery10Minutes"} {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
	wantAlias(t, e, "1", nil)
}

func TestStartRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		in   StartInput
		kind error
	}{
		{"unpublished version", StartInput{FunctionName: "fn", Alias: "live", ToVersion: "9", Type: "AllAtOnce"}, errdefs.ErrNotFound},
		{"$LATEST", StartInput{FunctionName: "fn", Alias: "live", ToVersion: "$LATEST", Type: "AllAtOnce"}, errdefs.ErrInvalid},
		{"same version", StartInput{FunctionName: "fn", Alias: "live", ToVersion: "1", Type: "AllAtOnce"}, errdefs.ErrInvalid},
		{"no alias", StartInput{FunctionName: "fn", Alias: "nope", ToVersion: "2", Type: "AllAtOnce"}, errdefs.ErrNotFound},
		{"no function", StartInput{FunctionName: "nofn", Alias: "live", ToVersion: "2", Type: "AllAtOnce"}, errdefs.ErrNotFound},
		{"unknown hook", StartInput{FunctionName: "fn", Alias: "live", ToVersion: "2", Type: "AllAtOnce", Hooks: Hooks{PreTraffic: "nohook"}}, errdefs.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.svc.Start(ctx, tc.in); !errors.Is(err, tc.kind) {
				t.Fatalf("err %v, want %v", err, tc.kind)
			}
		})
	}
}

func TestOneShiftPerAlias(t *testing.T) {
	e := newEnv(t)
	first := e.start(t, "Canary10Percent5Minutes", Hooks{})
	_, err := e.svc.Start(context.Background(), StartInput{FunctionName: "fn", Alias: "live", ToVersion: "3", Type: "AllAtOnce"})
	var k *errdefs.Kinded
	if !errors.As(err, &k) || !errors.Is(err, errdefs.ErrConflict) || k.Type != "ResourceConflictException" || !strings.Contains(k.Message, first.DeploymentID) {
		t.Fatalf("second start: %v, want a ResourceConflictException naming %s", err, first.DeploymentID)
	}
	wantAlias(t, e, "1", map[string]float64{"2": 0.1})
	// Once it has ended, another may start.
	if _, err := e.svc.Stop(context.Background(), "fn", "live"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Start(context.Background(), StartInput{FunctionName: "fn", Alias: "live", ToVersion: "3", Type: "AllAtOnce"}); err != nil {
		t.Fatal(err)
	}
	wantAlias(t, e, "3", nil)
}

func TestStopRollsBack(t *testing.T) {
	e := newEnv(t)
	e.start(t, "Linear10PercentEvery1Minute", Hooks{})
	e.clk.Advance(2 * time.Minute)
	e.waitFor(t, "30%", weight(0.3))
	sh, err := e.svc.Stop(context.Background(), "fn", "live")
	if err != nil {
		t.Fatal(err)
	}
	if sh.Status != StatusStopped || sh.NextStepAt != nil || !strings.Contains(sh.Reason, "rolled back to version 1") {
		t.Fatalf("stopped shift: %+v", sh)
	}
	wantAlias(t, e, "1", nil)
	e.clk.Advance(time.Hour)
	if n := e.clk.Pending(); n != 0 {
		t.Fatalf("%d timers left pending", n)
	}
	wantAlias(t, e, "1", nil)
	if _, err := e.svc.Stop(context.Background(), "fn", "live"); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("second stop: %v, want conflict", err)
	}
	if _, err := e.svc.Get(context.Background(), "fn", "other"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("get of an alias with no shift: %v", err)
	}
}

func TestShiftResumesAfterRestart(t *testing.T) {
	e := newEnv(t)
	e.start(t, "Linear10PercentEvery1Minute", Hooks{})
	// Down for three and a half minutes: steps 2, 3 and 4 fell due.
	e.restart(t, 3*time.Minute+30*time.Second)
	sh := e.waitFor(t, "the due steps", weight(0.4))
	if sh.NextStepAt == nil || !sh.NextStepAt.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("next step at %v, want %v", sh.NextStepAt, t0.Add(4*time.Minute))
	}
	wantAlias(t, e, "1", map[string]float64{"2": 0.4})
	e.clk.Advance(30 * time.Second)
	e.waitFor(t, "the step after", weight(0.5))
	// Down for longer than the rest of the shift: it ends at the restart.
	e.restart(t, time.Hour)
	e.waitFor(t, "the end", func(sh *Shift) bool { return sh.Status == StatusSucceeded })
	wantAlias(t, e, "2", nil)
}

func TestAliasChangedOutsideTheShiftFailsIt(t *testing.T) {
	e := newEnv(t)
	e.start(t, "Linear10PercentEvery1Minute", Hooks{})
	empty := &aliases.RoutingConfig{}
	if _, err := e.al.Update(context.Background(), "fn", aliases.Input{Name: "live", FunctionVersion: "3", RoutingConfig: empty}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	sh := e.waitFor(t, "the failure", func(sh *Shift) bool { return sh.Status == StatusFailed })
	if strings.Count(sh.Reason, "changed outside the shift") != 1 || !strings.Contains(sh.Reason, "the alias was left as it is") {
		t.Fatalf("reason %q", sh.Reason)
	}
	wantAlias(t, e, "3", nil)
}

// TestAliasChangedOutsideTheShiftIsNoticedAtOnce: a shift whose alias was
// changed by hand is failed at the next read of its status, not at its next
// step (it said InProgress 10% while the alias had no weights), and its
// reason says so once.
func TestAliasChangedOutsideTheShiftIsNoticedAtOnce(t *testing.T) {
	e := newEnv(t)
	e.start(t, "Linear10PercentEvery10Minutes", Hooks{})
	wantAlias(t, e, "1", map[string]float64{"2": 0.1})
	if _, err := e.al.Update(context.Background(), "fn", aliases.Input{Name: "live", FunctionVersion: "1", RoutingConfig: &aliases.RoutingConfig{}}); err != nil {
		t.Fatal(err)
	}
	sh, err := e.svc.Get(context.Background(), "fn", "live")
	if err != nil {
		t.Fatal(err)
	}
	const clause = "alias live was changed outside the shift (it is on version 1)"
	if sh.Status != StatusFailed || strings.Count(sh.Reason, "changed outside the shift") != 1 || !strings.Contains(sh.Reason, clause) ||
		!strings.Contains(sh.Reason, "the alias was left as it is") {
		t.Fatalf("shift after the alias changed: %s %q", sh.Status, sh.Reason)
	}
	wantAlias(t, e, "1", nil)
}

func TestDeletedFunctionTakesItsShifts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.start(t, "Linear10PercentEvery1Minute", Hooks{})
	if err := e.fns.Delete(ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, "fn", "live"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("shift of a deleted function: %v", err)
	}
	e.clk.Advance(time.Minute) // its timer finds nothing to do
	if _, err := e.svc.Get(ctx, "fn", "live"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("shift of a deleted function after its timer: %v", err)
	}
}
