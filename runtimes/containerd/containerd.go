// Package containerd runs sandboxes as containerd tasks through containerd's Go
// client, for hosts without dockerd (containerd 1.6 and newer).
//
// Everything lives in Portico's own containerd namespace ("portico"). Images come
// from a registry pull, from an archive (ImportImage: `docker save` output or an OCI
// layout tarball), or copied out of the local Docker daemon when it has them. Zip
// functions run in a minimal base image the runtime imports itself, with the code
// bind-mounted read-only at /var/task.
//
// Each sandbox gets a network namespace of its own, joined to the "portico1"
// bridge through Debian's containernetworking-plugins (bridge, host-local,
// loopback) by the CNI library; HostAddr is the bridge's address, where
// the invoker binds the sandbox's Runtime API endpoint. A sandbox never shares the
// host's network namespace, so the host's loopback (the admin API) is out of its
// reach. The same hardening as the Docker runtime applies where the OCI spec allows.
//
// containerd SDK types never leave this package.
package containerd

import (
	"context"
	"errors"
	"fmt"
	"github.com/sasha-s/go-deadlock"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"go.uber.org/fx"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

// Labels every Portico container carries (the Docker runtime's, plus the paths
// Cleanup needs to undo the network).
const (
	LabelPortico  = ctrbase.LabelPortico
	LabelInstance = ctrbase.LabelInstance
	LabelFunction = ctrbase.LabelFunction
	LabelVersion  = ctrbase.LabelVersion
	LabelSandbox  = ctrbase.LabelSandbox
	LabelNetNS    = "portico.netns"
)

// ImageSource is another image store that images can be copied from, as the
// tar stream `docker save` writes (docker.Images satisfies it). SaveImage wraps
// errdefs.ErrNotFound for an image the store does not have. The caller closes the
// stream. Implementations are safe for concurrent use.
type ImageSource interface {
	SaveImage(ctx context.Context, ref string) (io.ReadCloser, error)
}

// ImageIdentifier is an ImageSource that can also tell which image a name
// names there, without copying it: its id, the digest of its configuration
// (docker.Images satisfies it). With one, ResolveImage warns when the image
// containerd holds under a name is not the one the source holds under it (a
// tag rebuilt in Docker), since it copies only images it lacks.
// Implementations are safe for concurrent use.
type ImageIdentifier interface {
	ImageID(ctx context.Context, ref string) (string, error)
}

// Config configures the containerd runtime. Zero fields take the defaults.
type Config struct {
	// Socket is containerd's socket (/run/containerd/containerd.sock).
	Socket string
	// Namespace is the containerd namespace Portico keeps its images and
	// containers in ("portico").
	Namespace string
	// Instance scopes Cleanup, as the docker runtime's Config.Instance does ("default").
	Instance string
	// FormerInstance, when set, is the instance an earlier Portico gave this
	// installation (ctrbase.FormerInstanceFor): Cleanup removes its containers
	// too.
	FormerInstance string
	// Snapshotter unpacks images for containers (containerd's default, overlayfs).
	Snapshotter string
	// Runtime is the OCI runtime shim (io.containerd.runc.v2).
	Runtime string
	// StopGrace is the time between SIGTERM and SIGKILL on Stop (2 s).
	StopGrace time.Duration
	// TmpfsMB sizes the writable /tmp (512).
	TmpfsMB int
	// PidsLimit bounds processes and threads per sandbox (1024).
	PidsLimit int64
	// InitPath is a static init (tini) bind-mounted as the sandbox's pid 1 so that
	// SIGTERM reaches the bootstrap and zombies are reaped. Empty finds
	// tini-static or docker-init; "none" runs the bootstrap as pid 1.
	InitPath string
	// Network configures the sandboxes' bridge.
	Network NetworkConfig
	// Images, when set, is where images missing from containerd are copied from
	// before a pull is tried (the Docker daemon's store: docker.Images). Nil
	// disables the copy.
	Images ImageSource
	// AllowRoot is the operator's opt-out of the non-root rule: each sandbox
	// runs as its image's USER as containerd resolves it, root (the default of
	// an image without USER, and of every Zip function) included, with the
	// supplementary groups of its group file. Capabilities stay dropped. By
	// default a sandbox runs as its image's USER only when that is not root
	// (uid 0 or gid 0), else as sbx_user1051, 993:990 (docs/runtimes.md).
	AllowRoot bool
	// Log receives progress (pulls, imports) and warnings. Default slog.Default().
	Log *slog.Logger
}

func (c *Config) defaults() {
	if c.Socket == "" {
		c.Socket = "/run/containerd/containerd.sock"
	}
	c.Socket = strings.TrimPrefix(c.Socket, "unix://")
	if c.Namespace == "" {
		c.Namespace = "portico"
	}
	if c.Instance == "" {
		c.Instance = "default"
	}
	if c.Runtime == "" {
		c.Runtime = "io.containerd.runc.v2"
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
	if c.InitPath == "" {
		for _, p := range []string{"/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/libexec/docker/docker-init"} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				c.InitPath = p
				break
			}
		}
	}
	if c.InitPath == "none" {
		c.InitPath = ""
	}
	c.Network.defaults()
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Runtime runs sandboxes as containerd tasks. Safe for concurrent use.
type Runtime struct {
	cfg Config
	cli *containerd.Client
	log *slog.Logger
	net *network

	imageMu sync.Mutex // serializes image fetches and imports
	baseRef string     // the Zip base image, once imported

	rec *ctrbase.Sweeper // containers left by containerd outages (recovery.go)

	leaseGrace time.Duration // how old an orphaned lease must be to be released (orphans.go)
	drainWait  time.Duration // how long an exited task's output may take to drain (waitExit)

	unisolate func() error // lets go of the bridge's isolation rules (ctrbase.IsolateBridge)
}

var (
	_ runtimes.Runtime       = (*Runtime)(nil)
	_ runtimes.ImageResolver = (*Runtime)(nil)
	_ runtimes.ImageImporter = (*Runtime)(nil)
	_ runtimes.Preparer      = (*Runtime)(nil)

	_ runtimes.NetworkRepairer = (*Runtime)(nil)
)

// RepairNetwork implements runtimes.NetworkRepairer: it creates the sandbox
// bridge again, with its gateway address, when it was removed under the
// running server (`ip link del portico1`). Sandboxes that were on the old
// bridge lost their network and run into their timeout.
func (r *Runtime) RepairNetwork(context.Context) error { return r.net.repair(r.log) }

// Ping reports whether containerd answers on socket.
func Ping(ctx context.Context, socket string) error {
	cfg := Config{Socket: socket}
	cfg.defaults()
	if _, err := os.Stat(cfg.Socket); err != nil {
		return down(cfg.Socket, "", err)
	}
	cli, err := containerd.New(cfg.Socket, containerd.WithTimeout(3*time.Second))
	if err != nil {
		return down(cfg.Socket, "", err)
	}
	defer func() { _ = cli.Close() }()
	if _, err := cli.Version(ctx); err != nil {
		return down(cfg.Socket, "version", err)
	}
	return nil
}

// go-cni swaps its mutexes for go-deadlock's in -race builds, and go-deadlock
// cannot tell goroutines apart on this Go release ("goroutine 0"): two sandboxes
// attaching to the network at once (a cold start beside a prepared spare) look like
// recursive locking and it exits the process. Its detection is a debugging aid of
// that library, not something Portico relies on. It is a global, so it is set
// before any goroutine can read it.
func init() { deadlock.Opts.Disable = true }

// connectParams is how the client's connection redials containerd after
// losing it: 100 ms after the first failed dial, backing off to once a second,
// as the outage's ping does (recovery.go). The client's own (a backoff that
// grows to its 10 s timeout) kept every call failing for up to 12 s after
// containerd was back. A dial that hangs gives up after 3 s.
var connectParams = grpc.ConnectParams{
	Backoff: backoff.Config{
		BaseDelay:  100 * time.Millisecond,
		Multiplier: 1.6,
		Jitter:     0.2,
		MaxDelay:   time.Second,
	},
	MinConnectTimeout: 3 * time.Second,
}

// New connects to containerd and prepares the sandbox network (the bridge and the
// CNI configuration). containerd must answer, and the CNI plugins be installed.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg.defaults()
	log := cfg.Log.With("runtime", "containerd")
	routeClientLog(log) // the client library's own lines, in Portico's format
	cli, err := containerd.New(cfg.Socket, containerd.WithDefaultNamespace(cfg.Namespace), containerd.WithTimeout(10*time.Second),
		containerd.WithExtraDialOpts([]grpc.DialOption{grpc.WithConnectParams(connectParams)}))
	if err != nil {
		return nil, down(cfg.Socket, "", err)
	}
	r := &Runtime{cfg: cfg, cli: cli, log: log, leaseGrace: leaseGrace, drainWait: drainWait}
	r.rec = r.newSweeper()
	if _, err := cli.Version(ctx); err != nil {
		_ = cli.Close()
		return nil, r.wrap("version", err)
	}
	if r.net, err = newNetwork(cfg.Network, r.log); err != nil {
		_ = cli.Close()
		return nil, err
	}
	if r.unisolate, err = ctrbase.IsolateBridge(cfg.Network.BridgeName, "containerd/"+cfg.Instance); err != nil {
		r.log.Warn("sandboxes may reach those on other Portico bridges of this host (the egress rules forward them there)", "bridge", cfg.Network.BridgeName, "err", err)
	}
	return r, nil
}

// Factory returns the containerd runtime's candidate for runtimes.Choose: probed
// by a version call on the socket, tried after docker under "auto".
func Factory(cfg Config) runtimes.Factory {
	return ctrbase.Candidate("containerd", 20,
		func(ctx context.Context) error { return Ping(ctx, cfg.Socket) },
		func(ctx context.Context) (runtimes.Runtime, error) { return New(ctx, cfg) })
}

// ModuleParams are what Module's provider needs; the store's data directory scopes
// Cleanup to this installation.
type ModuleParams = ctrbase.Params[Config]

// Module provides the containerd runtime's Factory into the "runtimes" group.
var Module = fx.Module("runtimes/containerd",
	fx.Provide(fx.Annotate(
		func(p ModuleParams) runtimes.Factory {
			cfg := p.Config
			cfg.Instance, cfg.FormerInstance, cfg.Log = p.Scope(cfg.Instance, cfg.FormerInstance, cfg.Log)
			return Factory(cfg)
		},
		fx.ResultTags(`group:"runtimes"`),
	)),
)

// Name implements runtimes.Runtime.
func (r *Runtime) Name() string { return "containerd" }

// HostAddr implements runtimes.Runtime: the sandbox bridge's address.
func (r *Runtime) HostAddr() string { return r.net.gateway.String() }

// Close implements runtimes.Runtime. It lets go of the rules that keep the
// bridge's sandboxes from other Portico bridges' (removed once no runtime of
// this process's runtimes of the installation holds them).
func (r *Runtime) Close() error {
	r.rec.Close()
	if r.unisolate != nil {
		if err := r.unisolate(); err != nil {
			r.log.Warn("removing the bridge's isolation rules", "err", err)
		}
	}
	return r.cli.Close()
}

// ctx puts the runtime's namespace on ctx.
func (r *Runtime) ctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.cfg.Namespace)
}

// Start implements runtimes.Runtime.
func (r *Runtime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	p, err := r.prepare(ctx, spec)
	if err != nil {
		return nil, err
	}
	return p.Start(ctx)
}

// Prepare implements runtimes.Preparer: image, network namespace, container and
// task are all made, so that Start is one task start (the process is created,
// blocked before exec, until then).
func (r *Runtime) Prepare(ctx context.Context, spec runtimes.Spec) (runtimes.Prepared, error) {
	return r.prepare(ctx, spec)
}

// Cleanup implements runtimes.Runtime: it removes every container of this
// instance (or its Config.FormerInstance), with its task, snapshot, network attachment and namespace, then
// ends the namespace's orphaned shims and the network's orphaned attachments
// (orphans.go).
func (r *Runtime) Cleanup(ctx context.Context) error {
	if err := r.checkSocket(); err != nil {
		return err
	}
	ctx = r.ctx(ctx)
	cs, err := r.cli.Containers(ctx, fmt.Sprintf(`labels.%q==%s`, LabelInstance, r.cfg.Instance))
	if err != nil {
		return r.wrap("listing containers", err)
	}
	if r.cfg.FormerInstance != "" && r.cfg.FormerInstance != r.cfg.Instance {
		former, err := r.cli.Containers(ctx, fmt.Sprintf(`labels.%q==%s`, LabelInstance, r.cfg.FormerInstance))
		if err != nil {
			return r.wrap("listing containers", err)
		}
		cs = append(cs, former...)
	}
	if len(cs) > 0 {
		r.log.Info("removing sandboxes left behind", "containers", len(cs))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, c := range cs {
		g.Go(func() error {
			labels, err := c.Labels(gctx)
			if err != nil && !cerrdefs.IsNotFound(err) {
				return r.wrap("reading labels of "+c.ID(), err)
			}
			return r.teardown(gctx, c, labels[LabelNetNS])
		})
	}
	err = g.Wait()
	r.sweepOrphans(ctx)
	return err
}

// list returns the ids of this instance's containers.
func (r *Runtime) list(ctx context.Context) ([]string, error) {
	cs, err := r.cli.Containers(r.ctx(ctx), fmt.Sprintf(`labels.%q==%s`, LabelInstance, r.cfg.Instance))
	if err != nil {
		return nil, r.wrap("listing containers", err)
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID())
	}
	return ids, nil
}

// checkSocket fails fast, with ErrUnavailable, when containerd's socket is gone:
// the client would otherwise keep redialling a missing socket until its timeout.
func (r *Runtime) checkSocket() error {
	if _, err := os.Stat(r.cfg.Socket); err != nil {
		return down(r.cfg.Socket, "", err)
	}
	return nil
}

// down is the error of containerd at socket not answering while doing what
// ("" for nothing in particular).
func down(socket, what string, err error) error {
	return &runtimes.DaemonDownError{Runtime: "containerd", Daemon: "containerd", Address: socket, Op: what, Err: err}
}

// wrap adds what was being done to a containerd error; containerd not answering
// is ErrUnavailable.
func (r *Runtime) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if isUnavailable(err) {
		return down(r.cfg.Socket, what, err)
	}
	return fmt.Errorf("containerd: %s: %w", what, err)
}

// notAnImage reports whether err, from an import, is the archive's fault: the
// client reads the archive itself, and what it cannot parse (a truncated tar,
// no manifest or index) comes back as a plain error, while containerd's own
// failures (a store that is down or full) carry a status of their own.
func notAnImage(ctx context.Context, err error) bool {
	if ctx.Err() != nil || isUnavailable(err) {
		return false
	}
	if _, ok := status.FromError(err); ok {
		return false
	}
	return !cerrdefs.IsInternal(err) && !cerrdefs.IsResourceExhausted(err) && !cerrdefs.IsUnavailable(err) &&
		!cerrdefs.IsFailedPrecondition(err) && !cerrdefs.IsCanceled(err) && !cerrdefs.IsDeadlineExceeded(err)
}

func isUnavailable(err error) bool {
	if cerrdefs.IsUnavailable(err) {
		return true
	}
	if s, ok := status.FromError(errors.Unwrap(err)); ok && s.Code() == codes.Unavailable {
		return true
	}
	if s, ok := status.FromError(err); ok && s.Code() == codes.Unavailable {
		return true
	}
	return strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such file or directory\"")
}

// normalize returns the full name containerd keeps an image under
// (docker.io/library/alpine:latest for alpine), or an ErrInvalid error.
func normalize(ref string) (string, error) {
	n, err := ctrbase.ParseRef(ref)
	if err != nil {
		return "", err
	}
	return reference.TagNameOnly(n).String(), nil
}

// Pins. ResolveImage keeps each image id it resolves under a name of this
// installation's own, portico.local/pinned/INSTANCE@ID, labelled with the
// instance, so that the image outlives its tag moving on. The code collection
// lists and removes only this installation's pins (PinnedImages, Unpin): other
// installations on the same containerd (another data directory: another
// instance) keep theirs, whatever their stores reference. A pin of a Portico
// older than instance pins, portico.local/pinned@ID with no instance label,
// belongs to no one it can tell: no installation lists or removes it, and each
// installation whose functions or versions use its image pins the image as its
// own too (AdoptPins), so that the operator may remove the old pins once every
// installation on the host has run once (docs/runtimes.md).

// pinPrefix is the start of the names of this installation's pins.
func (r *Runtime) pinPrefix() string { return "portico.local/pinned/" + r.cfg.Instance + "@" }

// pinName is this installation's image record that keeps a resolved image id
// alive (and findable) after its tag moves on.
func (r *Runtime) pinName(id string) string { return r.pinPrefix() + id }

// legacyPinName is the pin of a Portico older than instance pins, shared by
// every installation in the namespace.
func legacyPinName(id string) string { return "portico.local/pinned@" + id }

// isPin reports whether name is a pin of any installation, or of an older Portico.
func isPin(name string) bool { return strings.HasPrefix(name, "portico.local/pinned") }

// image returns ref's image, unpacked: an id is looked up among pinned and named
// images; a name missing from containerd is copied from the local Docker daemon
// when it has it, else pulled.
func (r *Runtime) image(ctx context.Context, ref string) (containerd.Image, error) {
	ctx = r.ctx(ctx)
	if ctrbase.IsImageID(ref) {
		img, err := r.cli.GetImage(ctx, r.pinName(ref))
		if cerrdefs.IsNotFound(err) {
			// Another record holds it: a tag, an older Portico's pin, another
			// installation's.
			var list []images.Image
			list, err = r.cli.ImageService().List(ctx, "target.digest=="+ref)
			if err == nil && len(list) == 0 {
				return nil, &runtimes.ImageGoneError{Image: ref}
			}
			if err == nil {
				img = containerd.NewImage(r.cli, list[0])
			}
		}
		if err != nil {
			return nil, r.wrap("finding image "+ref, err)
		}
		return img, r.unpack(ctx, img)
	}
	name, err := normalize(ref)
	if err != nil {
		return nil, err
	}
	img, err := r.cli.GetImage(ctx, name)
	if cerrdefs.IsNotFound(err) {
		img, err = r.fetch(ctx, ref, name)
	}
	if err != nil {
		if errdefs.IsKind(err) {
			return nil, err
		}
		return nil, r.wrap("finding image "+ref, err)
	}
	return img, r.unpack(ctx, img)
}

// adoptDockerPin returns the image of spec, an Image function's sandbox whose
// pinned id (spec.Image) containerd does not have, when the id is the Docker
// runtime's id (the digest of the image's configuration) of the image that
// spec.ImageRef names here: a data directory that ran on the docker runtime
// before. It looks only where the image is at hand (containerd's image of
// that name, else the Docker daemon's copied in when the Docker daemon's
// image of that name has that id), never in a registry, and uses the image
// only when its configuration's digest is the pinned id, so that it is the
// very image pinned. It pins it under the id, so that the next start finds
// it at once, and logs it. Else it returns nil.
func (r *Runtime) adoptDockerPin(ctx context.Context, spec runtimes.Spec) containerd.Image {
	id, ref := spec.Image, spec.ImageRef
	if ref == "" || !ctrbase.IsImageID(id) || ctrbase.IsImageID(ref) {
		return nil
	}
	name, err := normalize(ref)
	if err != nil {
		return nil
	}
	cctx := r.ctx(ctx)
	img, err := r.cli.GetImage(cctx, name)
	if cerrdefs.IsNotFound(err) {
		src, ok := r.cfg.Images.(ImageIdentifier)
		if !ok {
			return nil
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		theirs, derr := src.ImageID(dctx, ref)
		cancel()
		if derr != nil || theirs != id {
			return nil
		}
		img, err = r.copyFromDocker(cctx, ref, name)
	}
	if err != nil {
		return nil
	}
	cfg, err := img.Config(cctx)
	if err != nil || cfg.Digest.String() != id {
		return nil
	}
	if err := r.unpack(cctx, img); err != nil {
		return nil
	}
	if err := r.pin(cctx, id, img.Target()); err != nil {
		r.log.Warn("cannot pin the image found for a Docker image id", "image", ref, "id", id, "err", err)
	}
	r.log.Info("function pinned to a Docker image id (this data directory ran on the docker runtime): running containerd's image of the same name, the same image",
		"function", spec.Function, "version", spec.Version, "image", ref, "id", id, "manifest", img.Target().Digest.String())
	return img
}

// fetch brings a missing image in: from the Docker daemon, else a registry.
func (r *Runtime) fetch(ctx context.Context, ref, name string) (containerd.Image, error) {
	r.imageMu.Lock()
	defer r.imageMu.Unlock()
	if img, err := r.cli.GetImage(ctx, name); err == nil {
		return img, nil // fetched meanwhile
	}
	img, dockerErr := r.copyLocked(ctx, ref, name)
	if dockerErr == nil {
		return img, nil
	}
	r.log.Info("pulling image", "image", name)
	last := time.Now()
	img, err := r.cli.Pull(ctx, name, containerd.WithPullUnpack, containerd.WithPullSnapshotter(r.cfg.Snapshotter),
		containerd.WithImageHandler(images.HandlerFunc(func(_ context.Context, desc ocispecDescriptor) ([]ocispecDescriptor, error) {
			if time.Since(last) > 200*time.Millisecond || images.IsLayerType(desc.MediaType) {
				last = time.Now()
				r.log.Info("pulling image", "image", name, "fetching", desc.Digest.String(), "bytes", desc.Size)
			}
			return nil, nil
		})))
	if err != nil {
		// The pull resolves in this process: a registry that does not
		// answer looks like an unavailable daemon. Only a daemon that does
		// not answer is one.
		if isUnavailable(err) {
			vctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			_, verr := r.cli.Version(vctx)
			cancel()
			if verr != nil {
				return nil, r.wrap("pulling image "+ref, verr)
			}
		}
		if dockerErr != nil && !errors.Is(dockerErr, errdefs.ErrNotFound) {
			err = fmt.Errorf("%w (copying it from the Docker daemon failed too: %w)", err, dockerErr)
		}
		return nil, ctrbase.ImageUnavailable(ref, err,
			"load a `docker save` or OCI archive with `portico image import FILE` or `ctr -n "+r.cfg.Namespace+" images import FILE`",
			r.privateAdvice(name))
	}
	r.log.Info("pulled image", "image", name)
	return img, nil
}

// copyFromDocker copies ref, named name in containerd, from the Docker daemon
// (Config.Images) when containerd lacks it; never from a registry.
func (r *Runtime) copyFromDocker(ctx context.Context, ref, name string) (containerd.Image, error) {
	r.imageMu.Lock()
	defer r.imageMu.Unlock()
	if img, err := r.cli.GetImage(ctx, name); err == nil {
		return img, nil // fetched meanwhile
	}
	return r.copyLocked(ctx, ref, name)
}

// copyLocked is copyFromDocker with imageMu held.
func (r *Runtime) copyLocked(ctx context.Context, ref, name string) (containerd.Image, error) {
	if r.cfg.Images == nil {
		return nil, fmt.Errorf("no Docker daemon to copy %s from: %w", ref, errdefs.ErrNotFound)
	}
	rc, err := r.cfg.Images.SaveImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	r.log.Info("copying image from the Docker daemon", "image", ref)
	_, err = r.importLocked(ctx, rc)
	_ = rc.Close()
	if err != nil {
		return nil, err
	}
	return r.cli.GetImage(ctx, name)
}

// privateAdvice says how to use an image (name, normalized) that a registry
// serves only with credentials. The runtime pulls without any (it reads no
// `docker login` credentials): the image has to be in its namespace first,
// pulled there with ctr's credentials, or copied from the Docker daemon
// (fetch) where one answers.
func (r *Runtime) privateAdvice(name string) string {
	s := "this runtime pulls without credentials and reads none that `docker login` stored; for a private one, " +
		"pull it first with `ctr -n " + r.cfg.Namespace + " images pull --user USER " + name + "`"
	if r.cfg.Images != nil {
		s += ", or with `docker login` and `docker pull " + name + "` on the Docker daemon, which Portico copies it from"
	}
	return s
}

// unpack makes sure img is unpacked into the snapshotter.
func (r *Runtime) unpack(ctx context.Context, img containerd.Image) error {
	ok, err := img.IsUnpacked(ctx, r.cfg.Snapshotter)
	if err == nil && ok {
		return nil
	}
	if err := img.Unpack(ctx, r.cfg.Snapshotter); err != nil {
		return r.wrap("unpacking image "+img.Name(), err)
	}
	return nil
}

// ResolveImage implements runtimes.ImageResolver: the digest of the manifest ref
// names now (fetching it when missing), kept under a pinned name so that it
// survives its tag moving.
func (r *Runtime) ResolveImage(ctx context.Context, ref string) (string, error) {
	if err := r.checkSocket(); err != nil {
		return "", err
	}
	had := false
	if name, err := normalize(ref); err == nil && !ctrbase.IsImageID(ref) {
		_, err := r.cli.GetImage(r.ctx(ctx), name)
		had = err == nil
	}
	img, err := r.image(ctx, ref)
	if err != nil {
		return "", err
	}
	if had {
		r.warnStale(ctx, ref, img)
	}
	id := img.Target().Digest.String()
	ctx = r.ctx(ctx)
	if err := r.pin(ctx, id, img.Target()); err != nil {
		return "", r.wrap("pinning image "+ref, err)
	}
	return id, nil
}

// warnStale logs a warning when the image containerd holds as ref (img, which
// it did not fetch now) is not the one the Docker daemon holds under that
// name (Config.Images, when it is an ImageIdentifier): a tag rebuilt in Docker
// is not copied over one containerd has, so an update to it keeps the old
// image. A Docker daemon that does not answer, or lacks ref, says nothing.
func (r *Runtime) warnStale(ctx context.Context, ref string, img containerd.Image) {
	src, ok := r.cfg.Images.(ImageIdentifier)
	if !ok {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	theirs, err := src.ImageID(dctx, ref)
	if err != nil || theirs == "" {
		return
	}
	cfg, err := img.Config(r.ctx(ctx))
	if err != nil || cfg.Digest.String() == theirs {
		return
	}
	r.log.Warn("containerd still has the old image for "+ref+": the Docker daemon's "+ref+" is another image, "+
		"which this runtime does not copy over one it has; run `portico build DIR -t "+ref+" --import` "+
		"(or `docker save "+ref+" | portico image import -`) to use it",
		"image", ref, "containerd", cfg.Digest.String(), "docker", theirs)
}

// ResolveLocalImage is ResolveImage from the images containerd holds alone:
// it never fetches an image (from the Docker daemon or a registry) nor pins
// one, and an image containerd does not have is errdefs.ErrNotFound
// (portico deploy --dry-run says it would pull it).
func (r *Runtime) ResolveLocalImage(ctx context.Context, ref string) (string, error) {
	if err := r.checkSocket(); err != nil {
		return "", err
	}
	cctx := r.ctx(ctx)
	if ctrbase.IsImageID(ref) {
		if _, err := r.cli.GetImage(cctx, r.pinName(ref)); err == nil {
			return ref, nil
		}
		list, err := r.cli.ImageService().List(cctx, "target.digest=="+ref)
		if err != nil {
			return "", r.wrap("finding image "+ref, err)
		}
		if len(list) == 0 {
			return "", fmt.Errorf("image %s is not in containerd's store: %w", ref, errdefs.ErrNotFound)
		}
		return ref, nil
	}
	name, err := normalize(ref)
	if err != nil {
		return "", err
	}
	img, err := r.cli.GetImage(cctx, name)
	if cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("image %s is not in containerd's store: %w", ref, errdefs.ErrNotFound)
	}
	if err != nil {
		return "", r.wrap("finding image "+ref, err)
	}
	return img.Target().Digest.String(), nil
}

// pin makes or touches this installation's pin of id, whose manifest is target.
func (r *Runtime) pin(ctx context.Context, id string, target ocispecDescriptor) error {
	pin := images.Image{Name: r.pinName(id), Target: target,
		Labels: map[string]string{LabelPortico: "1", LabelInstance: r.cfg.Instance}}
	_, err := r.cli.ImageService().Create(ctx, pin)
	if cerrdefs.IsAlreadyExists(err) {
		// Touched, so that its age (see PinnedImages) counts from this use.
		_, err = r.cli.ImageService().Update(ctx, pin, "labels")
	}
	return err
}

// PinnedImages lists the ids this installation's ResolveImage last pinned
// before t (functions.ImagePins: the code collection unpins those no version of
// this installation uses any more). Other installations' pins, and an older
// Portico's, are not listed.
func (r *Runtime) PinnedImages(ctx context.Context, before time.Time) ([]string, error) {
	if err := r.checkSocket(); err != nil {
		return nil, err
	}
	list, err := r.cli.ImageService().List(r.ctx(ctx), fmt.Sprintf(`labels.%q==%s`, LabelInstance, r.cfg.Instance))
	if err != nil {
		return nil, r.wrap("listing pinned images", err)
	}
	var ids []string
	for _, im := range list {
		id, ok := strings.CutPrefix(im.Name, r.pinPrefix())
		if ok && im.UpdatedAt.Before(before) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Unpin removes this installation's pin of id; containerd's garbage
// collection then frees the image unless another name (its tag, another
// installation's pin) still holds it. An id without a pin is not an error.
func (r *Runtime) Unpin(ctx context.Context, id string) error {
	if err := r.checkSocket(); err != nil {
		return err
	}
	err := r.cli.ImageService().Delete(r.ctx(ctx), r.pinName(id))
	if err != nil && !cerrdefs.IsNotFound(err) {
		return r.wrap("unpinning image "+id, err)
	}
	return nil
}

// AdoptPins pins as this installation's own each of ids (the images its
// functions and versions use) that only another pin holds: an older Portico's,
// or another installation's (a data directory copied or moved, whose instance
// changed with its path). It returns the ids it pinned. Images held by no pin,
// or by this installation's own, are left as they are.
func (r *Runtime) AdoptPins(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if err := r.checkSocket(); err != nil {
		return nil, err
	}
	ctx = r.ctx(ctx)
	list, err := r.cli.ImageService().List(ctx, fmt.Sprintf(`labels.%q==1`, LabelPortico))
	if err != nil {
		return nil, r.wrap("listing pinned images", err)
	}
	own := map[string]bool{}
	others := map[string]ocispecDescriptor{}
	for _, im := range list {
		if !isPin(im.Name) {
			continue
		}
		if id, ok := strings.CutPrefix(im.Name, r.pinPrefix()); ok {
			own[id] = true
		} else {
			others[im.Target.Digest.String()] = im.Target
		}
	}
	var adopted []string
	for _, id := range ids {
		target, ok := others[id]
		if !ok || own[id] {
			continue
		}
		if err := r.pin(ctx, id, target); err != nil {
			return adopted, r.wrap("pinning image "+id, err)
		}
		own[id] = true
		adopted = append(adopted, id)
	}
	return adopted, nil
}

// ImportImage implements runtimes.ImageImporter: an OCI layout or `docker save`
// archive, imported into Portico's namespace and unpacked.
func (r *Runtime) ImportImage(ctx context.Context, archive io.Reader) ([]string, error) {
	if err := r.checkSocket(); err != nil {
		return nil, err
	}
	r.imageMu.Lock()
	defer r.imageMu.Unlock()
	return r.importLocked(r.ctx(ctx), archive)
}

func (r *Runtime) importLocked(ctx context.Context, archive io.Reader) ([]string, error) {
	ctx = r.ctx(ctx)
	imgs, err := r.cli.Import(ctx, archive)
	if err != nil {
		if notAnImage(ctx, err) {
			return nil, ctrbase.NotAnImageArchive(fmt.Errorf("containerd: %w", err))
		}
		return nil, r.wrap("importing images", err)
	}
	names := make([]string, 0, len(imgs))
	for _, im := range imgs {
		if err := r.unpack(ctx, containerd.NewImage(r.cli, im)); err != nil {
			return names, err
		}
		names = append(names, im.Name)
	}
	r.log.Info("imported images", "images", names)
	return names, nil
}
