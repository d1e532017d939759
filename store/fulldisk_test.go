package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/internal/tmpfstest"
)

// TestReopenWritesNothing is half of what the durable8 tester found: every
// start ran a write transaction to put the schema version, current or not, so
// a restart on a full disk could fail with a bare "write .../portico.db: no
// space left on device". Opening a store at the current version leaves
// portico.db byte for byte as it was.
func TestReopenWritesNothing(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Put("b", "k", doc{Name: "x"}) }); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	path := filepath.Join(dir, fileName)
	before, err := os.ReadFile(path) //nolint:gosec // G304: the test's own file
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_ = open(t, dir).Close()
	}
	after, err := os.ReadFile(path) //nolint:gosec // G304: the test's own file
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		m0, _ := readMeta(bytes.NewReader(before), 0)
		m1, _ := readMeta(bytes.NewReader(after), 0)
		t.Fatalf("opening a current store changed portico.db (meta page 0 txid %d -> %d)", m0.txid, m1.txid)
	}
}

// TestStartOnFullDisk is the other half: on a full disk a store at the
// current version opens, and one that needs a migration (which must write) is
// refused with an error that says it is the store's, which step could not
// write, and what to do; once there is space it migrates.
func TestStartOnFullDisk(t *testing.T) {
	disk := tmpfstest.Mount(t, "8m")
	current, old := filepath.Join(disk, "current"), filepath.Join(disk, "old")
	for _, dir := range []string{current, old} {
		s := open(t, dir)
		if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Put("b", "k", doc{Name: "x"}) }); err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
	}
	writeSchema(t, old, strconv.Itoa(SchemaVersion-1))
	// A migration that writes more than a full disk has room for.
	grow := Migration{From: SchemaVersion - 1, Name: "grow", Run: func(tx *Tx) error {
		return tx.Put("b", "big", doc{Name: strings.Repeat("x", 1<<20)})
	}}
	filler := filepath.Join(disk, "filler")
	tmpfstest.Fill(t, filler)

	s, err := Open(current, grow)
	if err != nil {
		t.Fatalf("a current store on a full disk: %v", err)
	}
	_ = s.Close()

	_, err = Open(old, grow)
	if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.HasPrefix(err.Error(), "store: "+filepath.Join(old, fileName)) ||
		!strings.Contains(err.Error(), "migrating it from schema version") || !strings.Contains(err.Error(), "free space on its file system") {
		t.Fatalf("a store to migrate on a full disk: %v; want the store's error naming the step and what to do", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s, err = Open(old, grow)
	if err != nil {
		t.Fatalf("once there is space: %v", err)
	}
	_ = s.Close()
}
