package containerd

import (
	"context"
	"errors"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/portico-dev/portico/internal/errdefs"
)

// When containerd goes away (restarted, or its socket unreachable), the exit
// watch of every sandbox breaks, so the invoker takes them all for exited, and
// their removal fails for want of containerd: their containers, tasks (which
// the shims keep running), snapshots and network namespaces would stay until
// the next Cleanup, at shutdown or start. The runtime therefore remembers every
// container whose removal failed so, and removes them as soon as containerd
// answers again, as the Docker runtime does after a daemon outage.

// recovery is the runtime's record of containers left by containerd outages.
// Its fields are guarded by mu.
type recovery struct {
	mu       sync.Mutex
	lost     map[string]string // container id -> network namespace path
	watching bool              // a watcher waits for containerd to return
	closed   bool
	stop     chan struct{} // closed by Close: the watcher gives up
}

// noteLost remembers a container whose removal failed with err; when err says
// containerd does not answer, the container is removed once it answers again.
func (r *Runtime) noteLost(id, nsPath string, err error) {
	if !errors.Is(err, errdefs.ErrUnavailable) {
		return
	}
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	if r.rec.closed {
		return
	}
	if r.rec.lost == nil {
		r.rec.lost = map[string]string{}
	}
	r.rec.lost[id] = nsPath
	r.watchLocked()
}

// watchLocked starts the watcher unless one runs; r.rec.mu is held.
func (r *Runtime) watchLocked() {
	if r.rec.watching || r.rec.closed {
		return
	}
	r.rec.watching = true
	if r.rec.stop == nil {
		r.rec.stop = make(chan struct{})
	}
	r.log.Warn("containerd does not answer; the sandboxes it ran are removed once it is back", "socket", r.cfg.Socket)
	go r.watch(r.rec.stop)
}

// watch asks containerd for its version, a little less often each time (up to
// once a second), until it answers, then removes the lost containers.
func (r *Runtime) watch(stop chan struct{}) {
	wait := 100 * time.Millisecond
	for {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		if r.checkSocket() == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := r.cli.Version(ctx)
			cancel()
			if err == nil {
				break
			}
		}
		wait = min(2*wait, time.Second)
	}
	r.log.Info("containerd answers again", "socket", r.cfg.Socket)
	r.rec.mu.Lock()
	r.rec.watching = false
	r.rec.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	r.sweep(ctx)
}

// sweep removes the containers noted lost, with their tasks, snapshots and
// network namespaces. One that cannot be removed for want of containerd stays
// noted, and the next return of containerd tries again.
func (r *Runtime) sweep(ctx context.Context) {
	r.rec.mu.Lock()
	lost := make(map[string]string, len(r.rec.lost))
	for id, ns := range r.rec.lost {
		lost[id] = ns
	}
	r.rec.mu.Unlock()
	ctx = r.ctx(ctx)
	removed := 0
	for id, ns := range lost {
		var err error
		c, lerr := r.cli.LoadContainer(ctx, id)
		switch {
		case lerr == nil:
			err = r.teardown(ctx, c, ns)
		case cerrdefs.IsNotFound(lerr):
			err = r.net.detach(ctx, id, ns)
		default:
			err = r.wrap("loading container "+id, lerr)
		}
		if err != nil {
			if errors.Is(err, errdefs.ErrUnavailable) {
				r.rec.mu.Lock()
				r.watchLocked() // gone again: the next return sweeps
				r.rec.mu.Unlock()
				return
			}
			r.log.Warn("removing a sandbox left by a containerd outage", "container", id, "err", err)
		}
		removed++
		r.rec.mu.Lock()
		delete(r.rec.lost, id)
		r.rec.mu.Unlock()
	}
	if removed > 0 {
		r.log.Info("removed sandboxes left by a containerd outage", "containers", removed)
	}
}

// closeRecovery stops the watcher, if any.
func (r *Runtime) closeRecovery() {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	if r.rec.closed {
		return
	}
	r.rec.closed = true
	if r.rec.stop != nil {
		close(r.rec.stop)
	}
}
