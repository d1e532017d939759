package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestTxWritten: a transaction records the key of every record it puts or
// deletes (one by one or by prefix) in the buckets Track names, from Track
// on, and Written returns them after the commit; other buckets and reads are
// not recorded. A Batch that runs its fn again starts over.
func TestTxWritten(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	if err := s.Update(ctx, func(tx *Tx) error {
		for _, k := range []string{"a", "p/1", "p/2", "q"} {
			if err := tx.Put("one", k, doc{Name: k}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wrote *Tx
	if err := s.Update(ctx, func(tx *Tx) error {
		if err := tx.Put("one", "before-track", doc{}); err != nil {
			return err
		}
		tx.Track("one", "empty")
		wrote = tx
		var d doc
		if err := tx.Get("one", "q", &d); err != nil {
			return err
		}
		for _, step := range []func() error{
			func() error { return tx.Put("one", "new", doc{}) },
			func() error { return tx.Put("one", "a", doc{N: 1}) },
			func() error { return tx.Delete("one", "gone") }, // not there: still a write of it
			func() error { return tx.DeletePrefix("one", "p/") },
			func() error { return tx.Put("other", "x", doc{}) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := wrote.Written("one"), []string{"a", "gone", "new", "p/1", "p/2"}; !slices.Equal(got, want) {
		t.Fatalf("Written(one) = %q, want %q", got, want)
	}
	if got := wrote.Written("empty"); len(got) != 0 {
		t.Fatalf("Written(empty) = %q", got)
	}
	if got := wrote.Written("other"); got != nil {
		t.Fatalf("Written(other), a bucket not tracked = %q", got)
	}

	// A Batch whose fn fails is run again alone (bbolt's Batch): Written
	// is what the run that committed wrote.
	runs := 0
	if err := s.Batch(ctx, func(tx *Tx) error {
		tx.Track("one")
		wrote = tx
		runs++
		if runs == 1 {
			if err := tx.Put("one", "first-run", doc{}); err != nil {
				return err
			}
			return errors.New("boom")
		}
		return tx.Put("one", "second-run", doc{})
	}); err != nil || runs != 2 {
		t.Fatalf("Batch: %v after %d runs, want a second run", err, runs)
	}
	if got, want := wrote.Written("one"), []string{"second-run"}; !slices.Equal(got, want) {
		t.Fatalf("after a rerun Written(one) = %q, want %q", got, want)
	}
}
