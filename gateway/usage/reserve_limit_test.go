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
