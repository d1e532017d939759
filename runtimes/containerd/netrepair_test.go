package containerd

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestRepairBridge: the sandbox bridge removed under a running runtime (`ip
// link del portico1`) is created again with its gateway address by repair,
// so that the invoker binds on HostAddr again (r-rt29 #4). It works on a
// bridge of its own, with no iptables rules, and needs CAP_NET_ADMIN.
func TestRepairBridge(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("REQUIRE_CONTAINERD") == "1" {
			t.Fatal("needs root (CAP_NET_ADMIN) to make a bridge")
		}
		t.Skip("needs root (CAP_NET_ADMIN) to make a bridge")
	}
	inst := testInstance(t)
	prefix := netip.MustParsePrefix("10.231.77.0/24")
	n := &network{cfg: NetworkConfig{BridgeName: "ptr" + inst[len(inst)-8:]}, prefix: prefix, gateway: prefix.Addr().Next()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := n.ensureBridge(); err != nil {
		t.Fatal(err)
	}
	del := func() error {
		link, err := netlink.LinkByName(n.cfg.BridgeName)
		if err != nil {
			return err
		}
		return netlink.LinkDel(link)
	}
	t.Cleanup(func() { _ = del() })
	host := net.JoinHostPort(n.gateway.String(), "0")
	if err := del(); err != nil {
		t.Fatal(err)
	}
	if ln, err := net.Listen("tcp", host); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		if ln != nil {
			ln.Close()
		}
		t.Fatalf("bind on %s with the bridge removed: %v, want EADDRNOTAVAIL", host, err)
	}
	if err := n.repair(log); err != nil {
		t.Fatalf("repair: %v", err)
	}
	ln, err := net.Listen("tcp", host)
	if err != nil {
		t.Fatalf("bind on %s after the repair: %v", host, err)
	}
	ln.Close()
	if err := n.repair(log); err != nil {
		t.Errorf("repair of a bridge that is there: %v", err)
	}
}
