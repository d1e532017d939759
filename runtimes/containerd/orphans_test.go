package containerd

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestShimsIn reads shims from a proc file system made for the test: only a
// live shim of the namespace, on the same containerd (its socket by any path),
// serving a Portico container counts.
func TestShimsIn(t *testing.T) {
	proc, run := t.TempDir(), t.TempDir()
	sock, other := filepath.Join(run, "containerd.sock"), filepath.Join(run, "other.sock")
	write(t, sock, "")
	write(t, other, "")
	varRun := filepath.Join(t.TempDir(), "var-run")
	if err := os.Symlink(run, varRun); err != nil {
		t.Fatal(err)
	}
	for pid, p := range map[string]struct{ state, cmd string }{
		"17":   {"S", "/usr/bin/containerd-shim-runc-v2 -namespace portico -id portico-sbx-h -address " + filepath.Join(varRun, "containerd.sock")}, // the same socket by a link
		"18":   {"S", "/usr/bin/containerd-shim-runc-v2 -namespace portico -id portico-sbx-i -address " + other},                                    // another socket there
		"19":   {"S", "/usr/bin/containerd-shim-runc-v2 -namespace portico -id portico-sbx-j -address " + filepath.Join(run, "gone.sock")},          // no such socket
		"10":   {"S", "/usr/bin/containerd-shim-runc-v2 -namespace portico -id portico-sbx-a -address " + sock},
		"11":   {"Z", "/usr/bin/containerd-shim-runc-v2 -namespace portico -id portico-sbx-b -address " + sock},                // exited
		"12":   {"S", "/usr/bin/containerd-shim-runc-v2 -namespace moby -id portico-sbx-c -address " + sock},                   // another namespace
		"13":   {"S", "/usr/bin/containerd-shim-runc-v2 -namespace portico -id portico-sbx-d -address /other/containerd.sock"}, // another containerd
		"14":   {"S", "/usr/bin/containerd-shim-runc-v2 -namespace portico -id someone-else -address " + sock},                 // not Portico's
		"15":   {"S", "/usr/bin/sleep -namespace portico -id portico-sbx-e -address " + sock},                                  // not a shim
		"16":   {"S", "containerd-shim-runc-v2 -namespace portico -id portico-sbx-f -address unix://" + sock},
		"self": {"S", "/usr/bin/containerd-shim-runc-v2 -namespace portico -id portico-sbx-g -address " + sock}, // not a pid
	} {
		dir := filepath.Join(proc, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, "cmdline"), strings.ReplaceAll(p.cmd, " ", "\x00")+"\x00")
		write(t, filepath.Join(dir, "stat"), pid+" (containerd-shim) "+p.state+" 1 1 1")
	}
	got := map[int]string{}
	for _, s := range shimsIn(proc, "portico", sock) {
		got[s.pid] = s.id
	}
	if want := map[int]string{10: "portico-sbx-a", 16: "portico-sbx-f", 17: "portico-sbx-h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("shims %v, want %v", got, want)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestListeningPaths: of a process's sockets, the listening ones with a path.
func TestListeningPaths(t *testing.T) {
	table := `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 101 /run/containerd/s/abc
0000000000000000: 00000003 00000000 00000000 0001 03 102 /run/containerd/s/abc
0000000000000000: 00000002 00000000 00010000 0001 01 103 @/containerd-shim/abstract
0000000000000000: 00000002 00000000 00010000 0001 01 104 /run/other.sock
0000000000000000: 00000002 00000000 00000000 0001 03 105
`
	got := listeningPaths(bufio.NewScanner(strings.NewReader(table)), map[string]bool{"101": true, "102": true, "103": true, "105": true})
	if want := []string{"/run/containerd/s/abc"}; !reflect.DeepEqual(got, want) {
		t.Errorf("listening paths %q, want %q", got, want)
	}
}

// TestOrphanedShimIsEnded is the leak that forgetTask cannot reach on
// containerd 1.6: a task delete cut off after the shim deleted the task but
// before containerd shut the shim down. 1.6 drops its record and the bundle
// all the same, and the shim runs on with nothing that knows it. The test
// starts such a shim itself (the shim binary's own start command, in a bundle
// containerd never heard of) beside a sandbox whose shim containerd knows, and
// checks that the sweep ends the first and removes its socket and leaves the
// second; then that Cleanup sweeps too.
func TestOrphanedShimIsEnded(t *testing.T) {
	runtimetest.RequireContainerd(t)
	rt := newTestRuntime(t, Config{})
	t.Cleanup(func() { _ = rt.Cleanup(context.Background()); _ = rt.Close() })
	ctx := context.Background()
	s := runtimetest.SandboxSpec(t)(runtimetest.NewAPIServer(t, rt.HostAddr()))
	p, err := rt.prepare(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Discard(ctx) }()
	live := shimPID(t, containerID(s.SandboxID))
	if live == 0 {
		t.Fatalf("no shim for the prepared sandbox %s", containerID(s.SandboxID))
	}

	pid, sock := startOrphanShim(t, rt)
	if n, err := rt.endOrphanShims(ctx); err != nil || n < 1 {
		t.Fatalf("endOrphanShims: %d ended, %v; want the orphan ended", n, err)
	}
	if !exited("/proc", pid) {
		t.Errorf("the orphaned shim (pid %d) still runs after the sweep", pid)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Errorf("the orphaned shim's socket %s is still there", sock)
	}
	if exited("/proc", live) {
		t.Errorf("the sweep ended the shim (pid %d) of a sandbox containerd knows", live)
	}
	if _, err := p.c.Task(rt.ctx(ctx), nil); err != nil {
		t.Errorf("the prepared sandbox's task after the sweep: %v", err)
	}

	pid, _ = startOrphanShim(t, rt)
	if err := rt.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if !exited("/proc", pid) {
		t.Errorf("the orphaned shim (pid %d) still runs after Cleanup", pid)
	}
}

// startOrphanShim starts a containerd-shim-runc-v2 for a Portico container id
// in rt's namespace that containerd has no record of, as a cut-off delete
// leaves one, and returns its pid and socket path. The test's cleanup kills
// it if it still runs.
func startOrphanShim(t *testing.T, rt *Runtime) (int, string) {
	t.Helper()
	shim, err := exec.LookPath("containerd-shim-runc-v2")
	if err != nil {
		t.Fatalf("containerd runs, but its runc shim is not on PATH: %v", err)
	}
	publisher, err := exec.LookPath("containerd")
	if err != nil {
		t.Fatalf("containerd runs, but its binary is not on PATH (the shim's -publish-binary): %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	id := containerID("orphan-" + hex.EncodeToString(b[:]))
	dir := t.TempDir()
	write(t, filepath.Join(dir, "config.json"), `{"ociVersion":"1.0.2","process":{"args":["true"],"cwd":"/"},"root":{"path":"rootfs"}}`)
	// The shim writes its log to a FIFO named log in its bundle, and waits for a reader.
	if err := syscall.Mkfifo(filepath.Join(dir, "log"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs, err := os.OpenFile(filepath.Join(dir, "log"), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logs.Close() })
	cmd := exec.Command(shim, "-namespace", rt.cfg.Namespace, "-id", id, "-address", rt.cfg.Socket, "-publish-binary", publisher, "start")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TTRPC_ADDRESS="+rt.cfg.Socket+".ttrpc")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("starting a shim for %s: %v", id, err)
	}
	sock := strings.TrimPrefix(strings.TrimSpace(string(out)), "unix://")
	pid := shimPID(t, id)
	if pid == 0 {
		t.Fatalf("the shim for %s said %q, but no such process runs", id, out)
	}
	t.Cleanup(func() {
		if !exited("/proc", pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // the test's own leak: not left for the next run
		}
		_ = os.Remove(sock)
	})
	return pid, sock
}

// BenchmarkShimsIn is what Cleanup and the outage sweep add when no shim is
// orphaned: one read of /proc.
func BenchmarkShimsIn(b *testing.B) {
	for b.Loop() {
		shimsIn("/proc", "portico", "/run/containerd/containerd.sock")
	}
}

// TestOrphanedNetworkIsReleased is the leak the black-box tester found after
// containerd outages: network namespaces, veths and addresses (host-local's
// leases, owned by portico-sbx-...) with no container, which no Cleanup found
// since Cleanup works from containers. Cleanup (and the sweep after an outage)
// now releases a lease of a Portico container that containerd no longer knows,
// and removes the namespace holding its address; a live sandbox's stays.
func TestOrphanedNetworkIsReleased(t *testing.T) {
	runtimetest.RequireContainerd(t)
	ctx := context.Background()
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	defer func() { _ = rt.Cleanup(ctx) }()
	live := runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: "sbx-live-net-" + rand.Text()[:8], Function: "fn", Version: "1"})
	defer live.Stop(ctx)
	liveIP := live.(*sandbox).p.ip.String()

	// What a prepare cut off between its network's attach and its
	// container's create leaves.
	id := containerID("sbx-orphan-net-" + rand.Text()[:8])
	nsPath, ip, err := rt.net.attach(rt.ctx(ctx), id)
	if err != nil {
		t.Fatal(err)
	}
	leaseOf := func(ip string) string { return filepath.Join(leaseDataDir, rt.cfg.Network.Name, ip) }
	// A sandbox no container of this containerd records, but alive: its
	// namespace has a process in it (another containerd's sandbox on the
	// same network).
	otherID := containerID("sbx-other-ctrd-" + rand.Text()[:8])
	otherNS, otherIP, err := rt.net.attach(rt.ctx(ctx), otherID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rt.net.detach(rt.ctx(ctx), otherID, otherNS) }()
	inside := exec.Command("nsenter", "--net="+otherNS, "sleep", "600")
	if err := inside.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = inside.Process.Kill(); _ = inside.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); namespaceID(fmt.Sprintf("/proc/%d/ns/net", inside.Process.Pid)) != namespaceID(otherNS); {
		if time.Now().After(deadline) { // a safety net, not what the test waits for
			t.Fatal("nsenter did not enter the namespace")
		}
		time.Sleep(10 * time.Millisecond) // until nsenter has entered it
	}

	// All three leases older than leaseGrace: what keeps the live ones is
	// their container, or their process.
	old := time.Now().Add(-2 * leaseGrace)
	for _, l := range []string{leaseOf(ip.String()), leaseOf(liveIP), leaseOf(otherIP.String())} {
		if err := os.Chtimes(l, old, old); err != nil {
			t.Fatal(err)
		}
	}

	// The next run's Cleanup (another instance's, so that it leaves the live
	// sandbox's container alone).
	other := newTestRuntime(t, Config{Instance: rt.cfg.Instance + "-other"})
	defer other.Close()
	// A sweep leaves a lease whose namespace some process is in at that
	// moment, and another process's sweep (another Portico's, or another
	// test binary's, as CI runs them side by side) is in each namespace for
	// as long as it takes to read its addresses: the next sweep releases
	// it. Three sweeps, not one, so that such a visit does not fail the test.
	for range 3 {
		if err := other.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(leaseOf(ip.String())); os.IsNotExist(err) {
			break
		}
	}
	if _, err := os.Stat(leaseOf(ip.String())); !os.IsNotExist(err) {
		t.Errorf("the lease of %s, whose container containerd never knew, is left (%v)", ip, err)
	}
	if _, err := os.Stat(nsPath); !os.IsNotExist(err) {
		t.Errorf("the network namespace %s holding %s is left (%v)", nsPath, ip, err)
	}
	if _, err := os.Stat(leaseOf(liveIP)); err != nil {
		t.Errorf("the live sandbox's lease of %s: %v", liveIP, err)
	}
	if _, err := os.Stat(leaseOf(otherIP.String())); err != nil {
		t.Errorf("the lease of %s, whose namespace a process is in, was released: %v", otherIP, err)
	}
	if _, err := os.Stat(otherNS); err != nil {
		t.Errorf("the network namespace a process is in was removed: %v", err)
	}
	if live.(*sandbox).p.nsPath != "" {
		if _, err := os.Stat(live.(*sandbox).p.nsPath); err != nil {
			t.Errorf("the live sandbox's network namespace: %v", err)
		}
	}
}
