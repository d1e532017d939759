// Package docker runs sandboxes as Docker containers through the Docker Engine API
// (github.com/moby/moby/client, API version negotiated, so Docker 20.10 and newer
// work).
//
// Image functions run their image; Zip functions run in a minimal base image that
// the runtime imports into the daemon itself (no registry), with the code
// bind-mounted read-only at /var/task and /var/task/bootstrap as the entrypoint.
// Containers are hardened (read-only root file system, a tmpfs /tmp, a non-root
// user with no supplementary groups (user.go), all capabilities dropped, no
// privilege escalation, memory, CPU-share and pids limits)
// and join the "portico" bridge network, whose gateway address is HostAddr: the
// invoker binds each sandbox's Runtime API endpoint there. The admin API listens on
// the host's loopback, which containers cannot reach. docs/runtimes.md says more.
//
// Docker SDK types never leave this package.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"go.uber.org/fx"
	"golang.org/x/sync/errgroup"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

// Labels every Portico container carries (the same on every container runtime).
const (
	LabelPortico  = ctrbase.LabelPortico  // "1"
	LabelInstance = ctrbase.LabelInstance // Config.Instance: whose Cleanup removes it
	LabelFunction = ctrbase.LabelFunction
	LabelVersion  = ctrbase.LabelVersion
	LabelSandbox  = ctrbase.LabelSandbox
	// LabelRole is "netns" on a network holder. A spare holder, started before
	// any sandbox needs it, carries only the Portico, instance and role labels.
	LabelRole = "portico.role"
)

// Config configures the Docker runtime. Zero fields take the defaults.
type Config struct {
	// Host is the daemon's address, e.g. unix:///var/run/docker.sock. Empty takes
	// DOCKER_HOST, else the client's default socket.
	Host string
	// Instance names this Portico installation (Portico passes a digest of its data
	// directory). Containers are labelled with it, and Cleanup removes only the
	// containers of its own instance, so that two Portico installations (or test
	// runs) sharing a daemon never remove each other's sandboxes. Default "default".
	Instance string
	// FormerInstance, when set, is the instance an earlier Portico gave this
	// installation (ctrbase.FormerInstanceFor): Cleanup removes its containers
	// too.
	FormerInstance string
	// Network is the bridge network sandboxes join, created when missing with
	// inter-container traffic disabled. Default "portico".
	Network string
	// BridgeName is the host interface of a network the runtime creates. Default
	// "portico0".
	BridgeName string
	// StopGrace is the time between SIGTERM and SIGKILL on Stop (2 s; Docker
	// counts it in whole seconds, rounded up).
	StopGrace time.Duration
	// TmpfsMB sizes the writable /tmp (512, Lambda's default ephemeral storage).
	TmpfsMB int
	// PidsLimit bounds processes and threads per sandbox (1024).
	PidsLimit int64
	// SpareHolders is how many spare network holders the runtime keeps ready:
	// pause containers on the sandbox network, one of which a Start or Prepare
	// of any version takes, so that the sandbox's network is set up ahead of
	// the invocation. Each costs one idle pause process; each serves one
	// sandbox. The pool fills in the background from the first Start or
	// Prepare on, and refills after each take. Zero takes the default, 1; a
	// negative value keeps none (every Start then sets the network up itself).
	SpareHolders int
	// AllowRoot is the operator's opt-out of the non-root rule: each sandbox
	// runs as its image's USER as the daemon resolves it, root (the default of
	// an image without USER, and of every Zip function) included, with the
	// supplementary groups of its group file. Capabilities stay dropped. By
	// default a sandbox runs as its image's USER only when that is not root
	// (uid 0 or gid 0), else as sbx_user1051, 993:990 (docs/runtimes.md).
	AllowRoot bool
	// Log receives progress (image pulls) and warnings. Default slog.Default().
	Log *slog.Logger
}

func (c *Config) defaults() {
	if c.Instance == "" {
		c.Instance = "default"
	}
	if c.Network == "" {
		c.Network = "portico"
	}
	if c.BridgeName == "" {
		c.BridgeName = "portico0"
	}
	if c.StopGrace <= 0 {
		c.StopGrace = 2 * time.Second
	}
	if c.TmpfsMB <= 0 {
		c.TmpfsMB = 512
	}
	if c.PidsLimit <= 0 {
		c.PidsLimit = 1024
	}
	if c.SpareHolders == 0 {
		c.SpareHolders = 1
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Runtime runs sandboxes as Docker containers. Safe for concurrent use.
type Runtime struct {
	cfg      Config
	cli      *client.Client
	log      *slog.Logger
	hostAddr string

	netMu  sync.Mutex         // serializes RepairNetwork
	subnet network.IPAMConfig // the sandbox network's IPv4 subnet and gateway, as found at start

	baseMu  sync.Mutex
	baseRef string // the Zip base image, once ensured

	usersMu sync.Mutex
	users   map[string]string // image id and USER -> "uid:gid" (user.go)

	spares holderPool       // spare network holders (holders.go)
	rec    *ctrbase.Sweeper // daemon outages (recovery.go)

	unisolate func() error // lets go of the bridge's isolation rules (ctrbase.IsolateBridge)
}

var (
	_ runtimes.Runtime       = (*Runtime)(nil)
	_ runtimes.ImageResolver = (*Runtime)(nil)
	_ runtimes.ImageImporter = (*Runtime)(nil)
	_ runtimes.Preparer      = (*Runtime)(nil)

	_ runtimes.NetworkRepairer = (*Runtime)(nil)
)

// newClient makes a client for cfg.Host (or the environment's daemon). The client
// dials per request, so it recovers by itself when a daemon comes back.
func newClient(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	return client.New(opts...)
}

// Ping reports whether the daemon at host (or the environment's) answers.
func Ping(ctx context.Context, host string) error {
	cli, err := newClient(host)
	if err != nil {
		return err
	}
	defer func() { _ = cli.Close() }()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return unavailable(cli, "ping", err)
	}
	return nil
}

// New connects to the daemon, negotiates the API version and makes sure the
// sandbox network exists. The daemon must answer.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg.defaults()
	cli, err := newClient(cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	r := &Runtime{cfg: cfg, cli: cli, log: cfg.Log.With("runtime", "docker"), users: map[string]string{}}
	r.rec = r.newSweeper()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		return nil, unavailable(cli, "ping", err)
	}
	ipam, bridge, err := r.ensureNetwork(ctx, nil)
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	r.subnet, r.hostAddr = ipam, ipam.Gateway.String()
	if err := ctrbase.BlockMetadata(bridge, "DOCKER-USER"); err != nil {
		r.log.Warn("sandboxes may reach the host's cloud metadata service, and with it the host's credentials", "bridge", bridge, "err", err)
	}
	if r.unisolate, err = ctrbase.IsolateBridge(bridge, "docker/"+cfg.Instance); err != nil {
		r.log.Warn("sandboxes may reach those on other Portico bridges of this host (Docker's own rules forward them there)", "bridge", bridge, "err", err)
	}
	return r, nil
}

// Factory returns the Docker runtime's candidate for runtimes.Choose: probed by
// pinging the daemon, preferred first under "auto".
func Factory(cfg Config) runtimes.Factory {
	return ctrbase.Candidate("docker", 10,
		func(ctx context.Context) error { return Ping(ctx, cfg.Host) },
		func(ctx context.Context) (runtimes.Runtime, error) { return New(ctx, cfg) })
}

// ModuleParams are what Module's provider needs. The store's data directory, when
// there is one, scopes Cleanup to this installation (Config.Instance).
type ModuleParams = ctrbase.Params[Config]

// Module provides the Docker runtime's Factory into the "runtimes" value group.
var Module = fx.Module("runtimes/docker",
	fx.Provide(fx.Annotate(
		func(p ModuleParams) runtimes.Factory {
			cfg := p.Config
			cfg.Instance, cfg.FormerInstance, cfg.Log = p.Scope(cfg.Instance, cfg.FormerInstance, cfg.Log)
			return Factory(cfg)
		},
		fx.ResultTags(`group:"runtimes"`),
	)),
)

// InstanceFor returns the Config.Instance for a data directory: a short digest of
// its path, the same on every container runtime.
func InstanceFor(dataDir string) string { return ctrbase.InstanceFor(dataDir) }

// Name implements runtimes.Runtime.
func (r *Runtime) Name() string { return "docker" }

// HostAddr implements runtimes.Runtime: the sandbox network's gateway, the host's
// address on the bridge.
func (r *Runtime) HostAddr() string { return r.hostAddr }

// Close implements runtimes.Runtime. It stops refilling the spare network
// holders, waits for the refill in flight and removes the spares, and lets go
// of the rules that keep the bridge's sandboxes from other Portico bridges'
// (removed once none of this process's runtimes of the installation holds
// them). Running and
// prepared sandboxes are left to their Stop or Discard, or to the next Cleanup.
func (r *Runtime) Close() error {
	r.rec.Close()
	r.closeSpares()
	if r.unisolate != nil {
		if err := r.unisolate(); err != nil {
			r.log.Warn("removing the bridge's isolation rules", "err", err)
		}
	}
	return r.cli.Close()
}

// ensureNetwork finds or creates the sandbox network and returns its IPv4
// subnet and gateway and its bridge's host interface. A network it creates
// has the subnet and gateway of ipam when set (RepairNetwork: as at start),
// else those the daemon picks.
//
// A network of that name that is there already is checked for what Portico
// relies on (adoptable): a bridge with inter-container traffic off, an IPv4
// gateway Portico can bind on, and, so that a repair keeps the iptables rules,
// the bridge name Portico gives it. One someone else made without them is, at
// start (ipam nil) and with no container attached, removed and created anew
// with a WARN; otherwise it is refused with what is wrong and what to do.
func (r *Runtime) ensureNetwork(ctx context.Context, ipam *network.IPAMConfig) (_ network.IPAMConfig, bridge string, _ error) {
	var none network.IPAMConfig
	res, err := r.cli.NetworkInspect(ctx, r.cfg.Network, client.NetworkInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		if res, err = r.createNetwork(ctx, ipam); err != nil {
			return none, "", err
		}
	} else if err != nil {
		return none, "", r.wrap("inspecting network "+r.cfg.Network, err)
	}
	gw, wrong := r.adoptable(res.Network)
	if len(wrong) > 0 {
		if ipam != nil || len(res.Network.Containers) > 0 {
			return none, "", r.refuseNetwork(res.Network, wrong)
		}
		r.log.Warn("the sandbox network is not as Portico makes it and no container is on it: removing it and creating it anew",
			"network", r.cfg.Network, "id", short(res.Network.ID), "wrong", strings.Join(wrong, "; "))
		if _, err := r.cli.NetworkRemove(ctx, res.Network.ID, client.NetworkRemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return none, "", fmt.Errorf("%w (removing it failed: %w)", r.refuseNetwork(res.Network, wrong), r.wrap("removing network "+r.cfg.Network, err))
		}
		if res, err = r.createNetwork(ctx, nil); err != nil {
			return none, "", err
		}
		if gw, wrong = r.adoptable(res.Network); len(wrong) > 0 {
			return none, "", r.refuseNetwork(res.Network, wrong) // another one was made meanwhile
		}
	}
	bridge = res.Network.Options[optBridgeName]
	if bridge == "" {
		bridge = "br-" + short(res.Network.ID) // Docker's name for it
	}
	return gw, bridge, nil
}

// The bridge driver's options Portico sets on the network it creates.
const (
	optICC        = "com.docker.network.bridge.enable_icc"
	optBridgeName = "com.docker.network.bridge.name"
)

// createNetwork creates the sandbox network, with the subnet and gateway of
// ipam when set, and returns it as inspected.
func (r *Runtime) createNetwork(ctx context.Context, ipam *network.IPAMConfig) (client.NetworkInspectResult, error) {
	r.log.Info("creating the sandbox network", "network", r.cfg.Network, "bridge", r.cfg.BridgeName)
	opts := client.NetworkCreateOptions{
		Driver: "bridge",
		Options: map[string]string{
			// Sandboxes reach the host (their endpoints, the gateway), never each other.
			optICC:        "false",
			optBridgeName: r.cfg.BridgeName,
		},
		Labels: map[string]string{LabelPortico: "1"},
	}
	if ipam != nil {
		opts.IPAM = &network.IPAM{Config: []network.IPAMConfig{{Subnet: ipam.Subnet, Gateway: ipam.Gateway}}}
	}
	if _, cerr := r.cli.NetworkCreate(ctx, r.cfg.Network, opts); cerr != nil {
		// Another runtime may have created it meanwhile: the daemon then refuses
		// ours for its bridge name (Docker before 25 allows duplicate names).
		// Its creation may still be settling: look a few times.
		var err error
		for i := 0; i < 10; i++ {
			var res client.NetworkInspectResult
			if res, err = r.cli.NetworkInspect(ctx, r.cfg.Network, client.NetworkInspectOptions{}); err == nil {
				return res, nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return client.NetworkInspectResult{}, r.wrap("creating network "+r.cfg.Network, fmt.Errorf("%w (then: %w)", cerr, err))
	}
	res, err := r.cli.NetworkInspect(ctx, r.cfg.Network, client.NetworkInspectOptions{})
	if err != nil {
		return res, r.wrap("inspecting network "+r.cfg.Network, err)
	}
	return res, nil
}

// adoptable returns the IPv4 subnet and gateway of an existing sandbox network
// and what it lacks of Portico's settings, if anything.
func (r *Runtime) adoptable(n network.Inspect) (gw network.IPAMConfig, wrong []string) {
	if n.Driver != "bridge" {
		wrong = append(wrong, fmt.Sprintf("its driver is %q, not bridge", n.Driver))
	}
	if icc, err := strconv.ParseBool(n.Options[optICC]); err != nil || icc {
		wrong = append(wrong, "traffic between its containers is allowed ("+optICC+"=false is not set), so sandboxes could reach each other")
	}
	if b := n.Options[optBridgeName]; b != r.cfg.BridgeName {
		if b == "" {
			b = "br-" + short(n.ID)
		}
		wrong = append(wrong, fmt.Sprintf("its bridge is %s, not %s", b, r.cfg.BridgeName))
	}
	found := false
	for _, c := range n.IPAM.Config {
		if c.Gateway.Is4() {
			gw, found = c, true
			break
		}
	}
	if !found {
		wrong = append(wrong, "it records no IPv4 gateway (made with --subnet but no --gateway?), which Portico binds on")
	}
	return gw, wrong
}

// refuseNetwork is the error for a sandbox network Portico cannot use as it is.
func (r *Runtime) refuseNetwork(n network.Inspect, wrong []string) error {
	var on string
	if k := len(n.Containers); k > 0 {
		names := make([]string, 0, k)
		for _, c := range n.Containers {
			names = append(names, c.Name)
		}
		sort.Strings(names)
		if len(names) > 5 {
			names = append(names[:5], "...")
		}
		on = fmt.Sprintf("; %d container(s) are attached to it (%s), so Portico leaves it alone", k, strings.Join(names, ", "))
	}
	return fmt.Errorf("docker: network %s (id %s) is not as Portico makes it: %s%s. "+
		"Remove it (`docker network rm %s`, after stopping or disconnecting the containers on it) and start Portico again: it creates the network anew",
		r.cfg.Network, short(n.ID), strings.Join(wrong, "; "), on, r.cfg.Network)
}

// RepairNetwork implements runtimes.NetworkRepairer: it creates the sandbox
// network again when it is missing (removed by `docker network prune` while no
// container was on it), with the subnet and gateway it had at start, so that
// HostAddr is the host's again; the bridge's name, and with it the rules that
// keep sandboxes from the metadata service and other bridges, are the same. A
// network that is there with another gateway (recreated by someone else) is a
// *runtimes.NetworkGoneError: only a restart takes its address.
func (r *Runtime) RepairNetwork(ctx context.Context) error {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	gone := func(err error) error {
		return &runtimes.NetworkGoneError{Network: "the Docker network " + r.cfg.Network, HostAddr: r.hostAddr, Err: err}
	}
	_, err := r.cli.NetworkInspect(ctx, r.cfg.Network, client.NetworkInspectOptions{})
	missing := cerrdefs.IsNotFound(err)
	if err != nil && !missing {
		return r.wrap("inspecting network "+r.cfg.Network, err)
	}
	if missing {
		r.log.Warn("the sandbox network was removed under Portico (docker network prune?): creating it again as at start",
			"network", r.cfg.Network, "subnet", r.subnet.Subnet.String(), "gateway", r.hostAddr)
	}
	want := r.subnet
	ipam, _, err := r.ensureNetwork(ctx, &want)
	if err != nil {
		if down := (*runtimes.DaemonDownError)(nil); errors.As(err, &down) {
			return err // the daemon does not answer: not the network's doing
		}
		return gone(err)
	}
	if got := ipam.Gateway.String(); got != r.hostAddr {
		return gone(fmt.Errorf("network %s is there now with gateway %s, not %s", r.cfg.Network, got, r.hostAddr))
	}
	return nil
}

// Start implements runtimes.Runtime. When a spare network holder is ready, the
// sandbox's container joins its network namespace, set up ahead; otherwise it
// joins the sandbox network itself. Either way, the pool is refilled in the
// background once the container's start returned.
func (r *Runtime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	defer r.refill()
	sb, err := r.start(ctx, spec, useSpare)
	if errors.Is(err, errHolderGone) {
		r.log.Warn("a spare network holder is gone; starting the sandbox without one", "sandbox", spec.SandboxID, "err", err)
		sb, err = r.start(ctx, spec, 0)
	}
	return sb, err
}

func (r *Runtime) start(ctx context.Context, spec runtimes.Spec, use holderUse) (runtimes.Sandbox, error) {
	p, err := r.prepare(ctx, spec, use)
	if err != nil {
		return nil, err
	}
	return p.Start(ctx)
}

// Prepare implements runtimes.Preparer: it resolves the image (pulling it when
// missing), takes a spare network holder (a pause process on the sandbox
// network; one is started now when no spare is ready), creates the container in
// the holder's network namespace, attaches to its output and registers the wait
// for its exit, so that Start is one ContainerStart without any network setup.
func (r *Runtime) Prepare(ctx context.Context, spec runtimes.Spec) (runtimes.Prepared, error) {
	defer r.refill()
	p, err := r.prepare(ctx, spec, useSpare|startOwn)
	if errors.Is(err, errHolderGone) {
		r.log.Warn("a spare network holder is gone; preparing the sandbox with another", "sandbox", spec.SandboxID, "err", err)
		p, err = r.prepare(ctx, spec, startOwn)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Cleanup implements runtimes.Runtime: it removes every container labelled with
// this runtime's instance (or its Config.FormerInstance), running, prepared or
// exited, spare network holders included. No spare is started while it runs; the pool fills again from the
// next Start or Prepare.
func (r *Runtime) Cleanup(ctx context.Context) error {
	release, err := r.holdSpares(ctx)
	if err != nil {
		return err
	}
	defer release()
	ids, err := r.list(ctx, r.cfg.Instance)
	if err != nil {
		return err
	}
	if r.cfg.FormerInstance != "" && r.cfg.FormerInstance != r.cfg.Instance {
		former, err := r.list(ctx, r.cfg.FormerInstance)
		if err != nil {
			return err
		}
		ids = append(ids, former...)
	}
	if len(ids) > 0 {
		r.log.Info("removing sandboxes left behind", "containers", len(ids))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, id := range ids {
		g.Go(func() error {
			_, err := r.cli.ContainerRemove(gctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
				return r.wrap("removing container "+short(id), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// list returns the ids of an instance's containers.
func (r *Runtime) list(ctx context.Context, instance string) ([]string, error) {
	f := client.Filters{}.Add("label", LabelPortico+"=1", LabelInstance+"="+instance)
	res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, r.wrap("listing containers", err)
	}
	ids := make([]string, 0, len(res.Items))
	for _, c := range res.Items {
		ids = append(ids, c.ID)
	}
	return ids, nil
}

// checkRef rejects image references that do not parse.
func checkRef(ref string) error {
	if ctrbase.IsImageID(ref) {
		return nil
	}
	_, err := ctrbase.ParseRef(ref)
	return err
}

// ResolveImage implements runtimes.ImageResolver: the image id (sha256:...) that
// ref names now, pulling the image when it is not on the host.
func (r *Runtime) ResolveImage(ctx context.Context, ref string) (string, error) {
	if err := checkRef(ref); err != nil {
		return "", err
	}
	res, err := r.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) && !ctrbase.IsImageID(ref) {
		if err := r.pull(ctx, ref); err != nil {
			return "", err
		}
		res, err = r.cli.ImageInspect(ctx, ref)
	}
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			// An id is no tag to build or pull: the image it pinned is
			// gone, as at a sandbox's start.
			return "", &runtimes.ImageGoneError{Image: ref}
		}
		return "", r.wrap("inspecting image "+ref, err)
	}
	return res.ID, nil
}

// ResolveLocalImage is ResolveImage from the daemon's images alone: it never
// pulls, and an image the daemon does not have is errdefs.ErrNotFound
// (portico deploy --dry-run says it would pull it).
func (r *Runtime) ResolveLocalImage(ctx context.Context, ref string) (string, error) {
	if err := checkRef(ref); err != nil {
		return "", err
	}
	res, err := r.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("image %s is not on the Docker daemon's host: %w", ref, errdefs.ErrNotFound)
	}
	if err != nil {
		return "", r.wrap("inspecting image "+ref, err)
	}
	return res.ID, nil
}

// ImportImage implements runtimes.ImageImporter with the daemon's image load
// (`docker save` archives; OCI layouts where the daemon reads them, 25 and newer).
func (r *Runtime) ImportImage(ctx context.Context, archive io.Reader) ([]string, error) {
	res, err := r.cli.ImageLoad(ctx, archive)
	if err != nil {
		return nil, r.wrap("loading images", err)
	}
	defer func() { _ = res.Close() }()
	var refs []string
	err = decodeStream(res, func(m streamMessage) {
		s := strings.TrimSpace(m.Stream)
		for _, prefix := range []string{"Loaded image: ", "Loaded image ID: "} {
			if ref, ok := strings.CutPrefix(s, prefix); ok {
				refs = append(refs, ref)
			}
		}
	})
	if se := (*streamError)(nil); errors.As(err, &se) {
		// The daemon read the upload and refused it: not an image archive.
		return refs, ctrbase.NotAnImageArchive(fmt.Errorf("docker: %w", err))
	}
	if err != nil {
		return refs, fmt.Errorf("docker: loading images: %w", err)
	}
	return refs, nil
}

// wrap adds what was being done to a daemon error and maps it to Portico's kinds:
// a daemon that does not answer is ErrUnavailable.
func (r *Runtime) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if isConnErr(err) {
		r.rec.Watch() // the first failure of an outage: see outage
		return unavailable(r.cli, what, err)
	}
	return fmt.Errorf("docker: %s: %w", what, err)
}

func unavailable(cli *client.Client, what string, err error) error {
	return &runtimes.DaemonDownError{Runtime: "docker", Daemon: "Docker", Address: cli.DaemonHost(), Op: what, Err: err}
}

// isConnErr reports whether err says the daemon could not be reached.
func isConnErr(err error) bool {
	return client.IsErrConnectionFailed(err) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "connect to the Docker daemon")
}

func isRemovalInProgress(err error) bool {
	return cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "in progress")
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// networkOf finds the sandbox network's endpoint among a container's networks.
func networkOf(nets map[string]*network.EndpointSettings, name string) *network.EndpointSettings {
	if ep, ok := nets[name]; ok {
		return ep
	}
	for _, ep := range nets {
		return ep
	}
	return nil
}
