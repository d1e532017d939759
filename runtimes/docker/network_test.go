package docker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestRepairNetwork: the sandbox network removed under a running runtime
// (`docker network prune` while no container is on it) is created again as
// at start, with the same gateway, so that HostAddr binds and a sandbox
// starts; one recreated by someone else on another subnet is a
// NetworkGoneError naming the network (r-rt29 #4).
func TestRepairNetwork(t *testing.T) {
	runtimetest.RequireDocker(t)
	ctx := context.Background()
	inst := testInstance(t)
	cfg := Config{Network: "portico-" + inst, BridgeName: "ptr" + inst[len(inst)-8:], SpareHolders: -1}
	rt := newTestRuntime(t, cfg)
	defer rt.Close()
	cli, err := newClient("")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	defer cli.NetworkRemove(context.Background(), cfg.Network, client.NetworkRemoveOptions{})
	host := rt.HostAddr()

	if _, err := cli.NetworkRemove(ctx, cfg.Network, client.NetworkRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if ln, err := net.Listen("tcp", net.JoinHostPort(host, "0")); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		if ln != nil {
			ln.Close()
		}
		t.Fatalf("bind on %s with the network removed: %v, want EADDRNOTAVAIL", host, err)
	}
	if err := rt.RepairNetwork(ctx); err != nil {
		t.Fatalf("RepairNetwork: %v", err)
	}
	if rt.HostAddr() != host {
		t.Fatalf("HostAddr %s after the repair, want %s", rt.HostAddr(), host)
	}
	bin := runtimetest.BuildSandbox(t)
	api := runtimetest.NewAPIServer(t, host) // binds on the gateway again
	sb, err := rt.Start(ctx, runtimes.Spec{SandboxID: "sbx-repaired", Function: "fn", Version: "1", PackageType: "Zip",
		CodeDir: runtimetest.CodeDir(t, bin), Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": api.Addr()}})
	if err != nil {
		t.Fatalf("Start on the network set up again: %v", err)
	}
	go io.Copy(io.Discard, sb.Logs())
	_, err = api.Invoke(ctx, []byte(`{"op":"env"}`), sb.Done())
	_ = sb.Stop(ctx)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	if err := rt.RepairNetwork(ctx); err != nil {
		t.Errorf("RepairNetwork of a network that is there: %v", err)
	}

	// Recreated by someone else, elsewhere: only a restart takes it.
	if _, err := cli.NetworkRemove(ctx, cfg.Network, client.NetworkRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	gw := createElsewhere(t, cli, cfg.Network, map[string]string{optICC: "false", optBridgeName: cfg.BridgeName}, true)
	err = rt.RepairNetwork(ctx)
	var gone *runtimes.NetworkGoneError
	if !errors.As(err, &gone) || !strings.Contains(gone.ClientMessage(), "the Docker network "+cfg.Network) ||
		!strings.Contains(err.Error(), gw.String()) {
		t.Fatalf("RepairNetwork of a network recreated on another subnet: %v; want a NetworkGoneError naming it and its gateway", err)
	}
}

// TestAdoptNetwork: a sandbox network of Portico's name that someone else made
// without Portico's settings (`docker network create portico`: containers may
// talk to each other; `--subnet X`: no gateway recorded) is, at start, refused
// with what is wrong and what to do while a container is on it, and removed
// and created anew with Portico's settings, with a WARN, when none is
// (r-verify29a #2).
func TestAdoptNetwork(t *testing.T) {
	runtimetest.RequireDocker(t)
	ctx := context.Background()
	inst := testInstance(t)
	logs := &logBuffer{}
	cfg := Config{Network: "portico-" + inst, BridgeName: "pta" + inst[len(inst)-8:], SpareHolders: -1,
		Log: slog.New(slog.NewTextHandler(logs, nil))}
	cli, err := newClient("")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	defer cli.NetworkRemove(context.Background(), cfg.Network, client.NetworkRemoveOptions{})
	rt := newTestRuntime(t, cfg) // creates the network, as Portico makes it
	base, err := rt.baseImage(ctx)
	rt.Close()
	if err != nil {
		t.Fatal(err)
	}
	remake := func(opts client.NetworkCreateOptions) {
		t.Helper()
		if _, err := cli.NetworkRemove(ctx, cfg.Network, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			t.Fatal(err)
		}
		opts.Driver = "bridge"
		if _, err := cli.NetworkCreate(ctx, cfg.Network, opts); err != nil {
			t.Fatal(err)
		}
	}
	portico := func(what string) {
		t.Helper()
		res, err := cli.NetworkInspect(ctx, cfg.Network, client.NetworkInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		o := res.Network.Options
		if o[optICC] != "false" || o[optBridgeName] != cfg.BridgeName || res.Network.Labels[LabelPortico] != "1" {
			t.Errorf("%s: network options %v labels %v, want Portico's", what, o, res.Network.Labels)
		}
	}

	// Made by hand, with a container on it: refused, left alone.
	remake(client.NetworkCreateOptions{})
	c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: "pta-" + inst,
		Config:     &container.Config{Image: base, Entrypoint: []string{ctrbase.PausePath}, User: ctrbase.DefaultUser.String()},
		HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(cfg.Network), LogConfig: container.LogConfig{Type: "none"}}})
	if err != nil {
		t.Fatal(err)
	}
	rmc := func() {
		_, _ = cli.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true})
	}
	defer rmc()
	if _, err := cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	if rt, err := New(ctx, cfg); err == nil {
		rt.Close()
		t.Fatal("New on a hand-made network with a container on it: no error")
	} else if msg := err.Error(); !strings.Contains(msg, "("+optICC+"=false is not set)") ||
		!strings.Contains(msg, "its bridge is br-") || !strings.Contains(msg, "pta-"+inst) ||
		!strings.Contains(msg, "`docker network rm "+cfg.Network+"`") {
		t.Errorf("New on a hand-made network with a container on it: %v; want what is wrong, the container and the fix", err)
	}
	if res, err := cli.NetworkInspect(ctx, cfg.Network, client.NetworkInspectOptions{}); err != nil || len(res.Network.Containers) != 1 {
		t.Fatalf("the refused network: %v, %d containers; want it left as it was", err, len(res.Network.Containers))
	}

	// The same with nothing on it: made anew, with a WARN.
	rmc()
	rt = newTestRuntime(t, cfg)
	rt.Close()
	portico("a hand-made network with nothing on it")
	if !strings.Contains(logs.String(), "level=WARN msg=\"the sandbox network is not as Portico makes it and no container is on it: removing it and creating it anew\"") {
		t.Errorf("no WARN for the network made anew; log:\n%s", logs)
	}

	// Made by hand with --subnet and no --gateway: Docker records no gateway.
	if _, err := cli.NetworkRemove(ctx, cfg.Network, client.NetworkRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	createElsewhere(t, cli, cfg.Network, map[string]string{optICC: "false", optBridgeName: cfg.BridgeName}, false)
	rt = newTestRuntime(t, cfg)
	host := rt.HostAddr()
	rt.Close()
	portico("a network made with --subnet only")
	if !netip.MustParseAddr(host).Is4() {
		t.Errorf("HostAddr %q of the network made anew", host)
	}
}

// createElsewhere creates a bridge network on the first of a few /24 subnets
// that overlaps none of the host's networks, with its .1 as the gateway when
// gateway is set (else Docker records none), and returns that address.
func createElsewhere(t *testing.T, cli *client.Client, name string, opts map[string]string, gateway bool) netip.Addr {
	t.Helper()
	var err error
	for _, s := range []string{"172.31.251.0/24", "10.241.251.0/24", "172.29.251.0/24", "192.168.251.0/24"} {
		p := netip.MustParsePrefix(s)
		c := network.IPAMConfig{Subnet: p}
		if gateway {
			c.Gateway = p.Addr().Next()
		}
		if _, err = cli.NetworkCreate(context.Background(), name, client.NetworkCreateOptions{Driver: "bridge", Options: opts,
			IPAM: &network.IPAM{Config: []network.IPAMConfig{c}}}); err == nil {
			return p.Addr().Next()
		}
	}
	t.Fatalf("creating network %s on a subnet of its own: %v", name, err)
	return netip.Addr{}
}
