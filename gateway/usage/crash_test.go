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

// TestCrashAfterIdleCountsOnlyWhatWasAdmitted: a key's reservation ahead of
// its count stayed in the store for the whole period, so a crash (kill -9)
// seconds or hours after the key's last request still counted its unused
// block (30 requests read 52 after a restart), where the docs say only the
// keys that were taking requests lose one. Now the flush that finds a key
// idle since the one before stores its count as its reservation: a crash then
// counts what was admitted. A key that takes requests again reserves anew,
// and a crash while it does still never forgets one.
func TestCrashAfterIdleCountsOnlyWhatWasAdmitted(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 6400, Period: PeriodDay}
	open := func() (*store.Store, *Counts) {
		t.Helper()
		st, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st, NewCounts(st, nil)
	}
	stored := func(st *store.Store) countRecord {
		t.Helper()
		var rec countRecord
		if err := st.View(ctx, func(tx *store.Tx) error { return tx.Get(bucketCounts, "p/busy", &rec) }); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	take := func(cs *Counts, key string, n int, at time.Time) {
		t.Helper()
		for range n {
			if ok, err := cs.Counter("p", key).Take(at, q); err != nil || !ok {
				t.Fatalf("take %s: %v %v", key, ok, err)
			}
		}
		cs.settle()
	}

	st, cs := open()
	take(cs, "idle", 30, now)
	take(cs, "busy", 30, now)
	if err := cs.Flush(ctx); err != nil { // the second the requests were in
		t.Fatal(err)
	}
	if rec := stored(st); rec.Reserved <= rec.Used {
		t.Fatalf("stored %+v after 30 requests: no reservation ahead, the test shows nothing", rec)
	}
	take(cs, "busy", 5, now.Add(time.Second)) // "idle" takes none
	if err := cs.Flush(ctx); err != nil {     // a second later
		t.Fatal(err)
	}
	if rec := stored(st); rec.Reserved <= rec.Used {
		t.Errorf("stored %+v for a key taking requests across the flush: its reservation was given back", rec)
	}
	// kill -9, an hour later.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, cs = open()
	later := now.Add(time.Hour)
	if left, err := cs.Remaining("p", "idle", q, later); err != nil || left != q.Limit-30 {
		t.Errorf("idle key after the crash: %d left (%v), want %d: it counted a block it never used", left, err, q.Limit-30)
	}
	left, err := cs.Remaining("p", "busy", q, later)
	if err != nil || left > q.Limit-35 {
		t.Errorf("busy key after the crash: %d left (%v), want at most %d: an admitted request was forgotten", left, err, q.Limit-35)
	}
	busy := q.Limit - left // what the busy key resumes from

	// The idle key takes requests again: it reserves a new block before
	// they are admitted, so a crash now forgets none of them.
	take(cs, "idle", 10, later)
	if err := cs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cs.Flush(ctx); err != nil { // idle again: given back
		t.Fatal(err)
	}
	take(cs, "idle", 7, later.Add(time.Second))
	if err := st.Close(); err != nil { // kill -9 with 7 unflushed
		t.Fatal(err)
	}

	st, cs = open()
	defer func() { _ = st.Close() }()
	if left, err := cs.Remaining("p", "idle", q, later); err != nil || q.Limit-left < 47 || q.Limit-left > 47+q.Limit/quotaShare {
		t.Errorf("idle key after taking 17 more and a crash: counts %d (%v), want 47 to %d", q.Limit-left, err, 47+q.Limit/quotaShare)
	}
	if left, err := cs.Remaining("p", "busy", q, later); err != nil || q.Limit-left != busy {
		t.Errorf("busy key after a second crash with no requests: counts %d (%v), want %d", q.Limit-left, err, busy)
	}
}
