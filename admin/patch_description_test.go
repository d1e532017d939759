package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestPatchDescriptionWithoutValueClears: `op=replace,path=/description`
// without a value clears the description, as API Gateway does (the way AWS
// CLI users clear one), on a stage, a REST API, a deployment, an API key and
// a usage plan. It was refused with "value required".
func TestPatchDescriptionWithoutValueClears(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	clear := []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/description")}}
	desc := aws.String("to be cleared")
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("desc"), Description: desc}))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: api.RootResourceId,
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: api.RootResourceId,
		HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock}))
	dep := must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id,
		StageName: aws.String("dev"), Description: desc, StageDescription: desc}))
	key := must[*apigateway.CreateApiKeyOutput](t, "CreateApiKey")(c.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Description: desc}))
	plan := must[*apigateway.CreateUsagePlanOutput](t, "CreateUsagePlan")(c.ag.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), Description: desc}))

	for name, update := range map[string]func() (*string, error){
		"stage": func() (*string, error) {
			out, err := c.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api.Id, StageName: aws.String("dev"), PatchOperations: clear})
			if err != nil {
				return nil, err
			}
			return out.Description, nil
		},
		"rest api": func() (*string, error) {
			out, err := c.ag.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: api.Id, PatchOperations: clear})
			if err != nil {
				return nil, err
			}
			return out.Description, nil
		},
		"deployment": func() (*string, error) {
			out, err := c.ag.UpdateDeployment(ctx, &apigateway.UpdateDeploymentInput{RestApiId: api.Id, DeploymentId: dep.Id, PatchOperations: clear})
			if err != nil {
				return nil, err
			}
			return out.Description, nil
		},
		"api key": func() (*string, error) {
			out, err := c.ag.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: key.Id, PatchOperations: clear})
			if err != nil {
				return nil, err
			}
			return out.Description, nil
		},
		"usage plan": func() (*string, error) {
			out, err := c.ag.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: plan.Id, PatchOperations: clear})
			if err != nil {
				return nil, err
			}
			return out.Description, nil
		},
	} {
		got, err := update()
		if err != nil || aws.ToString(got) != "" {
			t.Errorf("%s: replace /description without a value = %q, %v; want it cleared", name, aws.ToString(got), err)
		}
	}
}
