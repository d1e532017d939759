package usage

import (
	"context"
	"fmt"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
	"github.com/portico-dev/portico/internal/errdefs"
)

// anyStages knows every stage of REST API api1, all on deployment d1 with
// GET /pets.
type anyStages struct{ fakeStages }

func (anyStages) GetStage(_ context.Context, apiID, name string) (*apis.Stage, error) {
	if apiID != "api1" {
		return nil, errdefs.ErrNotFound
	}
	return &apis.Stage{APIID: apiID, Name: name, DeploymentID: "d1"}, nil
}

// BenchmarkCreateUsagePlanKey is the admin writes that change the key index
// (create-usage-plan-key, update-api-key, create-api-key) in a store of
// 20,000 keys in four throttled plans of 5,000 on a stage each, with a
// method throttle: once, each rebuilt the whole index.
func BenchmarkCreateUsagePlanKey(b *testing.B) {
	ctx := context.Background()
	s, err := NewService(gwtest.Store(b, ""), Options{Stages: anyStages{}})
	if err != nil {
		b.Fatal(err)
	}
	var big *Plan
	for i := range 4 {
		p, err := s.CreatePlan(ctx, Plan{Name: fmt.Sprint("p", i), Throttle: &Throttle{RateLimit: 10, BurstLimit: 20},
			Quota:     &Quota{Limit: 1000, Period: PeriodDay},
			APIStages: []APIStage{{APIID: "api1", Stage: fmt.Sprint("s", i), Throttle: map[string]Throttle{"/pets/GET": {RateLimit: 5, BurstLimit: 5}}}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.ImportKeys(ctx, importCSV(fmt.Sprint("k", i), 5000, p.ID)); err != nil {
			b.Fatal(err)
		}
		big = p
	}
	small, err := s.CreatePlan(ctx, Plan{Name: "small", Throttle: &Throttle{RateLimit: 10, BurstLimit: 20},
		APIStages: []APIStage{{APIID: "api1", Stage: "small"}}})
	if err != nil {
		b.Fatal(err)
	}
	addKey := func(b *testing.B, planID string) {
		for b.Loop() {
			b.StopTimer()
			k, err := s.CreateKey(ctx, KeyInput{})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := s.AddPlanKey(ctx, planID, k.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("small-plan", func(b *testing.B) { addKey(b, small.ID) })
	b.Run("5000-key-plan", func(b *testing.B) { addKey(b, big.ID) })
	b.Run("update-api-key", func(b *testing.B) {
		keys, err := s.PlanKeys(ctx, big.ID)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			on := i%2 == 0
			if _, err := s.UpdateKey(ctx, keys[0].ID, KeyPatch{Enabled: &on}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("create-api-key", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.CreateKey(ctx, KeyInput{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
