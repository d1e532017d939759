package admin_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestMethodSettingsKeysAsAPIGateway: update-stage names a method as
// /{resourcePath with / as ~1}/{METHOD}/... and get-stage keys its settings
// "~1items/GET", as API Gateway does (Portico keyed them "/items/GET"). The
// form without ~1 that Terraform's aws_api_gateway_method_settings sends
// (method_path "color/GET": "/color/GET/throttling/rateLimit") applies to
// that method and reads back under the key it was written with; Terraform's
// delete ("remove /color/GET") removes it, and a second remove gets API
// Gateway's "no method setting for this method". The only wildcard is */*:
// "~1items/*" and "*/GET" are refused. Settings an older Portico stored as
// "/items/GET" keep applying and read back as "~1items/GET".
func TestMethodSettingsKeysAsAPIGateway(t *testing.T) {
	t.Parallel()
	re := startRelease(t)
	ctx := context.Background()
	if _, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Variables: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	status := func(path string) int {
		t.Helper()
		code, _, _ := re.call(t, path, nil)
		return code
	}
	keys := func(out map[string]agtypes.MethodSetting) []string {
		return slices.Sorted(func(yield func(string) bool) {
			for k := range out {
				if !yield(k) {
					return
				}
			}
		})
	}

	out := re.update(t, op(agtypes.OpReplace, "/~1items/GET/throttling/rateLimit", "0"), op(agtypes.OpReplace, "/~1items/GET/throttling/burstLimit", "0"))
	if got := keys(out.MethodSettings); !slices.Equal(got, []string{"~1items/GET"}) {
		t.Fatalf("update-stage /~1items/GET/...: methodSettings keys %q, want [~1items/GET]", got)
	}
	got, err := re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	if ms, ok := got.MethodSettings["~1items/GET"]; !ok || ms.ThrottlingRateLimit != 0 || ms.ThrottlingBurstLimit != 0 {
		t.Fatalf("get-stage methodSettings %v, want ~1items/GET at 0/0", got.MethodSettings)
	}
	if s := status("/items"); s != 429 {
		t.Fatalf("GET /items under ~1items/GET 0/0: %d, want 429", s)
	}
	if s := status("/color"); s != 200 {
		t.Fatalf("GET /color: %d, want 200", s)
	}

	// Terraform: method_path "color/GET".
	out = re.update(t, op(agtypes.OpReplace, "/color/GET/throttling/rateLimit", "0"), op(agtypes.OpReplace, "/color/GET/throttling/burstLimit", "0"))
	if ms, ok := out.MethodSettings["color/GET"]; !ok || ms.ThrottlingRateLimit != 0 {
		t.Fatalf("after /color/GET/...: keys %q, want color/GET as written", keys(out.MethodSettings))
	}
	if s := status("/color"); s != 429 {
		t.Fatalf("GET /color under color/GET 0/0: %d, want 429", s)
	}
	_, err = re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
		PatchOperations: []agtypes.PatchOperation{op(agtypes.OpReplace, "/~1color/GET/metrics/enabled", "true")}})
	if code, msg := apiErr(t, err); code != "BadRequestException" || !strings.Contains(msg, `"color/GET"`) {
		t.Fatalf("a second spelling of GET /color: %s %q, want BadRequestException naming color/GET", code, msg)
	}
	re.update(t, agtypes.PatchOperation{Op: agtypes.OpRemove, Path: aws.String("/color/GET")})
	if s := status("/color"); s != 200 {
		t.Fatalf("GET /color after its settings were removed: %d, want 200", s)
	}
	_, err = re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpRemove, Path: aws.String("/color/GET")}}})
	if code, msg := apiErr(t, err); code != "BadRequestException" || !strings.Contains(msg, "no method setting for this method") {
		t.Fatalf("removing settings that are gone: %s %q", code, msg)
	}

	for _, path := range []string{"/~1items/*/metrics/enabled", "/*/GET/metrics/enabled", "//GET/metrics/enabled"} {
		_, err = re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
			PatchOperations: []agtypes.PatchOperation{op(agtypes.OpReplace, path, "true")}})
		if code, msg := apiErr(t, err); code != "BadRequestException" || !strings.Contains(msg, "Invalid method setting path") {
			t.Errorf("%s: %s %q, want BadRequestException", path, code, msg)
		}
	}
	out = re.update(t, op(agtypes.OpReplace, "/*/*/metrics/enabled", "true"))
	if !out.MethodSettings["*/*"].MetricsEnabled {
		t.Fatalf("*/* metrics: %v", out.MethodSettings)
	}

	// An older Portico's key.
	if _, err := re.svc.SetMethodSettings(ctx, re.apiID, "prod", map[string]apis.MethodSetting{
		"/color/GET": {ThrottlingRateLimit: new(0.0), ThrottlingBurstLimit: new(0)}}); err != nil {
		t.Fatal(err)
	}
	if s := status("/color"); s != 429 {
		t.Fatalf("GET /color under a stored /color/GET 0/0: %d, want 429", s)
	}
	got, err = re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	if k := keys(got.MethodSettings); !slices.Equal(k, []string{"~1color/GET"}) {
		t.Fatalf("get-stage of a stored /color/GET: keys %q, want [~1color/GET]", k)
	}
	out = re.update(t, op(agtypes.OpReplace, "/~1color/GET/throttling/burstLimit", "5"))
	if k := keys(out.MethodSettings); !slices.Equal(k, []string{"~1color/GET"}) || out.MethodSettings["~1color/GET"].ThrottlingBurstLimit != 5 {
		t.Fatalf("update of a stored /color/GET: %v", out.MethodSettings)
	}
}

// TestMethodSettingsForAMethodTheDeploymentLacks: update-stage takes settings
// for a method the stage's deployment does not have, and get-stage shows them,
// as API Gateway does (a key that names no method was seen accepted and listed
// by get-stage: terraform-provider-aws#9738; SAM templates whose MethodSettings
// name no method deploy: serverless-application-model#579, #1518); they apply
// once a deployment of the stage has the method. (HTTP APIs differ: their
// routeSettings must name a route, apigw2_stages.go.)
func TestMethodSettingsForAMethodTheDeploymentLacks(t *testing.T) {
	re := startRelease(t)
	ctx := context.Background()
	if _, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Variables: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	out := re.update(t, op(agtypes.OpReplace, "/~1later/GET/throttling/rateLimit", "0"), op(agtypes.OpReplace, "/~1later/GET/throttling/burstLimit", "0"))
	if _, ok := out.MethodSettings["~1later/GET"]; !ok {
		t.Fatalf("update-stage of a method the deployment lacks: keys %v, want ~1later/GET", out.MethodSettings)
	}
	got, err := re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	if ms, ok := got.MethodSettings["~1later/GET"]; !ok || ms.ThrottlingRateLimit != 0 || ms.ThrottlingBurstLimit != 0 {
		t.Fatalf("get-stage methodSettings %v, want ~1later/GET at 0/0", got.MethodSettings)
	}
	if code, _, _ := re.call(t, "/later", nil); code != 403 {
		t.Fatalf("GET /later before a deployment has it: %d, want 403", code)
	}
	doc := `openapi: 3.0.1
info: {title: release, version: "1"}
paths:
  /later:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200"}}
`
	if _, err := re.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: aws.String(re.apiID), Mode: agtypes.PutModeMerge, Body: []byte(doc)}); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := re.call(t, "/later", nil); code != 403 {
		t.Fatalf("GET /later before its deployment: %d, want 403", code)
	}
	if _, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := re.call(t, "/later", nil); code != 429 {
		t.Fatalf("GET /later deployed under ~1later/GET 0/0: %d %s, want 429", code, body)
	}
}
