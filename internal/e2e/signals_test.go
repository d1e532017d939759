package e2e_test

import (
	"context"
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
	if out := p.Output(); !strings.Contains(out, "shutting down") {
		t.Errorf("no graceful stop logged after SIGHUP:\n%s", out)
	}
}

// TestShutdownTimeoutNamesWhatItCut: a stop whose --shutdown-timeout ends
// while a call runs exits 1 saying the invocation was cut off, not that
// WebSocket connections (there are none) were still closing.
func TestShutdownTimeoutNamesWhatItCut(t *testing.T) {
	p := apptest.StartProcess(t, apptest.Options{Args: []string{"--shutdown-timeout", "1s"}})
	c := sdk(p.AdminURL)
	zip, err := zipDir(apptest.Program(t, "./internal/e2e/testdata/blocker"))
	if err != nil {
		t.Fatal(err)
	}
	in := zipFunction("blocker", zip)
	in.Timeout = aws.Int32(60)
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
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := p.Wait(t)
	out := p.Output()
	if code != 1 || !strings.Contains(out, "1 invocation(s) still running") {
		t.Errorf("exit %d; want 1, naming the invocation cut off\n%s", code, out)
	}
	if strings.Contains(out, "still closing") {
		t.Errorf("the stop blames WebSocket connections, and there are none:\n%s", out)
	}
	<-answered
}
