package invoker

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/shutdown"
)

// TestDrainLogNamesTheDrainInForce: a drain timeout (20 s) that is not well
// below the stop's graceful part (6 s) is cut to end 2 s before it; the
// warning of the calls it cuts off names that drain (4 s), not the one set
// (it said drain=20s of calls cut at about 4 s).
func TestDrainLogNamesTheDrainInForce(t *testing.T) {
	e := newEnvWith(t, t.TempDir(), func(c *Config) { c.DrainTimeout = 20 * time.Second })
	fn := e.fns.add(&functions.Config{FunctionName: "long", Timeout: 60})
	pid := filepath.Join(t.TempDir(), "pid")
	got := make(chan error, 1)
	go func() {
		_, err := e.inv.Invoke(context.Background(), Request{Function: fn,
			Payload: []byte(`{"waitFile":"` + filepath.Join(t.TempDir(), "never") + `","pidFile":"` + pid + `"}`)})
		got <- err
	}()
	waitForFile(t, pid)
	stop, cancel := shutdown.WithGrace(context.Background(), 6*time.Second, 10*time.Second)
	defer cancel()
	if err := e.inv.BeginDrain(stop); err != nil {
		t.Fatal(err)
	}
	// The graceful part's end is read on the wall clock: a little less
	// than 4 s is left by now.
	d := e.inv.drainFor
	if d > 4*time.Second || d < 3*time.Second {
		t.Fatalf("drain in force = %v, want 4s less the time the test took", d)
	}
	e.clock.Advance(d)
	<-got
	if err := e.inv.Stop(stop); err != nil {
		t.Fatal(err)
	}
	_ = e.st.Close()
	e.inv = nil
	logs := e.logs.String()
	if !strings.Contains(logs, "did not finish within the drain") || !strings.Contains(logs, "drain=4s") {
		t.Errorf("the drain's warning does not name the drain in force (4s):\n%s", logs)
	}
}
