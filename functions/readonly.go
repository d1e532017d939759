package functions

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The unpacked code is read-only. A process sandbox runs in code/HASH/ itself
// (its working directory and LAMBDA_TASK_ROOT), which every version and
// function with the same package shares, and which outlives a restart; Lambda's
// /var/task is read-only. So once a tree is unpacked and checked its files
// lose their write bits and its directories are 0555: a function that writes
// next to its code fails (EACCES), as on Lambda (EROFS), instead of changing
// the code of every version that shares it. Root ignores the modes (the
// process runtime warns of a server running as root); the container runtimes
// mount the tree read-only besides. Removing a tree gives its directories
// their write bits back first (removeTree).

// writeBits are the permission bits makeReadOnly clears.
const writeBits = 0o222

// makeReadOnly clears the write bits of every file and directory under dir,
// dir included; symbolic links are left alone (their modes mean nothing on
// Linux, and chmod would follow them). Entries already read-only are not
// touched.
func makeReadOnly(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&writeBits == 0 {
			return nil
		}
		if err := os.Chmod(path, fi.Mode().Perm()&^writeBits); err != nil {
			return fmt.Errorf("make the code read-only: %w", err)
		}
		return nil
	})
}

// removeTree removes path and everything under it, as os.RemoveAll does, once
// it has given the directories under it their owner's write bit back (a
// read-only tree's entries cannot be unlinked otherwise, but by root). A path
// that does not exist is no error.
func removeTree(path string) error {
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // what cannot be walked, RemoveAll reports
		}
		if d.IsDir() { // before WalkDir reads it: a 0 mode is made readable too
			if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o700 != 0o700 {
				_ = os.Chmod(p, fi.Mode().Perm()|0o700)
			}
		}
		return nil
	})
	return os.RemoveAll(path)
}
