package usage

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/store"
)

// storedCounts returns the count records stored under plan id.
func storedCounts(t *testing.T, s *Service, planID string) []string {
	t.Helper()
	var keys []string
	err := s.st.View(context.Background(), func(tx *store.Tx) error {
		return tx.ForEach(bucketCounts, planID+"/", func(k string, _ []byte) error {
			keys = append(keys, k)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestDeletePlanLeavesNoCountBehind: a usage count reservation written while
// the plan is deleted, landing after the delete, wrote the count record
// again: an orphan no plan owns, which a plan listing never shows and nothing
// deletes. The reservation and the delete now agree in the store: whichever
// commits second, no count record of the deleted plan remains, and a flush
// that took the counter's changes before the delete forgot it does not
// write it back either.
func TestDeletePlanLeavesNoCountBehind(t *testing.T) {
	ctx := context.Background()
	q := &Quota{Limit: 1000, Period: "DAY"}

	t.Run("a reservation landing after the delete", func(t *testing.T) {
		s, _ := newDay0Service(t)
		p, err := s.CreatePlan(ctx, Plan{Name: "p", Quota: q})
		if err != nil {
			t.Fatal(err)
		}
		cs := s.counts
		// The first request's reservation is held on its way to the store
		// until the plan is deleted.
		entered, release := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		cs.batch = func(ctx context.Context, fn func(*store.Tx) error) error {
			if calls.Add(1) == 1 {
				close(entered)
				<-release
			}
			return s.st.Batch(ctx, fn)
		}
		took := make(chan error, 1)
		go func() {
			_, err := cs.Counter(p.ID, "k").Take(day0, q)
			took <- err
		}()
		<-entered
		if err := s.DeletePlan(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		close(release)
		if err := <-took; err != nil {
			t.Fatal(err)
		}
		cs.settle()
		if err := cs.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := storedCounts(t, s, p.ID); len(got) != 0 {
			t.Errorf("count records of the deleted plan: %q, want none", got)
		}
	})

	t.Run("a flush that took the count before the delete forgot it", func(t *testing.T) {
		s, _ := newDay0Service(t)
		p, err := s.CreatePlan(ctx, Plan{Name: "p", Quota: q})
		if err != nil {
			t.Fatal(err)
		}
		cs := s.counts
		if _, err := cs.Counter(p.ID, "k").Take(day0, q); err != nil {
			t.Fatal(err)
		}
		cs.settle()
		// The delete's transaction commits; before it forgets the plan's
		// counters, a flush takes their changes and writes them.
		s.afterDelete = func() {
			if err := cs.Flush(ctx); err != nil {
				t.Error(err)
			}
		}
		if err := s.DeletePlan(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if got := storedCounts(t, s, p.ID); len(got) != 0 {
			t.Errorf("count records of the deleted plan: %q, want none", got)
		}
		var days []string
		_ = s.st.View(ctx, func(tx *store.Tx) error {
			return tx.ForEach(bucketDays, p.ID+"/", func(k string, _ []byte) error { days = append(days, k); return nil })
		})
		if len(days) != 0 {
			t.Errorf("usage days of the deleted plan: %q, want none", days)
		}
	})
}
