package containerd

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestContainerdGoneAndBackRemovesLostSandboxes is the leak the daemon-outage
// soak found: containerd went away under running sandboxes, their exit watches
// broke, the invoker took them for exited, and their removal failed for want of
// containerd; once it was back, nothing removed them (their tasks, containers,
// snapshots and network namespaces) until the server stopped. Now they go as
// soon as containerd answers again.
func TestContainerdGoneAndBackRemovesLostSandboxes(t *testing.T) {
	runtimetest.RequireContainerd(t)
	p := runtimetest.NewSocketProxy(t, runtimetest.ContainerdSocket())
	failed := make(chan struct{}, 16)
	log := slog.New(&onMessage{msg: "removing an exited sandbox", seen: failed})
	rt := newTestRuntime(t, Config{Socket: p.Path(), Log: log})
	defer rt.Close()
	ctx := context.Background()
	defer func() { _ = rt.Cleanup(ctx) }()
	var sbs []runtimes.Sandbox
	for i := range 2 {
		id := fmt.Sprintf("sbx-lost-%x-%d", rand.Uint32(), i) //nolint:gosec // G404: a name, not a secret
		sbs = append(sbs, runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: id, Function: "fn", Version: "1", MemoryMB: 128}))
	}
	if n, err := countContainers(ctx, rt); err != nil || n != 2 {
		t.Fatalf("%d containers (%v), want 2", n, err)
	}

	p.Down()
	for _, sb := range sbs {
		<-sb.Done() // the exit watch broke: the sandbox reads as exited
	}
	for range sbs {
		<-failed // and its removal failed: containerd does not answer
	}
	p.Up(t)

	deadline := time.Now().Add(time.Minute) // a safety net, not what the test waits for
	for {
		n, err := countContainers(ctx, rt)
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after containerd came back, %d containers of the sandboxes it lost are left (%v)", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// onMessage is a slog handler that sends on seen for each record whose message
// is msg, and drops every record.
type onMessage struct {
	msg  string
	seen chan<- struct{}
}

func (h *onMessage) Enabled(context.Context, slog.Level) bool { return true }

func (h *onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.seen <- struct{}{}
	}
	return nil
}

func (h *onMessage) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *onMessage) WithGroup(string) slog.Handler { return h }
