package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestStageVariableValueCharacters: stage variable values took any
// character, or none; API Gateway allows only [A-Za-z0-9-._~:/?#&=,]+ and
// answers others (and empty values) with BadRequestException, on every write: create-deployment,
// create-stage and update-stage (REST and apigatewayv2), canary overrides,
// and Portico's own stage routes.
func TestStageVariableValueCharacters(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	ag := apigateway.NewFromConfig(sdkConfig(env.AdminURL, "any"))
	ag2 := apigatewayv2.NewFromConfig(sdkConfig(env.AdminURL, "any"))
	const bad, good = `<img src=x onerror=alert(1)>`, "http://h:80/p?q=1#f&x=a=b,c~._-"
	resp, err := env.Client().Do(ctx, "POST", "/portico/v1/apis", nil, map[string]any{"name": "vars", "protocol": "REST",
		"routes": []map[string]any{{"method": "GET", "path": "/x", "integration": map[string]any{"type": "MOCK"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rest struct{ ID string }
	_ = json.Unmarshal(resp.Body, &rest)

	_, err = ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(rest.ID), StageName: aws.String("dev"),
		Variables: map[string]string{"v": bad}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `stage variable "v": its value holds '<'`)
	if _, err := ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(rest.ID), StageName: aws.String("dev"),
		Variables: map[string]string{"v": good}}); err != nil {
		t.Fatalf("CreateDeployment with %q: %v", good, err)
	}
	// API Gateway's pattern is [A-Za-z0-9-._~:/?#&=,]+: an empty value, or a
	// JSON null (which decoded to one), is refused too.
	_, err = ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(rest.ID), StageName: aws.String("dev"),
		Variables: map[string]string{"e": ""}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `stage variable "e" has an empty (or null) value`)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, env.AdminURL+"/restapis/"+rest.ID+"/deployments",
		strings.NewReader(`{"stageName":"dev","variables":{"a":null}}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("create-deployment with a null variable: %d, want 400", resp.StatusCode)
	}
	for name, op := range map[string]agtypes.PatchOperation{
		"empty":    {Op: agtypes.OpReplace, Path: aws.String("/variables/w"), Value: aws.String("")},
		"variable": {Op: agtypes.OpReplace, Path: aws.String("/variables/w"), Value: aws.String("a b")},
		"canary":   {Op: agtypes.OpReplace, Path: aws.String("/canarySettings/stageVariableOverrides/w"), Value: aws.String("é")},
	} {
		ops := []agtypes.PatchOperation{op}
		if name == "canary" {
			ops = append([]agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/canarySettings/percentTraffic"), Value: aws.String("10")}}, ops...)
		}
		_, err = ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(rest.ID), StageName: aws.String("dev"), PatchOperations: ops})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "a stage variable value ")
	}
	if _, err := env.Client().Do(ctx, "PATCH", "/portico/v1/apis/"+rest.ID+"/stages/dev/variables", nil, map[string]string{"w": "{x}"}, nil); err == nil {
		t.Error("PATCH /portico/v1/.../variables took {x}")
	}
	st, err := ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(rest.ID), StageName: aws.String("dev")})
	if err != nil || len(st.Variables) != 1 || st.Variables["v"] != good || st.CanarySettings != nil {
		t.Errorf("GetStage after the refusals: %v %v", st, err)
	}

	ws, err := ag2.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("ws"), ProtocolType: "WEBSOCKET", RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ag2.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: ws.ApiId, StageName: aws.String("prod"), StageVariables: map[string]string{"v": bad}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "a stage variable value may hold only")
	_, err = ag2.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: ws.ApiId, StageName: aws.String("prod"), StageVariables: map[string]string{"e": ""}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "a stage variable value needs at least one character")
	if _, err := ag2.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: ws.ApiId, StageName: aws.String("prod"), StageVariables: map[string]string{"v": good}}); err != nil {
		t.Fatalf("CreateStage with %q: %v", good, err)
	}
	_, err = ag2.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: ws.ApiId, StageName: aws.String("prod"), StageVariables: map[string]string{"w": "x\"y"}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "a stage variable value may hold only")
}
