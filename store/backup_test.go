package store

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

// TestBackupWhileWriting: a backup taken while another goroutine commits is
// a store that opens, holding one transaction's view (every record a
// committed counter names, and none past it), with the listed directories'
// files beside it and their temporaries left out.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir)
	defer s.Close()
	put := func(i int) error {
		return s.Update(ctx, func(tx *Tx) error {
			if err := tx.Put("things", strconv.Itoa(i), doc{Name: "thing", N: i}); err != nil {
				return err
			}
			return tx.Put("meta-test", "last", i)
		})
	}
	for i := range 50 {
		if err := put(i); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"code/ab.zip": "zip", "code/ab/bootstrap": "#!/bin/sh", "code/.zip-123": "half an upload", "volumes/v/f": "not asked for"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		for i := 50; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := put(i); err != nil {
				writeErr = err
				return
			}
		}
	})
	var buf bytes.Buffer
	err := s.Backup(ctx, &buf, "code", "nosuchdir")
	close(stop)
	wg.Wait()
	if err != nil || writeErr != nil {
		t.Fatalf("backup: %v; writes: %v", err, writeErr)
	}

	restored := t.TempDir()
	names := untarInto(t, &buf, restored)
	want := []string{FileName, "code/", "code/ab.zip", "code/ab/", "code/ab/bootstrap"} // files before subdirectories
	if len(names) != len(want) {
		t.Fatalf("backup holds %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("backup holds %q, want %q", names, want)
		}
	}
	r, err := Open(restored)
	if err != nil {
		t.Fatalf("the restored store: %v", err)
	}
	defer r.Close()
	var last int
	n := 0
	err = r.View(ctx, func(tx *Tx) error {
		if err := tx.Get("meta-test", "last", &last); err != nil {
			return err
		}
		return tx.ForEach("things", "", func(string, []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	if last < 49 || n != last+1 {
		t.Errorf("the restored store holds %d records and says the last is %d: not one transaction's view", n, last)
	}
	if b, err := os.ReadFile(filepath.Join(restored, "code", "ab", "bootstrap")); err != nil || string(b) != "#!/bin/sh" {
		t.Errorf("restored code/ab/bootstrap: %q %v", b, err)
	}
}

// TestBackupCancelled: a cancelled context stops a backup with its error.
func TestBackupCancelled(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Backup(ctx, io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("backup with a cancelled context: %v", err)
	}
}

// untarInto unpacks a backup into dir and returns the names it held, in order.
func untarInto(t *testing.T, r io.Reader, dir string) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		p := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o750)
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(p, b, 0o600)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestBackupFilesBeforeSubdirectories: in the copy, a directory's files come
// before its subdirectories, so code/HASH.zip precedes code/HASH/ and an
// archive cut short inside the tree still holds the Zip the server unpacks the
// tree again from (ops23: the tree came first, and a cut inside it left an
// empty tree and no Zip).
func TestBackupFilesBeforeSubdirectories(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	for _, p := range []string{"code/aaa/sub", "code/.unpack-x"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"code/aaa/bootstrap", "code/aaa/sub/lib", "code/aaa.zip", "code/bbb.zip", "code/.unpack-x/f"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := s.Backup(context.Background(), &buf, "code"); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	want := []string{fileName, "code/", "code/aaa.zip", "code/bbb.zip", "code/aaa/", "code/aaa/bootstrap", "code/aaa/sub/", "code/aaa/sub/lib"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("backup order:\n got %v\nwant %v", names, want)
	}
}

// TestBackupWithoutRoomToSpoolHoldsNoWrite: where the data directory has no
// room for the backup's copy of the store, the backup is written from its read
// transaction (and a WARN says so), and a client that stops reading it still
// holds up no write below the store's mapping (DefaultMmapSize) and no read:
// without the mapping, a write that grew the file past bbolt's own (the
// file's size rounded up to a power of two) waited for the backup to end,
// and every transaction after it too.
func TestBackupWithoutRoomToSpoolHoldsNoWrite(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir)
	defer s.Close()
	var logged syncBuffer
	s.log.Store(slog.New(slog.NewTextHandler(&logged, nil)))
	s.spoolFree = func() (int64, bool) { return 0, true }
	size := func() int64 {
		var n int64
		_ = s.db.View(func(tx *bbolt.Tx) error { n = tx.Size(); return nil })
		return n
	}
	put := func(key string, n int) error {
		return s.Update(ctx, func(tx *Tx) error { return tx.Put("things", key, strings.Repeat("x", n)) })
	}
	for i := range 4 {
		if err := put("before-"+strconv.Itoa(i), 256<<10); err != nil {
			t.Fatal(err)
		}
	}
	// bbolt's own mapping would be what the pages take, and a page more,
	// rounded up to a power of two.
	past := 2*size() + 1<<20

	pr, pw := io.Pipe()
	backup := make(chan error, 1)
	go func() {
		err := s.Backup(ctx, pw)
		_ = pw.CloseWithError(err)
		backup <- err
	}()
	head := make([]byte, 512) // portico.db's tar header: the transaction is open
	if _, err := io.ReadFull(pr, head); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			for i := 0; size() <= past; i++ {
				if err := put("during-"+strconv.Itoa(i), 4<<20); err != nil {
					return err
				}
			}
			return s.View(ctx, func(tx *Tx) error { return tx.Get("things", "before-0", new(string)) })
		}()
	}()
	var doneErr error
	hung := false
	select {
	case doneErr = <-done:
	case <-time.After(2 * time.Minute): // against a hang only
		t.Error("writes that grow the store and a read still wait after 2 minutes while the backup's reader reads nothing")
		hung = true
	}
	restored := t.TempDir()
	names := untarInto(t, io.MultiReader(bytes.NewReader(head), pr), restored)
	if err := <-backup; err != nil {
		t.Fatal(err)
	}
	if hung {
		doneErr = <-done // the writes went on once the backup ended
	}
	if doneErr != nil {
		t.Fatal(doneErr)
	}
	if len(names) != 1 || names[0] != fileName {
		t.Fatalf("backup holds %q", names)
	}
	r, err := Open(restored)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	if err := r.View(ctx, func(tx *Tx) error {
		return tx.ForEach("things", "", func(k string, _ []byte) error {
			if !strings.HasPrefix(k, "before-") {
				t.Errorf("restored store holds %s, written after the backup began", k)
			}
			n++
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("restored store holds %d records, want 4", n)
	}
	if !strings.Contains(logged.String(), "backup written from its read transaction, not from a copy") {
		t.Errorf("no WARN about the backup without a copy; logged:\n%s", logged.String())
	}
}
