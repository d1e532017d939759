package usage

import (
	"context"
	"testing"
	"time"

	"github.com/portico-dev/portico/store"
)

// TestCrashNeverForgetsAnAdmittedRequest: counts reached the store only at
// the one-second flush, so a crash (the store closed with no graceful flush,
// as kill -9 leaves it) forgot the requests admitted since, and each restart
// let a quota admit them again. Now a reservation ahead of use is durable
// before a request is admitted: across crashes the quota admits at most its
// limit, and get-usage counts at least what was admitted.
func TestCrashNeverForgetsAnAdmittedRequest(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 50, Period: PeriodDay}
	admitted := int64(0)
	open := func() (*store.Store, *Counts) {
		t.Helper()
		st, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st, NewCounts(st, nil)
	}
	for range 12 {
		st, cs := open()
		c := cs.Counter("p", "k")
		for range 8 {
			ok, err := c.Take(now, q)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				admitted++
			}
		}
		// kill -9: whatever was not written stays unwritten.
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if admitted > q.Limit {
		t.Errorf("a quota of %d admitted %d requests across 12 crashes", q.Limit, admitted)
	}
	st, cs := open()
	defer func() { _ = st.Close() }()
	left, err := cs.Remaining("p", "k", q, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	days, err := cs.days(ctx, "p", "k")
	if err != nil {
		t.Fatal(err)
	}
	if d := days[dayOf(now)]; d.Used < admitted || q.Limit-left < admitted {
		t.Errorf("after the crashes the day counts %d used and the quota %d (%d left); %d were admitted", d.Used, q.Limit-left, left, admitted)
	}
	t.Logf("admitted %d of %d across the crashes; counted %d", admitted, q.Limit, q.Limit-left)
}

// TestGracefulStopCountsExactly: a graceful stop stores the count itself, not
// the reservation ahead of it, so a restart after one gives back the quota
// reserved but unused.
func TestGracefulStopCountsExactly(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 1000, Period: PeriodDay}
	for round := 1; round <= 3; round++ {
		st, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		cs := NewCounts(st, nil)
		for range 10 {
			if ok, err := cs.Counter("p", "k").Take(now, q); err != nil || !ok {
				t.Fatalf("take: %v %v", ok, err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		cs.Run(ctx, time.Hour) // stops at once, with the final flush
		if left, err := cs.Remaining("p", "k", q, now); err != nil || left != q.Limit-int64(10*round) {
			t.Fatalf("round %d: %d left (%v), want %d", round, left, err, q.Limit-int64(10*round))
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
