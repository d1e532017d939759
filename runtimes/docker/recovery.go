package docker

import (
	"context"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

// When the daemon goes away (restarted, or its socket unreachable), calls fail
// at once with ErrUnavailable, as wrap makes them. What the runtime made before
// is then suspect: the streams of prepared sandboxes are cut, spare holders and
// containers were killed by a restart, and removals that failed left containers
// behind. The runtime therefore counts outages (an epoch): a prepared sandbox or
// spare holder from an earlier epoch is never started, and every container whose
// removal failed is remembered and removed, with the instance's exited and dead
// containers, as soon as the daemon answers again.

// newSweeper returns the runtime's record of daemon outages.
func (r *Runtime) newSweeper() *ctrbase.Sweeper {
	return &ctrbase.Sweeper{
		Daemon:  "the Docker daemon",
		Attrs:   []any{"host", r.cli.DaemonHost()},
		Log:     r.log,
		Timeout: cleanupTimeout,
		Ping: func(ctx context.Context) error {
			_, err := r.cli.Ping(ctx, client.PingOptions{})
			return err
		},
		// Sandboxes and holders alike; containers that are running or only
		// created (prepared sandboxes) stay: their owners remove them.
		More: func(ctx context.Context) []string {
			f := client.Filters{}.Add("label", LabelPortico+"=1", LabelInstance+"="+r.cfg.Instance).Add("status", "exited", "dead")
			res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
			if err != nil {
				return nil
			}
			ids := make([]string, 0, len(res.Items))
			for _, c := range res.Items {
				ids = append(ids, c.ID)
			}
			return ids
		},
		Remove: func(ctx context.Context, id, _ string) error {
			_, err := r.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
				return r.wrap("removing container "+short(id), err)
			}
			return nil
		},
		OnOutage: r.outage,
	}
}

// epochNow returns the number of outages noticed so far.
func (r *Runtime) epochNow() uint64 { return r.rec.Epoch() }

// outage runs at the first failure of an outage (a daemon call that failed for
// want of a daemon, through wrap): it drops the spare holders, removed once the
// daemon is back.
func (r *Runtime) outage() {
	p := &r.spares
	p.mu.Lock()
	spares := p.ready
	p.ready = nil
	p.mu.Unlock()
	for _, h := range spares {
		r.noteLost(h.id)
	}
	r.log.Warn("the Docker daemon does not answer; calls fail until it is back", "host", r.cli.DaemonHost())
}

// noteLost remembers containers to remove once the daemon answers again.
func (r *Runtime) noteLost(ids ...string) { r.rec.Note("", ids...) }
