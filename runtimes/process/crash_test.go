package process

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/runtimes"
)

// forkBootstrap starts a grandchild, `sleep 1000` in the background (in the
// bootstrap's process group, as a handler's helper is), records its pid, then
// waits as a bootstrap waits for its invocations.
const forkBootstrap = `#!/bin/sh
sleep 1000 </dev/null >/dev/null 2>&1 &
echo $! > grandchild.pid.tmp && mv grandchild.pid.tmp grandchild.pid
echo $$ > bootstrap.pid.tmp && mv bootstrap.pid.tmp bootstrap.pid
exec sleep 1000
`

// crashServerEnv makes the test binary the server that
// TestKilledServersGrandchild kills, in a working directory holding the
// runtime's state directory ("state") and the code ("code"); its value is
// "group" to leave the sandbox without a cgroup.
const crashServerEnv = "_PORTICO_TEST_CRASH_SERVER"

// TestCrashServer is the server TestKilledServersGrandchild kills with
// SIGKILL: it starts one sandbox and waits to be killed.
func TestCrashServer(t *testing.T) {
	mode := os.Getenv(crashServerEnv)
	if mode == "" {
		t.Skip("run by TestKilledServersGrandchild")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(filepath.Join(wd, "state"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if mode == "group" {
		rt.cgParent = "" // a host where sandboxes get no cgroup
	}
	if _, err := rt.Start(context.Background(), runtimes.Spec{SandboxID: "sbx-crash", Function: "crash", Version: "1",
		PackageType: "Zip", CodeDir: filepath.Join(wd, "code"), Env: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	select {} // until killed
}

// TestKilledServersGrandchild: a sandbox's bootstrap that forked a
// background process (sleep 1000, in its process group) and a server killed
// with SIGKILL: the bootstrap dies with the server (PR_SET_PDEATHSIG), its
// grandchild outlives both, and the next start's Cleanup kills it, with the
// sandbox in a process group only (no cgroup: the group's leader, the
// bootstrap, is gone by then) and, where the runtime may make them, in a
// cgroup.
func TestKilledServersGrandchild(t *testing.T) {
	// The test process adopts the server's orphans and reaps them, as a
	// host's init does: an unreaped bootstrap (a zombie keeps its pid and
	// start time) would still lead its group, which the next start kills.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot adopt orphans: %v", err)
	}
	t.Cleanup(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	modes := []string{"group"}
	if probe, err := New(t.TempDir(), time.Second); err == nil && probe.Cgroups() {
		modes = append(modes, "cgroup")
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			wd := t.TempDir()
			state, code := filepath.Join(wd, "state"), filepath.Join(wd, "code")
			if err := os.Mkdir(code, 0o700); err != nil {
				t.Fatal(err)
			}
			//nolint:gosec // G306: the sandbox's executable
			if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte(forkBootstrap), 0o755); err != nil {
				t.Fatal(err)
			}
			server := exec.Command(os.Args[0], "-test.run=^TestCrashServer$") //nolint:gosec // the test binary itself
			server.Dir, server.Env = wd, append(os.Environ(), crashServerEnv+"="+mode)
			if err := server.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = server.Process.Kill(); _ = server.Wait() })
			pidOf := func(name string) int {
				var pid int
				waitFor(t, name, func() bool {
					raw, err := os.ReadFile(filepath.Join(code, name))
					if err != nil {
						return false
					}
					pid, err = strconv.Atoi(strings.TrimSpace(string(raw)))
					return err == nil && pid > 0
				})
				return pid
			}
			grandchild, bootstrap := pidOf("grandchild.pid"), pidOf("bootstrap.pid")
			t.Cleanup(func() { _ = syscall.Kill(grandchild, syscall.SIGKILL) })

			// kill -9 of the server.
			if err := server.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = server.Wait()
			waitFor(t, "the bootstrap to die with the server", func() bool { return !alive(bootstrap) })
			// Reap the orphan once it is this process's. The dying server
			// may have reaped it itself (its wait on the child can run
			// between the PDEATHSIG it caused and its own death: once in a
			// CI run, ECHILD here), or the zombie may not be reparented
			// yet: either way its pid goes or becomes ours.
			var ws unix.WaitStatus
			waitFor(t, "the orphaned bootstrap to be reaped", func() bool {
				pid, err := unix.Wait4(bootstrap, &ws, unix.WNOHANG, nil)
				if pid == bootstrap {
					return true
				}
				if errors.Is(err, unix.ECHILD) {
					_, serr := os.Stat("/proc/" + strconv.Itoa(bootstrap))
					return errors.Is(serr, fs.ErrNotExist)
				}
				return false
			})
			if !alive(grandchild) {
				t.Fatal("the grandchild died with the server: the test shows nothing")
			}

			// The next start.
			rt, err := New(state, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if err := rt.Cleanup(t.Context()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the grandchild to die at the next start", func() bool { return !alive(grandchild) })
			_, _ = unix.Wait4(grandchild, &ws, 0, nil)
		})
	}
}
