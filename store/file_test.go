package store

import (
	"context"
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
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir)
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
			if e.Name() != fileName {
				t.Errorf("empty=%v: %s left in the data directory", empty, e.Name())
			}
		}
	}
}
