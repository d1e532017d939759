package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServeLogsTheDataDirAbsolute is ops23: a relative data-dir in the config
// file resolves against the working directory (docs say so), and the start
// line logged it relative (data-dir=relreldir), which says nothing under
// systemd (working directory /). The start line names the absolute path.
func TestServeLogsTheDataDirAbsolute(t *testing.T) {
	t.Parallel()
	wd := t.TempDir()
	if err := os.MkdirAll(filepath.Join(wd, "cfg"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wd, "cfg", "rel.yaml"), []byte("data-dir: relreldir\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPortico$")
	cmd.Dir = wd
	cmd.Env = append(os.Environ(), "PORTICO_CONFIG=", "PORTICO_HELPER_ARGS="+strings.Join([]string{"serve",
		"--config", "cfg/rel.yaml", "--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "127.0.0.1:0", "--runtime", "process"}, "\n"))
	cmd.Env = slicesDeleteEnv(cmd.Env, "PORTICO_DATA_DIR") // the config file's is the one
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	line := ""
	for sc.Scan() {
		if strings.Contains(sc.Text(), `msg="portico started"`) {
			line = sc.Text()
			break
		}
	}
	want := "data-dir=" + filepath.Join(wd, "relreldir")
	if !strings.Contains(line, want+" ") && !strings.HasSuffix(line, want) {
		t.Fatalf("start line %q, want it to name %s", line, want)
	}
	go func() { // drain the rest
		for sc.Scan() {
		}
	}()
}

// slicesDeleteEnv drops name's entries from env.
func slicesDeleteEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return out
}
