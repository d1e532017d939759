package main

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProcessAliveZombie is the ops11 tester's: a killed portico deploy that
// its parent had not yet reaped kept its stack hold, because signal 0 finds a
// zombie. A process that ended is not alive, reaped or not; a running one is.
func TestProcessAliveZombie(t *testing.T) {
	t.Parallel()
	if !processAlive(os.Getpid()) {
		t.Fatal("this process is not alive")
	}
	cmd := exec.Command("sh", "-c", "read x") // runs until its stdin closes
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !processAlive(pid) {
		t.Fatalf("running child %d is not alive", pid)
	}
	_ = in.Close()
	// Wait until the child has ended without reaping it (WNOWAIT): it is a
	// zombie until cmd.Wait.
	var info unix.Siginfo
	if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		t.Errorf("zombie %d is alive", pid)
	}
	_ = cmd.Wait()
	if processAlive(pid) {
		t.Errorf("reaped %d is alive", pid)
	}
}
