package containerd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestWaitBrokenByOutageIsNoExit: when containerd goes away under a running
// sandbox, its exit watch breaks; Err then says the runtime lost its watch
// (runtimes.ErrWaitLost, ErrUnavailable), not an exit the invoker would
// report as the function's (Runtime.ExitError).
func TestWaitBrokenByOutageIsNoExit(t *testing.T) {
	runtimetest.RequireContainerd(t)
	p := runtimetest.NewSocketProxy(t, runtimetest.ContainerdSocket())
	rt := newTestRuntime(t, Config{Socket: p.Path()})
	defer rt.Close()
	id := fmt.Sprintf("sbx-lostwait-%x", rand.Uint32()) //nolint:gosec // G404: a name, not a secret
	sb := runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: id, Function: "fn", Version: "1", MemoryMB: 128})

	p.Down()
	<-sb.Done()
	err := sb.Err()
	var ee *runtimes.ExitError
	if !errors.Is(err, runtimes.ErrWaitLost) || !errors.Is(err, errdefs.ErrUnavailable) || errors.As(err, &ee) {
		t.Fatalf("Err() after containerd went away = %v, want ErrWaitLost and ErrUnavailable, no ExitError", err)
	}

	p.Up(t)
	// Whatever the outage left is removed (here by Cleanup; the runtime's
	// outage sweep would do it too, once containerd answers). As the outage's
	// watch does, ping first: it brings the client's connection back, which
	// may still be in its backoff when the socket returns.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rt.rec.Ping(ctx); err != nil {
		t.Fatalf("ping once containerd is back: %v", err)
	}
	if err := rt.Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup once containerd is back: %v", err)
	}
}
