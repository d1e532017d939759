package admin_test

import (
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// TestCreateAPIKeyEmptyValueGenerates: Terraform's aws_api_gateway_api_key
// without a value sends {"value":""}; API Gateway generates a key then, as it
// does for no value at all.
func TestCreateAPIKeyEmptyValueGenerates(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	key, err := c.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("tf"), Enabled: true, Value: aws.String("")})
	if err != nil {
		t.Fatalf("CreateApiKey value \"\": %v", err)
	}
	if v := aws.ToString(key.Value); len(v) < 20 {
		t.Fatalf("generated value %q, want at least 20 characters", v)
	}
	got, err := c.ag.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: key.Id, IncludeValue: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetApiKey: %v", err)
	}
	if aws.ToString(got.Value) != aws.ToString(key.Value) {
		t.Fatalf("read back value %q, want %q", aws.ToString(got.Value), aws.ToString(key.Value))
	}
	// A value that is given stays held to AWS's rule.
	_, err = c.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("short"), Value: aws.String("short")})
	if err == nil {
		t.Fatal("CreateApiKey value \"short\" succeeded, want BadRequestException")
	}
}

// TestV2ImportIgnoresWhatHTTPAPIsDoNotHave: HTTP APIs have no request
// validation and do not transform requests. API Gateway's import-api ignores
// request validators, and an integration's requestTemplates and
// passthroughBehavior, with a warning; nothing of them is stored (get-routes
// shows no requestParameters, which create-route refuses on HTTP APIs) and
// failOnWarnings refuses the document.
func TestV2ImportIgnoresWhatHTTPAPIsDoNotHave(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	doc := `openapi: 3.0.1
info: {title: hv, version: "1"}
x-amazon-apigateway-request-validators:
  all: {validateRequestBody: true, validateRequestParameters: true}
x-amazon-apigateway-request-validator: all
paths:
  /s:
    get:
      x-amazon-apigateway-request-validator: all
      parameters: [{name: q, in: query, required: true, schema: {type: string}}]
      responses: {default: {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: https://example.com/s
        payloadFormatVersion: "1.0"
        passthroughBehavior: never
        requestTemplates: {application/json: '{"x":1}'}
`
	imp, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	if err != nil {
		t.Fatalf("ImportApi: %v", err)
	}
	all := strings.Join(imp.Warnings, "\n")
	for _, want := range []string{"x-amazon-apigateway-request-validators is ignored", "x-amazon-apigateway-request-validator is ignored",
		"GET /s: x-amazon-apigateway-request-validator is ignored", "requestTemplates are ignored", "passthroughBehavior is ignored"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: imp.ApiId})
	if err != nil {
		t.Fatalf("GetRoutes: %v", err)
	}
	for _, r := range routes.Items {
		if len(r.RequestParameters) > 0 {
			t.Errorf("route %s shows requestParameters %v, which an HTTP API neither enforces nor takes from create-route", aws.ToString(r.RouteKey), r.RequestParameters)
		}
	}
	ints, err := e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: imp.ApiId})
	if err != nil {
		t.Fatalf("GetIntegrations: %v", err)
	}
	for _, in := range ints.Items {
		if len(in.RequestTemplates) > 0 || in.PassthroughBehavior != "" {
			t.Errorf("integration keeps requestTemplates %v, passthroughBehavior %q", in.RequestTemplates, in.PassthroughBehavior)
		}
	}
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc), FailOnWarnings: aws.Bool(true)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "request-validators is ignored")
}
