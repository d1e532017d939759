package process

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/process/internal/shim"
)

// openBootstrap writes a bootstrap that prints answer and exits, and returns
// the code directory with the bootstrap's descriptor still open for writing,
// as functions/zip.go's extraction holds it, or a child forked meanwhile does.
func openBootstrap(t *testing.T, answer string) (string, *os.File) {
	t.Helper()
	dir := t.TempDir()
	//nolint:gosec // G302, G304: the sandbox's executable, in the test's directory
	f, err := os.OpenFile(filepath.Join(dir, "bootstrap"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	if _, err := f.WriteString("#!/bin/sh\necho " + answer + "\n"); err != nil {
		t.Fatal(err)
	}
	return dir, f
}

func busyRuntime(t *testing.T) *Runtime {
	t.Helper()
	rt, err := New(filepath.Join(t.TempDir(), "run"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

func busySpec(dir string) runtimes.Spec {
	return runtimes.Spec{SandboxID: "sbx-busy", Function: "busy", Version: "1",
		PackageType: "Zip", CodeDir: dir, Env: map[string]string{}}
}

// TestStartRetriesTextBusy: a bootstrap the kernel refuses to exec because it
// is open for writing (ETXTBSY, Go issue 22315: a child forked while the code
// was extracted holds the extractor's descriptor until its own exec) is
// retried, and the sandbox starts once the descriptor is closed. It used to
// fail the start at once (fork/exec .../bootstrap: text file busy).
func TestStartRetriesTextBusy(t *testing.T) {
	rt := busyRuntime(t)
	cgroups := rt.Cgroups()
	dir, f := openBootstrap(t, "answered")
	refused, closed := make(chan struct{}), make(chan struct{})
	var attempts atomic.Int32
	var once sync.Once
	rt.busy.Refused = func() {
		attempts.Add(1)
		once.Do(func() { close(refused) })
	}
	// Waits for the descriptor to be closed, so that no clock decides
	// whether the retries outlast the test's close; then waits as usual.
	rt.busy.Sleep = func(d time.Duration) {
		<-closed
		time.Sleep(d)
	}
	type result struct {
		sb  runtimes.Sandbox
		err error
	}
	started := make(chan result, 1)
	go func() {
		sb, err := rt.Start(context.Background(), busySpec(dir))
		started <- result{sb, err}
	}()
	select {
	case <-refused:
	case r := <-started:
		t.Fatalf("Start with the bootstrap open for writing returned (%v, %v) without being refused", r.sb, r.err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	close(closed)
	r := <-started
	if r.err != nil {
		t.Fatalf("Start after the bootstrap was closed: %v", r.err)
	}
	out, err := io.ReadAll(r.sb.Logs())
	if err != nil {
		t.Fatal(err)
	}
	<-r.sb.Done()
	if err := r.sb.Err(); err != nil || strings.TrimSpace(string(out)) != "answered" {
		t.Fatalf("the sandbox said %q and ended with %v; want \"answered\" and a clean exit", out, err)
	}
	if attempts.Load() < 1 {
		t.Fatalf("refused %d times, want at least once", attempts.Load())
	}
	if rt.Cgroups() != cgroups {
		t.Errorf("a busy bootstrap turned cgroups from %v to %v", cgroups, rt.Cgroups())
	}
}

// TestStartTextBusyPersists: a bootstrap that stays open for writing fails the
// start after the retries, with an error that says what holds it (and still
// wraps ETXTBSY), not as a bootstrap that cannot be run (InvalidEntrypoint);
// nor does it turn the sandboxes' cgroups off.
func TestStartTextBusyPersists(t *testing.T) {
	rt := busyRuntime(t)
	cgroups := rt.Cgroups()
	dir, _ := openBootstrap(t, "never")
	var attempts, slept atomic.Int64
	rt.busy.Refused = func() { attempts.Add(1) }
	rt.busy.Sleep = func(d time.Duration) { slept.Add(int64(d)) } // no wait: the budget counts the waits
	sb, err := rt.Start(context.Background(), busySpec(dir))
	if err == nil {
		t.Fatalf("Start with the bootstrap held open for writing returned a sandbox (%v), want an error", sb.Err())
	}
	var ee *runtimes.EntrypointError
	if errors.As(err, &ee) || !errors.Is(err, unix.ETXTBSY) ||
		!strings.Contains(err.Error(), "the bootstrap is open for writing by another process") {
		t.Fatalf("Start: %v; want ETXTBSY saying the bootstrap is open for writing by another process", err)
	}
	if n, d := attempts.Load(), time.Duration(slept.Load()); n < 2 || d < shim.TextBusyBudget || d > 2*shim.TextBusyBudget {
		t.Errorf("refused %d times, waiting %v in all; want retries for about %v", n, d, shim.TextBusyBudget)
	}
	if rt.Cgroups() != cgroups {
		t.Errorf("a busy bootstrap turned cgroups from %v to %v", cgroups, rt.Cgroups())
	}
}

// TestShimTextBusyPersists: the mount shim retries its exec of a bootstrap
// open for writing too, and when it stays so says what holds it in the
// sandbox's logs. Skipped where the host gives no private mounts.
func TestShimTextBusyPersists(t *testing.T) {
	rt := busyRuntime(t)
	if ok, why := rt.PrivateMounts(t.Context()); !ok {
		t.Skipf("no private mounts here: %s", why)
	}
	dir, _ := openBootstrap(t, "never")
	spec := busySpec(dir)
	spec.Mounts = []runtimes.Mount{{Source: t.TempDir(), Target: "/mnt/portico-etxt-" + filepath.Base(dir)}}
	sb, err := rt.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start through the shim: %v", err)
	}
	out, err := io.ReadAll(sb.Logs())
	if err != nil {
		t.Fatal(err)
	}
	<-sb.Done()
	var ee *runtimes.ExitError
	if !errors.As(sb.Err(), &ee) || ee.Code != shim.Failed ||
		!strings.Contains(string(out), "the bootstrap is open for writing by another process") {
		t.Fatalf("the shim said %q and ended with %v; want exit status %d saying the bootstrap is open for writing by another process",
			out, sb.Err(), shim.Failed)
	}
}
