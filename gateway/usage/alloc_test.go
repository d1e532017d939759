package usage

import (
	"context"
	"testing"

	"github.com/portico-dev/portico/gateway/pipeline"
)

// TestAdmitAllocations keeps the key stage's per-request work allocation-free.
// A quota count's reservation ahead of use (a store write) allocates once per
// block of requests, not per request: the warm-up grows the block (about a
// second of traffic; the clock stands still here) to its cap first.
func TestAdmitAllocations(t *testing.T) {
	clk := &fakeClock{t: day0}
	s := newService(t, t.TempDir(), clk)
	ctx := context.Background()
	k, _ := s.CreateKey(ctx, KeyInput{Enabled: ptr(true)})
	p, _ := s.CreatePlan(ctx, Plan{Name: "p", Throttle: &Throttle{RateLimit: 1e9, BurstLimit: 1e9}, Quota: &Quota{Limit: 1<<31 - 1, Period: PeriodDay},
		APIStages: []APIStage{{APIID: "api1", Stage: "dev", Throttle: map[string]Throttle{"/pets/GET": {RateLimit: 1e9, BurstLimit: 1e9}}}}})
	_, _ = s.AddPlanKey(ctx, p.ID, k.ID)
	c := &pipeline.Context{}
	for range 2 * maxBlock {
		if err := s.admit(c, k.Value, "api1", "dev", "/pets/GET"); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := s.admit(c, k.Value, "api1", "dev", "/pets/GET"); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("admit allocates %v times per request", n)
	}
}
