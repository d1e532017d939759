package docker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestWaitBrokenByOutageIsNoExit: when Docker goes away under a running
// sandbox, its exit watch breaks; Err then says the runtime lost its watch
// (runtimes.ErrWaitLost, ErrUnavailable), not an exit the invoker would
// report as the function's (Runtime.ExitError).
func TestWaitBrokenByOutageIsNoExit(t *testing.T) {
	runtimetest.RequireDocker(t)
	p := runtimetest.NewSocketProxy(t, runtimetest.DockerSocketPath(t))
	rt := newTestRuntime(t, Config{Host: "unix://" + p.Path()})
	defer rt.Close()
	// After the outage: Cleanup and Close reach Docker through the proxy.
	defer func() { _ = rt.Cleanup(context.Background()) }()
	id := fmt.Sprintf("sbx-lostwait-%x", rand.Uint32()) //nolint:gosec // G404: a name, not a secret
	sb := runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: id, Function: "fn", Version: "1", MemoryMB: 128})

	p.Down()
	<-sb.Done()
	err := sb.Err()
	var ee *runtimes.ExitError
	if !errors.Is(err, runtimes.ErrWaitLost) || !errors.Is(err, errdefs.ErrUnavailable) || errors.As(err, &ee) {
		t.Fatalf("Err() after Docker went away = %v, want ErrWaitLost and ErrUnavailable, no ExitError", err)
	}
	p.Up(t)
}
