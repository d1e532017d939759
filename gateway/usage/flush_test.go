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

// TestFlushWaitsForAFlushInFlight: a flush that finds nothing to write
// (get-usage's, say) while another flush has taken the counts and not yet
// committed them (the one-second write-through) waits for that commit:
// get-usage then reads the counts it just reported as used, where it read
// the store as it stood before them (the upgrade test's usage count came
// short under load).
func TestFlushWaitsForAFlushInFlight(t *testing.T) {
	st := gwtest.Store(t, t.TempDir())
	cs := NewCounts(st, nil)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 100, Period: "DAY"}
	if _, err := cs.Counter("p", "k").Take(now, q); err != nil {
		t.Fatal(err)
	}
	// The first flush is held inside its transaction, after it has taken
	// the counts, until released.
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	cs.update = func(ctx context.Context, fn func(*store.Tx) error) error {
		if calls.Add(1) > 1 {
			return st.Update(ctx, fn)
		}
		return st.Update(ctx, func(tx *store.Tx) error {
			err := fn(tx)
			close(entered)
			<-release
			return err
		})
	}
	first := make(chan error, 1)
	go func() { first <- cs.Flush(ctx) }()
	<-entered
	read := make(chan int64, 1)
	go func() {
		if err := cs.Flush(ctx); err != nil {
			t.Error(err)
		}
		days, err := cs.days(ctx, "p", "k")
		if err != nil {
			t.Error(err)
		}
		read <- days[dayOf(now)].Used
	}()
	select {
	case got := <-read:
		close(release)
		<-first
		t.Fatalf("a flush returned while another had taken the counts and not committed them: the store read %d used, want 1", got)
	case <-time.After(200 * time.Millisecond): // still waiting, as it should
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got := <-read; got != 1 {
		t.Errorf("the store read %d used after both flushes, want 1", got)
	}
}
