package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOpenSaysWhatIsDenied is what the store3 tester found: a data directory
// the server's user may not use failed with "mkdir D/code: permission
// denied" for a directory that exists, and a read-only file system's error
// said "open X: open X: ...". A directory that is not open to the user is
// named as such, with what to do; an error names its file once.
func TestOpenSaysWhatIsDenied(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root passes every permission check: this needs an unprivileged user")
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chmod(dir, 0o750) }()
	_, err := Open(dir)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "not open to the user portico runs as") {
		t.Fatalf("Open of a directory closed to the user = %v", err)
	}
}

// TestOpenErrorNamesFileOnce: an error that names the file already is not
// prefixed with it again.
func TestOpenErrorNamesFileOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, fileName)
	if err := os.Mkdir(path, 0o750); err != nil { // a directory where the file should be
		t.Fatal(err)
	}
	_, err := Open(dir)
	if err == nil || strings.Count(err.Error(), path) != 1 {
		t.Fatalf("Open = %v, want an error naming %s once", err, path)
	}
}

// TestReadOnlyDataDirSaysWritable: a data directory on a read-only file
// system failed with "store: open D/portico.db: read-only file system",
// which did not say what to do. The error says the directory must be
// writable and names --data-dir. (Root cannot remount here: the error is the
// one Open sees, given to the function Open passes its errors through.)
func TestReadOnlyDataDirSaysWritable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, fileName)
	rofs := fmt.Errorf("store: %w", &fs.PathError{Op: "open", Path: path, Err: syscall.EROFS})
	err := unwritable(dir, rofs)
	if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), "read-only file system") ||
		!strings.Contains(err.Error(), "the data directory "+dir+" must be writable") || !strings.Contains(err.Error(), "--data-dir (PORTICO_DATA_DIR)") {
		t.Errorf("read-only data directory: %v", err)
	}
	other := errors.New("store: something else")
	if got := unwritable(dir, other); got != other { //nolint:errorlint // the same error, untouched
		t.Errorf("another error became %v", got)
	}
	if got := unwritable(dir, nil); got != nil {
		t.Errorf("no error became %v", got)
	}
}
