package invoker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/runtimes"
)

// awayRuntime is a runtime whose daemon stopped answering before the stop:
// its Cleanup fails.
type awayRuntime struct{ runtimes.Runtime }

func (awayRuntime) Cleanup(context.Context) error {
	return errdefs.New(errdefs.ErrUnavailable, "ServiceException", "containerd at /run/test.sock does not answer")
}

// TestStopNotesWhatTheRuntimeLeftBehind is what the runtimes16 tester found:
// a stop while the container daemon did not answer left sandboxes behind
// (its Cleanup failed) and still ended as a clean stop, exit 0 with
// "portico stopped". The stop now notes what was left (shutdown.Cut, Left),
// with the runtime's error, so that `portico serve` exits 1 saying so.
func TestStopNotesWhatTheRuntimeLeftBehind(t *testing.T) {
	e := newEnvWrapped(t, t.TempDir(), nil, func(r runtimes.Runtime) runtimes.Runtime { return awayRuntime{r} })
	fn := e.fns.add(&functions.Config{FunctionName: "left"})
	invoke(t, e, fn, `{}`)
	stop, cancel := shutdown.WithGrace(context.Background(), 30*time.Second, 10*time.Second)
	defer cancel()
	if err := e.inv.Stop(stop); err != nil {
		t.Fatal(err)
	}
	_ = e.st.Close()
	e.inv = nil
	cuts := shutdown.Cuts(stop)
	if len(cuts) != 1 || !cuts[0].Left {
		t.Fatalf("cuts = %+v, want one noting what was left behind", cuts)
	}
	for _, want := range []string{"could not remove", "does not answer"} {
		if !strings.Contains(cuts[0].What, want) {
			t.Errorf("the note reads %q; want it to say %q", cuts[0].What, want)
		}
	}
}

// namedRuntime is awayRuntime under another runtime's name.
type namedRuntime struct {
	awayRuntime
	name string
}

func (r namedRuntime) Name() string { return r.name }

// TestStopNoteFitsTheRuntime: the note said "containers, tasks and network
// namespaces" and "once the daemon answers" for the process runtime too,
// which has none of them.
func TestStopNoteFitsTheRuntime(t *testing.T) {
	for _, name := range []string{"process", "containerd"} {
		e := newEnvWrapped(t, t.TempDir(), nil, func(r runtimes.Runtime) runtimes.Runtime { return namedRuntime{awayRuntime{r}, name} })
		stop, cancel := shutdown.WithGrace(context.Background(), 30*time.Second, 10*time.Second)
		if err := e.inv.Stop(stop); err != nil {
			t.Fatal(err)
		}
		cancel()
		_ = e.st.Close()
		e.inv = nil
		cuts := shutdown.Cuts(stop)
		if len(cuts) != 1 {
			t.Fatalf("%s: cuts = %+v, want one", name, cuts)
		}
		daemon := strings.Contains(cuts[0].What, "containers") || strings.Contains(cuts[0].Remedy, "daemon")
		if daemon != (name != "process") {
			t.Errorf("%s runtime: the note reads %q, remedy %q", name, cuts[0].What, cuts[0].Remedy)
		}
	}
}
