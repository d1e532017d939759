package client

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestZipDirStopsAtTheLimit is what the store3 tester found: `portico fn
// update --dir` of a 300 MB directory zipped all of it (12 s, silently)
// before refusing it as over 50 MiB. Zipping stops once the archive is past
// the limit: here it never reaches the named pipe after the large file,
// which zipping it would have refused as not a regular file.
func TestZipDirStopsAtTheLimit(t *testing.T) {
	defer func(n int) { zipLimit = n }(zipLimit)
	zipLimit = 1 << 20
	dir := t.TempDir()
	big := make([]byte, 2<<20)
	r := rand.NewChaCha8([32]byte{2})
	_, _ = r.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "a-blob"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "z-pipe"), 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	_, err := ZipDir(dir)
	if err == nil || !strings.Contains(err.Error(), "grew past") || strings.Contains(err.Error(), "regular file") {
		t.Fatalf("ZipDir = %v, want it stopped at the limit before the pipe", err)
	}
}
