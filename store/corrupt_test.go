package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// filled returns a data directory whose store holds enough to span more than
// a MiB of pages, as a store in use does, closed.
func filled(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s := open(t, dir)
	for b := range 3 {
		if err := s.Update(context.Background(), func(tx *Tx) error {
			for i := range 2000 {
				if err := tx.Put(fmt.Sprintf("bucket%d", b), fmt.Sprintf("key%05d", i), doc{Name: strings.Repeat("v", 200), N: i}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// overwrite writes n seeded random bytes at off of dir's store.
func overwrite(t *testing.T, dir string, off int64, n int, seed uint64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, fileName), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesACorruptStore: a store whose pages were overwritten (not cut
// short) is refused at Open with an error that says it is corrupt and what
// to do, never a panic inside bbolt at the first read (the code GC's ForEach
// at start, an admin list); so is a file that is no bbolt database at all.
func TestOpenRefusesACorruptStore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, dir string)
	}{
		{"pages after the metas", func(t *testing.T, dir string) { overwrite(t, dir, 8192+16, 3000, 1) }},
		{"pages a MiB in", func(t *testing.T, dir string) { overwrite(t, dir, 1<<20+16, 3000, 2) }},
		{"pages a MiB in, another seed", func(t *testing.T, dir string) { overwrite(t, dir, 1<<20+16, 3000, 3) }},
		{"all zero", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, fileName), make([]byte, 64<<10), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"random", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, fileName), make([]byte, 64<<10), 0o600); err != nil {
				t.Fatal(err)
			}
			overwrite(t, dir, 0, 64<<10, 4)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filled(t)
			tc.spoil(t, dir)
			s, err := Open(dir)
			if err == nil {
				// What Open let through must not panic when read.
				defer func() { _ = s.Close() }()
				for b := range 3 {
					err = s.View(context.Background(), func(tx *Tx) error {
						return tx.ForEach(fmt.Sprintf("bucket%d", b), "", func(string, []byte) error { return nil })
					})
				}
				t.Fatalf("Open of a corrupt store succeeded (a read then: %v)", err)
			}
			for _, want := range []string{filepath.Join(dir, fileName), "corrupt", "backup", "docs/operations.md#backups"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open: %v; want it to say %q", err, want)
				}
			}
		})
	}
}

// TestDamageAfterOpenIsAnError: a page damaged after Open checked the file
// (the disk, or another process, writing into it) makes the reads that meet
// it fail with ErrCorrupt, not panic the server.
func TestDamageAfterOpenIsAnError(t *testing.T) {
	dir := filled(t)
	s := open(t, dir)
	defer func() { _ = s.Close() }()
	overwrite(t, dir, 8192+16, 3000, 1)
	var err error
	for b := range 3 {
		if err = s.View(context.Background(), func(tx *Tx) error {
			return tx.ForEach(fmt.Sprintf("bucket%d", b), "", func(string, []byte) error { return nil })
		}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "backup") {
		t.Fatalf("reading a damaged store: %v; want ErrCorrupt saying to restore a backup", err)
	}
}
