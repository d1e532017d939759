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

// TestGetUsageTodayIsOnePairUnderTraffic: get-usage read today's remaining
// from the counter, then flushed and read today's used from the store; a
// request counted in between was in used and not in remaining, so that the
// pair added up past the limit ([5, 6] of 10 after 5 requests).
func TestGetUsageTodayIsOnePairUnderTraffic(t *testing.T) {
	s, clk := newDay0Service(t)
	ctx := context.Background()
	k, _ := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	p, _ := s.CreatePlan(ctx, Plan{Name: "p", Quota: &Quota{Limit: 10, Period: PeriodDay}, APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	if _, err := s.AddPlanKey(ctx, p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	c := s.counters.Counter(p.ID, k.ID)
	take := func() {
		t.Helper()
		if ok, err := c.Take(clk.now(), p.Quota); !ok || err != nil {
			t.Fatalf("take: %v %v", ok, err)
		}
	}
	for range 4 {
		take()
	}
	// A request arrives while get-usage writes to (or reads) the store.
	real := s.counts.update
	s.counts.update = func(ctx context.Context, fn func(*store.Tx) error) error {
		take()
		return real(ctx, fn)
	}
	u, err := s.GetUsage(ctx, p.ID, k.ID, dayOf(day0), dayOf(day0))
	if err != nil {
		t.Fatal(err)
	}
	s.counts.update = real
	got := u.Items[k.ID][0]
	if got[0]+got[1] != 10 {
		t.Errorf("today %v: used + remaining is %d, want the limit 10", got, got[0]+got[1])
	}
	// Counts not flushed yet are reported, and the store gets them later.
	take()
	u, err = s.GetUsage(ctx, p.ID, k.ID, dayOf(day0), dayOf(day0))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.counts.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	days, _ := s.counts.days(ctx, p.ID, k.ID)
	n := days[dayOf(day0)].Used
	if got := u.Items[k.ID][0]; got[0]+got[1] != 10 || got[0] != n {
		t.Errorf("today %v, stored used %d after the flush; want the pair to add up to 10 and used to match", got, n)
	}
}
