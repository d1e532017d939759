package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

// A network holder is a pause container on the sandbox network. A sandbox that
// joins its network namespace (NetworkMode container:<holder>) finds the
// network set up already: veth, address, iptables and the embedded DNS, about
// two thirds of a ContainerStart on a user-defined network. Nothing in a holder
// belongs to a version, so the runtime keeps a few started ahead of need (the
// spare pool, Config.SpareHolders), and Start as well as Prepare take one: a
// cold start of any version, one never called included, is then a
// ContainerCreate and a ContainerStart without network setup.
//
// Each holder serves one sandbox, ever: a taken holder leaves the pool for
// good and is removed with its sandbox, so no namespace is shared between
// sandboxes or versions.

// holder is a started network holder.
type holder struct {
	id, name string
	ip       net.IP // its address on the sandbox network, nil if not learnt
}

// holderPool holds the spare holders. Its fields are guarded by mu.
type holderPool struct {
	mu       sync.Mutex
	ready    []holder
	starting string // the name of the spare being started, if any
	// refilling is closed when the refill in flight ends; nil when none is.
	refilling chan struct{}
	held      int  // Cleanups in progress: no refill starts meanwhile
	closed    bool // Close was called: no refill starts again
}

// errHolderGone says that the spare holder a sandbox was to join is gone or no
// longer running (removed behind the runtime's back, or stopped by a daemon
// restart): the sandbox can be tried again without it.
var errHolderGone = errors.New("its spare network holder is gone")

// spareTarget is the number of spare holders to keep ready.
func (r *Runtime) spareTarget() int {
	if ctrbase.PauseProgram() == nil {
		return 0
	}
	return max(0, r.cfg.SpareHolders)
}

// takeHolder takes a ready spare holder out of the pool, for good, or returns
// false at once when none is ready. It never blocks on the daemon.
func (r *Runtime) takeHolder() (holder, bool) {
	p := &r.spares
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.ready)
	if n == 0 {
		return holder{}, false
	}
	h := p.ready[n-1]
	p.ready = p.ready[:n-1]
	return h, true
}

// refill starts filling the pool in the background, unless it is full, a
// refill is in flight, a Cleanup is in progress or the runtime is closed. It
// never blocks.
//
// Start calls it when it returns, after the sandbox's ContainerStart: a refill
// started before would compete with that start for the daemon and the CPU (a
// holder's start is a container start with network setup, about twice a
// sandbox's start in a holder). What it still overlaps is the sandbox's own
// init after ContainerStart returned: a few ms for a static Go bootstrap, which
// has mostly called next by then; a slow-starting runtime shares the CPU with
// the refill for the holder's start.
func (r *Runtime) refill() {
	n := r.spareTarget()
	if n == 0 {
		return
	}
	p := &r.spares
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.held > 0 || p.refilling != nil || len(p.ready) >= n {
		return
	}
	done := make(chan struct{})
	p.refilling = done
	go r.fill(n, done)
}

// fill starts spare holders one at a time until there are n, then closes done.
// It stops early when a Cleanup holds refills off or the runtime closes; the
// holder being started then still joins the pool, which they drain after
// waiting for done. It stops at the first failure too: the next take or miss
// tries again.
func (r *Runtime) fill(n int, done chan struct{}) {
	p := &r.spares
	defer func() {
		p.mu.Lock()
		p.refilling = nil
		p.mu.Unlock()
		close(done)
	}()
	// Not the caller's context: the refill outlives the Start that asked for it.
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	labels := map[string]string{LabelPortico: "1", LabelInstance: r.cfg.Instance, LabelRole: "netns"}
	for {
		p.mu.Lock()
		if p.closed || p.held > 0 || len(p.ready) >= n {
			p.mu.Unlock()
			return
		}
		name := spareName(r.cfg.Instance)
		p.starting = name
		p.mu.Unlock()

		h, err := r.startHolder(ctx, name, labels)

		p.mu.Lock()
		p.starting = ""
		if err == nil {
			p.ready = append(p.ready, h)
		}
		p.mu.Unlock()
		if err != nil {
			r.log.Warn("starting a spare network holder", "err", err)
			return
		}
	}
}

// holdSpares keeps refills from starting holders until release is called,
// waits for the refill in flight and forgets the ready spares (they carry the
// instance label: the caller, Cleanup, removes them with the rest). So no
// holder is created behind Cleanup's listing.
func (r *Runtime) holdSpares(ctx context.Context) (release func(), err error) {
	p := &r.spares
	p.mu.Lock()
	p.held++
	inFlight := p.refilling
	p.mu.Unlock()
	release = func() {
		p.mu.Lock()
		p.held--
		p.mu.Unlock()
	}
	if inFlight != nil {
		select {
		case <-inFlight:
		case <-ctx.Done():
			release()
			return nil, fmt.Errorf("docker: waiting for the spare network holder being started: %w", ctx.Err())
		}
	}
	p.mu.Lock()
	p.ready = nil
	p.mu.Unlock()
	return release, nil
}

// closeSpares stops refills for good, waits for the one in flight (bounded by
// its own timeout) and removes the ready spares.
func (r *Runtime) closeSpares() {
	p := &r.spares
	p.mu.Lock()
	p.closed = true
	inFlight := p.refilling
	p.mu.Unlock()
	if inFlight != nil {
		<-inFlight
	}
	p.mu.Lock()
	spares := p.ready
	p.ready = nil
	p.mu.Unlock()
	for _, h := range spares {
		r.removeContainer(h.id)
	}
}

// spareName is a fresh container name for a spare holder of instance.
func spareName(instance string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "portico-net-" + ctrbase.SafeName(instance, "_") + "-" + hex.EncodeToString(b)
}

// startHolder starts a network holder named name, hardened like a sandbox, and
// learns its address, so that the peer check of a sandbox in it (OwnsConn)
// needs no daemon call. An error leaves nothing behind.
func (r *Runtime) startHolder(ctx context.Context, name string, labels map[string]string) (holder, error) {
	base, err := r.baseImage(ctx)
	if err != nil {
		return holder{}, err
	}
	// The limits must leave room for runc's own init, a multi-threaded Go
	// program that runs in the container's cgroup before it execs the pause
	// program: at 4 pids and 16 MB it was sometimes killed during start ("cannot
	// start a stopped process").
	pids, mem := int64(32), int64(64<<20)
	res, err := r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image:      base,
			Entrypoint: []string{ctrbase.PausePath},
			User:       ctrbase.DefaultUser.String(), // the pause program needs no root
			Labels:     labels,
		},
		HostConfig: &container.HostConfig{
			NetworkMode:    container.NetworkMode(r.cfg.Network),
			LogConfig:      container.LogConfig{Type: "none"},
			ReadonlyRootfs: true,
			CapDrop:        []string{"ALL"},
			SecurityOpt:    []string{"no-new-privileges"},
			Resources:      container.Resources{Memory: mem, MemorySwap: mem, PidsLimit: &pids},
		},
	})
	if err != nil {
		return holder{}, r.wrap("creating the network holder "+name, err)
	}
	if _, err := r.cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
		r.removeContainer(res.ID)
		return holder{}, r.wrap("starting the network holder "+name, err)
	}
	return holder{id: res.ID, name: name, ip: r.containerIP(ctx, res.ID)}, nil
}

// holderGone reports whether a holder is known to be gone or not running. An
// error other than not-found tells nothing, and reports false.
func (r *Runtime) holderGone(ctx context.Context, id string) bool {
	res, err := r.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return true
	}
	if err != nil {
		return false
	}
	return res.Container.State == nil || !res.Container.State.Running
}
