package store

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
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
