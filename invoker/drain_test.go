package invoker

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/shutdown"
)

// TestDrainCountsFromTheStopsStart: the drain of the calls in flight counts
// from the start of the server's stop (BeginDrain, the first stop hook), not
// from the invoker's own stop, which comes after the listeners' graceful
// stop: at DrainTimeout after BeginDrain, a call still running is cut off
// (503 ServiceException, not the function's error), though Stop has not been
// called yet.
func TestDrainCountsFromTheStopsStart(t *testing.T) {
	e := newEnv(t, nil)
	fn := e.fns.add(&functions.Config{FunctionName: "long", Timeout: 60})
	pid := filepath.Join(t.TempDir(), "pid")
	got := make(chan error, 1)
	go func() {
		res, err := e.inv.Invoke(context.Background(), Request{Function: fn,
			Payload: []byte(`{"waitFile":"` + filepath.Join(t.TempDir(), "never") + `","pidFile":"` + pid + `"}`)})
		if err == nil {
			err = errors.New("a result: " + string(res.Payload))
		}
		got <- err
	}()
	waitForFile(t, pid) // the handler runs, and waits
	drain := e.inv.p.Config.DrainTimeout
	drainEnds := e.clock.expectTimer(drain)
	stop, cancel := shutdown.WithGrace(context.Background(), 30*time.Second, 10*time.Second)
	defer cancel()
	if err := e.inv.BeginDrain(stop); err != nil {
		t.Fatal(err)
	}
	drainEnds(t)
	select {
	case err := <-got:
		t.Fatalf("the call ended before the drain did: %v", err)
	default:
	}
	e.clock.Advance(drain)
	var err error
	select {
	case err = <-got:
	case <-time.After(20 * time.Second): // a safety net
		t.Fatal("the call still runs after the drain ended")
	}
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrUnavailable) || !errors.As(err, &k) || k.Type != "ServiceException" {
		t.Fatalf("the cut-off call: %v, want 503 ServiceException", err)
	}
	// The call's answer names its invocation, and the function log says the
	// stop was Portico's, not the function's crash.
	log, _ := e.inv.Logs().Read(fn.FunctionName, -1)
	if strings.Contains(string(log), "Runtime.ExitError") || strings.Contains(string(log), "Status: error") ||
		!strings.Contains(string(log), "Error: "+cutOffNote) {
		t.Errorf("the function log reads as the function's crash, or does not say Portico stopped it:\n%s", log)
	}
	wantInvocationID(t, e, fn.FunctionName, err)
}

// TestStopAfterATimeoutCutsNothing: an invocation that timed out while the
// stop drained (its caller answered Sandbox.Timedout, its sandbox being
// stopped) is no invocation still running: the stop notes nothing cut off,
// and logs no warning that invocations did not finish.
func TestStopAfterATimeoutCutsNothing(t *testing.T) {
	e := newEnv(t, nil)
	fn := e.fns.add(&functions.Config{FunctionName: "hangs", Timeout: 1})
	deadline := e.clock.expectTimer(time.Second)
	got := make(chan callResult, 1)
	go func() {
		// The handler becomes a process that hangs and ignores SIGTERM: its
		// sandbox takes the stop grace to go.
		res, err := e.inv.Invoke(context.Background(), Request{Function: fn,
			Payload: []byte(`{"execSh":"trap '' TERM; sleep 60"}`)})
		got <- callResult{res, err}
	}()
	deadline(t)
	stop, cancel := shutdown.WithGrace(context.Background(), 30*time.Second, 10*time.Second)
	defer cancel()
	if err := e.inv.BeginDrain(stop); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	g := receive(t, got)
	if g.err != nil || !g.res.TimedOut {
		t.Fatalf("want the function's timeout, got %v %+v", g.err, g.res)
	}
	err := e.inv.Stop(stop)
	e.inv = nil
	_ = e.st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if cuts := shutdown.Cuts(stop); len(cuts) != 0 {
		t.Errorf("the stop noted %+v cut off; the only invocation had timed out and was answered", cuts)
	}
	if log := e.logs.String(); strings.Contains(log, "did not finish") {
		t.Errorf("the stop warned of invocations that did not finish:\n%s", log)
	}
}

// TestIdleStopWarnsOfNothing: a stop with no invocation running, whose
// graceful part has already ended, warns of no invocation that did not
// finish (tried a few times: the wait's outcome was a coin toss).
func TestIdleStopWarnsOfNothing(t *testing.T) {
	for range 6 {
		e := newEnv(t, nil)
		stop, cancel := shutdown.WithGrace(context.Background(), 0, 10*time.Second)
		err := e.inv.Stop(stop)
		cancel()
		e.inv = nil
		_ = e.st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if log := e.logs.String(); strings.Contains(log, "did not finish") {
			t.Fatalf("an idle stop warned of invocations that did not finish:\n%s", log)
		}
		if cuts := shutdown.Cuts(stop); len(cuts) != 0 {
			t.Fatalf("an idle stop noted %+v cut off", cuts)
		}
	}
}
