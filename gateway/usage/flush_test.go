package usage

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/store"
)

// TestConcurrentFlushesNeverStoreAnOlderCount: two flushes at once (the
// one-second write-through and a get-usage, say), the older one's transaction
// committing after the newer one's. The older wrote back its older count over
// the newer one, and, the newer having cleared the counter's changes, nothing
// wrote the newer count again: a kill -9 then lost counts get-usage had
// reported, and the restart gave the key back quota it had used.
func TestConcurrentFlushesNeverStoreAnOlderCount(t *testing.T) {
	st := gwtest.Store(t, t.TempDir())
	cs := NewCounts(st, nil)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 100, Period: "DAY"}
	take := func(n int) {
		t.Helper()
		for range n {
			if _, err := cs.Counter("p", "k").Take(now, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	take(1)
	// The first flush is held on its way to the store, until the second has
	// committed.
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	cs.update = func(ctx context.Context, fn func(*store.Tx) error) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		return st.Update(ctx, fn)
	}
	first := make(chan error, 1)
	go func() { first <- cs.Flush(ctx) }()
	<-entered
	take(2)
	if err := cs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	var rec countRecord
	if err := st.View(ctx, func(tx *store.Tx) error { return tx.Get(bucketCounts, "p/k", &rec) }); err != nil {
		t.Fatal(err)
	}
	if rec.Used != 3 {
		t.Errorf("stored count %d after 3 requests were counted and flushed, want 3", rec.Used)
	}
	days, err := cs.days(ctx, "p", "k")
	if err != nil {
		t.Fatal(err)
	}
	if d := days[dayOf(now)]; d.Used != 3 || d.PeriodUsed != 3 || !d.PeriodStart.Equal(q.PeriodStart(now)) {
		t.Errorf("stored day %+v, want used 3 and the day's period at 3", d)
	}
}
