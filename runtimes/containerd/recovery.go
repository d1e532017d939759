package containerd

import (
	"context"
	"errors"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

// When containerd goes away (restarted, or its socket unreachable), the exit
// watch of every sandbox breaks, so the invoker takes them all for exited, and
// their removal fails for want of containerd: their containers, tasks (which
// the shims keep running), snapshots and network namespaces would stay until
// the next Cleanup, at shutdown or start. The runtime therefore remembers every
// container whose removal failed so, and removes them as soon as containerd
// answers again, as the Docker runtime does after a daemon outage.

// newSweeper returns the runtime's record of containers left by containerd
// outages, each noted with its network namespace's path.
func (r *Runtime) newSweeper() *ctrbase.Sweeper {
	return &ctrbase.Sweeper{
		Daemon:  "containerd",
		Attrs:   []any{"socket", r.cfg.Socket},
		Log:     r.log,
		Timeout: cleanupTimeout,
		Ping: func(ctx context.Context) error {
			if err := r.checkSocket(); err != nil {
				return err
			}
			_, err := r.cli.Version(ctx)
			return err
		},
		Remove: func(ctx context.Context, id, nsPath string) error {
			ctx = r.ctx(ctx)
			c, err := r.cli.LoadContainer(ctx, id)
			switch {
			case err == nil:
				return r.teardown(ctx, c, nsPath)
			case cerrdefs.IsNotFound(err):
				return r.net.detach(ctx, id, nsPath)
			default:
				return r.wrap("loading container "+id, err)
			}
		},
		After: r.sweepOrphanShims, // a delete the outage cut off can leave its shim running
		OnOutage: func() {
			r.log.Warn("containerd does not answer; the sandboxes it ran are removed once it is back", "socket", r.cfg.Socket)
		},
	}
}

// noteLost remembers a container whose removal failed with err; when err says
// containerd does not answer, the container is removed once it answers again.
func (r *Runtime) noteLost(id, nsPath string, err error) {
	if !errors.Is(err, errdefs.ErrUnavailable) {
		return
	}
	r.rec.Note(nsPath, id)
	r.rec.Watch()
}
