package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// TestHelperPortico is not a test: run as a child process with
// PORTICO_HELPER_ARGS (arguments separated by newlines), it is the portico
// binary, for the tests that need a process of its own.
func TestHelperPortico(t *testing.T) {
	args := os.Getenv("PORTICO_HELPER_ARGS")
	if args == "" {
		t.Skip("a helper: runs portico's main in a child process")
	}
	os.Args = append([]string{"portico"}, strings.Split(args, "\n")...)
	main()
	os.Exit(0)
}

// deadPID returns the id of a process of this host that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestDeployTakesOverHoldOfGoneProcess: a hold left by a run that was a
// process of this host, no longer running (killed), is taken over by the next
// deploy, which says so; a hold of a live process, or of another host, is
// still refused.
func TestDeployTakesOverHoldOfGoneProcess(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	path := fnTemplate(t, dir, "t.yaml", "", "F")
	host, _ := os.Hostname()
	ctx := context.Background()
	live := exec.Command("sleep", "600")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = live.Process.Kill(); _ = live.Wait() })
	for _, tc := range []struct {
		name, by, want string
	}{
		{"live process", fmt.Sprintf("portico deploy --template t.yaml, on %s, pid %d", host, live.Process.Pid), "is being deployed by another run"},
		{"other host", fmt.Sprintf("portico deploy --template t.yaml, on not-%s, pid %d", host, deadPID(t)), "is being deployed by another run"},
		{"gone process", fmt.Sprintf("portico deploy --template t.yaml, on %s, pid %d", host, deadPID(t)), ""},
	} {
		stack := "hold" + strings.ReplaceAll(tc.name, " ", "")
		other := &deploy.HTTPTarget{C: env.Client()}
		if err := other.HoldStack(ctx, stack, tc.by); err != nil {
			t.Fatal(err)
		}
		out, err := cliErr(env, "deploy", "-t", path, "--stack", stack)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: deploy: %v, want %q\n%s", tc.name, err, tc.want, out)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: deploy: %v\n%s", tc.name, err, out)
		}
		if !strings.Contains(out, "is no longer running on this host: this run takes the hold over") {
			t.Errorf("%s: deploy did not say it took the hold over:\n%s", tc.name, out)
		}
		if rec := stackRecord(t, env, stack); rec.Deploying != nil || len(rec.Resources) != 1 {
			t.Errorf("%s: after the deploy the record is %+v", tc.name, rec)
		}
	}
}

// TestDeployWithClosedStdoutReleasesItsHold: `portico deploy | head -1`
// closes the deploy's stdout; the run must not die of SIGPIPE holding the
// stack: it finishes and releases its hold, and the next deploy runs.
func TestDeployWithClosedStdoutReleasesItsHold(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	path := fnTemplate(t, dir, "t.yaml", "", "F")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close() // the reader is gone before the first line
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPortico$")
	cmd.Env = append(os.Environ(), "PORTICO_HELPER_ARGS="+strings.Join([]string{"--endpoint", env.AdminURL, "deploy", "-t", path, "--stack", "piped"}, "\n"))
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Run()
	_ = w.Close()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("deploy with a closed stdout was killed by %v", ws.Signal())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if rec := stackRecord(t, env, "piped"); rec.Deploying != nil || len(rec.Resources) != 1 {
		t.Fatalf("after the deploy the record is %+v (exit: %v)", rec, err)
	}
	cliCombined(t, env, "deploy", "-t", path, "--stack", "piped")
}

// TestDryRunNoteSaysInterrupted: a dry run named a hold whose process of
// this host was gone (a killed deploy) "being deployed by another run";
// nothing deploys the stack then.
func TestDryRunNoteSaysInterrupted(t *testing.T) {
	alive := func(pid int) bool { return pid == 7 }
	for _, tc := range []struct{ by, want string }{
		{"portico deploy --template t.yaml, on h1, pid 7", "is being deployed by another run"},
		{"portico deploy --template t.yaml, on h2, pid 8", "is being deployed by another run"},
		{"portico deploy --template t.yaml, on h1, pid 8", "was held by a run that was interrupted"},
	} {
		if got := deployingNote("s", &deploy.Hold{By: tc.by}, "h1", alive); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.by, got, tc.want)
		}
	}
}
