package store

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

// syncBuffer is a bytes.Buffer safe for the log's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestWritesRefusedWhenDataDirRemoved is what the durable8 tester found: a
// data directory removed (or moved) under a running server went on
// acknowledging writes, to a file no longer at its path, and the next start
// had none of them. A write is refused with an ErrUnavailable *MovedError that
// names the path and says what to do; the watch logs one ERROR however many
// checks and writes find it; once the directory is back, writes are taken
// again (and kept: they are there after a reopen).
func TestWritesRefusedWhenDataDirRemoved(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	s, logs, clk := openWatched(t, dir)
	defer func() { _ = s.Close() }()
	ctx := context.Background()
	put := func(key string) error {
		return s.Update(ctx, func(tx *Tx) error { return tx.Put("b", key, doc{Name: key}) })
	}
	if err := put("before"); err != nil {
		t.Fatal(err)
	}

	for _, mv := range []struct {
		name string
		away func() error
		back func() error
	}{
		{"moved", func() error { return os.Rename(dir, dir+".moved") }, func() error { return os.Rename(dir+".moved", dir) }},
		{"replaced", func() error { // another file now at the path
			if err := os.Rename(filepath.Join(dir, fileName), filepath.Join(parent, "aside.db")); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, fileName), nil, 0o600)
		}, func() error { return os.Rename(filepath.Join(parent, "aside.db"), filepath.Join(dir, fileName)) }},
	} {
		if err := mv.away(); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			clk.Advance(PathCheck)
		}
		waitFor(t, func() bool { return strings.Contains(logs.String(), "level=ERROR") })
		for _, write := range []func() error{
			func() error { return put("after-" + mv.name) },
			func() error {
				return s.Batch(ctx, func(tx *Tx) error { return tx.Put("b", "batch-"+mv.name, doc{}) })
			},
		} {
			err := write()
			var me *MovedError
			if !errors.As(err, &me) || !errors.Is(err, errdefs.ErrUnavailable) || me.Path != filepath.Join(dir, fileName) ||
				!strings.Contains(me.ClientMessage(), "--data-dir") || !strings.Contains(me.ClientMessage(), me.Path) {
				t.Fatalf("%s: write = %v; want a MovedError naming %s and what to do", mv.name, err, filepath.Join(dir, fileName))
			}
		}
		if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
			t.Fatalf("%s: %d ERROR lines, want 1:\n%s", mv.name, n, logs.String())
		}
		if err := mv.back(); err != nil {
			t.Fatal(err)
		}
		if err := put("back-" + mv.name); err != nil {
			t.Fatalf("%s: write once the file is back = %v", mv.name, err)
		}
		logs.mu.Lock()
		logs.b.Reset()
		logs.mu.Unlock()
	}
	_ = s.Close()
	s = open(t, dir)
	err := s.View(ctx, func(tx *Tx) error {
		for _, k := range []string{"before", "back-moved", "back-replaced"} {
			if !tx.Has("b", k) {
				t.Errorf("%s lost at the reopen", k)
			}
		}
		for _, k := range []string{"after-moved", "batch-moved", "after-replaced", "batch-replaced"} {
			if tx.Has("b", k) {
				t.Errorf("%s was written though refused", k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWriteNotAcknowledgedWhenDataDirRemovedDuringIt: the path is checked
// before a write and after its commit too, so that a data directory removed
// while a write runs does not have that write acknowledged (it went to the
// file no longer at the path, and would be lost at the next start): Update
// and Batch return a *MovedError that says the change went to the moved file.
func TestWriteNotAcknowledgedWhenDataDirRemovedDuringIt(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	s, err := OpenConfig(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ctx := context.Background()
	for _, w := range []struct {
		name  string
		write func(func(*Tx) error) error
	}{
		{"Update", func(fn func(*Tx) error) error { return s.Update(ctx, fn) }},
		{"Batch", func(fn func(*Tx) error) error { return s.Batch(ctx, fn) }},
	} {
		moved := false
		err := w.write(func(tx *Tx) error {
			if !moved { // Batch may run fn again
				if err := os.Rename(dir, dir+".moved"); err != nil {
					return err
				}
				moved = true
			}
			return tx.Put("b", w.name, doc{Name: w.name})
		})
		var me *MovedError
		if !errors.As(err, &me) || !errors.Is(err, errdefs.ErrUnavailable) || !me.Written ||
			!strings.Contains(me.ClientMessage(), "moved file") {
			t.Fatalf("%s while the data directory was moved = %v; want a MovedError saying the change went to the moved file", w.name, err)
		}
		if err := os.Rename(dir+".moved", dir); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMkdirNeverMakesTheDataDirAgain is the lambda11 tester's: with the data
// directory moved under the running server, a directory made for a write
// (the functions' code) re-created the data directory at its old path, and
// the operator's move back landed inside it. Mkdir (and Path) refuse with
// the write's *MovedError and create nothing, whether the old path is gone
// or names another directory; put back, the directory is made.
func TestMkdirNeverMakesTheDataDirAgain(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	s, err := OpenConfig(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if err := os.Rename(dir, dir+".moved"); err != nil {
		t.Fatal(err)
	}
	refused := func(what string, err error) {
		t.Helper()
		var me *MovedError
		if !errors.As(err, &me) || !errors.Is(err, errdefs.ErrUnavailable) || me.Written {
			t.Errorf("%s with the data directory moved = %v; want the *MovedError of a refused write", what, err)
		}
	}
	_, err = s.Mkdir(0o755, "code")
	refused("Mkdir code", err)
	_, err = s.Path("volumes", "v", "x")
	refused("Path volumes/v/x", err)
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the old path after the refused Mkdir: %v; want it not to exist", err)
	}

	// Another directory at the old path, without the store's file: not
	// written into either.
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	_, err = s.Mkdir(0o755, "code")
	refused("Mkdir code in another directory", err)
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Fatalf("the other directory at the old path holds %v (%v); want nothing", ents, err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}

	if err := os.Rename(dir+".moved", dir); err != nil {
		t.Fatal(err)
	}
	got, err := s.Mkdir(0o755, "volumes", "v")
	if err != nil || got != filepath.Join(dir, "volumes", "v") {
		t.Fatalf("Mkdir volumes/v with the data directory back = %q, %v", got, err)
	}
	if fi, err := os.Stat(got); err != nil || !fi.IsDir() {
		t.Fatalf("volumes/v after Mkdir: %v", err)
	}
	if _, err := s.Mkdir(0o755, "volumes", "v"); err != nil {
		t.Errorf("Mkdir of an existing directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "afile"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mkdir(0o755, "afile"); !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("Mkdir over a file = %v; want ENOTDIR", err)
	}
}

// waitFor polls cond (the watch's timer runs in its own goroutine).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkCheckPath is what the check costs each write: one stat of the
// path (a write's own fsync costs milliseconds).
func BenchmarkCheckPath(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for b.Loop() {
		if err := s.checkPath(); err != nil {
			b.Fatal(err)
		}
	}
}
