package store

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/clock"
)

// TestReplacedStoreFileAdvisesRestart (ops17): portico.db replaced under a
// running server (a backup restored in place, as tar does: a new file at the
// path) is refused as before, but the advice fits: restart to serve the file
// now at the path. It said the data directory was "removed or moved" and to
// put it back, when there was nothing to put back.
func TestReplacedStoreFileAdvisesRestart(t *testing.T) {
	dir := t.TempDir()
	s, logs, clk := openWatched(t, dir)
	defer func() { _ = s.Close() }()
	path := filepath.Join(dir, fileName)
	restored := filepath.Join(dir, "restored.tmp")
	if err := os.WriteFile(restored, []byte("a backup's store"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(restored, path); err != nil {
		t.Fatal(err)
	}
	clk.Advance(PathCheck)
	waitFor(t, func() bool { return strings.Contains(logs.String(), "level=ERROR") })
	if l := logs.String(); strings.Contains(l, "removed or moved") || !strings.Contains(l, "replaced") {
		t.Errorf("the log says the data directory was removed or moved, not that the store file was replaced:\n%s", l)
	}
	err := s.Update(context.Background(), func(tx *Tx) error { return tx.Put("b", "k", doc{Name: "k"}) })
	var me *MovedError
	if !errors.As(err, &me) {
		t.Fatalf("write = %v; want a *MovedError", err)
	}
	for what, msg := range map[string]string{"error": me.Error(), "client message": me.ClientMessage()} {
		if !strings.Contains(msg, "restart portico to serve the "+fileName+" now at "+path) || strings.Contains(msg, "removed or moved") {
			t.Errorf("%s = %q; want it to say that a restart serves the file now at the path, and not that the directory was removed or moved", what, msg)
		}
	}
}

// openWatched opens the store in dir and watches its path on a fake clock,
// logging to the buffer it returns; the caller closes the store.
func openWatched(t *testing.T, dir string) (*Store, *syncBuffer, *clock.Fake) {
	t.Helper()
	s, err := OpenConfig(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	clk := clock.NewFake(time.Unix(0, 0))
	s.WatchPath(clk, slog.New(slog.NewTextHandler(logs, nil)))
	return s, logs, clk
}
