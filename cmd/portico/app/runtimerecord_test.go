package app_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/runtimes"
)

// TestStartNotesTheRuntimeChange: a data directory that last ran on another
// runtime is said to have at start, and remembers both (r-rt29 #1).
func TestStartNotesTheRuntimeChange(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, runtimes.RecordFile), []byte(`{"Runtime":"docker"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testkit.LockedBuffer{}
	apptest.Start(t, apptest.Options{DataDir: dir, LogLevel: slog.LevelDebug, LogWriter: logs})
	if out := logs.String(); !strings.Contains(out, "this data directory ran on another runtime before") || !strings.Contains(out, "former=docker") {
		t.Errorf("the start does not say the runtime changed:\n%s", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, runtimes.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	var rec runtimes.Record
	if err := json.Unmarshal(b, &rec); err != nil || rec.Runtime != "process" || rec.Former != "docker" {
		t.Errorf("%s holds %s", runtimes.RecordFile, b)
	}
}
