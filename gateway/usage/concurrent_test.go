package usage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestConcurrentPlanPatchesAllLand is the lost update of update-usage-plan:
// each patch was applied to a copy read before the write transaction, so
// concurrent patches (20 "add /apiStages", or name, description, throttle
// and quota at once) all answered 200 and overwrote each other's changes.
func TestConcurrentPlanPatchesAllLand(t *testing.T) {
	env, _, gw, _ := startKeyed(t)
	ctx := context.Background()
	const n = 20
	var ids []string
	for i := range n {
		ids = append(ids, importKeyed(t, env.Client(), fmt.Sprintf("s%d", i)))
	}
	p, err := gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p")})
	if err != nil {
		t.Fatal(err)
	}
	patch := func(ops ...types.PatchOperation) error {
		_, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: p.Id, PatchOperations: ops})
		return err
	}
	op := func(o types.Op, path, value string) types.PatchOperation {
		return types.PatchOperation{Op: o, Path: aws.String(path), Value: aws.String(value)}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n+4)
	for i, id := range ids {
		wg.Go(func() { errs <- patch(op(types.OpAdd, "/apiStages", fmt.Sprintf("%s:s%d", id, i))) })
	}
	wg.Go(func() { errs <- patch(op(types.OpReplace, "/name", "renamed")) })
	wg.Go(func() { errs <- patch(op(types.OpReplace, "/description", "described")) })
	wg.Go(func() {
		errs <- patch(op(types.OpReplace, "/throttle/rateLimit", "10"), op(types.OpReplace, "/throttle/burstLimit", "20"))
	})
	wg.Go(func() {
		errs <- patch(op(types.OpReplace, "/quota/limit", "100"), op(types.OpReplace, "/quota/period", "DAY"))
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("update-usage-plan: %v", err)
		}
	}
	got, err := gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: p.Id})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ApiStages) != n {
		t.Errorf("plan has %d API stages after %d concurrent adds, want all %d", len(got.ApiStages), n, n)
	}
	if aws.ToString(got.Name) != "renamed" || aws.ToString(got.Description) != "described" {
		t.Errorf("name %q description %q, want renamed and described", aws.ToString(got.Name), aws.ToString(got.Description))
	}
	if got.Throttle == nil || got.Throttle.RateLimit != 10 || got.Throttle.BurstLimit != 20 {
		t.Errorf("throttle %+v, want rate 10 burst 20", got.Throttle)
	}
	if got.Quota == nil || got.Quota.Limit != 100 || got.Quota.Period != types.QuotaPeriodTypeDay {
		t.Errorf("quota %+v, want 100 a DAY", got.Quota)
	}
}
