package usage

import (
	"context"
	"testing"
	"time"

	"github.com/portico-dev/portico/store"
)

// TestResetUsageRacingAReservationSurvivesACrash: a reservation computed from
// the count before an update-usage reset, landing in the store after the
// reset's write, stored the old high count again (and raised the counter's
// durable reservation to it): a kill -9 then brought back tens of thousands
// of requests the reset had cleared. The other order (the reservation's write
// landing first, the counter learning of it only after the reset) left the
// counter believing in a reservation the reset had overwritten, so requests
// were admitted with none stored and a crash forgot them. A reset now starts
// a new generation of the count: a reservation of an older one is dropped,
// in the store and in memory.
func TestResetUsageRacingAReservationSurvivesACrash(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 1_000_000, Period: PeriodDay}
	for _, tc := range []struct {
		name string
		// beforeCommit holds the reservation before its transaction (it
		// commits after the reset); otherwise after it (it commits before
		// the reset, the counter hears of it after).
		beforeCommit bool
	}{
		{"the reservation commits after the reset", true},
		{"the reservation commits before the reset", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			st, err := store.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			cs := NewCounts(st, nil)
			c := cs.Counter("p", "k")
			take := func(n int) {
				t.Helper()
				for range n {
					if ok, err := c.Take(now, q); err != nil || !ok {
						t.Fatalf("take: %v %v", ok, err)
					}
				}
			}
			take(3 * maxBlock) // more than a block: the old count is past any block
			cs.settle()
			// The next reservation is held until the reset has been written.
			entered, release, landed := make(chan struct{}), make(chan struct{}), make(chan struct{})
			cs.batch = func(ctx context.Context, fn func(*store.Tx) error) error {
				cs.batch = st.Batch // only this one is held
				if tc.beforeCommit {
					close(entered)
					<-release
				}
				err := st.Batch(ctx, fn)
				if !tc.beforeCommit {
					close(entered)
					<-release
				}
				close(landed)
				return err
			}
			// Take until a request starts a reservation (without waiting on it:
			// half a block is still reserved).
			for reserving := false; !reserving; {
				take(1)
				c := c.(*counter)
				c.mu.Lock()
				reserving = c.inflight != nil
				c.mu.Unlock()
			}
			<-entered
			if err := cs.SetRemaining(ctx, "p", "k", q, q.Limit, now); err != nil {
				t.Fatal(err)
			}
			close(release)
			<-landed
			cs.settle()
			// Requests after the reset, then kill -9: the store is closed with
			// no flush.
			const after = 10
			take(after)
			cs.settle()
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
			if counted := q.Limit - left; counted < after || counted > after+maxBlock {
				t.Errorf("after a reset, %d requests and a crash the quota counts %d, want %d..%d", after, counted, after, after+maxBlock)
			}
		})
	}
}
