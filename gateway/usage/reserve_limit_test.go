package usage

import (
	"context"
	"testing"
	"time"

	"github.com/portico-dev/portico/store"
)

// TestReservationNeverPastTheQuota is what the store3 tester found: after
// kill -9s, get-usage reported 251 used on a quota of 250 though fewer were
// admitted. The request that reached the limit reserved one more ahead of
// use (a reservation target of limit+1), and a crash then counted it. A
// reservation is never written past the quota, so the count after a crash
// is never more than the limit.
func TestReservationNeverPastTheQuota(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 5, Period: PeriodDay}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cs := NewCounts(st, nil)
	c := cs.Counter("p", "k")
	for range int(q.Limit) {
		if ok, err := c.Take(now, q); err != nil || !ok {
			t.Fatalf("Take = %v, %v", ok, err)
		}
	}
	cs.settle() // the reservations in flight land
	var rec countRecord
	if err := st.View(context.Background(), func(tx *store.Tx) error { return tx.Get(bucketCounts, "p/k", &rec) }); err != nil {
		t.Fatal(err)
	}
	if rec.Reserved > q.Limit {
		t.Errorf("reserved %d ahead of use on a quota of %d", rec.Reserved, q.Limit)
	}
	// kill -9: the count itself was never flushed.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	left, err := NewCounts(st, nil).Remaining("p", "k", q, now)
	if err != nil {
		t.Fatal(err)
	}
	if left < 0 {
		t.Errorf("after the crash %d are counted on a quota of %d", q.Limit-left, q.Limit)
	}
}

// TestStoredReservationPastTheQuotaIsClamped: a store an older build wrote
// may hold a reservation past the plan's quota (limit+1, before
// TestReservationNeverPastTheQuota's fix). Loaded after a crash, it is
// counted up to the quota, not past it: get-usage and the remaining quota
// were reported past the limit, and the day's usage counted requests never
// admitted.
func TestStoredReservationPastTheQuotaIsClamped(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 5, Period: PeriodDay}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	// As an older build left it at a crash: 3 written, 9 reserved.
	err = st.Update(context.Background(), func(tx *store.Tx) error {
		return tx.Put(bucketCounts, "p/k", countRecord{PeriodStart: q.PeriodStart(now), Used: 3, Reserved: 9, ReservedDay: dayOf(now)})
	})
	if err != nil {
		t.Fatal(err)
	}
	cs := NewCounts(st, nil)
	left, err := cs.Remaining("p", "k", q, now)
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("remaining %d after loading a reservation of 9 on a quota of 5, want 0", left)
	}
	if ok, err := cs.Counter("p", "k").Take(now, q); err != nil || ok {
		t.Errorf("Take = %v, %v; want refused (the quota is used up)", ok, err)
	}
	if err := cs.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rec countRecord
	var day DayUsage
	err = st.View(context.Background(), func(tx *store.Tx) error {
		if err := tx.Get(bucketCounts, "p/k", &rec); err != nil {
			return err
		}
		return tx.Get(bucketDays, "p/k/"+dayOf(now), &day)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Used != q.Limit || day.Used != q.Limit-3 || day.PeriodUsed != q.Limit {
		t.Errorf("stored count %+v, day %+v; want %d used, the day counting the %d reserved up to the quota", rec, day, q.Limit, q.Limit-3)
	}

	// A count already written past the quota (the limit lowered since) is
	// kept as it is: only what was reserved and never written is clamped.
	err = st.Update(context.Background(), func(tx *store.Tx) error {
		return tx.Put(bucketCounts, "p/k2", countRecord{PeriodStart: q.PeriodStart(now), Used: 7, Reserved: 9, ReservedDay: dayOf(now)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if left, err := cs.Remaining("p", "k2", q, now); err != nil || left != -2 {
		t.Errorf("remaining %d, %v with 7 written on a quota of 5, want -2", left, err)
	}
}

// TestCrashCountsAtMostAShareOfTheQuota is what the durable8 tester found: a
// kill -9 counted up to a second of the key's traffic (up to 4096 requests)
// that was reserved and never admitted, which for a small quota at a high rate
// was a large part of the day's quota. A reservation covers at most
// 1/quotaShare of the quota, so a crash counts at most that many requests
// nobody made.
func TestCrashCountsAtMostAShareOfTheQuota(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 1000, Period: PeriodDay}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cs := NewCounts(st, nil)
	c := cs.Counter("p", "k")
	const admitted = 300 // in one instant: a high rate
	for range admitted {
		if ok, err := c.Take(now, q); err != nil || !ok {
			t.Fatalf("Take = %v, %v", ok, err)
		}
	}
	cs.settle()
	// kill -9: the count itself was never flushed.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	left, err := NewCounts(st, nil).Remaining("p", "k", q, now)
	if err != nil {
		t.Fatal(err)
	}
	if counted, most := q.Limit-left, int64(admitted)+q.Limit/quotaShare; counted < admitted || counted > most {
		t.Errorf("after the crash %d are counted for %d admitted; want %d..%d (a crash counts at most 1/%d of the quota never admitted)",
			counted, admitted, admitted, most, quotaShare)
	}
}
