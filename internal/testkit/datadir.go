package testkit

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// RemovableDataDir makes a data directory under t.TempDir removable when the
// test ends: the unpacked code under it is read-only (directories 0555), which
// testing's own RemoveAll cannot remove but as root. Call it after t.TempDir
// made dir (cleanups run last first, so this one runs before the removal).
func RemovableDataDir(t testing.TB, dir string) {
	t.Helper()
	t.Cleanup(func() { Writable(dir) })
}

// Writable gives every directory under dir its owner's write and search bits
// back, so that its entries can be removed; what cannot be walked is skipped.
func Writable(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o700 != 0o700 {
			_ = os.Chmod(p, fi.Mode().Perm()|0o700)
		}
		return nil
	})
}
