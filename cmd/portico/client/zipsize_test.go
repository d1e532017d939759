package client

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/functions"
)

// TestZipDirRefusesWhatTheServerWould: a directory whose archive is over
// Lambda's 50 MiB direct-upload limit is refused before anything is sent, with
// what to do, instead of an upload the server cuts off ("connection reset").
func TestZipDirRefusesWhatTheServerWould(t *testing.T) {
	if MaxZipUpload != functions.MaxZipSize {
		t.Fatalf("MaxZipUpload %d, the server's limit %d", MaxZipUpload, functions.MaxZipSize)
	}
	defer func(n int) { zipLimit = n }(zipLimit)
	zipLimit = 1 << 20 // the same check, at a size a test deflates quickly
	dir := t.TempDir()
	big := make([]byte, 2<<20) // random bytes: deflate cannot shrink them
	r := rand.NewChaCha8([32]byte{1})
	_, _ = r.Read(big)
	if err := os.WriteFile(filepath.Join(dir, "blob"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o700); err != nil { //nolint:gosec // G306: an executable bootstrap
		t.Fatal(err)
	}
	_, err := ZipDir(dir)
	if err == nil || !strings.Contains(err.Error(), "50 MiB") || !strings.Contains(err.Error(), "container image") {
		t.Fatalf("ZipDir of %d bytes: %v", len(big), err)
	}
	if err := os.Remove(filepath.Join(dir, "blob")); err != nil {
		t.Fatal(err)
	}
	if _, err := ZipDir(dir); err != nil {
		t.Fatalf("ZipDir without the blob: %v", err)
	}
}
