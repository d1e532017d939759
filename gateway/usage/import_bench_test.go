package usage

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// BenchmarkImportKeys is import-api-keys of 1,000 keys into a plan on an API
// stage, in a store whose plans already hold 5,000 keys (the cost of the
// one-plan-per-stage check once grew with both), and create-usage-plan-key
// of one key in that store.
func BenchmarkImportKeys(b *testing.B) {
	ctx := context.Background()
	s, err := NewService(gwtest.Store(b, ""), Options{Stages: fakeStages{}})
	if err != nil {
		b.Fatal(err)
	}
	dev, err := s.CreatePlan(ctx, Plan{Name: "dev", APIStages: []APIStage{{APIID: "api1", Stage: "dev"}}})
	if err != nil {
		b.Fatal(err)
	}
	prod, err := s.CreatePlan(ctx, Plan{Name: "prod", APIStages: []APIStage{{APIID: "api1", Stage: "prod"}}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.ImportKeys(ctx, importCSV("old", 5000, prod.ID)); err != nil {
		b.Fatal(err)
	}
	b.Run("import-1000", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.ImportKeys(ctx, importCSV(fmt.Sprint("new", i), 1000, dev.ID)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("add-plan-key", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			k, err := s.CreateKey(ctx, KeyInput{})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := s.AddPlanKey(ctx, dev.ID, k.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// importCSV is an import-api-keys file of n keys named prefix-i, each in
// the plans planIDs.
func importCSV(prefix string, n int, planIDs ...string) []byte {
	var sb strings.Builder
	sb.WriteString("Name,Key,Enabled,UsagePlanIds\n")
	for i := range n {
		fmt.Fprintf(&sb, "%s-%d,%s,true,\"%s\"\n", prefix, i, importValue(prefix, i), strings.Join(planIDs, ";"))
	}
	return []byte(sb.String())
}
