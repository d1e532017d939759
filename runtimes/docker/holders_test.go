package docker

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// waitSpares has rt fill its pool and waits until it is full; it returns the
// ready holders.
func waitSpares(tb testing.TB, rt *Runtime) []holder {
	tb.Helper()
	n := rt.spareTarget()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		rt.refill()
		p := &rt.spares
		p.mu.Lock()
		ready := append([]holder(nil), p.ready...)
		inFlight := p.refilling
		p.mu.Unlock()
		if len(ready) >= n {
			return ready
		}
		if inFlight != nil {
			<-inFlight
		} else {
			time.Sleep(50 * time.Millisecond) // a refill failed: try again
		}
	}
	tb.Fatalf("the pool did not fill to %d spare holders", n)
	return nil
}

// holderOf returns the container a sandbox's container shares its network
// namespace with, from the daemon, or "" when it has a namespace of its own.
func holderOf(t *testing.T, rt *Runtime, sb runtimes.Sandbox) string {
	t.Helper()
	res, err := rt.cli.ContainerInspect(context.Background(), sb.(*sandbox).id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := strings.CutPrefix(string(res.Container.HostConfig.NetworkMode), "container:")
	if id == string(res.Container.HostConfig.NetworkMode) {
		return ""
	}
	return id
}

// running reports whether a container exists and runs.
func running(t *testing.T, rt *Runtime, id string) bool {
	t.Helper()
	res, err := rt.cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	if err != nil {
		return false
	}
	return res.Container.State != nil && res.Container.State.Running
}

// instanceContainers lists every container of rt's instance, through a client
// of its own (rt's is closed by Close).
func instanceContainers(t *testing.T, rt *Runtime) []string {
	t.Helper()
	cli, err := newClient(rt.cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	f := client.Filters{}.Add("label", LabelInstance+"="+rt.cfg.Instance)
	res, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range res.Items {
		names = append(names, strings.Join(c.Names, ","))
	}
	return names
}

// startBox starts a sandbox of the conformance program and invokes it once.
func startBox(t *testing.T, rt *Runtime, spec runtimetest.SpecFunc) (runtimes.Sandbox, *runtimetest.APIServer) {
	t.Helper()
	ctx := context.Background()
	api := runtimetest.NewAPIServer(t, rt.HostAddr())
	sb, err := rt.Start(ctx, spec(api))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = sb.Stop(context.Background()) })
	go io.Copy(io.Discard, sb.Logs())
	if _, err := api.Invoke(ctx, []byte(`{"op":"env"}`), sb.Done()); err != nil {
		t.Fatalf("invoke: %v", err)
	}
	return sb, api
}

// TestStartTakesSpareHolder: with a spare holder ready, Start puts the sandbox
// in its network namespace; the pool is then refilled with another holder, and
// the taken one goes with its sandbox.
func TestStartTakesSpareHolder(t *testing.T) {
	runtimetest.RequireDocker(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	defer func() { _ = rt.Cleanup(context.Background()) }()
	if rt.spareTarget() == 0 {
		t.Skip("no pause program for this architecture: no spare holders")
	}
	spec := runtimetest.SandboxSpec(t)
	ctx := context.Background()

	spares := waitSpares(t, rt)
	if len(spares) != 1 {
		t.Fatalf("%d spare holders ready, want the default 1", len(spares))
	}
	sb, api := startBox(t, rt, spec)
	if got := holderOf(t, rt, sb); got != spares[0].id {
		t.Fatalf("the sandbox's network is %q, want the spare holder %s", got, short(spares[0].id))
	}
	for _, p := range api.Peers() {
		if !sb.(runtimes.PeerVerifier).OwnsConn(p) {
			t.Errorf("OwnsConn(%v) = false for the sandbox's own connection", p)
		}
	}

	refilled := waitSpares(t, rt)
	if len(refilled) != 1 || refilled[0].id == spares[0].id || !running(t, rt, refilled[0].id) {
		t.Fatalf("after the take the pool holds %+v, want one new running holder", refilled)
	}
	if err := sb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.cli.ContainerInspect(ctx, spares[0].id, client.ContainerInspectOptions{}); err == nil {
		t.Errorf("the sandbox's holder %s outlived its Stop", short(spares[0].id))
	}
	if !running(t, rt, refilled[0].id) {
		t.Errorf("the spare holder went with another sandbox's Stop")
	}
}

// TestHoldersNotShared: sandboxes started from the pool, prepared or started
// with it empty never share a network namespace, and a holder is never used
// again once its sandbox is gone.
func TestHoldersNotShared(t *testing.T) {
	runtimetest.RequireDocker(t)
	rt := newTestRuntime(t, Config{SpareHolders: 2})
	defer rt.Close()
	defer func() { _ = rt.Cleanup(context.Background()) }()
	if rt.spareTarget() == 0 {
		t.Skip("no pause program for this architecture: no spare holders")
	}
	spec := runtimetest.SandboxSpec(t)
	ctx := context.Background()

	waitSpares(t, rt)
	type started struct {
		sb  runtimes.Sandbox
		api *runtimetest.APIServer
	}
	var all []started
	for range 3 { // two from the pool, then (usually) one while it refills
		sb, api := startBox(t, rt, spec)
		all = append(all, started{sb, api})
	}
	papi := runtimetest.NewAPIServer(t, rt.HostAddr())
	p, err := rt.Prepare(ctx, spec(papi))
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	psb, err := p.Start(ctx)
	if err != nil {
		t.Fatalf("Start of a prepared sandbox: %v", err)
	}
	t.Cleanup(func() { _ = psb.Stop(context.Background()) })
	go io.Copy(io.Discard, psb.Logs())
	if _, err := papi.Invoke(ctx, []byte(`{"op":"env"}`), psb.Done()); err != nil {
		t.Fatal(err)
	}
	all = append(all, started{psb, papi})

	holders := map[string]bool{}
	for _, x := range all {
		if h := holderOf(t, rt, x.sb); h != "" {
			if holders[h] {
				t.Errorf("holder %s serves two sandboxes", short(h))
			}
			holders[h] = true
		}
	}
	if len(holders) < 2 {
		t.Errorf("only %d sandboxes in a holder's namespace, want at least the 2 spares", len(holders))
	}
	// Each sandbox connects from an address of its own, and owns no other's
	// connections.
	for i, x := range all {
		for j, y := range all {
			for _, peer := range y.api.Peers() {
				if got := x.sb.(runtimes.PeerVerifier).OwnsConn(peer); got != (i == j) {
					t.Errorf("sandbox %d OwnsConn(%v) of sandbox %d's connection = %v", i, peer, j, got)
				}
			}
		}
	}
	for _, x := range all {
		if err := x.sb.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Holders went with their sandboxes, and sandboxes started later get new ones.
	for h := range holders {
		if _, err := rt.cli.ContainerInspect(ctx, h, client.ContainerInspectOptions{}); err == nil {
			t.Errorf("holder %s outlived its sandbox", short(h))
		}
	}
	waitSpares(t, rt)
	sb, _ := startBox(t, rt, spec)
	if h := holderOf(t, rt, sb); h == "" || holders[h] {
		t.Errorf("a later sandbox's holder is %q, want a new spare", h)
	}
}

// TestSpareHolderGone: a spare holder removed or stopped behind the runtime's
// back fails neither a Start nor a Prepare, and is not left behind.
func TestSpareHolderGone(t *testing.T) {
	runtimetest.RequireDocker(t)
	spec := runtimetest.SandboxSpec(t)
	for _, tc := range []struct {
		name    string
		prepare bool
		kill    func(ctx context.Context, cli *client.Client, id string) error
	}{
		{"removed/Start", false, removeForced},
		{"stopped/Start", false, killOnly},
		{"removed/Prepare", true, removeForced},
		{"stopped/Prepare", true, killOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs testkit.LockedBuffer
			rt := newTestRuntime(t, Config{Log: slog.New(slog.NewTextHandler(&logs, nil))})
			defer rt.Close()
			defer func() { _ = rt.Cleanup(context.Background()) }()
			if rt.spareTarget() == 0 {
				t.Skip("no pause program for this architecture: no spare holders")
			}
			ctx := context.Background()
			dead := waitSpares(t, rt)[0]
			if err := tc.kill(ctx, rt.cli, dead.id); err != nil {
				t.Fatal(err)
			}
			api := runtimetest.NewAPIServer(t, rt.HostAddr())
			var sb runtimes.Sandbox
			if tc.prepare {
				p, err := rt.Prepare(ctx, spec(api))
				if err != nil {
					t.Fatalf("Prepare with a dead spare holder: %v", err)
				}
				if sb, err = p.Start(ctx); err != nil {
					t.Fatalf("Start of the prepared sandbox: %v", err)
				}
			} else {
				var err error
				if sb, err = rt.Start(ctx, spec(api)); err != nil {
					t.Fatalf("Start with a dead spare holder: %v", err)
				}
			}
			go io.Copy(io.Discard, sb.Logs())
			if _, err := api.Invoke(ctx, []byte(`{"op":"env"}`), sb.Done()); err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if h := holderOf(t, rt, sb); h == dead.id {
				t.Fatalf("the sandbox joined the dead holder")
			}
			if !strings.Contains(logs.String(), "spare network holder is gone") {
				t.Errorf("the runtime did not say it found the spare holder gone (was it taken?); logs:\n%s", logs.String())
			}
			for _, p := range api.Peers() {
				if !sb.(runtimes.PeerVerifier).OwnsConn(p) {
					t.Errorf("OwnsConn(%v) = false for the sandbox's own connection", p)
				}
			}
			if err := sb.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := rt.cli.ContainerInspect(ctx, dead.id, client.ContainerInspectOptions{}); err == nil {
				t.Errorf("the dead holder was left behind")
			}
			if n, err := countContainers(ctx, rt); err != nil || n != 0 {
				t.Errorf("%d containers left (%v)", n, err)
			}
		})
	}
}

func removeForced(ctx context.Context, cli *client.Client, id string) error {
	_, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	return err
}

func killOnly(ctx context.Context, cli *client.Client, id string) error {
	if _, err := cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return err
	}
	w := cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-w.Result:
		return nil
	case err := <-w.Error:
		return err
	}
}

// TestCloseAndCleanupLeaveNothing: Cleanup and Close remove the spare holders,
// those ready and the one a refill is starting, and no refill outlives them.
func TestCloseAndCleanupLeaveNothing(t *testing.T) {
	runtimetest.RequireDocker(t)
	spec := runtimetest.SandboxSpec(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		end  func(rt *Runtime) error
	}{
		{"Cleanup", func(rt *Runtime) error { return rt.Cleanup(ctx) }},
		{"Close", func(rt *Runtime) error { return rt.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newTestRuntime(t, Config{SpareHolders: 2})
			defer rt.Close()
			defer func() { _ = rt.Cleanup(ctx) }()
			if rt.spareTarget() == 0 {
				t.Skip("no pause program for this architecture: no spare holders")
			}
			// Ready spares, one taken and its sandbox gone: the end comes with
			// a refill in flight (started by Start, or by hand just before).
			waitSpares(t, rt)
			sb, _ := startBox(t, rt, spec)
			if err := sb.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			rt.refill()
			if err := tc.end(rt); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if left := instanceContainers(t, rt); len(left) != 0 {
				t.Errorf("after %s, containers of the instance remain: %v", tc.name, left)
			}
		})
	}
}
