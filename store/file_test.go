package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

// TestOpenFileCutShortAtCreation is the defect the full-disk soak found: a
// data directory on a full disk got a portico.db holding only part of bbolt's
// four initial pages, and every later start crashed with SIGBUS inside bbolt
// (it maps and reads pages past the end of the file). Nothing had been stored
// in such a file, so Open makes it afresh.
func TestOpenFileCutShortAtCreation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, fileName)
	db, err := bbolt.Open(path, 0o600, nil) // bbolt's initial pages, as the creation writes them
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// What the full disk left: the two meta pages, not the freelist and root.
	if err := os.Truncate(path, 2*int64(os.Getpagesize())); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	defer s.Close()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Put("things", "a", doc{Name: "a"}) }); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesFileCutShort: a database with committed data whose file has
// lost its end is refused with an error that says so, not a crash.
func TestOpenRefusesFileCutShort(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	for i := range 200 { // enough to grow the file past its initial pages
		if err := s.Update(ctx, func(tx *Tx) error {
			return tx.Put("things", strings.Repeat("k", 100)+string(rune('a'+i%26))+string(rune('a'+i/26)), doc{Name: strings.Repeat("v", 2000)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Half of what its pages take: the file runs ahead of them (bbolt grows
	// it 16 MiB at a time past its mapping, DefaultMmapSize).
	var pages int64
	_ = s.db.View(func(tx *bbolt.Tx) error { pages = tx.Size(); return nil })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fileName)
	if err := os.Truncate(path, pages/2); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("Open of a truncated database = %v, want an error saying it was cut short", err)
	}
}

// TestOpenEmptyOrMissingFile: an empty file (a creation that wrote nothing)
// and a missing one both give a working store, and Open leaves no temporary
// file of its creation behind, nor one an interrupted creation left.
func TestOpenEmptyOrMissingFile(t *testing.T) {
	for _, empty := range []bool{false, true} {
		dir := t.TempDir()
		if empty {
			if err := os.WriteFile(filepath.Join(dir, fileName), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, newFilePrefix+"123"), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
		s := open(t, dir)
		if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Put("things", "a", doc{}) }); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != fileName && e.Name() != reserveName {
				t.Errorf("empty=%v: %s left in the data directory", empty, e.Name())
			}
		}
	}
}

// usedDir returns a data directory whose store held a record and which holds
// a code artifact, as a server that kept functions leaves it, closed.
func usedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Put("things", "a", doc{Name: "a"}) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "code", strings.Repeat("ab", 32)), 0o750); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOpenRefusesLostStoreBesideCode is the data loss the store3 tester found:
// a data directory whose portico.db was moved aside (as the corrupt-store
// error advised) or emptied started with a new, empty store, whose code
// collection then deleted every artifact at once. Open refuses it, naming
// what the directory holds and the way out, and creates the store only with
// Config.New.
func TestOpenRefusesLostStoreBesideCode(t *testing.T) {
	for _, tc := range []struct {
		name, why string
		lose      func(t *testing.T, path string)
	}{
		{"moved aside", "there is none", func(t *testing.T, path string) {
			if err := os.Rename(path, path+".aside"); err != nil {
				t.Fatal(err)
			}
		}},
		{"emptied", "empty, 0 bytes", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := usedDir(t)
			path := filepath.Join(dir, fileName)
			tc.lose(t, path)
			_, err := Open(dir)
			if !errors.Is(err, ErrNoStore) {
				t.Fatalf("Open = %v, want ErrNoStore", err)
			}
			for _, want := range []string{"code/ (1 entries)", tc.why, "--new-store", path} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "code", strings.Repeat("ab", 32))); err != nil {
				t.Errorf("the artifact is gone: %v", err)
			}
			s, err := OpenConfig(Config{Dir: dir, New: true})
			if err != nil {
				t.Fatalf("OpenConfig with New = %v", err)
			}
			if err := s.View(context.Background(), func(tx *Tx) error {
				if tx.Has("things", "a") {
					t.Error("the new store holds the old record")
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			s = open(t, dir) // a store now: no New needed again
			_ = s.Close()
		})
	}
}

// TestOpenFollowsSymlink: a portico.db that is a symbolic link to the store
// on another volume opens through the link, and a new store made at an empty
// target stays behind the link; a link whose target is missing (the volume
// not mounted) is refused and left as it is, never replaced by a new file.
func TestOpenFollowsSymlink(t *testing.T) {
	vol := t.TempDir()
	dir := t.TempDir()
	target := filepath.Join(vol, "portico.db")
	link := filepath.Join(dir, fileName)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	// Missing target: refused, the link kept.
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Open through a dangling link = %v, want an error naming the link", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}
	// An empty target: the store is created there, behind the link.
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Put("things", "a", doc{Name: "a"}) }); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}
	if fi, err := os.Stat(target); err != nil || fi.Size() == 0 {
		t.Fatalf("the target holds no store: %v %v", fi, err)
	}
	s = open(t, dir)
	defer s.Close()
	if err := s.View(context.Background(), func(tx *Tx) error {
		if !tx.Has("things", "a") {
			t.Error("the record written through the link is gone")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
