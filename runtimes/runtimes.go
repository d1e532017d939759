// Package runtimes defines the boundary between the invoker and the things that run
// sandboxes: a child process (runtimes/process), a Docker container (runtimes/docker)
// or a containerd task (runtimes/containerd).
//
// The boundary is a small lifecycle: start a sandbox for a version with an env and a
// Runtime API address, learn that it exited, read its logs, stop it, and clean up what
// an earlier run left behind. Pools, queues, timeouts and warm reuse live in the
// invoker, once, for every runtime. Optional abilities (memory usage, pausing, image
// resolution) are separate interfaces found by type assertion.
package runtimes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/portico-dev/portico/internal/errdefs"
)

// Spec says what to start.
type Spec struct {
	// SandboxID is unique per sandbox; runtimes name and label their resources with it.
	SandboxID string
	// Function and Version name what runs (for labels and log lines).
	Function string
	Version  string
	// PackageType is "Zip" or "Image".
	PackageType string
	// CodeDir is the unpacked Zip package (holding an executable bootstrap).
	CodeDir string
	// Image is the image reference or pinned image id, for Image packages.
	Image string
	// ImageRef is the image as the function names it (its ImageUri) when
	// Image is the id it was pinned to: errors name this one, which the
	// user knows. "" when Image is the reference itself.
	ImageRef string
	// EntryPoint, Command and WorkingDir, when set, override the image's
	// ENTRYPOINT, CMD and WORKDIR (Lambda's ImageConfig), each on its own:
	// an EntryPoint without a Command keeps the image's CMD as its arguments.
	// Image packages only.
	EntryPoint []string
	Command    []string
	WorkingDir string
	// Env is the full sandbox environment, AWS_LAMBDA_RUNTIME_API included. The
	// address in it was bound on the host the runtime reported from HostAddr.
	// An Image sandbox whose Env has no _HANDLER gets Lambda's, its CMD's
	// first word (Command's, else the image's CMD's), from the runtime, which
	// reads the image.
	Env map[string]string
	// DefaultEnv are variables the sandbox gets only where neither Env nor the
	// image's own configuration (its ENV) sets them: Lambda's defaults of PATH,
	// LANG, TZ and LD_LIBRARY_PATH for an Image function, which keeps its
	// image's values.
	DefaultEnv map[string]string
	// MemoryMB bounds the sandbox's memory where the runtime can.
	MemoryMB int
	// Mounts are host directories bind-mounted into the sandbox (function volumes).
	Mounts []Mount
	// Trust, when set, names certificate authorities the sandbox trusts
	// beyond its system's: the runtime makes Trust.Dir readable in the
	// sandbox (container runtimes mount it read-only at TrustMountDir) and
	// adds TrustEnv's variables to Env.
	Trust *Trust
}

// Trust is a host directory of certificate authorities for a sandbox to
// trust: TrustBundleFile (the host's system roots and the extra authorities)
// and TrustCAFile (the extra authorities alone), readable by every user.
type Trust struct {
	Dir string
}

// Files of a Trust directory, and where container runtimes mount it.
const (
	TrustBundleFile = "ca-bundle.pem"
	TrustCAFile     = "ca.pem"
	TrustMountDir   = "/etc/portico/tls"
)

// TrustEnv returns, as KEY=VALUE entries, the variables that point a
// sandbox's TLS clients at the Trust files in dir (the directory as the
// sandbox sees it): SSL_CERT_FILE (Go, OpenSSL), AWS_CA_BUNDLE (the AWS SDKs)
// and REQUESTS_CA_BUNDLE (Python's requests) name the bundle, which replaces
// the system's roots for them; NODE_EXTRA_CA_CERTS (Node.js, which adds it to
// its own) names the extra authorities alone. A variable env sets already (the
// function's own configuration) is left out: the function's value stands.
func TrustEnv(env map[string]string, dir string) []string {
	var out []string
	for _, v := range [...]struct{ key, file string }{
		{"SSL_CERT_FILE", TrustBundleFile},
		{"AWS_CA_BUNDLE", TrustBundleFile},
		{"REQUESTS_CA_BUNDLE", TrustBundleFile},
		{"NODE_EXTRA_CA_CERTS", TrustCAFile},
	} {
		if _, set := env[v.key]; !set {
			out = append(out, v.key+"="+path.Join(dir, v.file))
		}
	}
	return out
}

// Mount binds a host directory into a sandbox.
type Mount struct {
	Source string // host path
	Target string // path inside the sandbox, e.g. /mnt/chat
}

// Runtime starts sandboxes. Implementations are safe for concurrent use.
type Runtime interface {
	// Name is "process", "docker" or "containerd".
	Name() string
	// HostAddr is the IP address on which the invoker binds a sandbox's Runtime API
	// endpoint so that the sandbox, and ideally only it, can reach it: 127.0.0.1 for
	// processes, the bridge gateway for containers.
	HostAddr() string
	// Start starts a sandbox and returns once it is running (not once it is ready:
	// readiness is its first call to the Runtime API). The context bounds the start
	// only; the sandbox outlives it. An error leaves nothing behind.
	Start(ctx context.Context, spec Spec) (Sandbox, error)
	// Cleanup removes sandboxes that an earlier run of Portico left behind.
	Cleanup(ctx context.Context) error
	// Close releases the runtime's own resources (clients, connections).
	Close() error
}

// Sandbox is one running instance of a version. Safe for concurrent use.
type Sandbox interface {
	// ID is the Spec's SandboxID.
	ID() string
	// Done is closed once the sandbox has exited, for any reason.
	Done() <-chan struct{}
	// Err, after Done, says how it exited: nil for a clean exit, an *ExitError for
	// a non-zero status or a signal; an error wrapping ErrWaitLost when the
	// runtime lost its watch on it and cannot tell.
	Err() error
	// Logs streams the sandbox's stdout and stderr, interleaved, until it exits
	// (then io.EOF). Call it at most once.
	Logs() io.Reader
	// Stop stops the sandbox: SIGTERM, a grace period, then SIGKILL, then removal
	// of whatever the runtime created. It returns once the sandbox is gone, and is
	// safe to call more than once and after the sandbox exited by itself.
	Stop(ctx context.Context) error
}

// MemoryReporter is implemented by sandboxes that can report their peak memory use,
// for REPORT lines.
type MemoryReporter interface {
	MaxMemoryMB() int
}

// PeakMemoryReader is implemented by sandboxes that can read their peak memory
// use cheaply (a file read, no daemon call) and as of now, so that the REPORT
// line of every invocation, the first included, shows the invocation's peak
// rather than the last MemoryReporter measurement. It returns 0 when it cannot
// tell.
type PeakMemoryReader interface {
	ReadPeakMemoryMB() int
}

// LogSyncer is implemented by sandboxes that can wait until all output written so
// far has been delivered to Logs, so that an invocation's log tail is complete.
type LogSyncer interface {
	SyncLogs(ctx context.Context)
}

// Pauser is implemented by sandboxes that can be frozen while idle and thawed for
// the next invocation (cgroup freezer), keeping them warm without using CPU.
type Pauser interface {
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
}

// PeerVerifier is implemented by sandboxes that can tell whether a connection to
// their Runtime API endpoint comes from inside them (the remote address is the
// connecting socket's). The invoker refuses any other peer, so a sandbox cannot
// reach another sandbox's invocations even where both share a network.
type PeerVerifier interface {
	OwnsConn(remote net.Addr) bool
}

// NetworkRepairer is implemented by runtimes whose sandbox network can be
// removed under them (`docker network prune` of the Docker network while no
// container is on it, `ip link del` of containerd's bridge): the host then no
// longer has HostAddr, and no sandbox's Runtime API endpoint can be bound. The
// invoker calls RepairNetwork when a bind on HostAddr fails so, then binds
// once more. RepairNetwork sets the network up again as at start (the same
// settings, so the same HostAddr), logging that it did, and returns nil when
// the network is there (again); else a *NetworkGoneError. Safe for
// concurrent use.
type NetworkRepairer interface {
	RepairNetwork(ctx context.Context) error
}

// NetworkGoneError is the error of a sandbox start whose network was removed
// or changed under Portico and could not be set up again as at start (its
// address taken, the network recreated by someone else on another subnet). It
// wraps errdefs.ErrUnavailable with the type ServiceException and its cause;
// ClientMessage, which the API surfaces tell the caller in place of their
// generic message, says what happened and what to do.
type NetworkGoneError struct {
	Network  string // the network as a person names it: "the Docker network portico", "the bridge portico1"
	HostAddr string // the host's address on it, which Portico binds on
	Err      error  // the cause
}

// Error implements error.
func (e *NetworkGoneError) Error() string {
	return fmt.Sprintf("%s was removed or changed under Portico (its host address %s is gone), and setting it up again failed: %v; restart Portico",
		e.Network, e.HostAddr, e.Err)
}

// Unwrap gives the kind (ErrUnavailable, ServiceException) and the cause.
func (e *NetworkGoneError) Unwrap() []error {
	return []error{&errdefs.Kinded{Kind: errdefs.ErrUnavailable, Type: "ServiceException", Message: e.ClientMessage()}, e.Err}
}

// ClientMessage is what the caller is told.
func (e *NetworkGoneError) ClientMessage() string {
	return fmt.Sprintf("The sandbox network is gone: %s was removed or changed under Portico (by `docker network prune` or `docker system prune`?) "+
		"and could not be set up again as it was, so the function cannot run. Restart Portico to set it up anew (the server log says why).", e.Network)
}

// ImageResolver is implemented by runtimes that can pin an image reference to an
// immutable image id, for publishing versions.
type ImageResolver interface {
	ResolveImage(ctx context.Context, ref string) (id string, err error)
}

// ImageImporter is implemented by runtimes that can load images from an archive
// (`docker save` output or an OCI image layout tarball), for `portico image import`.
type ImageImporter interface {
	// ImportImage loads every image in the archive and returns the references it
	// tagged (or, for untagged images, their ids).
	ImportImage(ctx context.Context, archive io.Reader) (refs []string, err error)
}

// Preparer is implemented by runtimes that can do the work of Start ahead of need
// (resolve the image, create the container or task, attach its output), so that
// only the start itself remains on the invocation path. The spec is complete when
// prepared, AWS_LAMBDA_RUNTIME_API included: the invoker binds the sandbox's
// endpoint first and keeps it with the prepared sandbox. Nothing of the function
// runs before Start.
type Preparer interface {
	// Prepare does everything Start does short of running the sandbox. An error
	// leaves nothing behind. Cleanup removes prepared sandboxes too.
	Prepare(ctx context.Context, spec Spec) (Prepared, error)
}

// Prepared is a sandbox made ready by Preparer.Prepare. Start it once, or
// Discard it. Safe for concurrent use.
type Prepared interface {
	// Start runs the prepared sandbox and returns it, as Runtime.Start would. After
	// an error the prepared sandbox is gone (nothing is left behind).
	Start(ctx context.Context) (Sandbox, error)
	// Discard removes a prepared sandbox that was not started. It is safe to call
	// more than once and after Start, where it does nothing (stop the Sandbox).
	Discard(ctx context.Context) error
}

// ExitError reports how a sandbox exited. Its Error text is the one Go's
// os.ProcessState gives, which is what Lambda quotes in a Runtime.ExitError
// ("exit status 3", "signal: killed", "signal: segmentation fault").
type ExitError struct {
	Code   int    // exit status, or -1 when killed by a signal
	Signal string // the signal's name (SIGKILL), when killed by one
	// Signo is the signal's number, when killed by one. Runtimes that learn
	// only an exit status infer it from the status 128+N that container
	// engines report for a death by signal N (see SignalExit).
	Signo syscall.Signal
}

// EntrypointError is the Err of a sandbox whose entrypoint could not be run at
// all: the exec itself failed (not found, not executable, a script without a
// #! line, an interpreter that is missing). Its text is the exec's own error
// (fork/exec /path/bootstrap: exec format error), as Lambda reports it with
// Runtime.InvalidEntrypoint.
type EntrypointError struct {
	Err error
}

func (e *EntrypointError) Error() string { return e.Err.Error() }

// Unwrap returns the exec's error.
func (e *EntrypointError) Unwrap() error { return e.Err }

// SignalExit returns the ExitError of a sandbox killed by sig, whose name is
// name (SIGKILL).
func SignalExit(sig syscall.Signal, name string) *ExitError {
	return &ExitError{Code: -1, Signal: name, Signo: sig}
}

func (e *ExitError) Error() string {
	switch {
	case e.Signo != 0:
		return "signal: " + e.Signo.String()
	case e.Signal != "":
		return "signal: " + e.Signal
	}
	return "exit status " + strconv.Itoa(e.Code)
}

// ErrWaitLost is wrapped by the Err of a sandbox whose exit the runtime could
// not learn: its watch on the sandbox broke, most often because the daemon
// went away (the cause is wrapped too: a *DaemonDownError, then). The sandbox
// did not necessarily exit, and nothing says how: the invoker does not take
// it for the function's exit (Runtime.ExitError) but for Portico's own
// failure, and the runtime removes the sandbox once it can. A sandbox that
// the daemon itself killed as it shut down (Docker stops its containers when
// it stops) is reported so too: its exit is the daemon's, not the function's.
var ErrWaitLost = errors.New("the runtime lost its watch on the sandbox")

// ErrUnsupported is returned by runtimes asked for something they cannot do (a Zip
// function on a runtime without a code mount, say).
var ErrUnsupported = errors.New("not supported by this runtime")

// Factory is one runtime a build offers. Implementations provide theirs into the
// fx value group "runtimes"; Choose picks one. Group order is never relied on.
type Factory struct {
	// Name is the runtime's name, as --runtime takes it.
	Name string
	// Priority orders candidates for "auto": lower is tried first.
	Priority int
	// Probe returns nil when the runtime can work on this host (its daemon
	// answers), else an error saying why not.
	Probe func(ctx context.Context) error
	// New creates the runtime.
	New func(ctx context.Context) (Runtime, error)
	// Unisolated marks a runtime whose sandboxes are not isolated from the
	// host (process): "auto" warns when it falls back to one.
	Unisolated bool
}

// Choose returns the runtime named want, or for "auto" the first candidate by
// Priority whose Probe succeeds, and logs which and why.
func Choose(ctx context.Context, want string, factories []Factory, log *slog.Logger) (Runtime, error) {
	if want == "" {
		want = "auto"
	}
	byName := map[string]Factory{}
	for _, f := range factories {
		byName[f.Name] = f
	}
	if want != "auto" {
		f, ok := byName[want]
		if !ok {
			return nil, fmt.Errorf("runtime %q is not one of auto, process, docker, containerd (or not built in)", want)
		}
		if f.Probe != nil {
			if err := f.Probe(ctx); err != nil {
				return nil, fmt.Errorf("runtime %q cannot run here: %w", want, err)
			}
		}
		log.Info("runtime selected", "runtime", want, "why", "asked for by --runtime")
		return f.New(ctx)
	}
	sorted := slices.Clone(factories)
	slices.SortStableFunc(sorted, func(a, b Factory) int { return cmp.Compare(a.Priority, b.Priority) })
	var skipped []string
	for _, f := range sorted {
		if f.Probe != nil {
			if err := f.Probe(ctx); err != nil {
				skipped = append(skipped, f.Name+": "+err.Error())
				continue
			}
		}
		why := "first available"
		if len(skipped) > 0 {
			why = fmt.Sprintf("skipped %v", skipped)
		}
		if f.Unisolated {
			// Not refused: a machine without Docker (a first `make run`)
			// still runs functions. But it is no sandbox, and says so.
			log.Warn("runtime selected: no container runtime could be used (see why), so functions run WITHOUT ISOLATION: "+
				"as child processes of the server, as its own user, able to read and write what it can (the data directory "+
				"included) and to reach the admin API on loopback. Start Docker or containerd (and let Portico's user use its socket) and restart Portico to isolate them, "+
				"or pass --runtime "+f.Name+" to say you mean this (docs/runtimes.md)",
				"runtime", f.Name, "uid", os.Geteuid(), "why", why)
			return f.New(ctx)
		}
		log.Info("runtime selected", "runtime", f.Name, "why", why)
		return f.New(ctx)
	}
	return nil, fmt.Errorf("no runtime is available: %v", skipped)
}

// Config names the runtime to use: auto, process, docker or containerd.
type Config struct {
	Name string
}

// DaemonDownError is the error of a container runtime whose daemon (Docker,
// containerd) does not answer: its socket is missing or refuses connections,
// or the connection broke. It wraps errdefs.ErrUnavailable and its cause.
// The API surfaces tell the caller ClientMessage in place of their generic
// message for a 5xx, since what is wrong is the host's, and the operator
// calling can fix it.
type DaemonDownError struct {
	Runtime string // the runtime: "docker", "containerd"
	Daemon  string // the daemon as a person names it: "Docker", "containerd"
	Address string // its socket or host
	Op      string // what was being done, or ""
	Err     error  // the cause
}

// Error implements error: "docker: creating the container: Docker at
// unix:///var/run/docker.sock does not answer: unavailable: CAUSE".
func (e *DaemonDownError) Error() string {
	op := ""
	if e.Op != "" {
		op = e.Op + ": "
	}
	if e.denied() {
		return fmt.Sprintf("%s: %s%s at %s refuses this user (uid %d): %v: %v; %s", e.Runtime, op, e.Daemon, e.address(), os.Geteuid(), errdefs.ErrUnavailable, e.Err, e.deniedHint())
	}
	return fmt.Sprintf("%s: %s%s at %s does not answer: %v: %v", e.Runtime, op, e.Daemon, e.address(), errdefs.ErrUnavailable, e.Err)
}

// denied reports whether the daemon's socket refused Portico's user: it
// answers, but not to this user.
func (e *DaemonDownError) denied() bool {
	return e.Err != nil && (errors.Is(e.Err, fs.ErrPermission) || strings.Contains(e.Err.Error(), "permission denied"))
}

// deniedHint says what to do when the daemon's socket refused the user.
func (e *DaemonDownError) deniedHint() string {
	if e.Runtime == "docker" {
		return "add the user to the socket's group (usually docker: `sudo usermod -aG docker $USER`, then log in again), or run Portico as root"
	}
	return "give the user access to the socket (its group, or root), or run Portico as root"
}

// Unwrap lets errors.Is find errdefs.ErrUnavailable and the cause.
func (e *DaemonDownError) Unwrap() []error { return []error{errdefs.ErrUnavailable, e.Err} }

// ClientMessage is what the caller is told: what is wrong and what to do. It
// names the daemon's address (without any user or password in it) and
// nothing of the cause.
func (e *DaemonDownError) ClientMessage() string {
	if e.denied() {
		return fmt.Sprintf("The container runtime refuses Portico: %s at %s does not let Portico's user use its socket, so the function cannot run: %s.",
			e.Daemon, e.address(), e.deniedHint())
	}
	return fmt.Sprintf("The container runtime is not answering: %s at %s does not answer, so the function cannot run. "+
		"Start %s (or restart it), or check that it listens at %s and that Portico may use that socket, then try again.",
		e.Daemon, e.address(), e.Daemon, e.address())
}

// address is Address without the user information a URL may carry
// (ssh://user:password@host).
func (e *DaemonDownError) address() string {
	u, err := url.Parse(e.Address)
	if err != nil || u.User == nil {
		return e.Address
	}
	u.User = nil
	return u.String()
}

// ImageGoneError is the error of a sandbox whose pinned image (an image id a
// function or version was resolved to) is no longer on the host: removed, or
// freed once nothing pinned or tagged it. It wraps errdefs.ErrUnavailable with
// the type ServiceException: the caller's request is fine, the host lacks what
// it needs. ClientMessage, which the API surfaces tell the caller in place of
// their generic message, says how to bring the image back.
type ImageGoneError struct {
	Image    string // the image id (sha256:...)
	Function string // the function whose sandbox needed it, or ""
	Version  string // its version, or ""
	// Runtime is the runtime that looked for it ("docker", "containerd"),
	// and Former the other runtime this data directory ran on before, when
	// it did (see RecordRuntime): image ids are per runtime (Docker's is the
	// digest of the image's configuration, containerd's that of its
	// manifest), so an id pinned there is not found here, and the remedy
	// is another. Both "" when not known.
	Runtime string
	Former  string
	// Ref is the image as the function names it (its ImageUri), or "".
	Ref string
}

// Error implements error.
func (e *ImageGoneError) Error() string {
	return fmt.Sprintf("image %s (pinned by %s) is no longer on this host: %s", e.Image, e.user(), e.remedy())
}

// Unwrap gives the kind (ErrUnavailable, ServiceException).
func (e *ImageGoneError) Unwrap() error {
	return &errdefs.Kinded{Kind: errdefs.ErrUnavailable, Type: "ServiceException", Message: e.ClientMessage()}
}

// For returns the error as that of function's version (a caller that knows
// them better than the runtime did: a publish resolving $LATEST's pin).
func (e *ImageGoneError) For(function, version string) error {
	c := *e
	c.Function, c.Version = function, version
	return &c
}

// ClientMessage is what the caller is told: which image is gone and what to do.
func (e *ImageGoneError) ClientMessage() string {
	if e.otherRuntime() {
		return fmt.Sprintf("The image %s that %s runs is not on this host's %s: it was pinned when this data directory ran on the %s runtime, "+
			"whose image ids are not %s's, so the function cannot run here. To fix it, %s.", e.Image, e.user(), e.Runtime, e.Former, e.Runtime, e.remedy())
	}
	return fmt.Sprintf("The image %s that %s runs is no longer on this host, so the function cannot run. To fix it, %s.",
		e.Image, e.user(), e.remedy())
}

// user names what the image was pinned by: "function F version V", or "the version".
func (e *ImageGoneError) user() string {
	switch {
	case e.Function == "":
		return "the version"
	case e.Version == "" || e.Version == "$LATEST":
		return "function " + e.Function
	}
	return "function " + e.Function + " version " + e.Version
}

// otherRuntime reports whether the id may be the other runtime's: this data
// directory ran on another one before.
func (e *ImageGoneError) otherRuntime() bool {
	return e.Former != "" && e.Runtime != "" && e.Former != e.Runtime
}

// remedy says what to do.
func (e *ImageGoneError) remedy() string {
	fn := e.Function
	if fn == "" {
		fn = "NAME"
	}
	if e.otherRuntime() {
		ref := cmp.Or(e.Ref, "REF")
		s := "start Portico with `--runtime " + e.Former + "` again, or pin the function to this runtime's image with `portico fn update " + fn + " --image " + ref +
			"` (the same ImageUri resolves again, on " + e.Runtime + "); `portico image import` cannot bring back another runtime's image id"
		if e.Version != "" && e.Version != "$LATEST" {
			s += ", and publish a new version (a published version keeps its image)"
		}
		return s
	}
	s := "bring the same image back with `portico image import FILE` (its `docker save` or OCI archive), " +
		"or point the function at an image this host has with `portico fn update " + fn + " --image REF`"
	if e.Version != "" && e.Version != "$LATEST" {
		s += " and publish a new version (a published version keeps its image)"
	}
	return s
}
