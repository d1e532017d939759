package runtimes_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// TestAutoWarnsOfFallingBackToNoIsolation: "auto" that finds no container
// runtime answering falls back to an Unisolated one (process), and says so
// at warn level, with what it means and what to do; it does not refuse
// (a first run on a machine without Docker works). A container runtime
// chosen, or an Unisolated one asked for by name, is logged at info.
func TestAutoWarnsOfFallingBackToNoIsolation(t *testing.T) {
	down := func(context.Context) error { return errors.New("docker: the daemon does not answer") }
	up := func(context.Context) error { return nil }
	newRT := func(context.Context) (runtimes.Runtime, error) { return nil, nil }
	for _, tc := range []struct {
		name, want  string
		dockerProbe func(context.Context) error
		wantLevel   string
		wantText    []string
	}{
		{"fallback", "auto", down, "WARN", []string{"runtime=process", "WITHOUT ISOLATION", "as its own user",
			"admin API on loopback", "data directory", "Start Docker or containerd", "--runtime process to say you mean this",
			"skipped [docker: docker: the daemon does not answer]"}},
		{"container", "auto", up, "INFO", []string{"runtime=docker"}},
		{"asked for", "process", down, "INFO", []string{"runtime=process", "asked for by --runtime"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			log := slog.New(slog.NewTextHandler(&logs, nil))
			factories := []runtimes.Factory{
				{Name: "process", Priority: 100, New: newRT, Unisolated: true},
				{Name: "docker", Priority: 10, Probe: tc.dockerProbe, New: newRT},
			}
			if _, err := runtimes.Choose(context.Background(), tc.want, factories, log); err != nil {
				t.Fatal(err)
			}
			got := logs.String()
			if !strings.Contains(got, "level="+tc.wantLevel+" ") || strings.Count(got, "\n") != 1 {
				t.Errorf("logged %q; want one line at %s", got, tc.wantLevel)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(got, w) {
					t.Errorf("logged %q; want it to say %q", got, w)
				}
			}
		})
	}
}

// TestDaemonDeniedSaysWhatToDo: a daemon whose socket refuses Portico's
// user (permission denied) is not one that "does not answer": the error
// and the caller's message say the socket refused the user and how to let
// it in (newuser28: Docker ran, the socket refused an unprivileged user, and
// the warning said to start Docker).
func TestDaemonDeniedSaysWhatToDo(t *testing.T) {
	denied := &runtimes.DaemonDownError{Runtime: "docker", Daemon: "Docker", Address: "unix:///var/run/docker.sock",
		Err: &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.EACCES)}}
	for _, msg := range []string{denied.Error(), denied.ClientMessage()} {
		if strings.Contains(msg, "does not answer") || !strings.Contains(msg, "usermod -aG docker") {
			t.Errorf("permission denied reads %q; want the socket's refusal and the docker group", msg)
		}
	}
	if !errors.Is(denied, errdefs.ErrUnavailable) {
		t.Error("a refused socket is no longer ErrUnavailable")
	}
	down := &runtimes.DaemonDownError{Runtime: "containerd", Daemon: "containerd", Address: "/run/containerd/containerd.sock",
		Err: &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	if msg := down.Error(); !strings.Contains(msg, "does not answer") {
		t.Errorf("a refused connection reads %q; want does not answer", msg)
	}
}
