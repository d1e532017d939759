package process

import (
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestWrongArchBootstrap: a bootstrap the kernel refuses with ENOEXEC because
// it is built for another CPU is reported in Lambda's words (exec format
// error), then with the cause and the fix (r-rt22 #3).
func TestWrongArchBootstrap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bootstrap")
	arch := runtimetest.ForeignELF(t, path)
	// What exec.Cmd.Start returns for it (without binfmt_misc emulation).
	ee := entrypointError(&fs.PathError{Op: "fork/exec", Path: path, Err: syscall.ENOEXEC})
	if ee == nil {
		t.Fatal("entrypointError = nil for ENOEXEC")
	}
	msg := ee.Error()
	for _, w := range []string{"exec format error", "built for " + arch, "this machine runs " + runtime.GOARCH, "GOARCH=" + runtime.GOARCH} {
		if !strings.Contains(msg, w) {
			t.Errorf("entrypoint error %q lacks %q", msg, w)
		}
	}
	if !strings.Contains(entrypointError(&fs.PathError{Op: "fork/exec", Path: path + ".gone", Err: syscall.ENOEXEC}).Error(), "exec format error") {
		t.Error("an unreadable bootstrap lost Lambda's words")
	}
}
