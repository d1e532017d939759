package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/client"

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

// TestKilledByDaemonStopIsNoExit: a Docker daemon that stops closes its API,
// then stops its containers; the wait under way still gets their status
// (SIGTERM's 143). Err then says the runtime lost its watch (the daemon's
// failure, ErrUnavailable), not an exit of the function's. The same kill
// while the daemon answers is the function's exit (signal: terminated).
func TestKilledByDaemonStopIsNoExit(t *testing.T) {
	runtimetest.RequireDocker(t)
	direct := newTestRuntime(t, Config{})
	defer direct.Close()
	for _, tc := range []struct {
		name       string
		daemonStop bool
	}{
		{"daemon stops", true},
		{"daemon answers", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := runtimetest.NewSocketProxy(t, runtimetest.DockerSocketPath(t))
			var logs logBuffer
			rt := newTestRuntime(t, Config{Host: "unix://" + p.Path(), Instance: direct.cfg.Instance, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			defer rt.Close()
			defer func() { _ = rt.Cleanup(context.Background()) }()
			id := fmt.Sprintf("sbx-daemonstop-%x", rand.Uint32()) //nolint:gosec // G404: a name, not a secret
			sb := runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: id, Function: "fn", Version: "1", MemoryMB: 128})

			if tc.daemonStop {
				p.Refuse() // the API closes; the wait stays
			}
			if _, err := direct.cli.ContainerKill(context.Background(), sb.(*sandbox).id, client.ContainerKillOptions{Signal: "TERM"}); err != nil {
				t.Fatal(err)
			}
			<-sb.Done()
			err := sb.Err()
			var ee *runtimes.ExitError
			if tc.daemonStop {
				if !errors.Is(err, runtimes.ErrWaitLost) || !errors.Is(err, errdefs.ErrUnavailable) || errors.As(err, &ee) {
					t.Fatalf("Err() after the daemon's stop killed it = %v, want ErrWaitLost and ErrUnavailable, no ExitError", err)
				}
				if !strings.Contains(logs.String(), "the Docker daemon does not answer") {
					t.Errorf("no outage in the log:\n%s", logs.String())
				}
				p.Up(t)
				return
			}
			if !errors.As(err, &ee) || ee.Error() != "signal: terminated" || errors.Is(err, runtimes.ErrWaitLost) {
				t.Fatalf("Err() after a SIGTERM with the daemon up = %v, want the ExitError signal: terminated", err)
			}
		})
	}
}

// logBuffer is a log's output, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
