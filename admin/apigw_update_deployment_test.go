package admin_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestUpdateDeployment: the AWS SDK's apigateway client changes a REST API
// deployment's description (replace /description), which get-deployment then
// answers; other paths are refused with BadRequestException, an unknown
// deployment or API is NotFoundException.
func TestUpdateDeployment(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("upd")}))
	res := resourceIDs(t, c.ag, aws.ToString(api.Id))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id,
		ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id,
		ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock}))
	dep := must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{
		RestApiId: api.Id, StageName: aws.String("dev"), Description: aws.String("first")}))

	up := must[*apigateway.UpdateDeploymentOutput](t, "UpdateDeployment")(c.ag.UpdateDeployment(ctx, &apigateway.UpdateDeploymentInput{
		RestApiId: api.Id, DeploymentId: dep.Id,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/description"), Value: aws.String("second")}}}))
	if aws.ToString(up.Id) != aws.ToString(dep.Id) || aws.ToString(up.Description) != "second" || up.CreatedDate == nil {
		t.Errorf("UpdateDeployment answered %+v", up)
	}
	got := must[*apigateway.GetDeploymentOutput](t, "GetDeployment")(c.ag.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: api.Id, DeploymentId: dep.Id}))
	if aws.ToString(got.Description) != "second" {
		t.Errorf("GetDeployment description %q, want second", aws.ToString(got.Description))
	}

	var bad *agtypes.BadRequestException
	_, err := c.ag.UpdateDeployment(ctx, &apigateway.UpdateDeploymentInput{RestApiId: api.Id, DeploymentId: dep.Id,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/id"), Value: aws.String("x")}}})
	if !errors.As(err, &bad) {
		t.Errorf("replace /id: %v, want BadRequestException", err)
	}
	var nf *agtypes.NotFoundException
	_, err = c.ag.UpdateDeployment(ctx, &apigateway.UpdateDeploymentInput{RestApiId: api.Id, DeploymentId: aws.String("nope000000"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/description"), Value: aws.String("x")}}})
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Invalid Deployment identifier specified" {
		t.Errorf("unknown deployment: %v", err)
	}
	_, err = c.ag.UpdateDeployment(ctx, &apigateway.UpdateDeploymentInput{RestApiId: aws.String("nope000000"), DeploymentId: dep.Id,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/description"), Value: aws.String("x")}}})
	if !errors.As(err, &nf) {
		t.Errorf("unknown API: %v", err)
	}
}
