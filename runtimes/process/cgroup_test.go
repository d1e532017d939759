package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/runtimes"
)

// escapeBootstrap starts a child that leaves the sandbox's process group and
// session (setsid), writes its pid to child.pid and keeps running, then waits.
const escapeBootstrap = `#!/bin/sh
setsid sh -c 'echo $$ > child.pid.tmp && mv child.pid.tmp child.pid; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &
exec sleep 1000
`

// bound is how long the test waits for something it polls for: a safety net
// against hanging, not what the test waits for.
const bound = 20 * time.Second

// TestStopKillsEscapedChild: a handler's child that called setsid (so that it
// is in neither the sandbox's process group nor its session) dies when the
// sandbox is stopped, and the sandbox's cgroup is removed. It needs cgroups
// the runtime may make (root, cgroup v2): without, it is skipped, unless
// REQUIRE_CGROUPS=1.
func TestStopKillsEscapedChild(t *testing.T) {
	if _, err := os.Stat("/usr/bin/setsid"); err != nil {
		if _, err := os.Stat("/bin/setsid"); err != nil {
			t.Skip("no setsid command")
		}
	}
	rt, err := New(t.TempDir(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !rt.Cgroups() {
		_, why := cgroupParent()
		if os.Getenv("REQUIRE_CGROUPS") == "1" {
			t.Fatalf("REQUIRE_CGROUPS=1, but sandboxes get no cgroups: %v", why)
		}
		t.Skipf("sandboxes get no cgroups here (%v); REQUIRE_CGROUPS=1 makes this a failure", why)
	}
	dir := t.TempDir()
	//nolint:gosec // G306: the sandbox's executable
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(escapeBootstrap), 0o755); err != nil {
		t.Fatal(err)
	}
	sb, err := rt.Start(context.Background(), runtimes.Spec{SandboxID: "sbx-escape", Function: "escape", Version: "1",
		PackageType: "Zip", CodeDir: dir, Env: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	s := sb.(*sandbox)
	if s.cg == nil {
		t.Fatal("the sandbox has no cgroup")
	}
	cgDir := s.cg.dir
	var child int
	waitFor(t, "the child's pid", func() bool {
		raw, err := os.ReadFile(filepath.Join(dir, "child.pid"))
		if err != nil {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(raw)))
		return err == nil && child > 0
	})
	t.Cleanup(func() { _ = unix.Kill(child, unix.SIGKILL) })
	if sid, err := unix.Getsid(child); err != nil || sid != child {
		t.Fatalf("the child is not in a session of its own: sid %d, %v", sid, err)
	}
	if pgid, _ := unix.Getpgid(child); pgid == s.cmd.Process.Pid {
		t.Fatal("the child is still in the sandbox's process group")
	}
	if err := sb.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the escaped child to die", func() bool { return !alive(child) })
	if _, err := os.Stat(cgDir); !os.IsNotExist(err) {
		t.Fatalf("the sandbox's cgroup %s is still there: %v", cgDir, err)
	}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && len(s) > i+2 && s[i+2] != 'Z' && s[i+2] != 'X'
}

// waitFor polls cond until it holds, failing the test after bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFailedStartKeepsCgroups: a bootstrap that cannot be started is the
// function's failure, not the host's: the sandbox has exited already with a
// runtimes.EntrypointError, the runtime keeps cgroups on, and the cgroup made
// for it is gone.
func TestFailedStartKeepsCgroups(t *testing.T) {
	rt, err := New(t.TempDir(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !rt.Cgroups() {
		t.Skip("sandboxes get no cgroups here")
	}
	dir := t.TempDir() // no bootstrap
	sb, err := rt.Start(context.Background(), runtimes.Spec{SandboxID: "sbx-none", Function: "none", Version: "1",
		PackageType: "Zip", CodeDir: dir, Env: map[string]string{}})
	if err != nil {
		t.Fatalf("Start: %v, want a sandbox that failed its exec", err)
	}
	<-sb.Done()
	var ee *runtimes.EntrypointError
	if !errors.As(sb.Err(), &ee) || !errors.Is(sb.Err(), unix.ENOENT) {
		t.Fatalf("Err() = %v, want a runtimes.EntrypointError for a missing bootstrap", sb.Err())
	}
	if !rt.Cgroups() {
		t.Fatal("a missing bootstrap turned cgroups off")
	}
	left, _ := filepath.Glob(filepath.Join(rt.cgParent, strconv.Itoa(os.Getpid())+".*"))
	if len(left) != 0 {
		t.Fatalf("cgroups left behind: %v", left)
	}
}

// TestRuntimesOfOneProcessKeepCgroups: two runtimes in one process (the
// tests' servers, a server started again in place) name their sandboxes'
// cgroups apart, and pass over a name a former process of the same pid left
// behind: the second runtime's first sandbox took the first's cgroup name
// ("mkdir .../PID.1: file exists") and turned cgroups off for good.
func TestRuntimesOfOneProcessKeepCgroups(t *testing.T) {
	newRT := func() *Runtime {
		rt, err := New(t.TempDir(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	a, b := newRT(), newRT()
	if !a.Cgroups() {
		t.Skip("sandboxes get no cgroups here")
	}
	// A cgroup a former process of this pid left, under the next name.
	stale := filepath.Join(a.cgParent, fmt.Sprintf("%d.%d", os.Getpid(), cgSeq.Load()+1))
	if err := os.Mkdir(stale, 0o755); err != nil { //nolint:gosec // G301: a cgroup directory
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Rmdir(stale) })
	code := t.TempDir()
	//nolint:gosec // G306: the sandbox's executable
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte("#!/bin/sh\nsleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, rt := range []*Runtime{a, b, a} {
		sb, err := rt.Start(context.Background(), runtimes.Spec{SandboxID: fmt.Sprintf("sbx-%d", i), Function: "f", Version: "1",
			PackageType: "Zip", CodeDir: code, Env: map[string]string{}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sb.Stop(context.Background()) })
		if s := sb.(*sandbox); s.cg == nil || s.cg.dir == stale || !rt.Cgroups() {
			t.Fatalf("sandbox %d: cgroup %v, cgroups on %v; want a cgroup of its own, not the stale one", i, s.cg, rt.Cgroups())
		}
	}
}
