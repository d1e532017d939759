package containerd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestContainerdGoneAndBackRemovesLostSandboxes is the leak the daemon-outage
// soak found: containerd went away under running sandboxes, their exit watches
// broke, the invoker took them for exited, and their removal failed for want of
// containerd; once it was back, nothing removed them (their tasks, containers,
// snapshots and network namespaces) until the server stopped. Now they go as
// soon as containerd answers again.
func TestContainerdGoneAndBackRemovesLostSandboxes(t *testing.T) {
	runtimetest.RequireContainerd(t)
	p := runtimetest.NewSocketProxy(t, runtimetest.ContainerdSocket())
	failed := make(chan struct{}, 16)
	log := slog.New(&onMessage{msg: "removing an exited sandbox", seen: failed})
	rt := newTestRuntime(t, Config{Socket: p.Path(), Log: log})
	defer rt.Close()
	ctx := context.Background()
	defer func() { _ = rt.Cleanup(ctx) }()
	var sbs []runtimes.Sandbox
	for i := range 2 {
		id := fmt.Sprintf("sbx-lost-%x-%d", rand.Uint32(), i) //nolint:gosec // G404: a name, not a secret
		sbs = append(sbs, runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: id, Function: "fn", Version: "1", MemoryMB: 128}))
	}
	if n, err := countContainers(ctx, rt); err != nil || n != 2 {
		t.Fatalf("%d containers (%v), want 2", n, err)
	}

	p.Down()
	for _, sb := range sbs {
		<-sb.Done() // the exit watch broke: the sandbox reads as exited
	}
	for range sbs {
		<-failed // and its removal failed: containerd does not answer
	}
	p.Up(t)

	deadline := time.Now().Add(time.Minute) // a safety net, not what the test waits for
	for {
		n, err := countContainers(ctx, rt)
		if err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after containerd came back, %d containers of the sandboxes it lost are left (%v)", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// onMessage is a slog handler that sends on seen for each record whose message
// is msg, and drops every record.
type onMessage struct {
	msg  string
	seen chan<- struct{}
}

func (h *onMessage) Enabled(context.Context, slog.Level) bool { return true }

func (h *onMessage) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.seen <- struct{}{}
	}
	return nil
}

func (h *onMessage) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *onMessage) WithGroup(string) slog.Handler { return h }

// TestCallsWorkAsSoonAsContainerdIsBack is the lag the daemon-outage soak
// found: after containerd came back, every call still failed for 7 to 12 s
// (more, the longer the outage), because the client's connection redialled on
// gRPC's backoff, which the client lets grow to 10 s, and the outage's ping
// went through that same connection. Now the ping dials a connection of its
// own and, once containerd answers, has the client's redial and waits for it:
// the first call after a successful ping works, with no wait and no retry
// (a call on a connection still in its backoff fails at once). No timing is
// asserted: the contexts only bound a hang.
func TestCallsWorkAsSoonAsContainerdIsBack(t *testing.T) {
	runtimetest.RequireContainerd(t)
	ctx := context.Background()
	s := newDialCounter(t, runtimetest.ContainerdSocket())
	rt := newTestRuntime(t, Config{Socket: s.path})
	defer rt.Close()

	// Five failed dials in a row, under a trickle of calls: gRPC's default
	// backoff (1 s, x1.6 each time, capped at the client's 10 s) is then 5 s
	// or more before the next.
	s.setDown(true)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			_, _ = rt.cli.Version(cctx)
			cancel()
		}
	}()
	for range 5 {
		select {
		case <-s.refused:
		case <-time.After(time.Minute):
			t.Fatal("the client did not redial containerd for a minute")
		}
	}
	close(stop)
	<-done
	s.setDown(false)

	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := rt.rec.Ping(pctx); err != nil {
		t.Fatalf("containerd is back, but the runtime's ping says: %v", err)
	}
	conn := rt.cli.Conn().(*grpc.ClientConn)
	if _, err := rt.cli.Version(pctx); err != nil {
		t.Fatalf("containerd is back and the ping answered, but the first call fails (connection %v): %v", conn.GetState(), err)
	}
}

// dialCounter is a unix socket in front of a daemon's that, while down,
// accepts and at once closes each connection, counting it on refused: a
// daemon away whose client's every dial fails.
type dialCounter struct {
	path    string
	mu      sync.Mutex
	down    bool
	conns   []net.Conn
	refused chan struct{}
}

func newDialCounter(t *testing.T, target string) *dialCounter {
	t.Helper()
	s := &dialCounter{path: filepath.Join(t.TempDir(), "d.sock"), refused: make(chan struct{}, 1024)}
	ln, err := net.Listen("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			down := s.down
			s.mu.Unlock()
			if down {
				_ = c.Close()
				select {
				case s.refused <- struct{}{}:
				default:
				}
				continue
			}
			d, err := net.Dial("unix", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			s.mu.Lock()
			s.conns = append(s.conns, c, d)
			s.mu.Unlock()
			go func() { _, _ = io.Copy(d, c); _ = d.Close() }()
			go func() { _, _ = io.Copy(c, d); _ = c.Close() }()
		}
	}()
	return s
}

// setDown takes the socket down, cutting every connection through it, or
// brings it back.
func (s *dialCounter) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
	if down {
		for _, c := range s.conns {
			_ = c.Close()
		}
		s.conns = nil
	}
}
