package e2e_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestRepeatedSignalDuringStop: a second signal while a stop waits for a call
// in flight is answered in the log (it was swallowed without a word), saying
// that one more stops at once; the third stops at once, exit 1, without
// waiting for the call (held until the test ends) or the drain (40s here).
func TestRepeatedSignalDuringStop(t *testing.T) {
	p := apptest.StartProcess(t, apptest.Options{Args: []string{"--shutdown-timeout", "60s"}})
	answered := callInFlight(t, p.AdminURL, 120)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, p, `msg="shutting down"`)
	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, p, "a stop is in progress")
	if out := p.Output(); !strings.Contains(out, "send one more signal to stop at once") || !strings.Contains(out, "signal=interrupt") {
		t.Errorf("the second signal's log line does not say what one more does, or which signal came:\n%s", out)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := p.Wait(t)
	out := p.Output()
	if code != 1 || !strings.Contains(out, "stopping at once on a repeated signal") {
		t.Errorf("exit %d after a third signal; want 1, logged as a stop at once\n%s", code, out)
	}
	if strings.Contains(out, `msg="portico stopped"`) {
		t.Errorf("the stop at once reads as a clean stop:\n%s", out)
	}
	if err := <-answered; err == nil {
		t.Errorf("the call in flight was answered, so the stop was not at once")
	}
}

// waitOutput waits until p's output contains s; it fails t when that has not
// happened within two minutes (a guard against a hang, not a measure).
func waitOutput(t *testing.T, p *apptest.Process, s string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !strings.Contains(p.Output(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in portico serve's output:\n%s", s, p.Output())
		}
	}
}
