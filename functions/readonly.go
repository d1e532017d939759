package functions

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The unpacked code's files are read-only. A process sandbox runs in
// code/HASH/ itself (its working directory and LAMBDA_TASK_ROOT), which every
// version and function with the same package shares, and which outlives a
// restart; Lambda's /var/task is read-only. So once a tree is unpacked and
// checked its files lose their write bits: a function that writes to a file
// of its code fails (EACCES), as on Lambda (EROFS), instead of changing the
// code of every version that shares it. Its directories keep theirs, so that
// the tree can be removed without special care by the user who owns it (a
// test's temporary directory, an operator's rm -r); a file a function creates
// next to its code is not refused (docs/runtimes.md says so). Root ignores
// the modes (the process runtime warns of a server running as root); the
// container runtimes mount the tree read-only besides.

// writeBits are the permission bits makeReadOnly clears.
const writeBits = 0o222

// makeReadOnly clears the write bits of every file under dir; directories
// and symbolic links are left alone (a link's mode means nothing on Linux,
// and chmod would follow it). Files already read-only are not touched.
func makeReadOnly(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&writeBits == 0 {
			return nil
		}
		//nolint:gosec // G122: dir is Portico's own unpacked tree, links are skipped above, and nothing else writes it while this runs
		if err := os.Chmod(path, fi.Mode().Perm()&^writeBits); err != nil {
			return fmt.Errorf("make the code read-only: %w", err)
		}
		return nil
	})
}

// removeTree removes path and everything under it, as os.RemoveAll does, once
// it has given the directories under it their owner's write bit back (a tree
// of a build that made them read-only, or one whose modes were changed by
// hand, cannot be unlinked otherwise, but by root). A path that does not
// exist is no error.
func removeTree(path string) error {
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // what cannot be walked, RemoveAll reports
		}
		if d.IsDir() { // before WalkDir reads it: a 0 mode is made readable too
			if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o700 != 0o700 {
				_ = os.Chmod(p, fi.Mode().Perm()|0o700) //nolint:gosec // G122: a directory of Portico's own code tree, being removed
			}
		}
		return nil
	})
	return os.RemoveAll(path)
}
