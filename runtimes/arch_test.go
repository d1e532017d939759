package runtimes_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestForeignArch: an entrypoint built for another machine is named by its
// architecture; this machine's, a script, or a missing file is not foreign.
func TestForeignArch(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign")
	otherArch := runtimetest.ForeignELF(t, foreign)
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil { //nolint:gosec // G306: a bootstrap
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{foreign, otherArch},
		{self, ""},
		{script, ""},
		{filepath.Join(dir, "missing"), ""},
	} {
		if got := runtimes.ForeignArch(tc.path); got != tc.want {
			t.Errorf("ForeignArch(%s) = %q, want %q", filepath.Base(tc.path), got, tc.want)
		}
	}
	adv := runtimes.ForeignArchAdvice(otherArch)
	for _, w := range []string{"built for " + otherArch, "this machine runs " + runtime.GOARCH, "GOARCH=" + runtime.GOARCH} {
		if !strings.Contains(adv, w) {
			t.Errorf("ForeignArchAdvice(%s) = %q, lacks %q", otherArch, adv, w)
		}
	}
}
