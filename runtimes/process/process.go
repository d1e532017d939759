// Package process is the embedded default runtime: each sandbox is a child process
// running the function's bootstrap executable (Lambda's custom-runtime convention).
// It needs nothing installed.
//
// Sandboxes run in their own process group and, where the host lets Portico make
// cgroup v2 groups, in their own cgroup (cgroup.go): Stop reaches every process a
// handler started, even one that left the group with setsid. Each running sandbox
// is recorded as a pid file under the state directory; Cleanup kills what an
// earlier run of Portico left behind, checking the process start time so that a
// reused pid is never killed.
package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/process/internal/shim"
)

// Runtime starts sandboxes as child processes. Safe for concurrent use.
type Runtime struct {
	stateDir string
	grace    time.Duration
	log      *slog.Logger
	// cgParent is where sandboxes' cgroups go ("" when the host allows none:
	// then the process group is all); cgOff is set when starting a process in
	// a cgroup failed although the probe passed, and the runtime went on
	// without them.
	cgParent string
	cgOff    atomic.Bool
	// vols says how sandboxes see their volumes, and holds the links of
	// this installation's (mounts.go).
	vols volumeLocks
	// busy says how a start refused with ETXTBSY is retried (retryTextBusy's
	// seams; zero in use).
	busy textBusy
}

var (
	_ runtimes.Runtime        = (*Runtime)(nil)
	_ runtimes.Sandbox        = (*sandbox)(nil)
	_ runtimes.MemoryReporter = (*sandbox)(nil)
	_ runtimes.LogSyncer      = (*sandbox)(nil)
)

// New returns a process runtime that keeps its pid files in stateDir and gives
// sandboxes grace between SIGTERM and SIGKILL when stopping them.
func New(stateDir string, grace time.Duration) (*Runtime, error) {
	return NewLogged(stateDir, grace, nil)
}

// NewLogged is New with a logger, which says (once) when sandboxes cannot have
// cgroups of their own, and warns (once) when the server runs as root.
func NewLogged(stateDir string, grace time.Duration, log *slog.Logger) (*Runtime, error) {
	return newLogged(stateDir, grace, log, os.Geteuid())
}

// newLogged is NewLogged for a server whose effective user ID is euid.
func newLogged(stateDir string, grace time.Duration, log *slog.Logger, euid int) (*Runtime, error) {
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return nil, fmt.Errorf("process runtime: state directory: %w", err)
	}
	if grace <= 0 {
		grace = 2 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runtime{stateDir: stateDir, grace: grace, log: log}
	if euid == 0 {
		// Sandboxes run as the server's user: root ignores the read-only
		// modes of the code (functions' readonly.go), and every other.
		log.Warn("process runtime: Portico runs as root, so its sandboxes do too: a function can write to its code directory " +
			"(read-only by its modes only, which root ignores, and shared by every version with the same code) and anywhere else on the host. " +
			"The process runtime isolates nothing: run Portico as an unprivileged user, or use the docker or containerd runtime (docs/runtimes.md)")
	}
	parent, err := cgroupParent()
	if err != nil {
		log.Info("process runtime: sandboxes get no cgroup of their own; stopping one kills its process group only, "+
			"so a process that leaves the group (setsid) outlives it. Run Portico as root on a cgroup v2 host for cgroups, "+
			"or use the docker or containerd runtime to isolate functions (docs/runtimes.md)", "reason", err.Error())
	}
	r.cgParent = parent
	return r, nil
}

// Cgroups reports whether sandboxes start in cgroups of their own.
func (r *Runtime) Cgroups() bool { return r.cgParent != "" && !r.cgOff.Load() }

// Name implements runtimes.Runtime.
func (r *Runtime) Name() string { return "process" }

// HostAddr implements runtimes.Runtime: child processes share the host's loopback.
func (r *Runtime) HostAddr() string { return "127.0.0.1" }

// Close implements runtimes.Runtime: it lets go of the volume links this
// runtime holds (mounts.go), which another installation may then take.
func (r *Runtime) Close() error {
	r.vols.release()
	return nil
}

// Start implements runtimes.Runtime.
func (r *Runtime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	if spec.PackageType == "Image" {
		return nil, errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
			fmt.Sprintf("function %s is an Image function: the process runtime runs Zip functions only; start portico with --runtime docker or containerd", spec.Function))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	viaShim, err := r.mountEnv(ctx, spec.Mounts) // function volumes (mounts.go)
	if err != nil {
		return nil, err
	}
	bootstrap := filepath.Join(spec.CodeDir, "bootstrap")
	env := make([]string, 0, len(spec.Env)+len(spec.DefaultEnv)+1)
	for k, v := range spec.Env {
		env = append(env, k+"="+v)
	}
	for k, v := range spec.DefaultEnv { // no image: a default applies where Env is silent
		if _, ok := spec.Env[k]; !ok {
			env = append(env, k+"="+v)
		}
	}
	if _, ok := spec.Env["LAMBDA_TASK_ROOT"]; ok {
		env = append(env, "LAMBDA_TASK_ROOT="+spec.CodeDir) // the code is here, not at /var/task
	}
	if spec.Trust != nil { // the trust directory is read where it is
		env = append(env, runtimes.TrustEnv(spec.Env, spec.Trust.Dir)...)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	newCmd := func() *exec.Cmd {
		cmd := exec.Command(bootstrap)
		cmd.Dir = spec.CodeDir
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if viaShim != nil {
			// Through the mount shim, in a mount namespace of its own
			// (internal/shim), which execs the bootstrap (Args[0]).
			cmd.Path = "/proc/self/exe"
			cmd.Env = append(slices.Clip(env), viaShim...)
			shimAttr(cmd.SysProcAttr, r.vols.userns)
		}
		cmd.Stdout, cmd.Stderr = pw, pw
		return cmd
	}
	var cmd *exec.Cmd
	var cg *sandboxCgroup
	err = r.busy.Retry(func() (err error) {
		cmd, cg, err = r.start(newCmd)
		return err
	})
	if err != nil {
		_ = pr.Close()
		_ = pw.Close()
		if errors.Is(err, unix.ETXTBSY) {
			return nil, fmt.Errorf("start %s: %w", bootstrap, shim.TextBusyError(err))
		}
		if ee := entrypointError(err); ee != nil {
			// The bootstrap cannot be run: a sandbox that failed its init,
			// as Lambda reports it (Runtime.InvalidEntrypoint), not a
			// runtime that could not start one.
			return newExecFailed(spec.SandboxID, ee), nil
		}
		return nil, fmt.Errorf("start %s: %w", bootstrap, err)
	}
	_ = pw.Close() // the child holds its own copy
	// The pipe stays non-blocking (read through the netpoller, no thread held
	// per sandbox); its descriptor is reached through the RawConn, since
	// File.Fd would switch it to blocking mode, a system call on every use.
	praw, err := pr.SyscallConn()
	if err != nil {
		_ = pr.Close()
		_ = cmd.Process.Kill()
		if cg != nil {
			_ = cg.remove()
		}
		return nil, err
	}
	sb := &sandbox{
		id:      spec.SandboxID,
		apiAddr: runtimeAPIAddr(spec.Env["AWS_LAMBDA_RUNTIME_API"]),
		cmd:     cmd,
		logs:    &logPipe{f: pr, raw: praw},
		done:    make(chan struct{}),
		grace:   r.grace,
		cg:      cg,
		log:     r.log,
	}
	sb.pidFile = filepath.Join(r.stateDir, spec.SandboxID+".pid")
	if st, err := startTime(cmd.Process.Pid); err == nil {
		rec := fmt.Sprintf("%d %d", cmd.Process.Pid, st)
		if cg != nil {
			rec += " " + cg.dir
		}
		_ = os.WriteFile(sb.pidFile, []byte(rec+"\n"), 0o600)
	}
	go sb.wait()
	return sb, nil
}

// entrypointError returns err, a failed start of the bootstrap, as a
// runtimes.EntrypointError when it is the exec that failed for want of a
// program to run (not found, not executable, a script without a #! line or
// whose interpreter is missing); else nil. ETXTBSY is none of these: the
// bootstrap is fine but open for writing (textBusy), which Start reports as such.
func entrypointError(err error) *runtimes.EntrypointError {
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "fork/exec" {
		return nil
	}
	if errors.Is(pe.Err, unix.ENOEXEC) {
		if arch := runtimes.ForeignArch(pe.Path); arch != "" {
			// Lambda's words (exec format error), then the cause.
			return &runtimes.EntrypointError{Err: fmt.Errorf("%w: %s", err, runtimes.ForeignArchAdvice(arch))}
		}
	}
	for _, errno := range []error{unix.ENOENT, unix.ENOEXEC, unix.EACCES, unix.ENOTDIR, unix.ELOOP, unix.EISDIR} {
		if errors.Is(pe.Err, errno) {
			return &runtimes.EntrypointError{Err: err}
		}
	}
	return nil
}

// textBusy retries an exec that the kernel refuses with ETXTBSY (shim.TextBusy).
type textBusy = shim.TextBusy

// execFailed is the sandbox of a bootstrap that could not be exec'd: it has
// exited already, with a runtimes.EntrypointError, and nothing is its peer.
type execFailed struct {
	id   string
	err  error
	done chan struct{}
}

var (
	_ runtimes.Sandbox      = (*execFailed)(nil)
	_ runtimes.PeerVerifier = (*execFailed)(nil)
)

func newExecFailed(id string, err error) *execFailed {
	s := &execFailed{id: id, err: err, done: make(chan struct{})}
	close(s.done)
	return s
}

// ID implements runtimes.Sandbox.
func (s *execFailed) ID() string { return s.id }

// Done implements runtimes.Sandbox: it is closed from the start.
func (s *execFailed) Done() <-chan struct{} { return s.done }

// Err implements runtimes.Sandbox: the exec's failure.
func (s *execFailed) Err() error { return s.err }

// Logs implements runtimes.Sandbox: nothing ran, so nothing was written.
func (s *execFailed) Logs() io.Reader { return strings.NewReader("") }

// Stop implements runtimes.Sandbox: there is nothing to stop.
func (s *execFailed) Stop(context.Context) error { return nil }

// OwnsConn implements runtimes.PeerVerifier: no process is the sandbox's.
func (s *execFailed) OwnsConn(net.Addr) bool { return false }

// start starts a command newCmd makes, in a cgroup of its own when the host
// allows: the command and its cgroup (nil without). Should the start in a
// cgroup fail where a start without one works, the host refuses what the
// probe allowed (a seccomp filter that refuses clone3, say): the runtime goes
// on without cgroups, and says so. (A Cmd is started once, failed or not:
// the retry is a new one.)
func (r *Runtime) start(newCmd func() *exec.Cmd) (*exec.Cmd, *sandboxCgroup, error) {
	cmd := newCmd()
	if !r.Cgroups() {
		return cmd, nil, cmd.Start()
	}
	// Named for the process and a sequence of the process's own, not the
	// runtime's: a process may hold several runtimes (tests, a restart in
	// place), whose sandboxes' cgroups must not collide. A name a former
	// process of the same pid left behind is passed over.
	var cg *sandboxCgroup
	var err error
	for range 8 {
		dir := filepath.Join(r.cgParent, fmt.Sprintf("%d.%d", os.Getpid(), cgSeq.Add(1)))
		if cg, err = newSandboxCgroup(dir); !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		r.cgroupsOff(err)
		return cmd, nil, cmd.Start()
	}
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cg.fd
	err = cmd.Start()
	cg.started()
	if err == nil {
		return cmd, cg, nil
	}
	_ = cg.remove()
	if errors.Is(err, unix.ETXTBSY) {
		return nil, nil, err // the bootstrap is busy, not the cgroup refused: retried whole (textBusy)
	}
	cmd = newCmd()
	if err2 := cmd.Start(); err2 != nil {
		return nil, nil, err2 // the bootstrap's own failure
	}
	r.cgroupsOff(err)
	return cmd, nil, nil
}

// cgSeq numbers the sandboxes' cgroups of the process (start).
var cgSeq atomic.Uint64

// cgroupsOff turns cgroups off after a failure the probe did not foresee.
func (r *Runtime) cgroupsOff(err error) {
	if r.cgOff.CompareAndSwap(false, true) {
		r.log.Warn("process runtime: starting a sandbox in a cgroup of its own failed; sandboxes get none from now on, "+
			"and stopping one kills its process group only (docs/runtimes.md)", "err", err.Error())
	}
}

// Cleanup implements runtimes.Runtime: it kills the process groups (and
// cgroups) recorded by an earlier run whose processes are still alive, then
// removes the records.
func (r *Runtime) Cleanup(ctx context.Context) error {
	entries, err := os.ReadDir(r.stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		// No pid file names a sandbox (the data directory was removed
		// under the server, say): nothing is known to be left to remove.
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pid") {
			continue
		}
		path := filepath.Join(r.stateDir, e.Name())
		raw, err := os.ReadFile(path)
		if err == nil {
			var pid int
			var st uint64
			if _, err := fmt.Sscanf(string(raw), "%d %d", &pid, &st); err == nil && pid > 1 {
				killGroup(pid, st)
			}
			// A cgroup of this runtime's (never another path a damaged
			// record names) is killed and removed whatever its bootstrap.
			if f := strings.Fields(string(raw)); len(f) == 3 && r.cgParent != "" &&
				filepath.Dir(f[2]) == r.cgParent && strings.Count(filepath.Base(f[2]), ".") == 1 {
				if err := removeCgroup(f[2]); err != nil {
					r.log.Warn("process runtime: cgroup of an earlier run left behind", "err", err.Error())
				}
			}
		}
		_ = os.Remove(path)
	}
	return nil
}

// killGroup kills what is left of the process group of a sandbox whose
// bootstrap, pid leader, started at st (clock ticks after boot), as an earlier
// run recorded it. With the bootstrap alive, the whole group. With the
// bootstrap gone (a killed Portico's sandboxes die with it, PR_SET_PDEATHSIG,
// but not what they started), each process still in group leader, started at
// st or later: what the bootstrap forked into its group. A leader alive with
// another start time is another process that got the pid: its group is left
// alone. (A group id is never handed out as a pid while the group has a
// member, so the members found are the sandbox's, unless the group emptied
// and its id came back as another group's whose leader then died too.)
func killGroup(leader int, st uint64) {
	if cur, err := startTime(leader); err == nil {
		if cur == st {
			_ = syscall.Kill(-leader, syscall.SIGKILL)
		}
		return
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 {
			continue
		}
		if pgid, err := syscall.Getpgid(pid); err != nil || pgid != leader {
			continue
		}
		if cur, err := startTime(pid); err == nil && cur >= st {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// runtimeAPIAddr parses the Runtime API endpoint a sandbox connects to; nil when
// it is not an IP address and port (OwnsConn then refuses every connection).
func runtimeAPIAddr(hostport string) *net.TCPAddr {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

type sandbox struct {
	id      string
	apiAddr *net.TCPAddr // the Runtime API endpoint, for OwnsConn
	cmd     *exec.Cmd
	logs    *logPipe
	pidFile string
	grace   time.Duration

	done    chan struct{}
	err     error
	stopMu  sync.Mutex
	stopped bool

	// memMB is the last reading of the sandbox's peak memory (readPeakLocked),
	// taken at memAt; once done is closed it is the sandbox's final figure.
	memMu     sync.Mutex
	memAt     time.Time
	memMB     int
	statusBuf [4096]byte // readPeakLocked's
	// peakFile is what readPeakLocked reads, kept open from its first read
	// (a read per invocation, without the allocations of an open) until
	// the bootstrap exits: the cgroup's memory.peak, or the bootstrap's
	// /proc status file, which names its process and no pid reused later.
	peakFile openFile

	cg  *sandboxCgroup // nil without one
	log *slog.Logger
}

func (s *sandbox) wait() {
	err := s.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			s.err = runtimes.SignalExit(ws.Signal(), unix.SignalName(ws.Signal()))
		} else {
			s.err = &runtimes.ExitError{Code: ws.ExitStatus()}
		}
	default:
		s.err = err
	}
	// The peak memory is the cgroup's, read before it is removed, or the
	// last reading of the bootstrap's VmHWM. Not the exit status's rusage:
	// the bootstrap was started sharing the server's memory (vfork), and the
	// kernel keeps the peak of that memory, the server's, at its exec.
	s.memMu.Lock()
	if s.cg != nil && s.cg.memPeak {
		if mb, ok := s.cgroupPeakLocked(); ok {
			s.memMB = max(s.memMB, mb)
		}
	}
	s.peakFile.close()
	s.memMu.Unlock()
	// Children the handler left behind die with the sandbox: those in its
	// process group, and with a cgroup those that left the group too.
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	if s.cg != nil {
		if err := s.cg.remove(); err != nil {
			s.log.Warn("process runtime: sandbox cgroup not removed", "sandbox", s.id, "err", err.Error())
		}
	}
	_ = os.Remove(s.pidFile)
	close(s.done)
}

// ID implements runtimes.Sandbox.
func (s *sandbox) ID() string { return s.id }

// Done implements runtimes.Sandbox.
func (s *sandbox) Done() <-chan struct{} { return s.done }

// Err implements runtimes.Sandbox.
func (s *sandbox) Err() error {
	<-s.done
	return s.err
}

// Logs implements runtimes.Sandbox.
func (s *sandbox) Logs() io.Reader { return s.logs }

// Stop implements runtimes.Sandbox: SIGTERM to the group, grace, SIGKILL to the
// group and the cgroup. It returns once the bootstrap has exited and the
// sandbox's cgroup is removed (with everything that was in it).
func (s *sandbox) Stop(ctx context.Context) error {
	s.stopMu.Lock()
	first := !s.stopped
	s.stopped = true
	s.stopMu.Unlock()
	select {
	case <-s.done:
		return nil
	default:
	}
	if first {
		// The last reading of its peak while it runs (without a cgroup's
		// memory.peak, its figure once gone).
		s.memMu.Lock()
		s.readPeakLocked()
		s.memMu.Unlock()
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	}
	t := time.NewTimer(s.grace)
	defer t.Stop()
	select {
	case <-s.done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	if s.cg != nil {
		s.cg.kill()
	}
	<-s.done
	return nil
}

// MaxMemoryMB implements runtimes.MemoryReporter: the sandbox's peak memory,
// its cgroup's memory.peak where it has one (the memory controller is
// enabled), else the bootstrap's peak RSS (VmHWM). Once the sandbox has
// exited, it is the cgroup's figure at the exit, or without one the last
// reading taken while the bootstrap ran (0 if none was).
func (s *sandbox) MaxMemoryMB() int {
	if s.exited() {
		return s.finalPeak()
	}
	// Peak RSS only grows; reading /proc costs tens of microseconds, so a value
	// at most 100 ms old is good enough for REPORT lines.
	s.memMu.Lock()
	defer s.memMu.Unlock()
	if time.Since(s.memAt) < 100*time.Millisecond {
		return s.memMB
	}
	return s.readPeakLocked()
}

// ReadPeakMemoryMB implements runtimes.PeakMemoryReader: MaxMemoryMB's
// figure read now (the cgroup's memory.peak or the bootstrap's VmHWM from
// /proc), tens of microseconds.
func (s *sandbox) ReadPeakMemoryMB() int {
	if s.exited() {
		return s.finalPeak()
	}
	s.memMu.Lock()
	defer s.memMu.Unlock()
	return s.readPeakLocked()
}

func (s *sandbox) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// finalPeak is the peak memory of a sandbox that has exited (wait's).
func (s *sandbox) finalPeak() int {
	s.memMu.Lock()
	defer s.memMu.Unlock()
	return s.memMB
}

// readPeakLocked reads the peak into memMB and returns it; memMu is held.
// The cgroup's memory.peak counts every process of the sandbox; without it,
// the bootstrap's VmHWM is read from its status file (about 1.5 KB), into the
// sandbox's own buffer. A failed reading (the bootstrap has just exited)
// leaves memMB as it was.
func (s *sandbox) readPeakLocked() int {
	if s.cg != nil && s.cg.memPeak {
		if mb, ok := s.cgroupPeakLocked(); ok {
			s.memAt = time.Now()
			s.memMB = max(s.memMB, mb)
		}
		return s.memMB
	}
	if s.exited() {
		return s.memMB // its status file is closed, or soon will be
	}
	raw, ok := s.peakFile.read(func() string { return "/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status" }, s.statusBuf[:])
	if !ok {
		return s.memMB
	}
	s.memAt = time.Now()
	i := bytes.Index(raw, []byte("\nVmHWM:"))
	if i < 0 {
		return s.memMB // a zombie: its memory is gone
	}
	raw = bytes.TrimLeft(raw[i+len("\nVmHWM:"):], " \t")
	kb := 0
	for _, c := range raw {
		if c < '0' || c > '9' {
			break
		}
		kb = kb*10 + int(c-'0')
	}
	s.memMB = max(s.memMB, (kb+1023)/1024)
	return s.memMB
}

// cgroupPeakLocked reads the sandbox cgroup's memory.peak through peakFile;
// memMu is held.
func (s *sandbox) cgroupPeakLocked() (int, bool) {
	raw, ok := s.peakFile.read(func() string { return filepath.Join(s.cg.dir, "memory.peak") }, s.statusBuf[:])
	if !ok {
		return 0, false
	}
	return parsePeakBytes(raw)
}

// openFile is a file read again from its start on each read, opened at the
// first (path is called then only) and kept open until close. Not safe for
// concurrent use.
type openFile struct {
	fd     int // -1 when closed; 0 before the first read
	opened bool
}

// read reads the file at path() from its start into buf and returns what it
// read. A file that cannot be opened is tried again at the next read; once
// closed, read reports false.
func (f *openFile) read(path func() string, buf []byte) ([]byte, bool) {
	if !f.opened {
		if f.fd < 0 {
			return nil, false
		}
		fd, err := unix.Open(path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, false
		}
		f.fd, f.opened = fd, true
	}
	n := 0
	for n < len(buf) {
		m, err := unix.Pread(f.fd, buf[n:], int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], true
}

// close closes the file; reads after it report false.
func (f *openFile) close() {
	if f.opened {
		_ = unix.Close(f.fd)
	}
	f.fd, f.opened = -1, false
}

// SyncLogs implements runtimes.LogSyncer: it waits until everything written to
// the pipe before the call has been delivered by the Logs reader (read, and the
// reader done with its chunk). Output written after the call does not hold it,
// so a function that keeps writing does not keep it waiting.
func (s *sandbox) SyncLogs(ctx context.Context) {
	target, ok := s.logs.mark()
	if !ok {
		return
	}
	var t *time.Timer
	for !s.logs.delivered(target) {
		if t == nil {
			t = time.NewTimer(50 * time.Microsecond)
			defer t.Stop()
		} else {
			t.Reset(50 * time.Microsecond)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LogsPending reports whether output is still on its way through the Logs
// reader (one ioctl): the invoker calls SyncLogs only when it is.
func (s *sandbox) LogsPending() bool { return s.logs.pending() }

// logPipe is the read end of a sandbox's output pipe. It stays non-blocking (read
// through the netpoller, no thread held per sandbox) and is reached through its
// RawConn, since File.Fd would switch it to blocking mode.
//
// Taking bytes out of the pipe and counting them in hand is one step under mu, so
// pending and mark never miss output a reader has taken but not yet handled (the
// window between read(2) returning and the caller writing the chunk to the log).
// A chunk stays in hand until the reader's next Read, which it makes once it is
// done.
type logPipe struct {
	f   *os.File
	raw syscall.RawConn

	mu     sync.Mutex
	taken  uint64 // bytes read from the pipe so far
	inHand uint64 // of those, the reader's current chunk, not yet done with
}

// Read implements io.Reader; at the end of the output it closes the pipe.
func (p *logPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	p.inHand = 0
	p.mu.Unlock()
	if len(b) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	err := p.raw.Read(func(fd uintptr) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for {
			n, rerr = unix.Read(int(fd), b)
			if rerr != unix.EINTR {
				break
			}
		}
		if n > 0 {
			p.taken += uint64(n)
			p.inHand = uint64(n)
		}
		return rerr != unix.EAGAIN
	})
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, &os.PathError{Op: "read", Path: "sandbox output", Err: rerr}
	case n <= 0:
		_ = p.f.Close()
		return 0, io.EOF
	}
	return n, nil
}

// unread returns how many bytes the pipe holds (one ioctl); ok is false once
// it is closed: nothing more will come through it. Called with mu held.
func (p *logPipe) unread() (n int, ok bool) {
	if err := p.raw.Control(func(fd uintptr) {
		n = pipeUnread(fd)
	}); err != nil {
		return 0, false
	}
	return n, true
}

// pipeUnread returns how many bytes the pipe fd holds: FIONREAD with a raw
// system call. It never blocks, and unix.IoctlGetInt would tell the scheduler
// that the goroutine enters a system call, which wakes the runtime's sysmon
// from its deep sleep: the invoker asks once per invocation (syncLogs), just
// after an idle wait for the sandbox, so every call paid a futex wake-up and
// a spell of sysmon's 20 µs polls for it (docs/performance.md, "Warm invoke
// (session 11)").
func pipeUnread(fd uintptr) int {
	var n int32
	_, _, errno := unix.RawSyscall(unix.SYS_IOCTL, fd, unix.TIOCINQ, uintptr(unsafe.Pointer(&n))) //nolint:gosec // G103: FIONREAD's int, on the stack
	if errno != 0 {
		return 0
	}
	return int(n)
}

// pending reports whether the pipe holds unread output or a reader holds a
// chunk it has not finished with.
func (p *logPipe) pending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inHand > 0 {
		return true
	}
	n, ok := p.unread()
	return ok && n > 0
}

// mark returns the count of bytes the reader must have delivered for all output
// written so far to be through, and false when that is already so.
func (p *logPipe) mark() (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.unread()
	if !ok || (n <= 0 && p.inHand == 0) {
		return 0, false
	}
	return p.taken + uint64(max(n, 0)), true
}

// delivered reports whether the reader has delivered target bytes (or the pipe
// is closed).
func (p *logPipe) delivered(target uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken-p.inHand >= target {
		return true
	}
	_, ok := p.unread()
	return !ok
}

// startTime returns a process's start time in clock ticks since boot (field 22 of
// /proc/PID/stat), which with the pid identifies a process uniquely.
func startTime(pid int) (uint64, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, errors.New("malformed stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}
