package process

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCleanupWithItsRunDirectoryGone: with the data directory removed under a
// running server, the stop's cleanup failed on the missing run directory and
// the stop ended "left behind ... containers, tasks and network namespaces",
// although no pid file named anything left to remove.
func TestCleanupWithItsRunDirectoryGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "process")
	r, err := New(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	if err := r.Cleanup(context.Background()); err != nil {
		t.Errorf("cleanup with the run directory gone: %v, want nil (nothing is left to remove)", err)
	}
}
