package process

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestPeerHelperProcess is not a test: TestOwnsConnRefusesOtherProcesses runs
// the test binary with PORTICO_PEER_DIAL set, as a process outside the sandbox
// that connects to the sandbox's Runtime API endpoint.
func TestPeerHelperProcess(t *testing.T) {
	addr := os.Getenv("PORTICO_PEER_DIAL")
	if addr == "" {
		return
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(c.LocalAddr())
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the connection until the parent is done
	os.Exit(0)
}

// TestOwnsConnRefusesOtherProcesses checks the sock_diag lookup both ways: the
// sandbox owns the connections it made to its Runtime API endpoint, and not one
// made to that same endpoint by another process, by the host process itself, or
// one that is gone.
func TestOwnsConnRefusesOtherProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sandbox program")
	}
	rt, err := New(t.TempDir(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	api := runtimetest.NewAPIServer(t, "127.0.0.1")
	spec := runtimetest.SandboxSpec(t)(api)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := rt.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sb.Stop(context.Background()) }()
	go func() { _, _ = io.Copy(io.Discard, sb.Logs()) }()
	select {
	case <-api.Ready():
	case <-sb.Done():
		t.Fatalf("the sandbox exited: %v", sb.Err())
	case <-ctx.Done():
		t.Fatal("the sandbox never called next")
	}
	pv := sb.(*sandbox)
	peers := api.Peers()
	if len(peers) == 0 {
		t.Fatal("the endpoint saw no connection")
	}
	for _, p := range peers {
		if !pv.OwnsConn(p) {
			t.Errorf("OwnsConn(%v) = false for the sandbox's own connection", p)
		}
	}

	// Another process, not in the sandbox, connected to the same endpoint.
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestPeerHelperProcess$")
	cmd.Env = append(os.Environ(), "PORTICO_PEER_DIAL="+api.Addr())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	other, err := net.ResolveTCPAddr("tcp", line[:len(line)-1])
	if err != nil {
		t.Fatalf("the helper process said %q: %v", line, err)
	}
	if inode, err := socketInode(other, pv.apiAddr); err != nil || inode == 0 {
		t.Fatalf("sock_diag does not find the other process's socket %v: inode %d, %v", other, inode, err)
	}
	if pv.OwnsConn(other) {
		t.Errorf("OwnsConn(%v) = true for another process's connection", other)
	}

	// The host process itself.
	c, err := net.Dial("tcp", api.Addr())
	if err != nil {
		t.Fatal(err)
	}
	own := c.LocalAddr()
	if pv.OwnsConn(own) {
		t.Errorf("OwnsConn(%v) = true for the host process's connection", own)
	}
	_ = c.Close()
	if pv.OwnsConn(own) {
		t.Errorf("OwnsConn(%v) = true for a closed connection", own)
	}
}

// setsidBootstrap starts the test binary's TestPeerHelperProcess in a session
// (and process group) of its own, connected to PORTICO_PEER_DIAL, and keeps
// its stdin open; the helper writes its connection's address to addr.
const setsidBootstrap = `#!/bin/sh
sleep 600 | setsid "$PORTICO_PEER_HELPER" -test.run='^TestPeerHelperProcess$' > addr.tmp
`

// TestOwnsConnSetsidChild checks that, where the sandbox has a cgroup of its
// own, a connection held by one of its processes that left its process group
// (setsid, as `timeout`, dumb-init and daemonizing wrappers do) is the
// sandbox's: the cgroup, not the process group, tells what belongs to it.
func TestOwnsConnSetsidChild(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary in a sandbox")
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid command")
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
	api := runtimetest.NewAPIServer(t, "127.0.0.1")
	dir := t.TempDir()
	//nolint:gosec // G306: the sandbox's executable
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(setsidBootstrap), 0o755); err != nil {
		t.Fatal(err)
	}
	sb, err := rt.Start(context.Background(), runtimes.Spec{SandboxID: "sbx-setsid", Function: "setsid", Version: "1",
		PackageType: "Zip", CodeDir: dir, Env: map[string]string{
			"AWS_LAMBDA_RUNTIME_API": api.Addr(), "PORTICO_PEER_DIAL": api.Addr(), "PORTICO_PEER_HELPER": os.Args[0],
			"PATH": os.Getenv("PATH"),
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sb.Stop(context.Background()) }()
	go func() { _, _ = io.Copy(io.Discard, sb.Logs()) }()
	var line string
	waitFor(t, "the helper's address", func() bool {
		raw, err := os.ReadFile(filepath.Join(dir, "addr.tmp"))
		line = strings.TrimSpace(string(raw))
		return err == nil && strings.HasSuffix(string(raw), "\n")
	})
	addr, err := net.ResolveTCPAddr("tcp", line)
	if err != nil {
		t.Fatalf("the helper said %q: %v", line, err)
	}
	if !sb.(*sandbox).OwnsConn(addr) {
		t.Errorf("OwnsConn(%v) = false for a connection of the sandbox's setsid child", addr)
	}
}
