package admin_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2WebSocketProxyIntegrationMethod: a WebSocket AWS_PROXY integration's
// function is invoked with POST, so another integrationMethod is refused on
// create and update (400 BadRequestException), as on an AWS integration; it
// was taken and had no effect. And get-integration reports a WebSocket
// integration's passthroughBehavior WHEN_NO_MATCH when none was set, with or
// without request templates, as API Gateway does (a WebSocket AWS_PROXY
// integration created without one reads back "PassthroughBehavior":
// "WHEN_NO_MATCH", aws/aws-cdk#29566); it was left out.
func TestV2WebSocketProxyIntegrationMethod(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("wsmethod"), ProtocolType: v2types.ProtocolTypeWebsocket,
		RouteSelectionExpression: aws.String("$request.body.action")})
	if err != nil {
		t.Fatal(err)
	}
	id := api.ApiId
	const uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations"
	_, err = e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeAwsProxy,
		IntegrationUri: aws.String(uri), IntegrationMethod: aws.String("GET")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "invoked with POST")
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeAwsProxy,
		IntegrationUri: aws.String(uri), IntegrationMethod: aws.String("POST")})
	if err != nil {
		t.Fatalf("CreateIntegration POST: %v", err)
	}
	_, err = e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: id, IntegrationId: integ.IntegrationId,
		IntegrationMethod: aws.String("PUT")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "invoked with POST")

	mock, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: id, IntegrationType: v2types.IntegrationTypeMock,
		RequestTemplates: map[string]string{"$default": `{"statusCode": 200}`}})
	if err != nil {
		t.Fatalf("CreateIntegration MOCK: %v", err)
	}
	for _, iid := range []*string{integ.IntegrationId, mock.IntegrationId} {
		got, err := e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: id, IntegrationId: iid})
		if err != nil {
			t.Fatal(err)
		}
		if got.PassthroughBehavior != v2types.PassthroughBehaviorWhenNoMatch || aws.ToString(got.IntegrationMethod) != "" && aws.ToString(got.IntegrationMethod) != "POST" {
			t.Errorf("GetIntegration %s: passthroughBehavior %q method %q, want WHEN_NO_MATCH", got.IntegrationType, got.PassthroughBehavior, aws.ToString(got.IntegrationMethod))
		}
	}
}
