package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServeWithClosedOutputKeepsAnswering is what the ops21 tester found:
// `portico serve 2>&1 | head` (or a killed tee) ended the server with SIGPIPE
// at its next log line, the calls in flight unanswered. With the reader of
// its stdout and stderr gone, the server answers on, and a stop (whose lines
// go nowhere) ends cleanly, with exit status 0.
func TestServeWithClosedOutputKeepsAnswering(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	const token = "sigpipe-test-token-0123456789"
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPortico$")
	cmd.Env = append(os.Environ(), "PORTICO_ADMIN_TOKEN="+token, "PORTICO_CONFIG=", "PORTICO_HELPER_ARGS="+strings.Join([]string{"serve",
		"--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "127.0.0.1:0", "--runtime", "process",
		"--data-dir", filepath.Join(t.TempDir(), "data")}, "\n"))
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(r)
	admin := ""
	for admin == "" && sc.Scan() {
		if line := sc.Text(); strings.Contains(line, `msg="portico started"`) {
			for f := range strings.FieldsSeq(line) {
				if v, ok := strings.CutPrefix(f, "admin="); ok {
					admin = strings.Trim(v, `"`)
				}
			}
		}
	}
	if admin == "" {
		t.Fatalf("serve did not log its admin address as it started: %v", sc.Err())
	}
	_ = r.Close() // the reader goes away, as head's does
	call := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+admin+"/2015-03-31/functions", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("a call after the reader went: %v", err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := call("wrong"); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", code) // logged at WARN: a line to the closed pipe
	}
	if code := call(token); code != http.StatusOK {
		t.Errorf("list functions after a line went to the closed pipe: %d, want 200", code)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("serve with a closed stderr was killed by %v", ws.Signal())
	}
	if err != nil {
		t.Fatalf("serve with a closed stderr stopped with %v, want exit status 0", err)
	}
}
