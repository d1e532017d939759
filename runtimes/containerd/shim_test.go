package containerd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	taskv2 "github.com/containerd/containerd/api/runtime/task/v2"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/ttrpc"

	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestNoShimLeftWhenADeleteWasCutOff is the leak of orphaned shims: a task
// delete whose call is cut off part-way (the caller's context cancelled, the
// connection to containerd cut by an outage) can leave the task deleted in its
// shim but still recorded by containerd, which then reads the task as not
// found (so `ctr tasks ls` shows nothing) while its containerd-shim-runc-v2
// keeps running. The container was deleted next, and the shim was left with
// no task and no container for good. The test makes that state without a race,
// by deleting the task in the shim directly as the cut-off call did, and
// checks that the shim ends both when the task then reads as not found and
// when a task loaded before finds itself gone on delete (the client's delete
// then gives up without asking containerd, as a sweep racing the cut-off
// call's end did).
func TestNoShimLeftWhenADeleteWasCutOff(t *testing.T) {
	runtimetest.RequireContainerd(t)
	rt := newTestRuntime(t, Config{})
	t.Cleanup(func() { _ = rt.Cleanup(context.Background()); _ = rt.Close() })
	spec := runtimetest.SandboxSpec(t)
	for _, tc := range []struct {
		name   string
		remove func(ctx context.Context, p *prepared, task containerd.Task) error
	}{
		{"the task reads as not found", func(ctx context.Context, p *prepared, _ containerd.Task) error {
			return p.Discard(ctx)
		}},
		{"a task loaded before is gone on delete", func(ctx context.Context, p *prepared, task containerd.Task) error {
			return rt.deleteLoaded(rt.ctx(ctx), p.c.ID(), task) // before the container goes: the shim must end now
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := spec(runtimetest.NewAPIServer(t, rt.HostAddr()))
			p, err := rt.prepare(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = p.Discard(ctx) }()
			id := containerID(s.SandboxID)
			bundle := filepath.Join(filepath.Dir(rt.cfg.Socket), "io.containerd.runtime.v2.task", rt.cfg.Namespace, id)
			addr, err := os.ReadFile(filepath.Join(bundle, "address"))
			if err != nil {
				t.Skipf("containerd's state is not where its socket is (%v): cannot reach the shim", err)
			}
			pid := shimPID(t, id)
			if pid == 0 {
				t.Fatalf("no containerd-shim-runc-v2 for %s", id)
			}
			task, err := p.c.Task(rt.ctx(ctx), nil)
			if err != nil {
				t.Fatal(err)
			}

			// Delete the task in the shim, as the cut-off call did.
			conn, err := net.Dial("unix", strings.TrimPrefix(string(addr), "unix://"))
			if err != nil {
				t.Fatal(err)
			}
			tc2 := ttrpc.NewClient(conn)
			if _, err := taskv2.NewTTRPCTaskClient(tc2).Delete(ctx, &taskv2.DeleteRequest{ID: id}); err != nil {
				t.Fatalf("deleting the task in its shim: %v", err)
			}
			_ = tc2.Close()
			if _, err := p.c.Task(rt.ctx(ctx), nil); err == nil {
				t.Fatal("containerd still shows the task: the state of a cut-off delete was not made")
			}

			if err := tc.remove(ctx, p, task); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second) // a safety net for the shim's exit, not what the test waits for
			for !exited("/proc", pid) {
				if time.Now().After(deadline) {
					_ = syscall.Kill(pid, syscall.SIGKILL) // the test's own leak: not left for the next run
					t.Fatalf("the task is removed, but its shim (pid %d) still runs", pid)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if _, err := os.Stat(bundle); err == nil {
				t.Errorf("the shim's bundle %s is still there", bundle)
			}
		})
	}
}

// shimPID returns the pid of the containerd-shim-runc-v2 serving container id
// in the portico namespace, or 0.
func shimPID(t *testing.T, id string) int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if !strings.HasSuffix(args[0], "containerd-shim-runc-v2") {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-id" && args[i+1] == id {
				pid, _ := strconv.Atoi(d.Name())
				return pid
			}
		}
	}
	return 0
}
