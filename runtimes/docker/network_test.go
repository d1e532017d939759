package docker

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/runtimes"
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
	if _, err := cli.NetworkCreate(ctx, cfg.Network, client.NetworkCreateOptions{Driver: "bridge",
		Options: map[string]string{"com.docker.network.bridge.name": cfg.BridgeName},
		IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix("172.31.251.0/24"),
			Gateway: netip.MustParseAddr("172.31.251.1")}}}}); err != nil {
		t.Fatal(err)
	}
	err = rt.RepairNetwork(ctx)
	var gone *runtimes.NetworkGoneError
	if !errors.As(err, &gone) || !strings.Contains(gone.ClientMessage(), "the Docker network "+cfg.Network) ||
		!strings.Contains(err.Error(), "172.31.251.1") {
		t.Fatalf("RepairNetwork of a network recreated on another subnet: %v; want a NetworkGoneError naming it and its gateway", err)
	}
}
