package containerd

import (
	"context"
	"errors"

	versionapi "github.com/containerd/containerd/api/services/version/v1"
	cerrdefs "github.com/containerd/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

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
		Ping:    r.ping,
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
		After: r.sweepOrphans, // a delete the outage cut off can leave its shim running, a prepare its network
		OnOutage: func() {
			r.log.Warn("containerd does not answer; the sandboxes it ran are removed once it is back", "socket", r.cfg.Socket)
		},
	}
}

// ping reports whether containerd answers, for the outage's watch, and once it
// does, brings the client's connection back before it returns. The question
// goes through a connection of its own, which dials at once: the client's
// waits out its backoff (up to a second) before it redials, and would answer
// for that backoff rather than for containerd. The client's is then told to
// redial now, and waited for, so that every call works from the moment the
// sweep starts.
func (r *Runtime) ping(ctx context.Context) error {
	if err := Ping(ctx, r.cfg.Socket); err != nil {
		return err
	}
	conn, ok := r.cli.Conn().(*grpc.ClientConn)
	if !ok {
		return nil
	}
	conn.ResetConnectBackoff()
	_, err := versionapi.NewVersionClient(conn).Version(ctx, &emptypb.Empty{}, grpc.WaitForReady(true))
	if err != nil {
		return r.wrap("version", err)
	}
	return nil
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
