package invoker

import (
	"context"
	"errors"
	"path/filepath"
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
}
