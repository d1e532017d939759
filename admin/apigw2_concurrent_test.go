package admin_test

import (
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2ConcurrentStageRouteSettingsAllLand: apigatewayv2 update-stage
// merges the fields it is given into the route's stored settings; the merge
// was made from a copy read before the write, so concurrent updates of
// different fields of one entry overwrote each other.
func TestV2ConcurrentStageRouteSettingsAllLand(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("race"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	id, stage := api.ApiId, aws.String("dev")
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: id, StageName: stage}); err != nil {
		t.Fatal(err)
	}
	updates := []v2types.RouteSettings{
		{ThrottlingBurstLimit: aws.Int32(7)},
		{ThrottlingRateLimit: aws.Float64(3)},
		{DetailedMetricsEnabled: aws.Bool(true)},
	}
	for range 5 {
		var wg sync.WaitGroup
		errs := make(chan error, len(updates))
		for _, u := range updates {
			wg.Go(func() {
				_, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: stage, DefaultRouteSettings: &u})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("UpdateStage: %v", err)
			}
		}
		st, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: id, StageName: stage})
		if err != nil {
			t.Fatal(err)
		}
		d := st.DefaultRouteSettings
		if d == nil || aws.ToInt32(d.ThrottlingBurstLimit) != 7 || aws.ToFloat64(d.ThrottlingRateLimit) != 3 || !aws.ToBool(d.DetailedMetricsEnabled) {
			t.Fatalf("default route settings after concurrent updates of burst, rate and metrics: %+v", d)
		}
		// Start the next round from nothing set.
		if _, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: id, StageName: stage,
			DefaultRouteSettings: &v2types.RouteSettings{ThrottlingBurstLimit: aws.Int32(-1), ThrottlingRateLimit: aws.Float64(-1), DetailedMetricsEnabled: aws.Bool(false)}}); err != nil {
			t.Fatal(err)
		}
	}
}
