// Package tmpfstest mounts a small tmpfs for tests of what a full disk does.
package tmpfstest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Mount mounts a tmpfs of size (mount's size=, "8m") on a new directory under
// t.TempDir and unmounts it when the test ends. Mounting needs root: without
// it the test is skipped, unless REQUIRE_TMPFS=1, which fails it instead.
func Mount(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("REQUIRE_TMPFS") == "1" {
			t.Fatalf("REQUIRE_TMPFS=1 but mounting a tmpfs failed: %v: %s", err, out)
		}
		t.Skipf("mounting a tmpfs needs root: %v: %s (set REQUIRE_TMPFS=1 to fail instead)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Fill writes path until its file system is full: large writes first, then
// smaller ones, which take the last partly used pages too.
func Fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path) //nolint:gosec // G304: the test's own tmpfs
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	buf := make([]byte, 64<<10)
	for _, n := range []int{len(buf), 4096, 512, 1} {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}
