package admin_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2IntegrationResponseParameters checks that create-integration takes an
// HTTP API integration's responseParameters (the gateway applies them, as it
// does an OpenAPI import's) instead of refusing them: get-integration shows
// them and the stage answers with the mapped header and status.
func TestV2IntegrationResponseParameters(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	be := newBackend(t)
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("mapped"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]map[string]string{"200": {"overwrite:header.x-mapped": "yes", "overwrite:statuscode": "202"}}
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId,
		IntegrationType: v2types.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("GET"),
		IntegrationUri: aws.String(be.srv.URL + "/m"), PayloadFormatVersion: aws.String("1.0"), ResponseParameters: params})
	if err != nil {
		t.Fatalf("CreateIntegration with responseParameters: %v", err)
	}
	got, err := e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: api.ApiId, IntegrationId: integ.IntegrationId})
	if err != nil || got.ResponseParameters["200"]["overwrite:header.x-mapped"] != "yes" {
		t.Fatalf("GetIntegration: %+v %v", got, err)
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /m"),
		Target: aws.String("integrations/" + aws.ToString(integ.IntegrationId))}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: api.ApiId, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: api.ApiId, StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	status, body, h := get(t, e.env.GatewayURL+"/"+aws.ToString(api.ApiId)+"/prod/m")
	if status != http.StatusAccepted || h.Get("X-Mapped") != "yes" {
		t.Fatalf("GET /m: %d %v %s, want 202 with x-mapped: yes", status, h, body)
	}
}
