package containerd

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cgroup1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	cgroup2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/containerd/api/services/tasks/v1"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	"github.com/containerd/typeurl/v2"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

type ocispecDescriptor = ocispec.Descriptor

var (
	_ runtimes.Prepared         = (*prepared)(nil)
	_ runtimes.Sandbox          = (*sandbox)(nil)
	_ runtimes.MemoryReporter   = (*sandbox)(nil)
	_ runtimes.PeakMemoryReader = (*sandbox)(nil)
	_ runtimes.LogSyncer        = (*sandbox)(nil)
	_ runtimes.Pauser           = (*sandbox)(nil)
	_ runtimes.PeerVerifier     = (*sandbox)(nil)
)

// cleanupTimeout bounds teardowns made after the caller's context may have ended.
const cleanupTimeout = 30 * time.Second

// initTarget is where the init binary is mounted in sandboxes.
const initTarget = "/sbin/portico-init"

func containerID(sandboxID string) string { return ctrbase.ContainerName(sandboxID) }

// cpuShares is docker's rule: 1769 MB is one vCPU, weight 1024.
func cpuShares(memoryMB int) uint64 {
	if memoryMB <= 0 {
		return 1024
	}
	return uint64(max(2, int64(memoryMB)*1024/1769))
}

// baseImage returns the Zip base image's name, importing it the first time.
func (r *Runtime) baseImage(ctx context.Context) (string, error) {
	r.imageMu.Lock()
	defer r.imageMu.Unlock()
	if r.baseRef != "" {
		return r.baseRef, nil
	}
	archive, tag, err := ctrbase.BaseArchive()
	if err != nil {
		return "", err
	}
	name, _ := normalize(ctrbase.BaseImageRepo + ":" + tag)
	if _, err := r.cli.GetImage(r.ctx(ctx), name); err != nil {
		if !cerrdefs.IsNotFound(err) {
			return "", r.wrap("finding the Zip base image", err)
		}
		r.log.Info("importing the Zip base image", "image", name)
		if _, err := r.importLocked(ctx, bytes.NewReader(archive)); err != nil {
			return "", err
		}
	}
	r.baseRef = name
	return name, nil
}

// specOpts is the hardened OCI spec of a sandbox.
func (r *Runtime) specOpts(spec runtimes.Spec, img containerd.Image, nsPath string) []oci.SpecOpts {
	env := make([]string, 0, len(spec.Env))
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	if spec.Trust != nil {
		env = append(env, runtimes.TrustEnv(spec.Env, runtimes.TrustMountDir)...)
	}
	sort.Strings(env)
	mounts := []specs.Mount{{
		Destination: "/tmp", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "nodev", "mode=1777", fmt.Sprintf("size=%dm", r.cfg.TmpfsMB)},
	}}
	if _, err := os.Stat("/etc/resolv.conf"); err == nil {
		mounts = append(mounts, specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: "/etc/resolv.conf", Options: []string{"rbind", "ro"}})
	}
	if spec.PackageType != "Image" {
		mounts = append(mounts, specs.Mount{Destination: "/var/task", Type: "bind", Source: spec.CodeDir, Options: []string{"rbind", "ro", "nosuid", "nodev"}})
	}
	for _, m := range spec.Mounts {
		mounts = append(mounts, specs.Mount{Destination: m.Target, Type: "bind", Source: m.Source, Options: []string{"rbind", "rw", "nosuid", "nodev"}})
	}
	if spec.Trust != nil {
		mounts = append(mounts, specs.Mount{Destination: runtimes.TrustMountDir, Type: "bind", Source: spec.Trust.Dir, Options: []string{"rbind", "ro", "nosuid", "nodev", "noexec"}})
	}
	if r.cfg.InitPath != "" {
		mounts = append(mounts, specs.Mount{Destination: initTarget, Type: "bind", Source: r.cfg.InitPath, Options: []string{"rbind", "ro"}})
	}
	opts := []oci.SpecOpts{
		withImageConfig(img, r.cfg.AllowRoot, r.log),
		withImageConfigOverrides(spec, img),
		withDefaultEnv(spec, img),
		withHandlerEnv(spec, img),
		oci.WithEnv(env),
		oci.WithMounts(mounts),
		oci.WithRootFSReadonly(),
		oci.WithNoNewPrivileges,
		oci.WithCapabilities(nil),
		// Docker's default seccomp profile, as Docker sandboxes get it: no
		// user namespaces, mount, keyctl, bpf, ptrace of others... It reads
		// the capabilities, so it follows them.
		seccomp.WithDefaultProfile(),
		oci.WithPidsLimit(r.cfg.PidsLimit),
		oci.WithRlimit(&specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: ctrbase.NoFile, Hard: ctrbase.NoFile}),
		oci.WithCPUShares(cpuShares(spec.MemoryMB)),
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: nsPath}),
		withoutIPv6,
		oci.WithHostname(ctrbase.SafeName(spec.SandboxID, "-")),
	}
	if !r.cfg.AllowRoot {
		opts = append(opts, withSandboxUser)
	}
	if spec.MemoryMB > 0 {
		b := uint64(spec.MemoryMB) << 20
		opts = append(opts, oci.WithMemoryLimit(b), oci.WithMemorySwap(int64(b)))
	}
	opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil || len(s.Process.Args) == 0 {
			return errNoEntrypoint
		}
		if r.cfg.InitPath != "" {
			s.Process.Args = append([]string{initTarget, "--"}, s.Process.Args...)
		}
		return nil
	})
	return opts
}

// withImageConfigOverrides applies the spec's overrides of the image's
// ENTRYPOINT, CMD and WORKDIR (ImageConfig), each on its own, after
// WithImageConfig set the image's: an EntryPoint or a Command replaces that
// part of the arguments, keeping the image's other part.
func withImageConfigOverrides(spec runtimes.Spec, img containerd.Image) oci.SpecOpts {
	return func(ctx context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if spec.PackageType != "Image" || len(spec.EntryPoint) == 0 && len(spec.Command) == 0 && spec.WorkingDir == "" {
			return nil
		}
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		if len(spec.EntryPoint) > 0 || len(spec.Command) > 0 {
			ic, err := img.Spec(ctx)
			if err != nil {
				return fmt.Errorf("reading the configuration of image %s: %w", img.Name(), err)
			}
			entrypoint, cmd := ic.Config.Entrypoint, ic.Config.Cmd
			if len(spec.EntryPoint) > 0 {
				entrypoint = spec.EntryPoint
			}
			if len(spec.Command) > 0 {
				cmd = spec.Command
			}
			s.Process.Args = append(slices.Clone(entrypoint), cmd...)
		}
		if spec.WorkingDir != "" {
			s.Process.Cwd = spec.WorkingDir
		}
		return nil
	}
}

// withDefaultEnv adds the spec's DefaultEnv where neither the spec's Env nor
// the image's own ENV sets a variable (WithImageConfig put the image's, or
// containerd's default PATH when the image has none, in the spec first).
func withDefaultEnv(spec runtimes.Spec, img containerd.Image) oci.SpecOpts {
	return func(ctx context.Context, c oci.Client, ctr *containers.Container, s *oci.Spec) error {
		if len(spec.DefaultEnv) == 0 {
			return nil
		}
		ic, err := img.Spec(ctx)
		if err != nil {
			return fmt.Errorf("reading the configuration of image %s: %w", img.Name(), err)
		}
		if extra := ctrbase.DefaultEnv(spec, ic.Config.Env); len(extra) > 0 {
			return oci.WithEnv(extra)(ctx, c, ctr, s)
		}
		return nil
	}
}

// withHandlerEnv sets the _HANDLER an Image sandbox gets (ctrbase.HandlerEnv):
// the first word of the spec's Command, else of the image's CMD. The image's
// configuration is read only when the spec has neither a Command nor its own
// _HANDLER.
func withHandlerEnv(spec runtimes.Spec, img containerd.Image) oci.SpecOpts {
	return func(ctx context.Context, c oci.Client, ctr *containers.Container, s *oci.Spec) error {
		var imageCmd []string
		if _, own := spec.Env["_HANDLER"]; spec.PackageType == "Image" && !own && len(spec.Command) == 0 {
			ic, err := img.Spec(ctx)
			if err != nil {
				return fmt.Errorf("reading the configuration of image %s: %w", img.Name(), err)
			}
			imageCmd = ic.Config.Cmd
		}
		if e := ctrbase.HandlerEnv(spec, imageCmd); len(e) > 0 {
			return oci.WithEnv(e)(ctx, c, ctr, s)
		}
		return nil
	}
}

// withSandboxUser applies ctrbase's rule to the user WithImageConfig resolved
// from the image's USER (as Docker does: a name through the image's passwd
// and group files, a uid without a group taking its passwd entry's, else 0):
// never uid 0 or gid 0 (root becomes sbx_user1051, 993:990), and no
// supplementary groups.
func withSandboxUser(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Process == nil {
		return errNoEntrypoint
	}
	u := ctrbase.NonRoot(ctrbase.User{UID: s.Process.User.UID, GID: s.Process.User.GID})
	s.Process.User = specs.User{UID: u.UID, GID: u.GID}
	return nil
}

// withImageConfig is oci.WithImageConfig, whose resolution of the image's
// USER fails as ctrbase.ResolveUser does: a user or group that the image's
// passwd or group file does not hold, or that it has no such file to hold
// (a FROM scratch image: "lstat etc: file does not exist"), is an error
// wrapping ctrbase.ErrUserUnknown, in the docker runtime's words (which name
// the user or the group); containerd's own error is logged at debug. Unless
// allowRoot, the name root needs no passwd entry: it is uid 0, which
// withSandboxUser then replaces.
func withImageConfig(img containerd.Image, allowRoot bool, log *slog.Logger) oci.SpecOpts {
	return func(ctx context.Context, c oci.Client, ctr *containers.Container, s *oci.Spec) error {
		err := oci.WithImageConfig(img)(ctx, c, ctr, s)
		if err == nil || !errors.Is(err, oci.ErrNoUsersFound) && !errors.Is(err, oci.ErrNoGroupsFound) && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		ic, ierr := img.Spec(ctx)
		if ierr != nil || ic.Config.User == "" {
			return err // not the USER's lookup that failed
		}
		// The lookup is WithImageConfig's last step: the rest of the
		// image's configuration is in s already.
		if name, _, _ := strings.Cut(ic.Config.User, ":"); name == "root" && !allowRoot && s.Process != nil {
			s.Process.User = specs.User{}
			return nil
		}
		log.Debug("the image's USER was not found", "image", img.Name(), "user", ic.Config.User, "err", err)
		name, group, _ := strings.Cut(ic.Config.User, ":")
		_, numeric := strconv.Atoi(name)
		if errors.Is(err, oci.ErrNoGroupsFound) || (numeric == nil && group != "") {
			return fmt.Errorf("USER %q: group %q: %w", ic.Config.User, group, ctrbase.ErrUserUnknown)
		}
		return fmt.Errorf("USER %q: user %q: %w", ic.Config.User, name, ctrbase.ErrUserUnknown)
	}
}

// withoutIPv6 turns IPv6 off in the sandbox's network namespace. The bridge
// gives every namespace an IPv6 link-local address, on which sandboxes
// reached each other: the host's FORWARD rules that keep them apart are
// IPv4's (and ip6tables' FORWARD policy is commonly ACCEPT). Sandboxes have no
// IPv6 route anyway, and Docker's have no IPv6 at all; now neither do these.
// A kernel without IPv6 (ipv6.disable=1) has no such sysctl, and runc would
// refuse to start the sandbox over it: there is nothing to turn off then.
func withoutIPv6(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		return nil
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if s.Linux.Sysctl == nil {
		s.Linux.Sysctl = map[string]string{}
	}
	s.Linux.Sysctl["net.ipv6.conf.all.disable_ipv6"] = "1"
	s.Linux.Sysctl["net.ipv6.conf.default.disable_ipv6"] = "1"
	return nil
}

var errNoEntrypoint = errors.New("the image has no ENTRYPOINT or CMD")

// prepare makes the sandbox's image, network namespace, container and created
// (not started) task. An error leaves nothing behind.
func (r *Runtime) prepare(ctx context.Context, spec runtimes.Spec) (_ *prepared, retErr error) {
	if spec.SandboxID == "" {
		return nil, errors.New("containerd: the spec has no SandboxID")
	}
	if err := r.checkSocket(); err != nil {
		return nil, err
	}
	ref := spec.Image
	if spec.PackageType != "Image" {
		if _, err := os.Stat(filepath.Join(spec.CodeDir, "bootstrap")); err != nil {
			return nil, errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
				fmt.Sprintf("function %s has no executable bootstrap in its code (%v)", spec.Function, err))
		}
		var err error
		if ref, err = r.baseImage(ctx); err != nil {
			return nil, err
		}
	}
	img, err := r.image(ctx, ref)
	if gone := (*runtimes.ImageGoneError)(nil); errors.As(err, &gone) {
		if adopted := r.adoptDockerPin(ctx, spec); adopted != nil {
			img, err = adopted, nil
		} else {
			gone.Function, gone.Version = spec.Function, spec.Version
		}
	}
	if err != nil {
		return nil, err
	}
	id := containerID(spec.SandboxID)
	ctx = r.ctx(ctx)
	nsPath, ip, err := r.net.attach(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &prepared{r: r, spec: spec, ip: ip, nsPath: nsPath}
	defer func() {
		if retErr != nil {
			p.remove()
		}
	}()
	p.c, err = r.cli.NewContainer(ctx, id,
		containerd.WithImage(img),
		containerd.WithSnapshotter(r.cfg.Snapshotter),
		containerd.WithNewSnapshot(id, img),
		containerd.WithRuntime(r.cfg.Runtime, nil),
		containerd.WithContainerLabels(map[string]string{
			LabelPortico:  "1",
			LabelInstance: r.cfg.Instance,
			LabelFunction: spec.Function,
			LabelVersion:  spec.Version,
			LabelSandbox:  spec.SandboxID,
			LabelNetNS:    nsPath,
		}),
		containerd.WithNewSpec(r.specOpts(spec, img, nsPath)...),
	)
	if err != nil {
		// NewContainer makes the snapshot before the spec, whose options
		// can fail (no entrypoint, an unknown user), and leaves it behind.
		if serr := r.cli.SnapshotService(r.cfg.Snapshotter).Remove(ctx, id); serr != nil && !cerrdefs.IsNotFound(serr) {
			r.log.Warn("removing the snapshot of a sandbox that failed to start", "sandbox", spec.SandboxID, "err", serr)
		}
		if errors.Is(err, errNoEntrypoint) {
			return nil, ctrbase.NoEntrypoint(cmp.Or(spec.ImageRef, ref), spec.Function)
		}
		if errors.Is(err, ctrbase.ErrUserUnknown) {
			return nil, ctrbase.UserUnknown(cmp.Or(spec.ImageRef, ref), spec.Function, err)
		}
		err = r.wrap("creating the container of sandbox "+spec.SandboxID, err)
		// containerd may have made the container before the call was cut
		// off: the sweep looks once it answers again.
		r.noteLost(id, nsPath, err)
		return nil, err
	}
	p.logs = ctrbase.NewLogSync()
	p.stdout, p.stderr = p.logs.Stream(), p.logs.Stream()
	p.task, err = p.c.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, p.stdout, p.stderr)))
	if err != nil {
		return nil, r.wrap("creating the task of sandbox "+spec.SandboxID, err)
	}
	// The wait outlives ctx: it ends when the task exits.
	p.waitCtx, p.waitCancel = context.WithCancel(r.ctx(context.Background()))
	exit, err := p.task.Wait(p.waitCtx)
	if err != nil {
		return nil, r.wrap("waiting on sandbox "+spec.SandboxID, err)
	}
	// The wait's result is kept where start can look at it without taking
	// it: a wait that broke before the start (containerd went away in
	// between) would otherwise read, once the task runs, as the task's exit.
	p.waited = make(chan struct{})
	go func() { p.exit = <-exit; close(p.waited) }()
	return p, nil
}

// prepared is a container with a created task, not yet started.
type prepared struct {
	r      *Runtime
	spec   runtimes.Spec
	ip     net.IP
	nsPath string

	c          containerd.Container
	task       containerd.Task
	logs       *ctrbase.LogSync
	stdout     io.WriteCloser // the task's streams into logs
	stderr     io.WriteCloser
	waitCtx    context.Context
	waitCancel context.CancelFunc
	waited     chan struct{}         // closed once the task's wait ended, with exit set
	exit       containerd.ExitStatus // how the wait ended

	once ctrbase.Prepared
}

var errNotPrepared = errors.New("containerd: the prepared sandbox was already started or discarded")

// Start implements runtimes.Prepared.
func (p *prepared) Start(ctx context.Context) (sb runtimes.Sandbox, err error) {
	if !p.once.Do(func() { sb, err = p.start(ctx) }) {
		return nil, errNotPrepared
	}
	return sb, err
}

// Discard implements runtimes.Prepared.
func (p *prepared) Discard(ctx context.Context) (err error) {
	p.once.Do(func() { err = p.teardown(ctx) })
	return err
}

// start starts the task and watches for its exit, unless its wait already
// ended: containerd went away since it was prepared (the wait broke, and how
// the task ends would be unknown), or the task was killed before it started.
// The invoker then starts a fresh sandbox, as for a Docker sandbox prepared
// before an outage.
func (p *prepared) start(ctx context.Context) (runtimes.Sandbox, error) {
	select {
	case <-p.waited:
		p.remove()
		if _, _, err := p.exit.Result(); err != nil {
			return nil, fmt.Errorf("containerd: sandbox %s was prepared before containerd went away (its exit watch broke: %w); not started", p.spec.SandboxID, err)
		}
		return nil, fmt.Errorf("containerd: the task of prepared sandbox %s ended (exit status %d) before it was started", p.spec.SandboxID, p.exit.ExitCode())
	default:
	}
	if err := p.task.Start(p.r.ctx(ctx)); err != nil {
		p.remove()
		return nil, p.r.wrap("starting sandbox "+p.spec.SandboxID, err)
	}
	p.logs.Attach(int(p.task.Pid()), p.c.ID())
	s := &sandbox{p: p, done: make(chan struct{}), mem: ctrbase.PeakMemory{Limit: p.spec.MemoryMB}}
	s.peakFile = ctrbase.PeakMemoryFile(int(p.task.Pid()), p.c.ID())
	go s.waitExit() //nolint:gosec // G118: the sandbox outlives the start's context by design (runtimes.Runtime.Start)
	return s, nil
}

// endLogs ends the output: Logs reads what is left, then io.EOF.
func (p *prepared) endLogs() {
	if p.logs == nil {
		return
	}
	_, _ = p.stdout.Close(), p.stderr.Close()
	p.logs.CloseWithError(nil)
}

// remove tears down after a failure, with a context of its own.
func (p *prepared) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := p.teardown(ctx); err != nil {
		p.r.log.Warn("removing a sandbox that failed to start", "sandbox", p.spec.SandboxID, "err", err)
	}
}

// teardown removes the task, the container and its snapshot, and the network.
func (p *prepared) teardown(ctx context.Context) error {
	var err error
	if p.c != nil {
		err = p.r.teardown(ctx, p.c, p.nsPath)
	} else if p.nsPath != "" {
		err = p.r.net.detach(p.r.ctx(ctx), containerID(p.spec.SandboxID), p.nsPath)
	}
	if p.waitCancel != nil {
		p.waitCancel()
	}
	p.endLogs()
	if err != nil {
		p.r.noteLost(containerID(p.spec.SandboxID), p.nsPath, err)
		return err
	}
	if p.task != nil {
		// The task's delete removed its FIFOs (deleteTask); this closes
		// this process's ends of them, and removes their directory when
		// the task was already gone (forgetTask).
		_ = p.task.IO().Close()
	}
	return nil
}

// deleteTask kills and deletes c's task, if it has one, and ends its shim. A
// shim that exits while the delete is in flight (the task's exit reaped by
// another delete of the same task, as when a restarted Portico's Cleanup meets
// a sandbox the old one is still stopping) closes its ttrpc connection under
// the call (containerd/containerd#12344): the task is then looked up again, and
// is either gone or deleted by the next try.
//
// The task is loaded with its FIFOs as containerd recorded them (cio.Load:
// nothing is opened), so that its delete removes them and their directory
// under containerd's FIFO directory, whichever process made them: deleted
// without its IO, a task left them behind, one directory per sandbox.
func (r *Runtime) deleteTask(ctx context.Context, c containerd.Container) error {
	for try := 1; ; try++ {
		task, err := c.Task(ctx, cio.Load)
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				return r.forgetTask(ctx, c.ID())
			}
			return r.wrap("loading the task of "+c.ID(), err)
		}
		err = r.deleteLoaded(ctx, c.ID(), task)
		if err != nil && try < 3 && shimClosed(err) {
			continue
		}
		return err
	}
}

// deleteLoaded kills and deletes task, the task of container id as loaded
// before. The client's delete reads the task's status first and gives up,
// without asking containerd to delete the task, when the shim says not found:
// what forgetTask is for.
func (r *Runtime) deleteLoaded(ctx context.Context, id string, task containerd.Task) error {
	_, err := task.Delete(ctx, containerd.WithProcessKill)
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		return r.forgetTask(ctx, id)
	}
	return r.wrap("deleting the task of "+id, err)
}

// forgetTask ends what containerd may still hold of the task of container id
// when the task reads as not found. A task delete cut off part-way (its
// caller's context cancelled, or the connection to containerd cut) can delete
// the task in its shim and fail before containerd drops its record of the task
// and shuts the shim down. containerd then reads the task as not found, since
// its shim says so, and `ctr tasks ls` leaves it out; but the shim runs on,
// and once the container is deleted nothing can reach it any more. Deleting the
// task through the task service, while the container exists, finishes that
// delete: containerd shuts the shim down and drops the record. Not found means
// there was nothing left; a shim that closes under the call (another delete
// ended it) is gone too.
func (r *Runtime) forgetTask(ctx context.Context, id string) error {
	_, err := r.cli.TaskService().Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: id})
	if err = errgrpc.ToNative(err); err != nil && !cerrdefs.IsNotFound(err) && !shimClosed(err) {
		return r.wrap("deleting what is left of the task of "+id, err)
	}
	return nil
}

// shimClosed reports whether err is a call cut off by its shim's exit.
func shimClosed(err error) bool {
	return errors.Is(err, ttrpc.ErrClosed) || strings.Contains(err.Error(), ttrpc.ErrClosed.Error())
}

// teardown kills and deletes c's task, detaches its network namespace at
// nsPath, and deletes c with its snapshot. Each step tolerates what is already
// gone; c is not deleted unless its task is and its network detached: c (its
// label) is the only record of the namespace, so a teardown that fails or is
// cut off before the end leaves it for the next one (a sweep, a Cleanup) to
// find.
//
// A teardown is not cut off by its caller: it runs to its end, or for
// cleanupTimeout, whatever happens to ctx, since a containerd call cancelled
// part-way is how a task's shim is left running (see forgetTask).
func (r *Runtime) teardown(ctx context.Context, c containerd.Container, nsPath string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx(ctx)), cleanupTimeout)
	defer cancel()
	if err := r.deleteTask(ctx, c); err != nil {
		// The container stays, so that the next teardown (a sweep, a
		// Cleanup) finds the task, or what is left of it, through it.
		return err
	}
	if err := r.net.detach(ctx, c.ID(), nsPath); err != nil {
		return err
	}
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !cerrdefs.IsNotFound(err) {
		return r.wrap("deleting container "+c.ID(), err)
	}
	return nil
}

// sandbox is a started task.
type sandbox struct {
	p    *prepared
	done chan struct{}
	err  error

	mem ctrbase.PeakMemory
	// peakFile is the task's cgroup file of its peak memory
	// (ctrbase.PeakMemoryFile), or "" where it cannot be read from here;
	// set before the sandbox is handed out.
	peakFile string

	mu      sync.Mutex // serializes Stop, Pause, Resume
	paused  bool
	removed bool
}

// drainWait is how long an exited task's output may take to drain before
// waitExit gives up on it.
const drainWait = 5 * time.Second

// waitExit records the exit, waits for the output to drain (task.IO().Wait(), or
// stdout can be lost; not when the watch broke: the task may run on), ends Logs
// and closes done; then removes what is left.
func (s *sandbox) waitExit() {
	p := s.p
	drain := p.r.drainWait
	select {
	case <-p.waited:
		code, _, err := p.exit.Result()
		switch {
		case err != nil:
			// The wait broke (containerd went away, or its connection was
			// cut): the task may well still run, under its shim, and how it
			// ends is unknown. Not an exit of the function's.
			s.err = fmt.Errorf("%w: %w", runtimes.ErrWaitLost, p.r.wrap("waiting on sandbox "+p.spec.SandboxID, err))
			// Its output does not drain while it runs (its FIFOs stay
			// open): done closes now, so that the invoker hands it no
			// more calls (r-runtimes19 #1: for the drain's 5 s it went
			// on taking them, each read as a lost watch, a 503, though
			// containerd was back), and Stop removes it.
			drain = 0
		default:
			// The shim reports a death by signal N as 128+N: ExitErr reads it so.
			s.err = ctrbase.ExitErr(int64(code))
			// The task's cgroup stays until the task is deleted: its peak
			// (and whether it was killed for memory) is read now, for
			// MaxMemoryMB once the sandbox is done.
			s.mem.Last(s.memoryUsed)
		}
	case <-p.waitCtx.Done():
		s.err = ctrbase.Killed(unix.SIGKILL)
	}
	if drain > 0 {
		io := make(chan struct{})
		go func() { p.task.IO().Wait(); close(io) }()
		select {
		case <-io:
		case <-time.After(drain):
			p.task.IO().Cancel()
		}
	} else {
		p.task.IO().Cancel()
	}
	p.endLogs()
	close(s.done)
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		p.r.log.Warn("removing an exited sandbox", "sandbox", p.spec.SandboxID, "err", err)
	}
}

// ID implements runtimes.Sandbox.
func (s *sandbox) ID() string { return s.p.spec.SandboxID }

// Done implements runtimes.Sandbox.
func (s *sandbox) Done() <-chan struct{} { return s.done }

// Err implements runtimes.Sandbox.
func (s *sandbox) Err() error {
	<-s.done
	return s.err
}

// Logs implements runtimes.Sandbox: stdout and stderr, interleaved. The caller
// must keep reading: a sandbox whose output is not read blocks on its writes.
func (s *sandbox) Logs() io.Reader { return s.p.logs }

// SyncLogs implements runtimes.LogSyncer: it waits until the output the task
// wrote before the call has been read from Logs (ctrbase.LogSync), or ctx
// ends.
func (s *sandbox) SyncLogs(ctx context.Context) { s.p.logs.Sync(ctx) }

// Stop implements runtimes.Sandbox: SIGTERM, the grace period, SIGKILL to every
// process of the task, then removal of the task, container, snapshot and network.
func (s *sandbox) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return nil
	}
	p := s.p
	tctx := p.r.ctx(ctx)
	select {
	case <-s.done:
	default:
		if s.paused {
			_ = p.task.Resume(tctx)
			s.paused = false
		}
		if err := p.task.Kill(tctx, syscall.SIGTERM); err != nil && !cerrdefs.IsNotFound(err) {
			if isUnavailable(err) {
				err = p.r.wrap("stopping sandbox "+p.spec.SandboxID, err)
				p.r.noteLost(containerID(p.spec.SandboxID), p.nsPath, err)
				return err
			}
		}
		t := time.NewTimer(p.r.cfg.StopGrace)
		select {
		case <-s.done:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		select {
		case <-s.done:
		default:
			if err := p.task.Kill(tctx, syscall.SIGKILL, containerd.WithKillAll); err != nil && !cerrdefs.IsNotFound(err) && isUnavailable(err) {
				err = p.r.wrap("killing sandbox "+p.spec.SandboxID, err)
				p.r.noteLost(containerID(p.spec.SandboxID), p.nsPath, err)
				return err
			}
			select {
			case <-s.done:
			case <-ctx.Done():
				return fmt.Errorf("containerd: stopping sandbox %s: %w", p.spec.SandboxID, ctx.Err())
			}
		}
	}
	if err := p.teardown(ctx); err != nil {
		return err
	}
	s.removed = true
	return nil
}

// Pause implements runtimes.Pauser with the cgroup freezer.
func (s *sandbox) Pause(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused {
		return nil
	}
	if err := s.p.task.Pause(s.p.r.ctx(ctx)); err != nil {
		return s.p.r.wrap("pausing sandbox "+s.p.spec.SandboxID, err)
	}
	s.paused = true
	return nil
}

// Resume implements runtimes.Pauser.
func (s *sandbox) Resume(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.paused {
		return nil
	}
	if err := s.p.task.Resume(s.p.r.ctx(ctx)); err != nil {
		return s.p.r.wrap("resuming sandbox "+s.p.spec.SandboxID, err)
	}
	s.paused = false
	return nil
}

// MaxMemoryMB implements runtimes.MemoryReporter from the task's cgroup metrics:
// the peak usage (cgroup v1 max_usage, v2 memory.peak where the kernel keeps it,
// else current usage), remembered once the task is gone.
func (s *sandbox) MaxMemoryMB() int { return s.mem.MB(s.done, s.memoryUsed) }

// ReadPeakMemoryMB implements runtimes.PeakMemoryReader: the task's peak
// memory use read from its cgroup now (memory.max_usage_in_bytes on cgroup
// v1, memory.peak on v2), a file read, so that the REPORT of every
// invocation, a cold start's first included, has the invocation in it. 0
// where the file cannot be read from here (another pid namespace than
// containerd's, a kernel without memory.peak): the REPORT then shows the
// last metrics.
func (s *sandbox) ReadPeakMemoryMB() int {
	if s.peakFile == "" {
		return 0
	}
	return s.mem.MB(s.done, func() (uint64, bool) { return ctrbase.ReadBytesFile(s.peakFile) })
}

// memoryUsed samples the task's peak memory use in bytes.
func (s *sandbox) memoryUsed() (uint64, bool) {
	ctx, cancel := context.WithTimeout(s.p.r.ctx(context.Background()), 2*time.Second)
	defer cancel()
	m, err := s.p.task.Metrics(ctx)
	if err != nil || m == nil || m.Data == nil {
		return 0, false
	}
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return 0, false
	}
	var b uint64
	var oom bool
	switch st := v.(type) {
	case *cgroup1.Metrics:
		if st.Memory != nil && st.Memory.Usage != nil {
			b = max(st.Memory.Usage.Max, st.Memory.Usage.Usage)
		}
		oom = st.MemoryOomControl != nil && st.MemoryOomControl.OomKill > 0
	case *cgroup2.Metrics:
		if st.Memory != nil {
			b = max(st.Memory.MaxUsage, st.Memory.Usage)
		}
		oom = st.MemoryEvents != nil && st.MemoryEvents.OomKill > 0
	}
	if oom && s.p.spec.MemoryMB > 0 {
		// Killed for memory: it reached its limit, whatever the peak
		// the cgroup kept says (memory.peak needs kernel 5.19).
		b = max(b, uint64(s.p.spec.MemoryMB)<<20) //nolint:gosec // G115: MemoryMB is positive
	}
	return b, true
}

// OwnsConn implements runtimes.PeerVerifier: the sandbox's address on the bridge
// is its own (no CAP_NET_RAW or CAP_NET_ADMIN to use another).
func (s *sandbox) OwnsConn(remote net.Addr) bool {
	ip := ctrbase.RemoteIP(remote)
	return ip != nil && s.p.ip.Equal(ip)
}
