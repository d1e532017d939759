package functions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Checking the unpacked code. A tree code/HASH/ that exists is not proof that
// the code is whole: a restore cut short (a backup's tar lists code/HASH/
// before its files) leaves it empty or partial, and every invoke of it then
// fails as if the function were at fault. The check at start (CheckCode) and
// the one before each sandbox start (RepairCode) look inside: with a sound
// archive code/HASH.zip (its sha256 is HASH), the tree must hold every entry
// of the archive, each regular file with its size and mode; without one, it
// must at least hold the executable bootstrap every Zip package has (files
// read-only, as unpacked now, or with their write bits, as by older builds:
// the check at start makes those read-only, see readonly.go). A tree
// that falls short is unpacked again from a sound archive, as an upload
// unpacks (a temporary renamed into place), or else counted as missing.

// errNoSoundArchive is why a tree could not be unpacked again.
var errNoSoundArchive = errors.New("no sound archive to unpack it from")

// treeState is what checkTree found.
type treeState int

const (
	treeWhole   treeState = iota // runnable as far as the check can tell
	treeMissing                  // no code/HASH/ at all
	treeShort                    // code/HASH/ lacks files, or holds damaged ones
)

// soundArchive reads code/HASH.zip and returns it validated, or nil when it is
// missing, does not hash to HASH, or does not pass the upload's checks.
func soundArchive(root, hash string) *zipPackage {
	data, err := os.ReadFile(filepath.Join(root, hash+".zip")) //nolint:gosec // G304: a content-addressed artifact of the data directory
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != hash {
		return nil
	}
	pkg, err := inspectZip(data)
	if err != nil {
		return nil
	}
	return pkg
}

// checkTree says whether dir holds pkg unpacked (every entry, regular files
// with their size and mode), or, with pkg nil, at least an executable regular
// bootstrap.
func checkTree(dir string, pkg *zipPackage) treeState {
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		if errors.Is(err, fs.ErrNotExist) {
			return treeMissing
		}
		return treeShort
	}
	if pkg == nil {
		// A bootstrap symlink (to a file inside the package, as the
		// upload checked) is followed, but only while it stays in dir.
		boot := filepath.Join(dir, "bootstrap")
		root, rerr := filepath.EvalSymlinks(dir)
		if real, err := filepath.EvalSymlinks(boot); err == nil && rerr == nil {
			if rel, err := filepath.Rel(root, real); err == nil && filepath.IsLocal(rel) {
				boot = real
			}
		}
		fi, err := os.Lstat(boot)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return treeShort
		}
		return treeWhole
	}
	for _, e := range pkg.entries {
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(e.name)))
		if err != nil {
			return treeShort
		}
		switch e.kind {
		case fs.ModeDir:
			if !fi.IsDir() {
				return treeShort
			}
		case fs.ModeSymlink:
			if fi.Mode()&fs.ModeSymlink == 0 {
				return treeShort
			}
		default:
			// Read-only (makeReadOnly), or as unpacked by a build before it.
			if perm := fi.Mode().Perm(); !fi.Mode().IsRegular() || fi.Size() != int64(e.f.UncompressedSize64) ||
				(perm != e.perm&^writeBits && perm != e.perm) {
				return treeShort
			}
		}
	}
	return treeWhole
}

// reunpack unpacks pkg again into code/HASH/, replacing what is there, as an
// upload would: into a temporary first, renamed into place once complete. The
// caller holds codeMu (shared or exclusive).
func (s *Service) reunpack(ctx context.Context, root string, pkg *zipPackage) error {
	tmp, err := os.MkdirTemp(root, ".unpack-"+pkg.hexSum[:12]+"-")
	if err != nil {
		return err
	}
	defer func() {
		if tmp != "" { // not published
			_ = removeTree(tmp)
		}
	}()
	if err := unpack(ctx, tmp, pkg); err != nil {
		return err
	}
	if err := makeReadOnly(tmp); err != nil {
		return err
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	noArchive := ""
	return s.publishArtifacts(root, &tmp, filepath.Join(root, pkg.hexSum), &noArchive, "", pkg)
}

// ensureTree checks hash's tree and unpacks it again from a sound archive if
// it is missing or short. It returns the state the tree is left in, and
// whether it was unpacked again. With full false, a tree that holds its bootstrap is taken as whole without
// reading the archive (the check before each cold start).
func (s *Service) ensureTree(ctx context.Context, hash string, full bool) (treeState, bool, error) {
	root := s.codeRoot()
	dir := filepath.Join(root, hash)
	if !full && checkTree(dir, nil) == treeWhole {
		return treeWhole, false, nil
	}
	pkg := soundArchive(root, hash)
	state := checkTree(dir, pkg)
	if state == treeWhole {
		return state, false, nil
	}
	if pkg == nil {
		return state, false, errNoSoundArchive
	}
	if err := s.reunpack(ctx, root, pkg); err != nil {
		return state, false, err
	}
	return treeWhole, true, nil
}

// RepairCode makes sure the unpacked code of cfg, a Zip function, can start:
// its tree holds its executable bootstrap, or is unpacked again from its
// archive when the archive is sound. The error wraps fs.ErrNotExist when the
// code is missing and cannot be brought back. Safe for concurrent use.
func (s *Service) RepairCode(ctx context.Context, cfg *Config) error {
	dir := s.CodeDir(cfg)
	if dir == "" {
		return nil
	}
	s.codeMu.RLock()
	defer s.codeMu.RUnlock()
	state, again, err := s.ensureTree(ctx, cfg.CodeHash, false)
	if again {
		s.log.Warn("a function's code was missing or incomplete in the data directory: unpacked again from its archive",
			"function", cfg.FunctionName, "version", cfg.Version, "path", dir)
	}
	if err != nil {
		if state == treeWhole {
			return nil
		}
		if errors.Is(err, errNoSoundArchive) {
			return fmt.Errorf("code %s: %w", dir, fs.ErrNotExist)
		}
		return fmt.Errorf("code %s: could not unpack it again (%w): %w", dir, err, fs.ErrNotExist)
	}
	return nil
}
