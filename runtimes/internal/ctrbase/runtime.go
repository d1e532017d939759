package ctrbase

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"sync"
	"time"

	"github.com/distribution/reference"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/store"
)

// Candidate returns a container runtime's candidate for runtimes.Choose: Probe
// calls ping with a limit of 3 s, New calls newRuntime.
func Candidate(name string, priority int, ping func(ctx context.Context) error, newRuntime func(ctx context.Context) (runtimes.Runtime, error)) runtimes.Factory {
	return runtimes.Factory{
		Name:     name,
		Priority: priority,
		Probe: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			return ping(ctx)
		},
		New: newRuntime,
	}
}

// Params are what a container runtime's Module provider needs, C being the
// runtime's Config. The store's data directory, when there is one, scopes
// Cleanup to this installation.
type Params[C any] struct {
	fx.In

	Config C            `optional:"true"`
	Store  *store.Store `optional:"true"`
	Log    *slog.Logger `optional:"true"`
}

// Scope returns the instance, the former instance and the logger a
// runtime's Module puts in its Config: the configured ones, else InstanceFor
// and FormerInstanceFor the store's data directory, and the application's
// logger.
func (p Params[C]) Scope(instance, former string, log *slog.Logger) (string, string, *slog.Logger) {
	if instance == "" && p.Store != nil {
		instance, former = InstanceFor(p.Store.Dir()), FormerInstanceFor(p.Store.Dir())
	}
	if log == nil {
		log = p.Log
	}
	return instance, former, log
}

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)

// SafeName replaces in s each character a container or host name cannot hold
// with repl.
func SafeName(s, repl string) string { return nameUnsafe.ReplaceAllString(s, repl) }

// ContainerName is the name (docker) or id (containerd) of a sandbox's
// container.
func ContainerName(sandboxID string) string { return "portico-" + SafeName(sandboxID, "_") }

// RemoteIP returns the IP address of a connection's remote end, or nil.
func RemoteIP(remote net.Addr) net.IP {
	if a, ok := remote.(*net.TCPAddr); ok {
		return a.IP
	}
	host, _, err := net.SplitHostPort(remote.String())
	if err != nil {
		return nil
	}
	return net.ParseIP(host)
}

// PeakMemory remembers a sandbox's peak memory use across samples and once the
// sandbox is gone. The zero value is ready; safe for concurrent use.
type PeakMemory struct {
	// Limit, when not 0, is the sandbox's memory limit in MB, set before the
	// first sample: the peak never reads more. A cgroup's peak can pass its
	// limit by the pages charged in one batch, and Lambda never reports more
	// than the function's memory size.
	Limit int

	mu  sync.Mutex
	max int
}

// MB returns the peak in MB: while done is open it takes a sample (bytes, and
// whether the sample was read) and keeps the larger of it and the peak so far.
func (p *PeakMemory) MB(done <-chan struct{}, sample func() (uint64, bool)) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-done:
		return p.max
	default:
	}
	if b, ok := sample(); ok {
		p.keep(bytesToMB(b))
	}
	return p.max
}

// Last takes a last sample whether or not the sandbox is done (at its exit,
// before its cgroup is removed) and keeps the larger of it and the peak.
func (p *PeakMemory) Last(sample func() (uint64, bool)) {
	b, ok := sample()
	if !ok {
		return
	}
	p.AtLeast(bytesToMB(b))
}

// AtLeast raises the peak to mb: a sandbox killed for memory reports its
// limit, which it reached, whatever was last measured.
func (p *PeakMemory) AtLeast(mb int) {
	p.mu.Lock()
	p.keep(mb)
	p.mu.Unlock()
}

// keep raises the peak to mb, Limit at most; p.mu is held.
func (p *PeakMemory) keep(mb int) {
	if p.Limit > 0 {
		mb = min(mb, p.Limit)
	}
	p.max = max(p.max, mb)
}

// bytesToMB rounds b up to whole MB.
func bytesToMB(b uint64) int { return int((b + (1<<20 - 1)) >> 20) } //nolint:gosec // G115: a memory size

var imageIDRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// IsImageID reports whether ref is an image id (sha256:...) rather than a name.
func IsImageID(ref string) bool { return imageIDRe.MatchString(ref) }

// ParseRef parses an image name (alpine, docker.io/library/alpine:3), or fails
// with an ErrInvalid error that names it.
func ParseRef(ref string) (reference.Named, error) {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
			fmt.Sprintf("Source image %q is not a valid image reference: %v. Provide a valid source image: NAME[:TAG] or NAME@sha256:DIGEST, in lower case", ref, err))
	}
	return n, nil
}

// ImageUnavailable is the error for an image that is not on the host and
// that the runtime could not pull (why: the registry's answer), with what to
// do (load: how to bring it in on this runtime; private: how to bring in one
// that a registry serves only with credentials, which differs by runtime). It
// is the caller's to fix, not a fault of the server's: ErrInvalid,
// InvalidParameterValueException.
func ImageUnavailable(ref string, why error, load, private string) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
		fmt.Sprintf("Source image %s does not exist: it is not on this host and pulling it failed: %v. "+
			"Provide a valid source image: build it with `portico build DIR -t %s`, %s, "+
			"or name one a registry serves (%s)", ref, why, ref, load, private))
}

// NoEntrypoint is the error for an Image function whose image (ref) names
// neither an ENTRYPOINT nor a CMD: nothing to run. It is the caller's to fix:
// ErrInvalid, InvalidParameterValueException, in the same words on every
// runtime.
func NoEntrypoint(ref, function string) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
		fmt.Sprintf("image %s cannot run as function %s: it has no ENTRYPOINT or CMD", ref, function))
}

// NotAnImageArchive is the error for an archive that an image import could not
// read as images (why: the runtime's complaint): the caller gave the wrong file,
// which is not a fault of the server's: ErrInvalid, InvalidParameterValueException.
func NotAnImageArchive(why error) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException",
		fmt.Sprintf("The file is not a `docker save` or OCI image layout tarball (%v). "+
			"Give `docker save REF -o FILE` output (or an OCI layout tar), "+
			"or build the image with `portico build DIR -t REF --import`", why))
}

// Prepared is a prepared sandbox's one transition: it is started or discarded,
// whichever comes first, once. The zero value is prepared; safe for concurrent
// use.
type Prepared struct {
	mu   sync.Mutex
	done bool
}

// Do runs f, the transition, when the sandbox is still prepared, and reports
// whether it ran. A concurrent Do waits until f has returned.
func (p *Prepared) Do(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return false
	}
	p.done = true
	f()
	return true
}
