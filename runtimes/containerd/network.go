package containerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/pkg/netns"
	gocni "github.com/containerd/go-cni"
	cnins "github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

// NetworkConfig configures the sandboxes' bridge network.
type NetworkConfig struct {
	// Subnet is the bridge's IPv4 subnet; its first address is the gateway and
	// HostAddr (10.209.0.0/16).
	Subnet string
	// BridgeName is the bridge's interface (portico1).
	BridgeName string
	// Name is the CNI network's name, which also names host-local's allocation
	// directory (portico).
	Name string
	// PluginDirs are searched for the CNI plugins: bridge, host-local and
	// loopback (/usr/lib/cni, Debian's containernetworking-plugins, and
	// /opt/cni/bin).
	PluginDirs []string
	// NetNSDir holds the sandboxes' network namespaces (/var/run/netns).
	NetNSDir string
}

func (c *NetworkConfig) defaults() {
	if c.Subnet == "" {
		c.Subnet = "10.209.0.0/16"
	}
	if c.BridgeName == "" {
		c.BridgeName = "portico1"
	}
	if c.Name == "" {
		c.Name = "portico"
	}
	if len(c.PluginDirs) == 0 {
		c.PluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}
	}
	if c.NetNSDir == "" {
		c.NetNSDir = "/var/run/netns"
	}
}

// network attaches sandboxes' network namespaces to the bridge through CNI.
type network struct {
	mu       sync.Mutex // serializes repair
	cfg      NetworkConfig
	cni      gocni.CNI
	gateway  netip.Addr
	prefix   netip.Prefix
	leaseDir string // host-local's data directory (leaseDataDir)
}

// newNetwork makes sure the bridge exists with the gateway address (so that the
// invoker can bind on HostAddr before the first sandbox starts) and loads the CNI
// configuration.
func newNetwork(cfg NetworkConfig, log *slog.Logger) (*network, error) {
	prefix, err := netip.ParsePrefix(cfg.Subnet)
	if err != nil || !prefix.Addr().Is4() {
		return nil, fmt.Errorf("containerd: network subnet %q is not an IPv4 prefix", cfg.Subnet)
	}
	prefix = prefix.Masked()
	n := &network{cfg: cfg, prefix: prefix, gateway: prefix.Addr().Next(), leaseDir: leaseDataDir}
	if err := n.ensureBridge(); err != nil {
		return nil, err
	}
	if err := n.ensureEgress(); err != nil {
		log.Warn("sandboxes will reach the host but not beyond it", "err", err)
	}
	if err := ctrbase.BlockMetadata(cfg.BridgeName, "FORWARD"); err != nil {
		log.Warn("sandboxes may reach the host's cloud metadata service, and with it the host's credentials", "err", err)
	}
	var missing []string
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		found := false
		for _, d := range cfg.PluginDirs {
			if _, err := os.Stat(filepath.Join(d, p)); err == nil {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("containerd: CNI plugins %v not found in %v (install Debian's containernetworking-plugins)", missing, cfg.PluginDirs)
	}
	conf, err := json.Marshal(map[string]any{
		"cniVersion": "1.0.0",
		"name":       cfg.Name,
		"plugins": []map[string]any{
			{
				"type":        "bridge",
				"bridge":      cfg.BridgeName,
				"isGateway":   true,
				"ipMasq":      false, // one rule for the subnet (ensureEgress), not a chain per sandbox
				"hairpinMode": false,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": prefix.String(), "gateway": n.gateway.String()}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": n.leaseDir,
				},
			},
		},
	})
	if err != nil {
		return nil, err
	}
	n.cni, err = gocni.New(gocni.WithPluginDir(cfg.PluginDirs), gocni.WithMinNetworkCount(2))
	if err == nil {
		err = n.cni.Load(gocni.WithLoNetwork, gocni.WithConfListBytes(conf))
	}
	if err != nil {
		return nil, fmt.Errorf("containerd: loading the CNI configuration: %w", err)
	}
	return n, nil
}

// ensureBridge creates the bridge with the gateway address when missing, and
// brings it up.
func (n *network) ensureBridge() error {
	link, err := netlink.LinkByName(n.cfg.BridgeName)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.cfg.BridgeName}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("containerd: creating bridge %s: %w", n.cfg.BridgeName, err)
		}
		link, err = netlink.LinkByName(n.cfg.BridgeName)
	}
	if err != nil {
		return fmt.Errorf("containerd: bridge %s: %w", n.cfg.BridgeName, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("containerd: %s exists and is not a bridge", n.cfg.BridgeName)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("containerd: addresses of %s: %w", n.cfg.BridgeName, err)
	}
	has := false
	for _, a := range addrs {
		if a.IP.Equal(net.IP(n.gateway.AsSlice())) {
			has = true
		}
	}
	if !has {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(n.gateway.AsSlice()), Mask: net.CIDRMask(n.prefix.Bits(), 32)}}
		if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("containerd: adding %s to %s: %w", n.gateway, n.cfg.BridgeName, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("containerd: bringing %s up: %w", n.cfg.BridgeName, err)
	}
	return nil
}

// repair sets the bridge up again as at start when it is missing or lost its
// gateway address (`ip link del portico1` under a running server), logging
// that it did; the iptables rules name the bridge, and hold for the new one.
// An error is a *runtimes.NetworkGoneError.
func (n *network) repair(log *slog.Logger) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := netlink.LinkByName(n.cfg.BridgeName); err != nil {
		log.Warn("the sandbox bridge was removed under Portico: creating it again as at start", "bridge", n.cfg.BridgeName, "gateway", n.gateway.String())
	}
	if err := n.ensureBridge(); err != nil {
		return &runtimes.NetworkGoneError{Network: "the bridge " + n.cfg.BridgeName, HostAddr: n.gateway.String(), Err: err}
	}
	return nil
}

// ensureEgress adds, once for the subnet rather than per sandbox, the iptables
// rules that let sandboxes out of the host: masquerading, and forwarding from the
// bridge and back for established connections. Forwarding between two sandboxes
// on the bridge is left to the FORWARD policy (DROP where Docker runs, which also
// loads br_netfilter), as Docker's enable_icc=false does; forwarding to another
// Portico bridge is dropped before these rules (ctrbase.IsolateBridge).
func (n *network) ensureEgress() error {
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		return fmt.Errorf("iptables not found: %w", err)
	}
	br, sub := n.cfg.BridgeName, n.prefix.String()
	rules := [][]string{
		{"-t", "nat", "POSTROUTING", "-s", sub, "!", "-o", br, "-j", "MASQUERADE"},
		{"-t", "filter", "FORWARD", "-i", br, "!", "-o", br, "-j", "ACCEPT"},
		{"-t", "filter", "FORWARD", "-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
	}
	for _, r := range rules {
		table, chain, spec := r[:2], r[2], r[3:]
		check := append(append(append([]string{"-w"}, table...), "-C", chain), spec...)
		if exec.Command(ipt, check...).Run() == nil {
			continue
		}
		add := append(append(append([]string{"-w"}, table...), "-A", chain), spec...)
		if out, err := exec.Command(ipt, add...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables %v: %w: %s", add, err, out)
		}
	}
	return nil
}

// attach creates a network namespace for container id, joins it to the bridge and
// returns its path and the sandbox's address. An error leaves nothing behind.
func (n *network) attach(ctx context.Context, id string) (string, net.IP, error) {
	ns, err := netns.NewNetNS(n.cfg.NetNSDir)
	if err != nil {
		return "", nil, fmt.Errorf("containerd: creating a network namespace: %w", err)
	}
	res, err := n.cni.Setup(ctx, id, ns.GetPath())
	if err != nil {
		_ = n.cni.Remove(context.WithoutCancel(ctx), id, ns.GetPath())
		_ = ns.Remove()
		return "", nil, fmt.Errorf("containerd: attaching sandbox %s to bridge %s: %w", id, n.cfg.BridgeName, err)
	}
	for name, iface := range res.Interfaces {
		if name == "lo" || iface.Sandbox == "" {
			continue
		}
		for _, c := range iface.IPConfigs {
			if ip := c.IP.To4(); ip != nil {
				return ns.GetPath(), ip, nil
			}
		}
	}
	_ = n.cni.Remove(context.WithoutCancel(ctx), id, ns.GetPath())
	_ = ns.Remove()
	return "", nil, fmt.Errorf("containerd: CNI gave sandbox %s no IPv4 address", id)
}

// detach undoes attach: releases the address and removes the namespace. It is
// safe on a namespace already gone.
func (n *network) detach(ctx context.Context, id, path string) error {
	err := n.cni.Remove(ctx, id, path)
	if err != nil && (strings.Contains(err.Error(), "no such device") || strings.Contains(err.Error(), "no such file") ||
		strings.Contains(err.Error(), "unknown FS magic")) {
		// Already detached (a concurrent teardown, or a namespace gone with its
		// host): what DEL would remove is not there. "unknown FS magic" is
		// the plugins' word for a namespace file another teardown unmounted
		// and has not removed yet (seen in CI: a runtime's Cleanup beside the
		// sandbox's own runtime stopping it).
		err = nil
	}
	if path != "" {
		if rerr := netns.LoadNetNS(path).Remove(); rerr != nil && !os.IsNotExist(rerr) && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("containerd: detaching sandbox %s: %w", id, err)
	}
	return nil
}

// leaseDataDir is where host-local keeps its leases, a directory per network
// (the "dataDir" of the configuration newNetwork loads).
const leaseDataDir = "/var/lib/cni/networks"

// lease is an address host-local holds on the network for a container.
type lease struct {
	addr netip.Addr
	id   string    // the container's id, as given to CNI
	made time.Time // when host-local wrote the lease
}

// leases returns the addresses host-local holds on the network, from its
// files: one per address, named by it, holding the container's id and the
// interface's name, a line each.
func (n *network) leases() ([]lease, error) {
	dir := filepath.Join(n.leaseDir, n.cfg.Name)
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("containerd: reading the network's leases: %w", err)
	}
	var out []lease
	for _, e := range ents {
		addr, err := netip.ParseAddr(e.Name())
		if err != nil || !e.Type().IsRegular() {
			continue // host-local's lock and last_reserved_ip files
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name())) //nolint:gosec // G304: host-local's lease files, named by the addresses listed
		if err != nil {
			continue // released meanwhile
		}
		id, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, lease{addr: addr, id: strings.TrimSpace(id), made: fi.ModTime()})
	}
	return out, nil
}

// namespacesByAddr maps each IPv4 address of the network's subnet found on an
// interface of a network namespace under NetNSDir to that namespace's path.
func (n *network) namespacesByAddr() map[netip.Addr]string {
	ents, err := os.ReadDir(n.cfg.NetNSDir)
	if err != nil {
		return nil
	}
	out := map[netip.Addr]string{}
	for _, e := range ents {
		path := filepath.Join(n.cfg.NetNSDir, e.Name())
		_ = netns.LoadNetNS(path).Do(func(cnins.NetNS) error {
			addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
			if err != nil {
				return err
			}
			for _, a := range addrs {
				if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && n.prefix.Contains(ip) {
					out[ip] = path
				}
			}
			return nil
		})
	}
	return out
}
