package usage_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestPlanBurstWithoutRateRefills: a usage plan throttle given a burst alone
// (create-usage-plan --throttle burstLimit=3, or update-usage-plan adding a
// method's burstLimit only: the SDKs send no rateLimit, and API Gateway reads
// back 0) has no rate set, which is inherited as a burst's is: a method's
// from the plan's, the plan's from the account's. It let each key burst
// requests and then none until a restart refilled the bucket.
func TestPlanBurstWithoutRateRefills(t *testing.T) {
	env, c, gw, id := startKeyed(t, "dev", "prod")
	var now atomic.Pointer[time.Time]
	t0 := frozen
	now.Store(&t0)
	c.us.SetClock(func() time.Time { return *now.Load() })
	advance := func() {
		next := now.Load().Add(time.Second)
		now.Store(&next)
	}
	ctx := context.Background()
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	p := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("burst"), Throttle: &types.ThrottleSettings{BurstLimit: 3},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, *k.Id)
	m := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("method"), Throttle: &types.ThrottleSettings{RateLimit: 1000, BurstLimit: 1000},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("prod")}}}, *k.Id)
	if _, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(m),
		PatchOperations: []types.PatchOperation{{Op: types.OpAdd, Path: aws.String("/apiStages/" + id + ":prod/throttle/~1pets/GET/burstLimit"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stage string
		burst int
	}{{"dev", 3}, {"prod", 2}} {
		u := env.GatewayURL + "/" + id + "/" + tc.stage + "/pets"
		for round := 0; round < 2; round++ {
			for i := 0; i < tc.burst; i++ {
				if status, typ, _ := call(t, u, *k.Value); status != 200 {
					t.Fatalf("%s round %d request %d: %d %s, want 200", tc.stage, round, i+1, status, typ)
				}
			}
			if status, typ, _ := call(t, u, *k.Value); status != 429 || typ != "TooManyRequestsException" {
				t.Fatalf("%s round %d request %d: %d %s, want 429 TooManyRequestsException (the burst is the bucket's size)", tc.stage, round, tc.burst+1, status, typ)
			}
			advance() // a second at the account's rate refills the bucket
		}
	}
	got, err := gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(p)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Throttle == nil || got.Throttle.BurstLimit != 3 || got.Throttle.RateLimit != 0 {
		t.Errorf("plan reads back %+v, want burstLimit 3 rateLimit 0 as API Gateway", got.Throttle)
	}
}
