package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// TestDeleteOnFullDisk is faults25 #2: once creates had filled the disk,
// a delete could answer the same "no space left on device" as a create (bbolt
// copies every page it changes, and found too few free ones), so nothing
// could make room through Portico. The store keeps a 1 MiB reserve file that
// the first write to meet the full disk releases: from then on writes that
// add are refused and deletes are taken, a delete that rewrites 50 scattered
// leaves too, until deletes have freed room inside the file.
func TestDeleteOnFullDisk(t *testing.T) {
	disk := tmpfstest.Mount(t, "4m")
	dir := filepath.Join(disk, "data")
	s := open(t, dir)
	defer func() { _ = s.Close() }()
	if fi, err := os.Stat(filepath.Join(dir, reserveName)); err != nil || fi.Size() != reserveSize {
		t.Fatalf("the reserve: %v, %v", fi, err)
	}
	ctx := context.Background()
	pad := strings.Repeat("d", 1000)
	put := func(key string) error {
		return s.Update(ctx, func(tx *Tx) error { return tx.Put("keys", key, doc{Name: pad}) })
	}
	n := 0
	for ; ; n++ {
		err := put(fmt.Sprintf("%06d", n))
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > 100000 {
			t.Fatal("the tmpfs never filled")
		}
	}
	if n < 1000 {
		t.Fatalf("only %d records fit", n)
	}
	if err := put("more"); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a create on the full disk: %v, want ENOSPC", err)
	}
	// The serving path's bookkeeping (usage counts) is taken all the same.
	if err := s.Update(Essential(ctx), func(tx *Tx) error { return tx.Put("counts", "k", doc{N: 1}) }); err != nil {
		t.Fatalf("an Essential write on the full disk: %v", err)
	}
	// One leaf in every n/50: a transaction that copies 50 leaves.
	err := s.Update(ctx, func(tx *Tx) error {
		for i := range 50 {
			if err := tx.Delete("keys", fmt.Sprintf("%06d", i*(n/50))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("deleting 50 of the %d records on the full disk: %v", n, err)
	}
	for i := range 5 {
		key := fmt.Sprintf("%06d", i*(n/5)+1)
		if err := s.Update(ctx, func(tx *Tx) error { return tx.Delete("keys", key) }); err != nil {
			t.Fatalf("delete %d of 5 on the full disk: %v", i+1, err)
		}
	}
	// Deleting most of the records frees room inside the file: creates are
	// taken again.
	for p := range n / 1000 {
		prefix := fmt.Sprintf("%03d", p)
		if err := s.Update(ctx, func(tx *Tx) error { return tx.DeletePrefix("keys", prefix) }); err != nil {
			t.Fatalf("deleting the records %s...: %v", prefix, err)
		}
	}
	if err := put("after"); err != nil {
		t.Fatalf("a create once deletes made room: %v", err)
	}
}

// TestStartWithoutRoomForReserve is ops26 #3: a start with less than the
// reserve's 1 MiB free made no reserve and said nothing, and the creates it
// then refused quoted a "write .../portico.db: no space left on device" that
// never happened and a reserve "released" that never existed. The start now
// logs a WARN saying what that means, and the refusal says the disk is nearly
// full (still an ENOSPC, answered as a full disk).
func TestStartWithoutRoomForReserve(t *testing.T) {
	disk := tmpfstest.Mount(t, "4m")
	dir := filepath.Join(disk, "data")
	ctx := context.Background()
	put := func(s *Store, key string) error {
		return s.Update(ctx, func(tx *Tx) error { return tx.Put("keys", key, doc{Name: "x"}) })
	}
	s := open(t, dir)
	if err := put(s, "a"); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	// As after a release and a kill -9: no reserve, and the disk full.
	if err := os.Remove(filepath.Join(dir, reserveName)); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(disk, "filler")
	tmpfstest.Fill(t, filler)

	s = open(t, dir)
	defer func() { _ = s.Close() }()
	var logs bytes.Buffer
	s.logNoReserve(slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "too little room for the store's reserve") ||
		!strings.Contains(logs.String(), "2 MiB free") {
		t.Fatalf("the start's log: %q; want a WARN that no reserve could be made and what that means", logs.String())
	}
	if !s.Full() {
		t.Fatal("Full() is false on a start with no room for the reserve")
	}
	err := put(s, "b")
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrNearlyFull) {
		t.Fatalf("a create: %v; want an ENOSPC that is an ErrNearlyFull", err)
	}
	if msg := err.Error(); strings.Contains(msg, "write ") || strings.Contains(msg, "released") || !strings.Contains(msg, "nearly full") {
		t.Fatalf("a create's refusal: %q; want it to say the disk is nearly full, not quote a write or a release that did not happen", msg)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := put(s, "c"); err != nil {
		t.Fatalf("a create once there is room: %v", err)
	}
	if s.Full() {
		t.Fatal("Full() is still true once the reserve is back")
	}
	// A start with room logs nothing.
	logs.Reset()
	s.logNoReserve(slog.New(slog.NewTextHandler(&logs, nil)))
	if logs.Len() != 0 {
		t.Fatalf("logged with a reserve: %q", logs.String())
	}
}

// TestStartWithoutReserveSaysWhatItTakes is faults29 #1: the WARN of a start
// with no room for the reserve said that creates were refused until the disk
// had 2 MiB free, while a store whose file has room inside it (freed by
// earlier deletes) takes them until less than the reserve's 1 MiB is left
// there, which stays for deletes (roomFor). The WARN now says so, with the
// room inside the file.
func TestStartWithoutReserveSaysWhatItTakes(t *testing.T) {
	disk := tmpfstest.Mount(t, "16m")
	dir := filepath.Join(disk, "data")
	ctx := context.Background()
	put := func(s *Store, key string) error {
		return s.Update(ctx, func(tx *Tx) error { return tx.Put("keys", key, doc{Name: strings.Repeat("x", 1000)}) })
	}
	s := open(t, dir)
	for i := range 3000 {
		if err := put(s, fmt.Sprintf("old%05d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Deleted: about 3 MiB free inside portico.db.
	if err := s.Update(ctx, func(tx *Tx) error { return tx.DeletePrefix("keys", "old") }); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if err := os.Remove(filepath.Join(dir, reserveName)); err != nil {
		t.Fatal(err)
	}
	tmpfstest.Fill(t, filepath.Join(disk, "filler"))

	s = open(t, dir)
	defer func() { _ = s.Close() }()
	var logs bytes.Buffer
	s.logNoReserve(slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "taken only while portico.db has at least 1 MiB free inside it") ||
		!strings.Contains(logs.String(), "freeInFileKiB=") {
		t.Fatalf("the start's log: %q; want a WARN that says creates are taken while the file has room inside it, and how much", logs.String())
	}
	created := 0
	for ; created < 10000; created++ {
		err := put(s, fmt.Sprintf("new%05d", created))
		if errors.Is(err, ErrNearlyFull) {
			break
		}
		if err != nil {
			t.Fatalf("create %d: %v", created, err)
		}
	}
	if created == 0 || created == 10000 {
		t.Fatalf("%d creates taken; want some (the room inside the file), then a refusal", created)
	}
	if free := s.freeInFile(); free < reserveSize/2 {
		t.Fatalf("%d bytes free inside the file once creates are refused; want about the reserve's %d kept for deletes", free, reserveSize)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Delete("keys", "new00000") }); err != nil {
		t.Fatalf("a delete once creates are refused: %v", err)
	}
}
