package admin_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestRestAPIInterimStatuses: API Gateway's method response status pattern
// is [1-5]\d\d, so put-method-response takes 100 (it declares only); an
// integration response's status is what the method answers with, so a 1xx
// there is refused when saved (an interim answer has no body); a MOCK whose
// request template renders statusCode 100 and has no integration response to
// give a final status in its place answers 500 at run time.
func TestRestAPIInterimStatuses(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("interim")}))
	root, get := api.RootResourceId, aws.String("GET")
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: root,
		HttpMethod: get, AuthorizationType: aws.String("NONE")}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: root,
		HttpMethod: get, Type: agtypes.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 100}`}}))
	must[*apigateway.PutMethodResponseOutput](t, "PutMethodResponse 100")(c.ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
		RestApiId: api.Id, ResourceId: root, HttpMethod: get, StatusCode: aws.String("100")}))
	_, err := c.ag.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{
		RestApiId: api.Id, ResourceId: root, HttpMethod: get, StatusCode: aws.String("100"), SelectionPattern: aws.String("")})
	var br *agtypes.BadRequestException
	if !errors.As(err, &br) {
		t.Errorf("PutIntegrationResponse 100 = %v, want BadRequestException", err)
	}
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}))
	resp, err := http.Get(c.env.GatewayURL + "/" + aws.ToString(api.Id) + "/prod/") //nolint:gosec,noctx // a test URL
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("x-amzn-ErrorType") == "" {
		t.Errorf("GET of a MOCK answering statusCode 100 = %d %v, want 500 with x-amzn-ErrorType", resp.StatusCode, resp.Header)
	}
}
