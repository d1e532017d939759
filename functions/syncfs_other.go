//go:build !linux

package functions

import (
	"io/fs"
	"os"
	"path/filepath"
)

// syncTree makes the files written under dir durable before dir is renamed into
// place, one fsync per file and directory.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}
