package store

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
)

// TestBatchConcurrentWritesPersist: concurrent Batch writes each return once
// committed, are all there after a reopen, and one that fails leaves nothing
// behind and fails alone.
func TestBatchConcurrentWritesPersist(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := open(t, dir)
	gen := s.Watch("events")
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for k := range errs {
		wg.Go(func() {
			errs[k] = s.Batch(ctx, func(tx *Tx) error {
				if err := tx.Put("events", strconv.Itoa(k), doc{Name: "e", N: k}); err != nil {
					return err
				}
				if k == 7 {
					return boom
				}
				return nil
			})
		})
	}
	wg.Wait()
	for k, err := range errs {
		if (k == 7) != errors.Is(err, boom) || (k != 7 && err != nil) {
			t.Fatalf("write %d: %v", k, err)
		}
	}
	if gen.Load() == 0 {
		t.Fatal("the batched writes did not move the bucket's generation")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	if err := s.View(ctx, func(tx *Tx) error {
		for k := range errs {
			if has := tx.Has("events", strconv.Itoa(k)); has == (k == 7) {
				t.Errorf("event %d present %v after reopen", k, has)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
