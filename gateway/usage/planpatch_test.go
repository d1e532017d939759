package usage_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestPlanPatchNamesTheBadPeriod: replace /quota/period YEAR on a plan with
// no quota answered "Invalid quota limit 0" (the quota the patch starts has
// no limit yet); the refusal names the period now.
func TestPlanPatchNamesTheBadPeriod(t *testing.T) {
	_, _, gw, _ := startKeyed(t)
	ctx := context.Background()
	p := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p")})
	_, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(p),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/quota/period"), Value: aws.String("YEAR")}}})
	wantAPIError(t, err, "BadRequestException", "Invalid quota period 'YEAR'")
	// With a limit in the same request, a good period is accepted.
	got, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(p),
		PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/quota/period"), Value: aws.String("WEEK")},
			{Op: types.OpReplace, Path: aws.String("/quota/limit"), Value: aws.String("5")},
		}})
	if err != nil || got.Quota == nil || got.Quota.Period != types.QuotaPeriodTypeWeek || got.Quota.Limit != 5 {
		t.Fatalf("quota %+v (%v), want 5 a WEEK", got, err)
	}
}
