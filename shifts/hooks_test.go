package shifts

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

func TestHooksGateTheShift(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sh := e.start(t, "Canary10Percent5Minutes", Hooks{PreTraffic: "pre", PostTraffic: "post:$LATEST"})
	if sh.Phase != PhasePreTraffic || sh.HookExecution == nil || sh.Weight != 0 {
		t.Fatalf("started shift: %+v", sh)
	}
	call := e.hooks.last(t)
	if call.ref.Name != "pre" || call.event.DeploymentID != sh.DeploymentID || call.event.LifecycleEventHookExecutionID != sh.HookExecution.ID {
		t.Fatalf("hook call %+v for shift %+v", call, sh)
	}
	if !strings.HasPrefix(sh.DeploymentID, "d-") || len(sh.DeploymentID) != 11 {
		t.Fatalf("deployment id %q", sh.DeploymentID)
	}
	wantAlias(t, e, "1", nil)
	// The clock moves, no traffic does until the hook reports.
	e.clk.Advance(10 * time.Minute)
	wantAlias(t, e, "1", nil)

	// Another function's credentials may not report on it.
	err := e.svc.Report(ctx, sh.DeploymentID, call.event.LifecycleEventHookExecutionID, HookSucceeded, "post")
	if !errors.Is(err, errdefs.ErrForbidden) {
		t.Fatalf("report by another function: %v", err)
	}
	if err := e.svc.Report(ctx, sh.DeploymentID, "wrong", HookSucceeded, "pre"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("report of another execution: %v", err)
	}
	if err := e.svc.Report(ctx, "d-NOPE00000", "x", HookSucceeded, ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("report of another deployment: %v", err)
	}
	if err := e.svc.Report(ctx, sh.DeploymentID, call.event.LifecycleEventHookExecutionID, HookSucceeded, "pre"); err != nil {
		t.Fatal(err)
	}
	sh = e.waitFor(t, "the first step", weight(0.1))
	if sh.Phase != PhaseTraffic || sh.NextStepAt == nil || !sh.NextStepAt.Equal(t0.Add(15*time.Minute)) {
		t.Fatalf("after PreTraffic: %+v", sh)
	}
	wantAlias(t, e, "1", map[string]float64{"2": 0.1})
	e.clk.Advance(5 * time.Minute)
	sh = e.waitFor(t, "PostTraffic", func(sh *Shift) bool { return sh.Phase == PhasePostTraffic })
	wantAlias(t, e, "2", nil)
	call = e.hooks.last(t)
	if call.ref.Name != "post" || call.ref.Qualifier != "$LATEST" || call.event.LifecycleEventHookExecutionID != sh.HookExecution.ID {
		t.Fatalf("PostTraffic call %+v", call)
	}
	if err := e.svc.Report(ctx, sh.DeploymentID, sh.HookExecution.ID, HookSucceeded, ""); err != nil {
		t.Fatal(err)
	}
	sh = e.waitFor(t, "the end", func(sh *Shift) bool { return sh.Status == StatusSucceeded })
	wantAlias(t, e, "2", nil)
	if n := e.clk.Pending(); n != 0 {
		t.Fatalf("%d timers pending", n)
	}
	if err := e.svc.Report(ctx, sh.DeploymentID, call.event.LifecycleEventHookExecutionID, HookSucceeded, ""); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("report after the end: %v", err)
	}
}

func TestFailedHookRollsBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hooks Hooks
	}{
		{"PreTraffic", Hooks{PreTraffic: "pre"}},
		{"PostTraffic", Hooks{PostTraffic: "post"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			sh := e.start(t, "AllAtOnce", tc.hooks)
			if sh.Status != StatusInProgress || sh.HookExecution == nil {
				t.Fatalf("shift %+v", sh)
			}
			if err := e.svc.Report(context.Background(), sh.DeploymentID, sh.HookExecution.ID, HookFailed, ""); err != nil {
				t.Fatal(err)
			}
			sh = e.waitFor(t, "the failure", func(sh *Shift) bool { return sh.Status == StatusFailed })
			if !strings.Contains(sh.Reason, tc.name+" hook") || !strings.Contains(sh.Reason, "reported Failed") || !strings.Contains(sh.Reason, "rolled back to version 1") {
				t.Fatalf("reason %q", sh.Reason)
			}
			wantAlias(t, e, "1", nil)
		})
	}
}

func TestSilentHookTimesOut(t *testing.T) {
	e := newEnv(t)
	e.start(t, "Linear10PercentEvery1Minute", Hooks{PostTraffic: "post"})
	e.restart(t, 9*time.Minute) // the hook's deadline survives a restart
	e.waitFor(t, "PostTraffic", func(sh *Shift) bool { return sh.Phase == PhasePostTraffic })
	wantAlias(t, e, "2", nil)
	e.restart(t, DefaultHookTimeout-time.Second)
	e.waitFor(t, "no change", func(*Shift) bool { return true })
	wantAlias(t, e, "2", nil)
	e.clk.Advance(time.Second)
	sh := e.waitFor(t, "the timeout", func(sh *Shift) bool { return sh.Status == StatusFailed })
	if !strings.Contains(sh.Reason, "did not report its status within 1h0m0s") {
		t.Fatalf("reason %q", sh.Reason)
	}
	wantAlias(t, e, "1", nil)
}

func TestHookThatCannotBeInvokedFailsTheShift(t *testing.T) {
	e := newEnv(t)
	e.hooks.err = errdefs.New(errdefs.ErrUnavailable, "ServiceException", "queue full")
	sh, err := e.svc.Start(context.Background(), StartInput{FunctionName: "fn", Alias: "live", ToVersion: "2", Type: "AllAtOnce", Hooks: Hooks{PreTraffic: "pre"}})
	if err != nil {
		t.Fatal(err)
	}
	if sh.Status != StatusFailed || !strings.Contains(sh.Reason, "queue full") {
		t.Fatalf("shift %+v", sh)
	}
	wantAlias(t, e, "1", nil)
}

func TestHookReportAfterRestart(t *testing.T) {
	e := newEnv(t)
	sh := e.start(t, "Linear10PercentEvery1Minute", Hooks{PreTraffic: "pre"})
	e.restart(t, 10*time.Minute) // waiting for the hook: no step falls due
	got := e.waitFor(t, "the shift", func(*Shift) bool { return true })
	if got.Phase != PhasePreTraffic || got.HookExecution == nil || got.HookExecution.ID != sh.HookExecution.ID || got.Step != 0 {
		t.Fatalf("after the restart: %+v", got)
	}
	wantAlias(t, e, "1", nil)
	if err := e.svc.Report(context.Background(), sh.DeploymentID, sh.HookExecution.ID, HookSucceeded, "pre"); err != nil {
		t.Fatal(err)
	}
	got = e.waitFor(t, "the first step", weight(0.1))
	if got.NextStepAt == nil || !got.NextStepAt.Equal(t0.Add(11*time.Minute)) {
		t.Fatalf("steps are timed from the report: %+v", got)
	}
	wantAlias(t, e, "1", map[string]float64{"2": 0.1})
}

func TestStartTellsWaiters(t *testing.T) {
	e := newEnv(t)
	changed := e.svc.Changed()
	e.start(t, "AllAtOnce", Hooks{PreTraffic: "pre"}) // no traffic moves yet
	select {
	case <-changed:
	default:
		t.Fatal("Start of a shift waiting for its PreTraffic hook did not close Changed")
	}
}
