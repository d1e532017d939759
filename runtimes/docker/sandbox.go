package docker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

var (
	_ runtimes.Prepared         = (*prepared)(nil)
	_ runtimes.Sandbox          = (*sandbox)(nil)
	_ runtimes.MemoryReporter   = (*sandbox)(nil)
	_ runtimes.PeakMemoryReader = (*sandbox)(nil)
	_ runtimes.LogSyncer        = (*sandbox)(nil)
	_ runtimes.Pauser           = (*sandbox)(nil)
	_ runtimes.PeerVerifier     = (*sandbox)(nil)
)

// cleanupTimeout bounds removals made after the caller's context may have ended
// (a failed start must leave nothing behind even when its context was cancelled).
const cleanupTimeout = 30 * time.Second

// containerName is the container's name for a sandbox id.
func containerName(sandboxID string) string { return ctrbase.ContainerName(sandboxID) }

// cpuShares gives CPU in proportion to memory, as Lambda does (1769 MB is one
// vCPU, which is Docker's default weight of 1024).
func cpuShares(memoryMB int) int64 {
	if memoryMB <= 0 {
		return 0
	}
	return max(2, int64(memoryMB)*1024/1769)
}

// containerConfig is the hardened configuration of a sandbox's container,
// running as user ("uid:gid"; "" for the image's own USER).
func (r *Runtime) containerConfig(spec runtimes.Spec, image, user string) (*container.Config, *container.HostConfig) {
	env := make([]string, 0, len(spec.Env))
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	if spec.Trust != nil {
		env = append(env, runtimes.TrustEnv(spec.Env, runtimes.TrustMountDir)...)
	}
	sort.Strings(env)
	grace := int(math.Ceil(r.cfg.StopGrace.Seconds()))
	cfg := &container.Config{
		Image: image,
		Env:   env,
		// Numeric, with the group given: the daemon adds no supplementary
		// groups from the image's group file.
		User: user,
		Labels: map[string]string{
			LabelPortico:  "1",
			LabelInstance: r.cfg.Instance,
			LabelFunction: spec.Function,
			LabelVersion:  spec.Version,
			LabelSandbox:  spec.SandboxID,
		},
		AttachStdout: true,
		AttachStderr: true,
		StopSignal:   "SIGTERM",
		StopTimeout:  &grace,
		// Never the image's HEALTHCHECK: Lambda ignores it, and the daemon
		// would run it inside the sandbox, with its environment, between
		// invocations (and kill the sandbox once it failed).
		Healthcheck: &container.HealthConfig{Test: []string{"NONE"}},
	}
	pids := r.cfg.PidsLimit
	yes := true
	hc := &container.HostConfig{
		NetworkMode:    container.NetworkMode(r.cfg.Network),
		LogConfig:      container.LogConfig{Type: "none"}, // output is read through attach
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": fmt.Sprintf("rw,exec,nosuid,nodev,mode=1777,size=%dm", r.cfg.TmpfsMB)},
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Init:           &yes, // a reaping init that forwards SIGTERM to the bootstrap
		Resources: container.Resources{
			CPUShares: cpuShares(spec.MemoryMB),
			PidsLimit: &pids,
			Ulimits:   []*container.Ulimit{{Name: "nofile", Soft: ctrbase.NoFile, Hard: ctrbase.NoFile}},
		},
	}
	if spec.MemoryMB > 0 {
		hc.Memory = int64(spec.MemoryMB) << 20
		hc.MemorySwap = hc.Memory // no swap
	}
	if spec.PackageType != "Image" {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: spec.CodeDir, Target: "/var/task", ReadOnly: true})
	}
	for _, m := range spec.Mounts {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target})
	}
	if spec.Trust != nil {
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mount.TypeBind, Source: spec.Trust.Dir, Target: runtimes.TrustMountDir, ReadOnly: true})
	}
	return cfg, hc
}

// readOnlyVolumes mounts an empty, read-only tmpfs at each path an image
// declares as VOLUME (volumes) that the sandbox has no other mount at, so that
// the daemon makes no volume there. Left to Docker, each would be an anonymous
// volume on the daemon's disk, writable and of no bounded size, outside the
// read-only root and the memory limit; containerd ignores VOLUME, and on
// Lambda only /tmp is writable. Docker can neither make an anonymous volume
// read-only nor copy the image's files into a tmpfs, so what the image holds
// under such a path is hidden (docs/runtimes.md).
func readOnlyVolumes(hc *container.HostConfig, volumes []string) {
	taken := map[string]bool{}
	for dest := range hc.Tmpfs {
		taken[path.Clean(dest)] = true
	}
	for _, m := range hc.Mounts {
		taken[path.Clean(m.Target)] = true
	}
	for _, v := range volumes {
		dest := path.Clean(v)
		if !path.IsAbs(dest) || dest == "/" || taken[dest] {
			continue
		}
		if hc.Tmpfs == nil {
			hc.Tmpfs = map[string]string{}
		}
		hc.Tmpfs[dest] = "ro,nosuid,nodev,noexec,size=4k"
		taken[dest] = true
	}
}

// holderUse says where prepare finds the network namespace of a sandbox.
type holderUse int

const (
	// useSpare takes a ready spare holder, when there is one.
	useSpare holderUse = 1 << iota
	// startOwn starts a holder for the sandbox when it has none (Prepare, off
	// the invocation path).
	startOwn
)

// prepare creates the sandbox's container, attaches to its output and registers
// the wait for its exit. An error leaves nothing behind.
//
// With a holder (a spare one, or one started here with startOwn), the container
// joins the holder's network namespace, so that the network's setup, the
// largest part of a start on a user-defined network, is not in Start. Without
// one (use 0, no spare ready, or no pause program for this architecture), the
// container joins the sandbox network itself when it starts.
//
// An error wrapping errHolderGone says that the spare holder taken was gone:
// the caller can try again without a spare.
func (r *Runtime) prepare(ctx context.Context, spec runtimes.Spec, use holderUse) (_ *prepared, retErr error) {
	if spec.SandboxID == "" {
		return nil, errors.New("docker: the spec has no SandboxID")
	}
	var image string
	switch spec.PackageType {
	case "Image":
		if err := checkRef(spec.Image); err != nil {
			return nil, err
		}
		image = spec.Image
	default:
		if _, err := os.Stat(filepath.Join(spec.CodeDir, "bootstrap")); err != nil {
			return nil, errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
				fmt.Sprintf("function %s has no executable bootstrap in its code (%v)", spec.Function, err))
		}
		ref, err := r.baseImage(ctx)
		if err != nil {
			return nil, err
		}
		image = ref
	}
	si, err := r.sandboxImage(ctx, spec, image)
	if err != nil {
		return nil, err
	}
	cfg, hc := r.containerConfig(spec, image, si.user)
	cfg.Env = append(ctrbase.WithDefaultEnv(cfg.Env, spec, si.env), si.handlerEnv...)
	readOnlyVolumes(hc, si.volumes)
	if spec.PackageType == "Image" {
		if err := r.imageConfig(ctx, spec, image, cfg); err != nil {
			return nil, err
		}
	}
	p := &prepared{r: r, spec: spec, epoch: r.epochNow(), image: image}
	if spec.ImageRef != "" {
		p.image = spec.ImageRef
	}
	defer func() {
		if retErr != nil {
			p.remove()
		}
	}()
	if use&useSpare != 0 {
		if h, ok := r.takeHolder(); ok {
			p.holder, p.holderIP, p.spare = h.id, h.ip, true
		}
	}
	if p.spare && use&startOwn != 0 && r.holderGone(ctx, p.holder) {
		// Off the invocation path, one inspect is cheap: a spare that died
		// makes way for a holder of the sandbox's own rather than fail the
		// prepared sandbox's Start later.
		r.log.Warn("a spare network holder is gone; starting another", "sandbox", spec.SandboxID, "holder", short(p.holder))
		_ = p.removeHolder(ctx)
		p.holder, p.holderIP, p.spare = "", nil, false
	}
	if p.holder == "" && use&startOwn != 0 && ctrbase.PauseProgram() != nil {
		h, err := r.startHolder(ctx, containerName(spec.SandboxID)+"-net", map[string]string{
			LabelPortico: "1", LabelInstance: r.cfg.Instance, LabelFunction: spec.Function,
			LabelVersion: spec.Version, LabelSandbox: spec.SandboxID, LabelRole: "netns",
		})
		if err != nil {
			return nil, err
		}
		p.holder, p.holderIP = h.id, h.ip
	}
	if p.holder != "" {
		hc.NetworkMode = container.NetworkMode("container:" + p.holder)
	}
	opts := client.ContainerCreateOptions{Config: cfg, HostConfig: hc, Name: containerName(spec.SandboxID)}
	res, err := r.cli.ContainerCreate(ctx, opts)
	if err != nil && p.spare && r.holderGone(ctx, p.holder) {
		// Docker 20.10 accepts a missing holder at create and fails at start;
		// should a daemon refuse at create, its not-found error is about the
		// holder, not the image.
		return nil, fmt.Errorf("docker: creating the container of sandbox %s: %w: %w", spec.SandboxID, errHolderGone, err)
	}
	if cerrdefs.IsNotFound(err) && spec.PackageType == "Image" {
		if ctrbase.IsImageID(image) {
			return nil, &runtimes.ImageGoneError{Image: image, Function: spec.Function, Version: spec.Version}
		}
		if perr := r.pull(ctx, image); perr != nil {
			return nil, perr
		}
		res, err = r.cli.ContainerCreate(ctx, opts)
	}
	if err != nil {
		if cerrdefs.IsInvalidArgument(err) {
			if r.noEntrypoint(ctx, image) {
				return nil, ctrbase.NoEntrypoint(cmp.Or(spec.ImageRef, image), spec.Function)
			}
			return nil, errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
				fmt.Sprintf("image %s cannot run as function %s: %v", image, spec.Function, err))
		}
		if isConnErr(err) {
			// The daemon may have made the container before the call was
			// cut off: the sweep removes it by name once the daemon answers.
			r.noteLost(opts.Name)
		}
		return nil, r.wrap("creating the container of sandbox "+spec.SandboxID, err)
	}
	p.id = res.ID
	att, err := r.cli.ContainerAttach(ctx, res.ID, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, r.wrap("attaching to sandbox "+spec.SandboxID, err)
	}
	p.attach = att.HijackedResponse
	// The wait outlives ctx: it ends when the container exits, or at removal.
	p.waitCtx, p.waitCancel = context.WithCancel(context.Background())
	p.wait = r.cli.ContainerWait(p.waitCtx, res.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	select {
	case err := <-p.wait.Error:
		return nil, r.wrap("waiting on sandbox "+spec.SandboxID, err)
	default:
	}
	return p, nil
}

// imageConfig applies the spec's overrides of the image's ENTRYPOINT, CMD and
// WORKDIR (ImageConfig) to cfg. The daemon drops the image's CMD when the
// create names an Entrypoint, so an EntryPoint override without a Command
// takes the image's CMD from an inspect: that one daemon call is made only
// for such a function.
func (r *Runtime) imageConfig(ctx context.Context, spec runtimes.Spec, image string, cfg *container.Config) error {
	if len(spec.Command) > 0 {
		cfg.Cmd = slices.Clone(spec.Command)
	}
	if len(spec.EntryPoint) > 0 {
		cfg.Entrypoint = slices.Clone(spec.EntryPoint)
		if len(spec.Command) == 0 {
			res, err := r.cli.ImageInspect(ctx, image)
			if err != nil && !cerrdefs.IsNotFound(err) { // not found: the create pulls it, or says it is gone
				return r.wrap("inspecting image "+image, err)
			}
			if err == nil && res.Config != nil {
				cfg.Cmd = slices.Clone(res.Config.Cmd)
			}
		}
	}
	if spec.WorkingDir != "" {
		cfg.WorkingDir = spec.WorkingDir
	}
	return nil
}

// noEntrypoint reports whether image names neither an ENTRYPOINT nor a CMD,
// which the daemon refuses at create as "No command specified": the refusal is
// then said in containerd's words (ctrbase.NoEntrypoint). It is asked only
// after a create was refused, so a start pays nothing for it.
func (r *Runtime) noEntrypoint(ctx context.Context, image string) bool {
	res, err := r.cli.ImageInspect(ctx, image)
	if err != nil {
		return false
	}
	return res.Config == nil || (len(res.Config.Entrypoint) == 0 && len(res.Config.Cmd) == 0)
}

// removeContainer force-removes a container with a context of its own.
func (r *Runtime) removeContainer(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	_, err := r.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && isConnErr(err) {
		r.noteLost(id) // removed once the daemon answers again
	}
}

// prepared is a created container, attached and waited on, not yet started.
type prepared struct {
	r      *Runtime
	spec   runtimes.Spec
	id     string
	image  string // the image it runs, as its errors name it (the base image of a Zip function)
	holder string // the network holder's container id, if any
	spare  bool   // the holder was taken from the spare pool
	epoch  uint64 // the daemon outages noticed when it was prepared
	// holderIP is the holder's address on the sandbox network, when known.
	holderIP net.IP

	attach     client.HijackedResponse
	waitCtx    context.Context
	waitCancel context.CancelFunc
	wait       client.ContainerWaitResult

	once ctrbase.Prepared
}

var errNotPrepared = errors.New("docker: the prepared sandbox was already started or discarded")

// Start implements runtimes.Prepared.
func (p *prepared) Start(ctx context.Context) (sb runtimes.Sandbox, err error) {
	if !p.once.Do(func() { sb, err = p.start(ctx) }) {
		return nil, errNotPrepared
	}
	return sb, err
}

// Discard implements runtimes.Prepared.
func (p *prepared) Discard(ctx context.Context) (err error) {
	p.once.Do(func() { err = p.discard(ctx) })
	return err
}

// start starts the container, unless the daemon went away since it was
// prepared.
func (p *prepared) start(ctx context.Context) (runtimes.Sandbox, error) {
	if p.epoch != p.r.epochNow() {
		// The daemon went away since: this container's output and exit streams
		// are cut, and a restart killed its holder. Never start it.
		p.remove()
		return nil, fmt.Errorf("docker: sandbox %s was prepared before the daemon went away: %w", p.spec.SandboxID, errHolderGone)
	}
	if _, err := p.r.cli.ContainerStart(ctx, p.id, client.ContainerStartOptions{}); err != nil {
		gone := p.spare && p.r.holderGone(ctx, p.holder)
		p.remove()
		if gone {
			return nil, fmt.Errorf("docker: starting sandbox %s: %w: %w", p.spec.SandboxID, errHolderGone, err)
		}
		return nil, p.r.startError(p.spec.SandboxID, p.image, err)
	}
	s := newSandbox(p)
	return s, nil
}

// startError is the error of a container start (sandbox id, running image)
// that the daemon refused with err. Docker up but its containerd down (the
// start cannot make the task: "dial unix /run/containerd/containerd.sock:
// connect: connection refused") is the runtime not answering, which the
// caller is told as such (runtimes.DaemonDownError), not an internal error.
func (r *Runtime) startError(id, image string, err error) error {
	what := "starting sandbox " + id + " (image " + image + ")"
	if sock, ok := containerdDown(err); ok {
		return &runtimes.DaemonDownError{Runtime: "docker", Daemon: "Docker's containerd", Address: sock, Op: what, Err: err}
	}
	if cerrdefs.IsInvalidArgument(err) || cerrdefs.IsNotFound(err) || cerrdefs.IsUnknown(err) || cerrdefs.IsInternal(err) {
		return fmt.Errorf("docker: %s: %w", what, err)
	}
	return r.wrap(what, err)
}

// containerdSock finds, in a daemon's error, the containerd socket it could
// not dial.
var containerdSock = regexp.MustCompile(`dial unix:?(?://)?\s*(/[^\s:"']*containerd[^\s:"']*\.sock)`)

// containerdDown reports whether err, the Docker daemon's, says that the
// containerd it runs containers with does not answer, and its socket when
// the error names it ("its containerd socket" when not).
func containerdDown(err error) (sock string, ok bool) {
	msg := err.Error()
	if m := containerdSock.FindStringSubmatch(msg); m != nil {
		return m[1], true
	}
	if cerrdefs.IsUnavailable(err) && strings.Contains(msg, "containerd") {
		return "its containerd socket", true
	}
	return "", false
}

// discard removes the container and its network holder.
func (p *prepared) discard(ctx context.Context) error {
	_, err := p.r.cli.ContainerRemove(ctx, p.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	p.release()
	if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
		return p.r.wrap("removing prepared sandbox "+p.spec.SandboxID, err)
	}
	return p.removeHolder(ctx)
}

// removeHolder removes the network holder, if any.
func (p *prepared) removeHolder(ctx context.Context) error {
	if p.holder == "" {
		return nil
	}
	_, err := p.r.cli.ContainerRemove(ctx, p.holder, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
		return p.r.wrap("removing the network holder of sandbox "+p.spec.SandboxID, err)
	}
	return nil
}

// remove removes the container after a failure, with a context of its own.
func (p *prepared) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if p.id != "" {
		_, err := p.r.cli.ContainerRemove(ctx, p.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && isConnErr(err) {
			p.r.noteLost(p.id)
		}
	}
	if err := p.removeHolder(ctx); err != nil {
		p.r.noteLost(p.holder)
	}
	p.release()
}

// release closes the attach stream and the wait.
func (p *prepared) release() {
	if p.attach.Conn != nil {
		p.attach.Close()
	}
	if p.waitCancel != nil {
		p.waitCancel()
	}
}

// sandbox is one started container.
type sandbox struct {
	r    *Runtime
	p    *prepared
	spec runtimes.Spec
	id   string // container id

	done chan struct{}
	err  error

	logs     *ctrbase.LogSync
	logsDone chan struct{}
	release  func()

	ipMu sync.Mutex
	ip   net.IP // the container's address, once learnt

	mem ctrbase.PeakMemory
	// peakFile is the container's cgroup file of its peak memory
	// (ctrbase.PeakMemoryFile; "" when it cannot be read from here), set
	// before attached closes.
	peakFile string
	attached chan struct{}

	// stopping is set once Stop is called: a death by signal after it is
	// Portico's doing, not the daemon's (daemonStopped).
	stopping atomic.Bool

	mu      sync.Mutex // serializes Stop, Pause, Resume
	paused  bool
	removed bool
}

func newSandbox(p *prepared) *sandbox {
	logs := ctrbase.NewLogSync()
	s := &sandbox{r: p.r, p: p, spec: p.spec, id: p.id, done: make(chan struct{}), logs: logs, logsDone: make(chan struct{}), release: p.release,
		attached: make(chan struct{}), mem: ctrbase.PeakMemory{Limit: p.spec.MemoryMB}}
	go func() {
		defer close(s.logsDone)
		stdout, stderr := logs.Stream(), logs.Stream()
		_, err := stdcopy.StdCopy(stdout, stderr, p.attach.Reader)
		_, _ = stdout.Close(), stderr.Close()
		logs.CloseWithError(err) // nil: io.EOF for the reader
	}()
	go s.waitExit(p.wait)
	go s.ownIP()      // learnt while the sandbox initialises, for OwnsConn
	go s.attachLogs() // and its process, for SyncLogs and ReadPeakMemoryMB
	return s
}

// attachLogs names the container's process to its LogSync, which SyncLogs
// then marks the output of, and finds its cgroup's peak memory file.
func (s *sandbox) attachLogs() {
	defer close(s.attached)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := s.r.cli.ContainerInspect(ctx, s.id, client.ContainerInspectOptions{})
	if err != nil || res.Container.State == nil {
		s.logs.Attach(0, "") // SyncLogs does not wait
		return
	}
	s.logs.Attach(res.Container.State.Pid, s.id)
	s.peakFile = ctrbase.PeakMemoryFile(res.Container.State.Pid, s.id)
}

// SyncLogs implements runtimes.LogSyncer: it waits until the output the
// container wrote before the call has been read from Logs (ctrbase.LogSync),
// or ctx ends.
func (s *sandbox) SyncLogs(ctx context.Context) { s.logs.Sync(ctx) }

// waitExit records the exit and closes done once the output has drained; then
// removes the container.
func (s *sandbox) waitExit(w client.ContainerWaitResult) {
	select {
	case res := <-w.Result:
		switch {
		case res.Error != nil && res.Error.Message != "":
			s.err = fmt.Errorf("docker: sandbox %s: %s", s.spec.SandboxID, res.Error.Message)
		default:
			// The init (or the daemon, for the container's pid 1) reports a death by
			// signal N as 128+N: ExitErr reads it so.
			s.err = ctrbase.ExitErr(res.StatusCode)
			if err := s.daemonStopped(res.StatusCode); err != nil {
				// Docker stopped it as the daemon shut down: Portico's
				// failure (the daemon's), not the function's exit.
				// The exit's text only: it is not the function's exit.
				s.err = fmt.Errorf("%w: the Docker daemon stopped the sandbox (%s) as it shut down: %w", runtimes.ErrWaitLost, s.err.Error(), err)
			} else if res.StatusCode == 128+int64(unix.SIGKILL) && s.spec.MemoryMB > 0 && s.oomKilled() {
				// Its cgroup, and the peak in it, went with it: it
				// reached its limit.
				s.mem.AtLeast(s.spec.MemoryMB)
			}
		}
	case err := <-w.Error:
		if cerrdefs.IsNotFound(err) || errors.Is(err, context.Canceled) {
			// Removed (by Stop or a Cleanup) before it exited: killed.
			s.err = ctrbase.Killed(unix.SIGKILL)
		} else {
			// The wait broke (Docker went away, or its connection was
			// cut): how the container ends is unknown. Not an exit of the
			// function's.
			s.err = fmt.Errorf("%w: %w", runtimes.ErrWaitLost, s.r.wrap("waiting on sandbox "+s.spec.SandboxID, err))
		}
	}
	// The output ends with the container; don't wait forever on a lost daemon.
	select {
	case <-s.logsDone:
	case <-time.After(5 * time.Second):
		s.release()
	}
	close(s.done)
	// A sandbox that exited by itself removes its container; Stop is then a no-op.
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		// Removed once the daemon answers again (recovery.go).
		s.r.noteLost(s.id, s.p.holder)
		s.r.log.Warn("removing an exited sandbox", "sandbox", s.spec.SandboxID, "err", err)
	}
}

// daemonStopped returns the daemon's error when a sandbox that died by
// SIGTERM or SIGKILL (status 128+N) that Portico did not send was stopped by
// the Docker daemon's own shutdown: dockerd closes its API listener, then
// stops every container (SIGTERM, then SIGKILL), and a wait already under way
// still gets the status. A new connection to the daemon that is refused right
// after tells that apart from a function that killed itself or the kernel's
// OOM kill (a ping could still go through a kept-alive connection, which a
// closed listener leaves open); it starts the outage's watch too (wrap), whose
// log says the daemon is away. Otherwise nil.
func (s *sandbox) daemonStopped(status int64) error {
	if status != 128+int64(unix.SIGTERM) && status != 128+int64(unix.SIGKILL) || s.stopping.Load() {
		return nil
	}
	proto, addr, ok := strings.Cut(s.r.cli.DaemonHost(), "://")
	if !ok || proto != "unix" && proto != "tcp" {
		return nil // ssh, npipe: no dial of our own tells
	}
	c, err := net.DialTimeout(proto, addr, 2*time.Second)
	if err == nil {
		_ = c.Close()
		return nil
	}
	if !isConnErr(err) {
		return nil
	}
	return s.r.wrap("connecting after sandbox "+s.spec.SandboxID+" was killed", err)
}

// oomKilled reports whether the daemon says the exited container was killed
// for memory (one inspect, made only for a container killed by SIGKILL).
func (s *sandbox) oomKilled() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := s.r.cli.ContainerInspect(ctx, s.id, client.ContainerInspectOptions{})
	return err == nil && res.Container.State != nil && res.Container.State.OOMKilled
}

// ID implements runtimes.Sandbox.
func (s *sandbox) ID() string { return s.spec.SandboxID }

// Done implements runtimes.Sandbox.
func (s *sandbox) Done() <-chan struct{} { return s.done }

// Err implements runtimes.Sandbox.
func (s *sandbox) Err() error {
	<-s.done
	return s.err
}

// Logs implements runtimes.Sandbox: the container's stdout and stderr,
// demultiplexed, in the order the daemon delivered them. The caller must keep
// reading: a container whose output is not read blocks on its writes.
func (s *sandbox) Logs() io.Reader { return s.logs }

// Stop implements runtimes.Sandbox: SIGTERM, the grace period, SIGKILL (Docker's
// stop), then removal. A daemon that does not answer makes it fail with
// ErrUnavailable; it can be called again.
func (s *sandbox) Stop(ctx context.Context) error {
	s.stopping.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.removed {
		return nil
	}
	select {
	case <-s.done:
	default:
		if s.paused {
			// A frozen container would take the signals only once thawed.
			_, _ = s.r.cli.ContainerUnpause(ctx, s.id, client.ContainerUnpauseOptions{})
			s.paused = false
		}
		grace := int(math.Ceil(s.r.cfg.StopGrace.Seconds()))
		_, err := s.r.cli.ContainerStop(ctx, s.id, client.ContainerStopOptions{Timeout: &grace})
		if err != nil && !cerrdefs.IsNotFound(err) {
			if isConnErr(err) || ctx.Err() != nil {
				return s.r.wrap("stopping sandbox "+s.spec.SandboxID, err)
			}
			// Fall through to the forced removal, which kills.
		}
	}
	_, err := s.r.cli.ContainerRemove(ctx, s.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
		return s.r.wrap("removing sandbox "+s.spec.SandboxID, err)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("docker: stopping sandbox %s: %w", s.spec.SandboxID, ctx.Err())
	}
	s.release()
	if err := s.p.removeHolder(ctx); err != nil {
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
	if _, err := s.r.cli.ContainerPause(ctx, s.id, client.ContainerPauseOptions{}); err != nil && !strings.Contains(err.Error(), "is already paused") {
		// A daemon under load can still report the container paused from an
		// earlier pause that its unpause has not yet settled: that is the state
		// asked for.
		return s.r.wrap("pausing sandbox "+s.spec.SandboxID, err)
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
	if _, err := s.r.cli.ContainerUnpause(ctx, s.id, client.ContainerUnpauseOptions{}); err != nil && !strings.Contains(err.Error(), "is not paused") {
		return s.r.wrap("resuming sandbox "+s.spec.SandboxID, err)
	}
	s.paused = false
	return nil
}

// MaxMemoryMB implements runtimes.MemoryReporter: the container's peak memory use
// from the daemon's statistics (the cgroup's max_usage; current usage where the
// cgroup keeps no peak), remembered once the container is gone.
func (s *sandbox) MaxMemoryMB() int { return s.mem.MB(s.done, s.memoryUsed) }

// ReadPeakMemoryMB implements runtimes.PeakMemoryReader: the container's peak
// memory use read from its cgroup now (memory.max_usage_in_bytes on cgroup
// v1, memory.peak on v2), a file read, so that the first REPORT of a cold
// start shows it: the daemon's statistics, asked for in the background, can
// take longer than the first invocation. 0 where the file cannot be read
// from here (a remote daemon, another pid namespace, a kernel without
// memory.peak): the REPORT then shows the last statistics.
func (s *sandbox) ReadPeakMemoryMB() int {
	select {
	case <-s.attached: // at once after the init: its inspect came first
	case <-s.done:
		select {
		case <-s.attached:
		default:
			return 0 // attachLogs may be setting peakFile still
		}
	}
	if s.peakFile == "" {
		return 0
	}
	return s.mem.MB(s.done, func() (uint64, bool) { return ctrbase.ReadBytesFile(s.peakFile) })
}

// memoryUsed samples the container's peak memory use in bytes.
func (s *sandbox) memoryUsed() (uint64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := s.r.cli.ContainerStats(ctx, s.id, client.ContainerStatsOptions{})
	if err != nil {
		return 0, false
	}
	defer func() { _ = res.Body.Close() }()
	var st container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return 0, false
	}
	if st.MemoryStats.MaxUsage == 0 {
		return st.MemoryStats.Usage, true
	}
	return st.MemoryStats.MaxUsage, true
}

// ownIP returns the container's address on the sandbox network, asking the
// daemon until it knows.
func (s *sandbox) ownIP() net.IP {
	s.ipMu.Lock()
	defer s.ipMu.Unlock()
	if s.ip == nil && s.p.holderIP != nil {
		s.ip = s.p.holderIP
	}
	if s.ip == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		id := s.id
		if s.p.holder != "" {
			id = s.p.holder // the sandbox shares the holder's network namespace
		}
		s.ip = s.r.containerIP(ctx, id)
		cancel()
	}
	return s.ip
}

// containerIP returns a container's address on the sandbox network, or nil.
func (r *Runtime) containerIP(ctx context.Context, id string) net.IP {
	res, err := r.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil || res.Container.NetworkSettings == nil {
		return nil
	}
	if ep := networkOf(res.Container.NetworkSettings.Networks, r.cfg.Network); ep != nil && ep.IPAddress.IsValid() {
		return net.IP(ep.IPAddress.AsSlice())
	}
	return nil
}

// OwnsConn implements runtimes.PeerVerifier: a connection comes from inside the
// sandbox when its source is the container's address on the sandbox network (a
// container without CAP_NET_RAW and CAP_NET_ADMIN cannot use another).
func (s *sandbox) OwnsConn(remote net.Addr) bool {
	own := s.ownIP()
	ip := ctrbase.RemoteIP(remote)
	return own != nil && ip != nil && own.Equal(ip)
}
