package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testkit"
)

// tourFrom and tourTo bound the README sections whose ```sh blocks the tour test
// runs: the five-minute tour and the hand-made WebSocket API.
const tourFrom, tourTo = "## A five-minute tour", "## Metrics and logs"

// readmeTour returns the commands of the README's tour, in order: the sh blocks
// between tourFrom and tourTo, continuation lines joined. The first block
// (`make run`) is the server, which the test starts itself.
func readmeTour(t *testing.T, readme string) (server string, commands []string) {
	t.Helper()
	i, j := strings.Index(readme, tourFrom), strings.Index(readme, tourTo)
	if i < 0 || j < i {
		t.Fatalf("README has no %q section before %q", tourFrom, tourTo)
	}
	var blocks [][]string
	var cur []string
	in := false
	for _, line := range strings.Split(readme[i:j], "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```sh":
			in, cur = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, cur)
		case in:
			if n := len(cur); n > 0 && strings.HasSuffix(cur[n-1], "\\") {
				cur[n-1] = strings.TrimSuffix(cur[n-1], "\\") + " " + strings.TrimSpace(line)
				continue
			}
			if strings.TrimSpace(line) != "" {
				cur = append(cur, line)
			}
		}
	}
	if len(blocks) < 2 || len(blocks[0]) != 1 {
		t.Fatalf("the tour should start with a one-line block that starts the server; blocks: %q", blocks)
	}
	server = strings.TrimSpace(strings.SplitN(blocks[0][0], "#", 2)[0])
	for _, b := range blocks[1:] {
		commands = append(commands, b...)
	}
	return server, commands
}

// TestReadmeTour runs the README's tour, command by command in one shell, against
// a server started as `make run` starts it (its own ports and data directory,
// given through PORTICO_LISTEN and PORTICO_ADMIN_LISTEN). It fails when a
// command fails: the README and the CLI must not drift apart. `logs --follow`
// is left out (it does not end), and the aws lines when no AWS CLI v2 is
// installed.
func TestReadmeTour(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and the samples and starts the server: not in -short")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	server, commands := readmeTour(t, string(raw))
	if server != "make run" {
		t.Fatalf("the tour starts the server with %q; this test starts it as `make run`", server)
	}

	tmp := t.TempDir()
	bin, data := filepath.Join(tmp, "bin"), filepath.Join(tmp, "data")
	// Port 0 everywhere: the server binds free ports itself and says which
	// (Gateway:, TLS:, Admin API: lines), so no other test can take them
	// while make builds.
	listen := "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, "make", "--no-print-directory", "run", "BIN="+bin, "DATA="+data)
	srv.Dir = root
	srv.Env = append(os.Environ(), "PORTICO_LISTEN="+listen, "PORTICO_ADMIN_LISTEN="+listen, "PORTICO_TLS_LISTEN="+listen, "PORTICO_LOG_LEVEL=warn")
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	srv.Cancel = func() error { return syscall.Kill(-srv.Process.Pid, syscall.SIGKILL) }
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var serverLog testkit.LockedBuffer // written by exec's copying goroutine, read here
	srv.Stderr = &serverLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	ready := make(chan bool, 1)
	bound := map[string]string{} // "Gateway:" etc. -> host:port; written before ready, read after
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			line := sc.Text()
			for _, k := range []string{"Gateway:", "TLS:", "Admin API:"} {
				if v, ok := strings.CutPrefix(line, k); ok && !said {
					v = strings.TrimSpace(v)
					if _, hostPort, ok := strings.Cut(v, "://"); ok {
						v = hostPort
					}
					bound[k] = strings.Replace(v, "localhost:", "127.0.0.1:", 1)
				}
			}
			if !said && strings.Contains(line, "Press Ctrl-C to stop.") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
		_, _ = io.Copy(io.Discard, out)
		stopped <- srv.Wait()
	}()
	defer func() {
		_ = syscall.Kill(-srv.Process.Pid, syscall.SIGINT) // portico shuts down gracefully, make follows
		if err := <-stopped; err != nil && !errors.Is(err, context.Canceled) {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Errorf("make run: %v", err)
			}
		}
	}()
	if !<-ready {
		t.Fatalf("make run did not start:\n%s", serverLog.String())
	}
	gw, adm, gwTLS := bound["Gateway:"], bound["Admin API:"], bound["TLS:"]
	if gw == "" || adm == "" || gwTLS == "" {
		t.Fatalf("make run did not say where it listens (Gateway:, TLS:, Admin API: lines); got %q", bound)
	}

	work := filepath.Join(tmp, "work")
	if err := os.MkdirAll(work, 0o750); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"bin": bin, "samples": filepath.Join(root, "samples")} {
		if err := os.Symlink(target, filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	awsV2 := false
	if v, err := exec.Command("aws", "--version").CombinedOutput(); err == nil && strings.HasPrefix(string(v), "aws-cli/2") {
		awsV2 = true
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, c := range commands {
		switch {
		case strings.Contains(c, "--follow"):
			t.Logf("left out (does not end): %s", c)
			continue
		case strings.HasPrefix(strings.TrimSpace(c), "aws ") && !awsV2:
			t.Logf("left out (no AWS CLI v2 here): %s", c)
			continue
		}
		c = strings.ReplaceAll(c, "127.0.0.1:8080", gw)
		c = strings.ReplaceAll(c, "127.0.0.1:9090", adm)
		c = strings.ReplaceAll(c, "127.0.0.1:8443", gwTLS)
		c = strings.ReplaceAll(c, "curl -s ", "curl -s --fail-with-body ")
		script.WriteString("echo '$ '" + shellQuote(c) + "\n" + c + "\n")
	}
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir = work
	sh.Env = append(os.Environ(), "PORTICO_ENDPOINT=http://"+adm)
	got, err := sh.CombinedOutput()
	t.Logf("tour output:\n%s", got)
	if err != nil {
		t.Fatalf("the README tour failed: %v (server log:\n%s)", err, serverLog.String())
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
