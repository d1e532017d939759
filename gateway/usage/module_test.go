package usage

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/store"
)

// TestModuleWritesCountsAfterTheServersThatCount stops an app in which a
// server that counts requests (as the gateway's key stage does, its module
// listed before this one) counts one last request while it shuts down: that
// count must reach the store. The last write was made by a hook appended after
// the server's, so it ran first, and a request still in flight at stop used
// quota that a restart gave back.
func TestModuleWritesCountsAfterTheServersThatCount(t *testing.T) {
	st, a := gwtest.APIs(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Quota{Limit: 100, Period: "DAY"}
	var planID string // a plan's: a deleted plan's counts are not written
	take := func(s *Service) {
		if ok, err := s.counters.Counter(planID, "k").Take(now, q); !ok || err != nil {
			t.Errorf("Take = %v, %v", ok, err)
		}
	}
	server := fx.Module("server", fx.Invoke(func(lc fx.Lifecycle, s *Service) {
		p, err := s.CreatePlan(context.Background(), Plan{Name: "p", Quota: q})
		if err != nil {
			t.Fatal(err)
		}
		planID = p.ID
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error { take(s); return nil },
			OnStop:  func(context.Context) error { take(s); return nil },
		})
	}))
	app := fx.New(fx.NopLogger, fx.Supply(slog.New(slog.DiscardHandler), st, a), server, Module)
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	var rec countRecord
	if err := st.View(ctx, func(tx *store.Tx) error { return tx.Get(bucketCounts, planID+"/k", &rec) }); err != nil {
		t.Fatal(err)
	}
	if rec.Used != 2 {
		t.Fatalf("stored count %d, want 2: the request counted while the server stopped was lost", rec.Used)
	}
}
