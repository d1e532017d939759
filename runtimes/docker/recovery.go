package docker

import (
	"context"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// When the daemon goes away (restarted, or its socket unreachable), calls fail
// at once with ErrUnavailable, as wrap makes them. What the runtime made before
// is then suspect: the streams of prepared sandboxes are cut, spare holders and
// containers were killed by a restart, and removals that failed left containers
// behind. The runtime therefore counts outages (an epoch): a prepared sandbox or
// spare holder from an earlier epoch is never started, and every container whose
// removal failed is remembered and removed, with the instance's exited and dead
// containers, as soon as the daemon answers again.

// recovery is the runtime's record of daemon outages. Its fields are guarded by mu.
type recovery struct {
	mu       sync.Mutex
	epoch    uint64              // outages noticed so far
	lost     map[string]struct{} // containers to remove once the daemon answers
	watching bool                // a watcher waits for the daemon to return
	closed   bool
	stop     chan struct{} // closed by Close: the watcher gives up
}

// epochNow returns the number of outages noticed so far.
func (r *Runtime) epochNow() uint64 {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	return r.rec.epoch
}

// outage is called when a daemon call failed for want of a daemon: the first
// failure of an outage starts a new epoch, drops the spare holders (removed once
// the daemon is back) and starts watching for the daemon's return.
func (r *Runtime) outage() {
	r.rec.mu.Lock()
	if r.rec.watching || r.rec.closed {
		r.rec.mu.Unlock()
		return
	}
	r.rec.watching = true
	r.rec.epoch++
	if r.rec.stop == nil {
		r.rec.stop = make(chan struct{})
	}
	stop := r.rec.stop
	r.rec.mu.Unlock()

	p := &r.spares
	p.mu.Lock()
	spares := p.ready
	p.ready = nil
	p.mu.Unlock()
	for _, h := range spares {
		r.noteLost(h.id)
	}
	r.log.Warn("the Docker daemon does not answer; calls fail until it is back", "host", r.cli.DaemonHost())
	go r.watch(stop)
}

// noteLost remembers containers to remove once the daemon answers again.
func (r *Runtime) noteLost(ids ...string) {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	if r.rec.lost == nil {
		r.rec.lost = map[string]struct{}{}
	}
	for _, id := range ids {
		if id != "" {
			r.rec.lost[id] = struct{}{}
		}
	}
}

// watch pings the daemon, a little less often each time (up to once a second),
// until it answers, then sweeps.
func (r *Runtime) watch(stop chan struct{}) {
	wait := 100 * time.Millisecond
	for {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := r.cli.Ping(ctx, client.PingOptions{})
		cancel()
		if err == nil {
			break
		}
		wait = min(2*wait, time.Second)
	}
	r.log.Info("the Docker daemon answers again", "host", r.cli.DaemonHost())
	r.rec.mu.Lock()
	r.rec.watching = false
	r.rec.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	r.sweep(ctx)
}

// sweep removes the containers noted lost and the instance's containers that
// exited or died (a daemon restart kills them all), sandboxes and holders
// alike. Containers that are running or only created (prepared sandboxes) stay:
// their owners remove them.
func (r *Runtime) sweep(ctx context.Context) {
	r.rec.mu.Lock()
	ids := make([]string, 0, len(r.rec.lost))
	for id := range r.rec.lost {
		ids = append(ids, id)
	}
	r.rec.mu.Unlock()
	f := client.Filters{}.Add("label", LabelPortico+"=1", LabelInstance+"="+r.cfg.Instance).Add("status", "exited", "dead")
	if res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, c := range res.Items {
			ids = append(ids, c.ID)
		}
	}
	removed := 0
	for _, id := range ids {
		_, err := r.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
			if isConnErr(err) {
				r.outage() // gone again: the next return sweeps
				return
			}
			r.log.Warn("removing a container left by a daemon outage", "container", short(id), "err", err)
			continue
		}
		removed++
		r.rec.mu.Lock()
		delete(r.rec.lost, id)
		r.rec.mu.Unlock()
	}
	if removed > 0 {
		r.log.Info("removed containers left by a daemon outage", "containers", removed)
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
