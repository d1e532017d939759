package apptest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTempDirInMemory: with TMPDIR set, TempDirInMemory leaves it; without,
// it points TMPDIR at a directory of its own under /dev/shm (where /dev/shm
// qualifies), and its function removes that directory and unsets TMPDIR.
func TestTempDirInMemory(t *testing.T) {
	set := t.TempDir()
	t.Setenv("TMPDIR", set)
	TempDirInMemory()()
	if got := os.Getenv("TMPDIR"); got != set {
		t.Errorf("TMPDIR %s after TempDirInMemory with it set, want %s", got, set)
	}
	if err := os.Unsetenv("TMPDIR"); err != nil {
		t.Fatal(err)
	}
	remove := TempDirInMemory()
	dir := os.Getenv("TMPDIR")
	if dir == "" {
		remove()
		t.Skip("/dev/shm is not a tmpfs with room here")
	}
	if filepath.Dir(dir) != "/dev/shm" || !strings.HasPrefix(filepath.Base(dir), "portico-test-") || os.TempDir() != dir {
		t.Errorf("TMPDIR %s, os.TempDir %s; want a portico-test- directory of /dev/shm", dir, os.TempDir())
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	remove()
	if _, err := os.Stat(dir); !os.IsNotExist(err) || os.Getenv("TMPDIR") != "" {
		t.Errorf("after the remove: %s: %v, TMPDIR %q; want it gone and TMPDIR unset", dir, err, os.Getenv("TMPDIR"))
	}
}
