package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFnCreateDanglingLinkSaysSo: `fn create --dir DIR` where DIR holds a
// symbolic link to a missing target failed with "stat DIR/link: no such file
// or directory", as if the link itself were missing. The error says it is a
// link, to what, and what to do.
func TestFnCreateDanglingLinkSaysSo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil { //nolint:gosec // G306: a function's bootstrap is executable
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("gone/data.txt", link); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	// Zipping comes before any call: no server is needed.
	err := runRoot(&out, &out, "--endpoint", "http://127.0.0.1:1", "fn", "create", "dl", "--dir", dir)
	if err == nil {
		t.Fatalf("fn create with a dangling link succeeded:\n%s", out.String())
	}
	for _, want := range []string{link + " is a symbolic link to gone/data.txt, which does not exist", "remove the link or restore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("fn create: %q does not say %q", err, want)
		}
	}
}
