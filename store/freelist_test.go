package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// written returns the bytes this process has passed to write calls so far
// (/proc/self/io's wchar, which counts writes to any file system, tmpfs too).
func written(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io to count written bytes: %v", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "wchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("/proc/self/io has no wchar")
	return 0
}

// grownAndDrained returns a store in dir whose file grew to about mb MiB of
// records that were then deleted, as an Event backlog that drained leaves it.
func grownAndDrained(t *testing.T, dir string, mb int) *Store {
	t.Helper()
	s := open(t, dir)
	big := strings.Repeat("p", 1<<20)
	for i := range mb {
		if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Put("q", fmt.Sprint(i), doc{Name: big}) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.DeletePrefix("q", "") }); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSmallWriteAfterDrainWritesLittle is faults25 #1: a store whose file
// grew to its high-water mark and was emptied again wrote bbolt's whole
// freelist (8 bytes a free page) and synced it on every commit, so one small
// write cost 1.2 MB on a 380 MB file. The freelist is not written now: a small
// commit writes its few pages whatever the file's size.
func TestSmallWriteAfterDrainWritesLittle(t *testing.T) {
	s := grownAndDrained(t, t.TempDir(), 48) // ~12,000 free pages: a 96 KiB freelist
	defer func() { _ = s.Close() }()
	put := func(i int) error {
		return s.Update(context.Background(), func(tx *Tx) error { return tx.Put("b", fmt.Sprint(i), doc{Name: "small"}) })
	}
	if err := put(0); err != nil { // the first commit after the drain frees its pages
		t.Fatal(err)
	}
	const n = 10
	before := written(t)
	for i := range n {
		if err := put(i + 1); err != nil {
			t.Fatal(err)
		}
	}
	per := (written(t) - before) / n
	if per > 48<<10 {
		t.Fatalf("a small commit on a drained 48 MiB store wrote %d bytes; want a few pages (under 48 KiB), not the freelist", per)
	}
	t.Logf("a small commit wrote %d bytes", per)
}

// TestFreePagesReusedAfterReopen: the freelist, no longer in the file, is
// rebuilt at open from the pages the committed meta page reaches, so the
// pages a drained backlog freed are reused after a restart (as after a crash)
// and the file does not grow for records that fit in them.
func TestFreePagesReusedAfterReopen(t *testing.T) {
	dir := t.TempDir()
	_ = grownAndDrained(t, dir, 16).Close()
	path := filepath.Join(dir, fileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, dir)
	defer func() { _ = s.Close() }()
	big := strings.Repeat("p", 1<<20)
	for i := range 8 {
		if err := s.Update(context.Background(), func(tx *Tx) error { return tx.Put("q", fmt.Sprint(i), doc{Name: big}) }); err != nil {
			t.Fatal(err)
		}
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if after.Size() > fi.Size() {
		t.Fatalf("8 MiB written into a store with 16 MiB free grew its file from %d to %d bytes", fi.Size(), after.Size())
	}
	if err := check(s.db); err != nil {
		t.Fatal(err)
	}
}
