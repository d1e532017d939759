//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// TestUnlockRefusesALiveHolder: portico stack unlock cleared the hold of a
// deploy still running on this host, whose rollback then put back $LATEST
// over the deploy that followed. It refuses while the holding process runs
// (--force clears it anyway), and clears it once the process is gone.
func TestUnlockRefusesALiveHolder(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	cliCombined(t, env, "deploy", "-t", fnTemplate(t, t.TempDir(), "t.yaml", "", "F"), "--stack", "live")
	run := exec.Command("sleep", "600") // stands for the deploy holding the stack
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Process.Kill(); _ = run.Wait() })
	host, _ := os.Hostname()
	by := fmt.Sprintf("portico deploy, on %s, pid %d", host, run.Process.Pid)
	ctx := context.Background()
	target := &deploy.HTTPTarget{C: env.Client()}
	if err := target.HoldStack(ctx, "live", by); err != nil {
		t.Fatal(err)
	}
	out, err := cliErr(env, "stack", "unlock", "live")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pid %d still runs on this host", run.Process.Pid)) ||
		!strings.Contains(err.Error(), "--force") {
		t.Fatalf("unlock of a live run's hold: %v\n%s", err, out)
	}
	if h, err := target.StackHold(ctx, "live"); err != nil || h == nil || h.By != by {
		t.Fatalf("the hold after the refused unlock: %+v, %v", h, err)
	}
	if out := cliCombined(t, env, "stack", "unlock", "live", "--force"); !strings.Contains(out, "cleared the hold of "+by) {
		t.Fatalf("unlock --force printed %q", out)
	}
	if err := target.HoldStack(ctx, "live", by); err != nil {
		t.Fatal(err)
	}
	_ = run.Process.Kill()
	_ = run.Wait()
	if out := cliCombined(t, env, "stack", "unlock", "live"); !strings.Contains(out, "cleared the hold of "+by) {
		t.Fatalf("unlock of a gone run's hold printed %q", out)
	}
}
