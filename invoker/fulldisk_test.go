package invoker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/tmpfstest"
)

// TestFunctionLogOnFullDisk is the ops11 tester's: on a full disk a
// function's log output was dropped without a word (the write's error thrown
// away). Now the invocation's tail still has its output, the server's log says
// once (then once a minute, on the invoker's clock) that the function's log
// output is not written, never quoting it, the lost bytes are counted in the
// invoker's stats, and once there is space the log is written again and the
// server's log says so.
func TestFunctionLogOnFullDisk(t *testing.T) {
	disk := tmpfstest.Mount(t, "16m")
	e := newEnvIn(t, filepath.Join(disk, "data"), nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "logger"})
	invokeTail(t, e, cfg, `{"print":"warm"}`) // a warm sandbox: the full disk is not in its way
	e.inv.logs.close()                        // the file is open: what follows is its writes failing

	filler := filepath.Join(disk, "filler")
	tmpfstest.Fill(t, filler)
	// More than the page the log's last write left partly used, which a full
	// tmpfs still takes.
	secret := "SECRET-OUTPUT-" + strings.Repeat("x", 3*4096)
	res, _ := invokeTail(t, e, cfg, `{"print":"`+secret+`"}`)
	if !strings.Contains(string(res.LogTail), secret[len(secret)-100:]) || !strings.Contains(string(res.LogTail), "REPORT RequestId: "+res.RequestID) {
		t.Fatalf("the tail on a full disk lacks the output or REPORT:\n%s", res.LogTail)
	}
	flushAll := func() {
		t.Helper()
		if _, err := e.inv.Logs().Read("logger", 0); err != nil {
			t.Fatal(err)
		}
	}
	flushAll()
	warns := func() int { return strings.Count(e.logs.String(), "function log output not written") }
	if warns() != 1 {
		t.Fatalf("want one WARN that the function's log output is not written, got %d:\n%s", warns(), e.logs.String())
	}
	for _, want := range []string{"level=WARN", "function=logger", "no space left on device"} {
		if !strings.Contains(e.logs.String(), want) {
			t.Errorf("the server's log lacks %q:\n%s", want, e.logs.String())
		}
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Errorf("the server's log quotes the function's output:\n%s", e.logs.String())
	}
	if lost := e.inv.Stats().LogBytesLost; lost < int64(len(secret)-4096) {
		t.Errorf("stats count %d bytes of log output lost, want at least %d", lost, len(secret)-4096)
	}

	invokeTail(t, e, cfg, `{"print":"again`+secret+`"}`)
	flushAll()
	if warns() != 1 {
		t.Fatalf("a second failing write within a minute logged again: %d WARNs", warns())
	}
	e.clock.Advance(logWarnEvery)
	invokeTail(t, e, cfg, `{"print":"a minute on`+secret+`"}`)
	flushAll()
	if warns() != 2 {
		t.Fatalf("a minute on, want a second WARN, got %d", warns())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	res, _ = invokeTail(t, e, cfg, `{"print":"space again"}`)
	log, err := e.inv.Logs().Read("logger", -1)
	if err != nil || !strings.Contains(string(log), "space again") || !strings.Contains(string(log), "REPORT RequestId: "+res.RequestID) {
		t.Fatalf("with space again the log lacks the call: %v\n%s", err, log)
	}
	// A write the full disk cut short left a fragment; what followed starts
	// a line of its own (obs20): every START is at a line's start.
	if n, at := strings.Count(string(log), "START RequestId: "), strings.Count("\n"+string(log), "\nSTART RequestId: "); n != at {
		t.Errorf("%d START lines, %d at a line's start:\n%.2000s", n, at, log)
	}
	if !strings.Contains(e.logs.String(), "function log written again") {
		t.Errorf("the server's log does not say the function log is written again:\n%s", e.logs.String())
	}
}
