package apptest

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/testkit"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary builds cmd/portico (once per test binary) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	samplesOnce.Do(func() {
		samplesDir, samplesErr = os.MkdirTemp("", "portico-samples-")
	})
	if samplesErr != nil {
		t.Fatalf("apptest: %v", samplesErr)
	}
	binOnce.Do(func() {
		binPath = filepath.Join(samplesDir, "portico-bin", "portico")
		binErr = cachedBuild(binPath, "./cmd/portico", false)
	})
	if binErr != nil {
		t.Fatalf("apptest: building cmd/portico: %v", binErr)
	}
	return binPath
}

// Program builds the main package at pkg (a path relative to the repository root,
// such as "./internal/e2e/testdata/blocker") once per test binary as a static
// bootstrap, and returns the directory holding it, ready to zip as a function
// package.
func Program(t testing.TB, pkg string) string {
	t.Helper()
	return build(t, programName(pkg), pkg)
}

func programName(pkg string) string {
	return "prog-" + strings.NewReplacer("/", "_", ".", "_").Replace(pkg)
}

// Process is a `portico serve` running as a child process, for tests of what a
// crash leaves behind: Kill ends it with SIGKILL, so that none of its shutdown
// hooks run (sandboxes stay, as after a crash).
type Process struct {
	// AdminURL is the admin API's base URL.
	AdminURL string
	// GatewayURL is the gateway's plain HTTP base URL.
	GatewayURL string
	// DataDir is the data directory.
	DataDir string

	cmd    *exec.Cmd
	out    *testkit.LockedBuffer
	exited chan struct{} // closed once the child is reaped
}

// StartProcess runs `portico serve` (built by Binary) with opts' runtime and data
// directory on loopback ports, waits until its admin API answers, and kills it
// when the test ends if it still runs. opts.Settings is not applied.
func StartProcess(t testing.TB, opts Options) *Process {
	t.Helper()
	bin := Binary(t)
	rt := opts.Runtime
	if rt == "" {
		rt = "process"
	}
	dir := opts.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	out := &testkit.LockedBuffer{}
	// Port 0 for both listeners: the server binds free ports itself and logs
	// them ("portico started ... admin=ADDR"), so no other test can take a port
	// between a pick here and the server's bind.
	//nolint:gosec // G204: the binary this package just built
	args := append([]string{"serve", "--runtime", rt, "--data-dir", dir,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--log-level", "info"}, opts.Args...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// Tests write access logs to their own temporary directories.
	cmd.Env = append(os.Environ(), "PORTICO_ADMIN_TOKEN=", "PORTICO_ACCESS_LOG_DIR="+os.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("apptest: starting %s serve: %v", bin, err)
	}
	p := &Process{DataDir: dir, cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.Kill)
	addrs := WaitStarted(t, out, p.exited)
	p.AdminURL = "http://" + addrs.Admin
	p.GatewayURL = "http://" + addrs.Gateway
	c := p.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Do(ctx, http.MethodGet, "/2015-03-31/functions", nil, nil, nil); err != nil {
		t.Fatalf("apptest: portico serve's admin API at %s does not answer: %v\n%s", p.AdminURL, err, out.String())
	}
	return p
}

// Addrs are the addresses a `portico serve` bound, as its start line logs them.
type Addrs struct {
	// Admin is the admin API's address.
	Admin string
	// Gateway is the gateway's plain HTTP address, "" when it is off.
	Gateway string
	// TLS is the gateway's TLS address, "" when TLS is off.
	TLS string
}

// WaitStarted waits until the `portico serve` whose output (logging at level
// info or below) out collects says it started, and returns the addresses that
// line names. It fails t when the process exits first (exited is closed) or
// has not started within two minutes.
func WaitStarted(t testing.TB, out *testkit.LockedBuffer, exited <-chan struct{}) Addrs {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if a, ok := startedAddrs(out.String()); ok {
			return a
		}
		select {
		case <-exited:
			t.Fatalf("apptest: portico serve exited before it started:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("apptest: portico serve did not log that it started:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startedAddrs finds serve's `msg="portico started"` log line in out and reads
// the addresses from its admin=, gateway= and tls= attributes.
func startedAddrs(out string) (Addrs, bool) {
	for line := range strings.Lines(out) {
		if !strings.Contains(line, `msg="portico started"`) {
			continue
		}
		var a Addrs
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			if u, err := strconv.Unquote(v); err == nil {
				v = u // slog quotes an empty value: tls=""
			}
			switch k {
			case "admin":
				a.Admin = v
			case "gateway":
				a.Gateway = v
			case "tls":
				a.TLS = v
			}
		}
		return a, a.Admin != ""
	}
	return Addrs{}, false
}

// Client returns a Portico admin API client for the process.
func (p *Process) Client() *client.Client { return client.New(p.AdminURL, "") }

// Kill sends SIGKILL and waits until the process is gone; safe to call twice.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits until the process exits and returns its exit status (-1 when a
// signal ended it); it fails t when the process still runs after two
// minutes, a guard against a hang rather than a measure.
func (p *Process) Wait(t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(2 * time.Minute):
		t.Fatalf("apptest: portico serve still runs after two minutes\n%s", p.out.String())
		return 0
	}
}

// Output is what the process wrote so far (its logs), for failure messages.
func (p *Process) Output() string { return p.out.String() }
