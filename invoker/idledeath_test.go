package invoker

import (
	"strings"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/functions"
)

// TestIdleSandboxDeathIsLogged: a sandbox that ends by itself while idle (a
// kill from outside, an OOM kill, a background goroutine's panic after the
// handler returned) leaves a line in the server log and one in the function
// log, after its own output; a sandbox Portico stops leaves none (r-rt29 #2).
func TestIdleSandboxDeathIsLogged(t *testing.T) {
	e := newEnv(t, nil)
	fn := e.fns.add(&functions.Config{FunctionName: "idle"})
	_, o := invoke(t, e, fn, `{"print":"last words"}`)
	if err := syscall.Kill(o.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	line := "exited while idle: signal: killed"
	waitFor(t, "the function log's line", func() bool {
		b, _ := e.inv.Logs().Read(fn.FunctionName, -1)
		return strings.Contains(string(b), line)
	})
	b, _ := e.inv.Logs().Read(fn.FunctionName, -1)
	if !strings.Contains(string(b), "Sandbox sbx-") || strings.Index(string(b), "last words") > strings.Index(string(b), line) {
		t.Errorf("function log:\n%s", b)
	}
	server := e.logs.String()
	if !strings.Contains(server, "sandbox exited while idle") || !strings.Contains(server, "function=idle") ||
		!strings.Contains(server, `status="signal: killed"`) {
		t.Errorf("server log lacks the idle exit:\n%s", server)
	}

	// A sandbox Portico stops (the function's deletion, an idle reap) says nothing.
	invoke(t, e, fn, `{}`)
	e.stop()
	if n := strings.Count(e.logs.String(), "sandbox exited while idle"); n != 1 {
		t.Errorf("%d idle exits logged, want 1 (a stop is not one):\n%s", n, e.logs.String())
	}
}
