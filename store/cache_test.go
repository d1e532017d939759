package store

import (
	"context"
	"errors"
	"testing"
)

func TestCacheDropsOnCommittedWrite(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ctx := context.Background()
	c := NewCache[string, string](s, "watched")
	put := func(bucket, v string) error {
		return s.Update(ctx, func(tx *Tx) error { return tx.Put(bucket, "k", v) })
	}
	loads := 0
	get := func() string {
		t.Helper()
		v, err := c.Get("k", func() (string, error) {
			loads++
			var v string
			err := s.View(ctx, func(tx *Tx) error { return tx.Get("watched", "k", &v) })
			return v, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := put("watched", "a"); err != nil {
		t.Fatal(err)
	}
	first, second := get(), get()
	if first != "a" || second != "a" || loads != 1 {
		t.Fatalf("two gets loaded %d times, want 1", loads)
	}
	if err := put("other", "x"); err != nil {
		t.Fatal(err)
	}
	if get(); loads != 1 {
		t.Errorf("a write to another bucket emptied the view")
	}
	errBoom := errors.New("boom")
	if err := s.Update(ctx, func(tx *Tx) error {
		_ = tx.Put("watched", "k", "rolled back")
		return errBoom
	}); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	if v := get(); v != "a" {
		t.Errorf("after a rolled-back write: %q", v)
	}
	if err := put("watched", "b"); err != nil {
		t.Fatal(err)
	}
	if v := get(); v != "b" {
		t.Errorf("right after writing b: %q", v)
	}
	if err := s.Update(ctx, func(tx *Tx) error { return tx.Delete("watched", "k") }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("k", func() (string, error) {
		var v string
		err := s.View(ctx, func(tx *Tx) error { return tx.Get("watched", "k", &v) })
		return v, err
	}); err == nil {
		t.Errorf("right after deleting k: no error")
	}
}
