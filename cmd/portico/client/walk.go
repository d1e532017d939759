package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// WalkPackage calls fn for each file and directory under the package
// directory dir (not dir itself), in lexical order, with its slash-separated
// name relative to dir, its path, and the FileInfo of what it names. Symbolic
// links are followed, to files and to directories alike, as `sam package` and
// `aws cloudformation package` follow them when they zip a CodeUri; dir may be
// one too. A link to a directory that holds it (a loop) is an error that names
// the link. An error from fn stops the walk and is returned as it is.
func WalkPackage(dir string, fn func(rel, path string, info fs.FileInfo) error) error {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	st, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return walkPackage(root, "", []string{root}, fn)
}

// walkPackage walks dir, which is named rel in the package; ancestors are the
// real paths of dir and of the directories that hold it.
func walkPackage(dir, rel string, ancestors []string, fn func(rel, path string, info fs.FileInfo) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		r := e.Name()
		if rel != "" {
			r = rel + "/" + r
		}
		info, err := os.Stat(p) // follows symbolic links
		if err != nil {
			if e.Type()&fs.ModeSymlink != 0 && errors.Is(err, fs.ErrNotExist) {
				target, _ := os.Readlink(p)
				return fmt.Errorf("%s is a symbolic link to %s, which does not exist: remove the link or restore what it points to", p, target)
			}
			return err
		}
		if !info.IsDir() {
			if err := fn(r, p, info); err != nil {
				return err
			}
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return err
		}
		if slices.Contains(ancestors, real) {
			return fmt.Errorf("%s is a symbolic link to %s, which holds it: a loop that would never end; remove the link or point it at a directory outside %s", p, real, real)
		}
		if err := fn(r, p, info); err != nil {
			return err
		}
		if err := walkPackage(p, r, append(slices.Clip(ancestors), real), fn); err != nil {
			return err
		}
	}
	return nil
}
