package admin_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
)

// TestV2ImportIgnoresAPIKeySecurity: an HTTP API import whose operation's
// security names an apiKey scheme made a route with apiKeyRequired, which the
// gateway enforced, while HTTP APIs have no API keys (update-route refuses
// apiKeyRequired). The import drops it with a warning, as API Gateway's does;
// the route's other security stays.
func TestV2ImportIgnoresAPIKeySecurity(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	doc := `{"openapi":"3.0.1","info":{"title":"keyed","version":"1"},
	  "components":{"securitySchemes":{"api_key":{"type":"apiKey","name":"x-api-key","in":"header"}}},
	  "paths":{"/pets":{"get":{"security":[{"api_key":[]}],
	    "x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"https://example.com/pets","payloadFormatVersion":"1.0"}}}}}`
	imp, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	if err != nil {
		t.Fatalf("ImportApi: %v", err)
	}
	want := "GET /pets: security api_key is ignored: HTTP APIs have no API keys"
	if w := strings.Join(imp.Warnings, "\n"); !strings.Contains(w, want) {
		t.Errorf("warnings %q lack %q", imp.Warnings, want)
	}
	routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: imp.ApiId})
	if err != nil || len(routes.Items) != 1 {
		t.Fatalf("GetRoutes: %+v %v", routes, err)
	}
	if r := routes.Items[0]; aws.ToBool(r.ApiKeyRequired) {
		t.Errorf("route %s: ApiKeyRequired true, want false", aws.ToString(r.RouteKey))
	}
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc), FailOnWarnings: aws.Bool(true)})
	wantV2Error(t, err, 400, "BadRequestException", "security api_key is ignored")
}

// TestV2RouteBurstAboveInt32: a route's throttlingBurstLimit is API Gateway's
// 32-bit Integer; a larger one was stored, and the SDKs read it back wrapped.
func TestV2RouteBurstAboveInt32(t *testing.T) {
	t.Parallel()
	e, id := startV2HTTPRoutes(t)
	for _, body := range []map[string]any{
		{"routeSettings": map[string]any{"GET /a": map[string]any{"throttlingBurstLimit": int64(99999999999), "throttlingRateLimit": 1}}},
		{"defaultRouteSettings": map[string]any{"throttlingBurstLimit": int64(2147483648), "throttlingRateLimit": 1}},
	} {
		_, err := e.env.Client().Do(t.Context(), "PATCH", "/v2/apis/"+id+"/stages/prod", nil, body, nil)
		if err == nil || !strings.Contains(err.Error(), "must be 0 to 2147483647") {
			t.Errorf("update-stage %v: %v, want 400 naming the range", body, err)
		}
	}
}

// TestV2UpdateStageDeploymentIDOfAnAutoDeployStage: update-stage refuses a
// deploymentId for a stage that deploys automatically (400
// BadRequestException), decided in the transaction that writes the stage
// (apis.StagePatch.DeploymentFollowsAutoDeploy); with autoDeploy turned off in
// the same call it is taken.
func TestV2UpdateStageDeploymentIDOfAnAutoDeployStage(t *testing.T) {
	t.Parallel()
	e, id := startV2HTTPRoutes(t)
	ctx := t.Context()
	st, err := e.ag.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: aws.String(id), StageName: aws.String("prod")})
	if err != nil || aws.ToString(st.DeploymentId) == "" {
		t.Fatalf("GetStage: %+v %v", st, err)
	}
	d, err := e.ag.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String("prod"), DeploymentId: d.DeploymentId})
	wantV2Error(t, err, 400, "BadRequestException", "Stage prod deploys automatically (autoDeploy): its deploymentId cannot be set")
	up, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String("prod"),
		DeploymentId: d.DeploymentId, AutoDeploy: aws.Bool(false)})
	if err != nil || aws.ToString(up.DeploymentId) != aws.ToString(d.DeploymentId) || aws.ToBool(up.AutoDeploy) {
		t.Fatalf("UpdateStage with autoDeploy off: %+v %v", up, err)
	}
}
