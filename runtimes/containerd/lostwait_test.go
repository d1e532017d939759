package containerd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"

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

	upAndCleanup(t, rt, p)
}

// upAndCleanup brings containerd back through p and removes whatever the
// outage left (here by Cleanup; the runtime's outage sweep would do it too,
// once containerd answers). As the outage's watch does, it pings first: that
// brings the client's connection back, which may still be in its backoff when
// the socket returns.
func upAndCleanup(t *testing.T, rt *Runtime, p *runtimetest.SocketProxy) {
	t.Helper()
	p.Up(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rt.rec.Ping(ctx); err != nil {
		t.Fatalf("ping once containerd is back: %v", err)
	}
	if err := rt.Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup once containerd is back: %v", err)
	}
}

// TestBrokenWatchEndsTheSandboxAtOnce is r-runtimes19's 503s: containerd's
// restart broke a running sandbox's exit watch, but the sandbox read as live
// until its output drained, which a task that still runs (its FIFOs open)
// never does: the invoker went on handing it calls for the 5 s the drain was
// given, and read each one's crash (or the drain's end under it) as a lost
// watch, a retryable 503, though containerd was back. Done now closes as soon
// as the watch breaks. The drain is given an hour here, so that only the
// broken watch can end the sandbox; the minute is a safety net.
func TestBrokenWatchEndsTheSandboxAtOnce(t *testing.T) {
	runtimetest.RequireContainerd(t)
	p := runtimetest.NewSocketProxy(t, runtimetest.ContainerdSocket())
	rt := newTestRuntime(t, Config{Socket: p.Path()})
	defer rt.Close()
	rt.drainWait = time.Hour
	id := fmt.Sprintf("sbx-watchcut-%x", rand.Uint32()) //nolint:gosec // G404: a name, not a secret
	sb := runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: id, Function: "fn", Version: "1", MemoryMB: 128})

	p.Down()
	<-sb.(*sandbox).p.waited // the outage broke the task's wait; the task runs on
	select {
	case <-sb.Done():
	case <-time.After(time.Minute):
		t.Fatal("the sandbox's exit watch broke, but it still reads as live (Done open): the invoker would hand it calls")
	}
	if err := sb.Err(); !errors.Is(err, runtimes.ErrWaitLost) {
		t.Errorf("Err() = %v, want ErrWaitLost", err)
	}

	upAndCleanup(t, rt, p)
}

// TestSparePreparedBeforeOutageIsNotStarted: a sandbox prepared before
// containerd went away has a broken exit watch; started after containerd is
// back, its exit would read as a lost watch (a 503 for a function that
// crashed). Its Start fails instead, and removes it, so that the invoker
// starts a fresh sandbox, as for Docker.
func TestSparePreparedBeforeOutageIsNotStarted(t *testing.T) {
	runtimetest.RequireContainerd(t)
	px := runtimetest.NewSocketProxy(t, runtimetest.ContainerdSocket())
	rt := newTestRuntime(t, Config{Socket: px.Path()})
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := fmt.Sprintf("sbx-prelost-%x", rand.Uint32()) //nolint:gosec // G404: a name, not a secret
	api := runtimetest.NewAPIServer(t, rt.HostAddr())
	spec := runtimetest.NamedSpec(runtimetest.CodeDir(t, runtimetest.BuildSandbox(t)))(id, api)
	prep, err := rt.Prepare(ctx, spec)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}

	px.Down()
	<-prep.(*prepared).waited // the outage broke the task's wait
	px.Up(t)
	if err := rt.rec.Ping(ctx); err != nil {
		t.Fatalf("ping once containerd is back: %v", err)
	}

	sb, err := prep.Start(ctx)
	if err == nil {
		_ = sb.Stop(ctx)
		t.Fatal("Start of a sandbox prepared before the outage succeeded; want an error (its exit watch is broken)")
	}
	if !strings.Contains(err.Error(), "prepared before containerd went away") {
		t.Errorf("Start error = %v, want it to say the sandbox was prepared before containerd went away", err)
	}
	if _, err := rt.cli.LoadContainer(rt.ctx(ctx), containerID(id)); !cerrdefs.IsNotFound(err) {
		t.Errorf("container of the refused sandbox: LoadContainer = %v, want not found (removed)", err)
	}
}
