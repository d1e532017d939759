package process_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/process"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

func TestConformance(t *testing.T) {
	// Runtimes made within one test share a state directory, as successive runs of
	// Portico on one data directory do.
	dirs := map[string]string{}
	runtimetest.Run(t, func(t *testing.T) runtimes.Runtime {
		dir, ok := dirs[t.Name()]
		if !ok {
			dir = filepath.Join(t.TempDir(), "run")
			dirs[t.Name()] = dir
		}
		rt, err := process.New(dir, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}, runtimetest.Options{})
}

// TestServerUser checks that a process sandbox runs as the server's own user:
// the process runtime is no isolation boundary, and the non-root rule of the
// container runtimes does not apply to it (docs/runtimes.md).
func TestServerUser(t *testing.T) {
	rt, err := process.New(filepath.Join(t.TempDir(), "run"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if uid, gid := runtimetest.SandboxUser(t, rt); uid != os.Getuid() || gid != os.Getgid() {
		t.Errorf("a process sandbox runs as %d:%d, want the server's %d:%d", uid, gid, os.Getuid(), os.Getgid())
	}
}

// BenchmarkWarmInvoke measures a warm sandbox's invocation round trip on the
// host's loopback: the baseline for the container runtimes' figures.
func BenchmarkWarmInvoke(b *testing.B) {
	rt, err := process.New(b.TempDir(), 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	bin := runtimetest.BuildSandbox(b)
	runtimetest.BenchWarmInvoke(b, rt, runtimetest.ZipSpec(runtimetest.CodeDir(b, bin)))
}

// BenchmarkColdStart measures Start until the sandbox's first call to next.
func BenchmarkColdStart(b *testing.B) {
	rt, err := process.New(b.TempDir(), 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	bin := runtimetest.BuildSandbox(b)
	runtimetest.BenchColdStart(b, rt, runtimetest.ZipSpec(runtimetest.CodeDir(b, bin)), false)
}

// BenchmarkColdStartWithVolume is BenchmarkColdStart for a function with a
// volume: through the mount shim where the host gives private mounts.
func BenchmarkColdStartWithVolume(b *testing.B) {
	rt, err := process.New(b.TempDir(), 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	if private, why := rt.PrivateMounts(b.Context()); !private {
		b.Logf("no private mounts here (%s): the volume is a link", why)
	}
	bin := runtimetest.BuildSandbox(b)
	vol := filepath.Join(b.TempDir(), "volumes", "portico-bench")
	if err := os.MkdirAll(vol, 0o755); err != nil { //nolint:gosec // G301: as functions.VolumeDir makes it
		b.Fatal(err)
	}
	zip := runtimetest.ZipSpec(runtimetest.CodeDir(b, bin))
	runtimetest.BenchColdStart(b, rt, func(api *runtimetest.APIServer) runtimes.Spec {
		s := zip(api)
		s.Mounts = []runtimes.Mount{{Source: vol, Target: "/mnt/portico-bench"}}
		return s
	}, false)
}

// TestExitErrWording checks that Err says how a sandbox ended in the words of
// Go's os.ProcessState, which Lambda quotes in a Runtime.ExitError: an exit
// status, or the signal's description.
func TestExitErrWording(t *testing.T) {
	rt, err := process.New(t.TempDir(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, script string
		want         string // "" for a nil Err
		signal       string
	}{
		{"clean exit", "exit 0", "", ""},
		{"exit status", "exit 4", "exit status 4", ""},
		{"segfault", "kill -SEGV $$", "signal: segmentation fault", "SIGSEGV"},
		{"killed", "kill -KILL $$", "signal: killed", "SIGKILL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			//nolint:gosec // G306: the sandbox's executable
			if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"+tc.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			sb, err := rt.Start(context.Background(), runtimes.Spec{SandboxID: "sbx-exit", Function: "exit", Version: "1",
				PackageType: "Zip", CodeDir: dir, Env: map[string]string{}})
			if err != nil {
				t.Fatal(err)
			}
			go func() { _, _ = io.Copy(io.Discard, sb.Logs()) }()
			<-sb.Done()
			err = sb.Err()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			var ee *runtimes.ExitError
			if !errors.As(err, &ee) || err.Error() != tc.want || ee.Signal != tc.signal {
				t.Fatalf("Err() = %v (%#v), want %q with Signal %q", err, ee, tc.want, tc.signal)
			}
		})
	}
}

// TestPrivateMounts: where the host allows (root, CAP_SYS_ADMIN), each sandbox
// with volumes gets a mount namespace of its own: two installations' sandboxes
// running at once with volume NAME at /mnt/NAME each write to their own
// volume, whatever the host has at /mnt/NAME (here a stale link an older
// Portico left, which made chat-connect fail with `mkdir /mnt/chat: file
// exists`), and the host's other entries in /mnt stay visible. Nothing is
// linked or mounted on the host. Skipped elsewhere, unless
// REQUIRE_PRIVATE_MOUNTS=1.
func TestPrivateMounts(t *testing.T) {
	testPrivateMounts(t, false)
}

// TestPrivateMountsInUserNamespace is TestPrivateMounts as a user other than
// root has it: the mount namespace inside a user namespace of the sandbox's
// own (forced here, whoever runs the test), where the shim drops every
// capability before the bootstrap runs, so the bootstrap cannot unmount the
// private /mnt to reach the host's. Skipped where the host lets no user make
// user namespaces, unless REQUIRE_PRIVATE_MOUNTS=1.
func TestPrivateMountsInUserNamespace(t *testing.T) {
	testPrivateMounts(t, true)
}

func testPrivateMounts(t *testing.T, userns bool) {
	newRT := func() *process.Runtime {
		rt, err := process.New(filepath.Join(t.TempDir(), "run"), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rt.Close() })
		return rt
	}
	a, b := newRT(), newRT()
	probe := a.PrivateMounts
	if userns {
		probe = a.UseUserNamespace
		if ok, why := b.UseUserNamespace(t.Context()); !ok {
			t.Fatalf("a user namespace for A but not for B: %s", why)
		}
	}
	if ok, why := probe(t.Context()); !ok {
		if os.Getenv("REQUIRE_PRIVATE_MOUNTS") == "1" {
			t.Fatalf("no private mounts here: %s", why)
		}
		t.Skipf("no private mounts here: %s", why)
	}
	name := "portico-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	target := "/mnt/" + name
	// The host's own /mnt entries (a stale link where the volume goes, and
	// a directory the sandboxes must still reach), where this user may make
	// them.
	host := true
	if err := os.Symlink(filepath.Join(t.TempDir(), "gone", "volumes", name), target); err != nil {
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatal(err)
		}
		t.Logf("the host's /mnt is not writable here (%v): only the volumes are checked", err)
		host = false
	}
	t.Cleanup(func() { _ = os.Remove(target) })
	other := "/mnt/" + name + "-host"
	if host {
		if err := os.Mkdir(other, 0o777); err != nil { //nolint:gosec // G301: written by the sandbox
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(other) })
	}
	dirs := []string{target}
	if host {
		dirs = append(dirs, other)
	}
	volA, volB := t.TempDir(), t.TempDir()
	boxA := runtimetest.VolumeSandbox(t, a, []runtimes.Mount{{Source: volA, Target: target}})
	boxB := runtimetest.VolumeSandbox(t, b, []runtimes.Mount{{Source: volB, Target: target}})
	for who, box := range map[string]*runtimetest.VolumeBox{"A": boxA, "B": boxB} {
		got := box.Write(dirs...)
		for _, d := range dirs {
			if got[d] != "ok" {
				t.Errorf("sandbox %s writing to its volume %s and the host's %s: %v", who, target, other, got)
				break
			}
		}
		if userns {
			if c := box.Confinement(); c["CapEff"] != "0000000000000000" || c["CapBnd"] != "0000000000000000" {
				t.Errorf("sandbox %s in its user namespace has capabilities: effective %s, bounding %s; want none", who, c["CapEff"], c["CapBnd"])
			}
		}
	}
	for who, dir := range map[string]string{"A": volA, "B": volB} {
		if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
			t.Errorf("%s's volume holds %d files (%v), want the one its own sandbox wrote", who, len(entries), err)
		}
	}
	if !host {
		return
	}
	if entries, err := os.ReadDir(other); err != nil || len(entries) != 2 {
		t.Errorf("the host's %s holds %d files (%v), want one of each sandbox", other, len(entries), err)
	}
	if cur, err := os.Readlink(target); err != nil || !strings.Contains(cur, "gone") {
		t.Errorf("the host's %s changed: %q, %v; want the stale link as it was", target, cur, err)
	}
}
