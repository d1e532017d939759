package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestSIGHUPStopsGracefully: SIGHUP (a closed terminal, a supervisor's reload)
// stops `portico serve` as SIGTERM does, through the graceful stop, exit 0;
// before, it killed the process at once (exit 129) with nothing flushed.
func TestSIGHUPStopsGracefully(t *testing.T) {
	p := apptest.StartProcess(t, apptest.Options{})
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != 0 {
		t.Fatalf("portico serve exited %d after SIGHUP, want 0\n%s", code, p.Output())
	}
	if out := p.Output(); !strings.Contains(out, "shutting down") || !strings.Contains(out, `msg="portico stopped"`) {
		t.Errorf("no graceful stop, or not its end, logged after SIGHUP:\n%s", out)
	}
}

// TestShutdownTimeoutNamesWhatItCut: a stop whose --shutdown-timeout ends
// while a call runs exits 1 saying the invocation was cut off, not that
// WebSocket connections (there are none) were still closing.
func TestShutdownTimeoutNamesWhatItCut(t *testing.T) {
	p := apptest.StartProcess(t, apptest.Options{Args: []string{"--shutdown-timeout", "1s"}})
	out, code := stopWithCallInFlight(t, p)
	if code != 1 || !strings.Contains(out, "1 invocation(s) still running") {
		t.Errorf("exit %d; want 1, naming the invocation cut off\n%s", code, out)
	}
	if strings.Contains(out, "still closing") {
		t.Errorf("the stop blames WebSocket connections, and there are none:\n%s", out)
	}
}

// TestDrainTimeoutNamedWhenItCuts: with --shutdown-timeout 60s and the
// invoker's drain-timeout 1s, a call still running when SIGTERM comes is cut
// off by the drain, and the stop's error names the drain-timeout and how to
// raise it, not --shutdown-timeout, which was nowhere near its end (it said
// "--shutdown-timeout (1m0s) ended with ... (raise --shutdown-timeout ...)").
// Without a drain-timeout, the drain follows --shutdown-timeout: 40s of 60s,
// as the stop logs.
func TestDrainTimeoutNamedWhenItCuts(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "portico.yaml")
	if err := os.WriteFile(cfg, []byte("invoker:\n  drain-timeout: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := apptest.StartProcess(t, apptest.Options{Args: []string{"--shutdown-timeout", "60s", "--config", cfg}})
	out, code := stopWithCallInFlight(t, p)
	if code != 1 || !strings.Contains(out, "drain-timeout (1s) ended with 1 invocation(s) still running") ||
		!strings.Contains(out, "raise --drain-timeout") {
		t.Errorf("exit %d; want 1, naming the drain-timeout that cut the call and how to raise it\n%s", code, out)
	}
	if strings.Contains(out, "--shutdown-timeout (1m0s) ended") || strings.Contains(out, "(raise --shutdown-timeout") {
		t.Errorf("the stop blames --shutdown-timeout, which did not cut anything:\n%s", out)
	}

	t.Run("the drain follows --shutdown-timeout", func(t *testing.T) {
		p := apptest.StartProcess(t, apptest.Options{Args: []string{"--shutdown-timeout", "60s"}})
		if err := p.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p.Wait(t); code != 0 {
			t.Fatalf("exit %d\n%s", code, p.Output())
		}
		if out := p.Output(); !strings.Contains(out, "drain=40s") {
			t.Errorf("the stop's drain is not --shutdown-timeout less 20s (drain=40s):\n%s", out)
		}
	})
}

// stopWithCallInFlight sends p SIGTERM while a call of the blocker function
// is in flight and returns p's output and exit code once it exited.
func stopWithCallInFlight(t *testing.T, p *apptest.Process) (string, int) {
	t.Helper()
	answered := callInFlight(t, p.AdminURL, 60)
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := p.Wait(t)
	<-answered
	return p.Output(), code
}

// callInFlight creates function blocker (testdata/blocker, timeout seconds)
// on the server at adminURL and returns once a call of it is in flight, held
// until the test ends; the channel gets the call's outcome.
func callInFlight(t *testing.T, adminURL string, timeout int32) <-chan error {
	t.Helper()
	c := sdk(adminURL)
	zip, err := zipDir(apptest.Program(t, "./internal/e2e/testdata/blocker"))
	if err != nil {
		t.Fatal(err)
	}
	in := zipFunction("blocker", zip)
	in.Timeout = aws.Int32(timeout)
	createFunction(t, c, in)
	w := newWaiter(t)
	t.Cleanup(func() { close(w.release) })
	answered := make(chan error, 1)
	go func() {
		_, err := c.Invoke(context.WithoutCancel(t.Context()), &lambda.InvokeInput{
			FunctionName: aws.String("blocker"), Payload: []byte(`{"port":"` + w.port + `"}`),
		})
		answered <- err
	}()
	select {
	case <-w.arrived:
	case err := <-answered:
		t.Fatalf("the call ended before it was in flight: %v", err)
	}
	return answered
}
