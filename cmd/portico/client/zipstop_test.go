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

// TestZipDirPastTheLimitOnceAllIsRead is what the durable8 tester found:
// `portico deploy` showed its zipping progress at 100% and then said that
// zipping stopped at the 50 MiB limit. An archive that goes past the limit
// only with its last bytes (deflate's end of the last file, the zip's
// directory, written once every file has been read) is refused with words
// that agree with the progress.
func TestZipDirPastTheLimitOnceAllIsRead(t *testing.T) {
	defer func(n int) { zipLimit = n }(zipLimit)
	zipLimit = 1 << 20
	dir := t.TempDir()
	// Random bytes deflate cannot shrink, a little under the limit: the
	// headers and the directory take the archive past it at the end.
	big := make([]byte, zipLimit-64)
	r := rand.NewChaCha8([32]byte{3})
	_, _ = r.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "blob"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	var last, total int64
	_, err := ZipDirProgress(dir, func(done, all int64) { last, total = done, all })
	if last != total {
		t.Fatalf("progress reached %d of %d: the test needs the archive to pass the limit only once all is read", last, total)
	}
	if err == nil || strings.Contains(err.Error(), "stopped there") || !strings.Contains(err.Error(), "once all of it was zipped") {
		t.Fatalf("ZipDirProgress after 100%% progress = %v; want it to say the whole archive came out past the limit", err)
	}
}
