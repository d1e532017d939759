package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestPatchBooleansIgnoreCase: a boolean patch value is "true" or "false" in
// any case, as API Gateway reads it (its own page on disabling the default
// endpoint writes value='True'), on every boolean path: update-rest-api,
// update-stage, update-method, update-api-key here. Anything else ("1",
// "yes") is 400 naming the path, and nothing is stored.
func TestPatchBooleansIgnoreCase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := startControlPlane(t)
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("bools")}))
	root := resourceIDs(t, c.ag, aws.ToString(api.Id))["/"]
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id,
		ResourceId: aws.String(root), HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id,
		ResourceId: aws.String(root), HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}))
	key := must[*apigateway.CreateApiKeyOutput](t, "CreateApiKey")(c.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true}))
	ops := func(path, value string) []agtypes.PatchOperation {
		return []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String(path), Value: aws.String(value)}}
	}

	for _, bad := range []string{"1", "yes", "truee"} {
		_, err := c.ag.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: api.Id, PatchOperations: ops("/disableExecuteApiEndpoint", bad)})
		wantV2Error(t, err, 400, "BadRequestException", `Invalid value for replace /disableExecuteApiEndpoint: "`+bad+`" is not true or false`)
		_, err = c.ag.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: key.Id, PatchOperations: ops("/enabled", bad)})
		wantV2Error(t, err, 400, "BadRequestException", `Invalid value for replace /enabled: "`+bad+`" is not true or false`)
	}

	ra := must[*apigateway.UpdateRestApiOutput](t, "UpdateRestApi True")(c.ag.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{
		RestApiId: api.Id, PatchOperations: ops("/disableExecuteApiEndpoint", "True")}))
	if !ra.DisableExecuteApiEndpoint {
		t.Errorf("update-rest-api value=True: disableExecuteApiEndpoint %v, want true", ra.DisableExecuteApiEndpoint)
	}
	ra = must[*apigateway.UpdateRestApiOutput](t, "UpdateRestApi FALSE")(c.ag.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{
		RestApiId: api.Id, PatchOperations: ops("/disableExecuteApiEndpoint", "FALSE")}))
	if ra.DisableExecuteApiEndpoint {
		t.Errorf("update-rest-api value=FALSE: disableExecuteApiEndpoint %v, want false", ra.DisableExecuteApiEndpoint)
	}
	st := must[*apigateway.UpdateStageOutput](t, "UpdateStage")(c.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{
		RestApiId: api.Id, StageName: aws.String("prod"), PatchOperations: ops("/tracingEnabled", "True")}))
	if !st.TracingEnabled {
		t.Errorf("update-stage /tracingEnabled value=True: %v, want true", st.TracingEnabled)
	}
	m := must[*apigateway.UpdateMethodOutput](t, "UpdateMethod")(c.ag.UpdateMethod(ctx, &apigateway.UpdateMethodInput{
		RestApiId: api.Id, ResourceId: aws.String(root), HttpMethod: aws.String("GET"), PatchOperations: ops("/apiKeyRequired", "tRuE")}))
	if !aws.ToBool(m.ApiKeyRequired) {
		t.Errorf("update-method /apiKeyRequired value=tRuE: %v, want true", aws.ToBool(m.ApiKeyRequired))
	}
	k := must[*apigateway.UpdateApiKeyOutput](t, "UpdateApiKey")(c.ag.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: key.Id, PatchOperations: ops("/enabled", "False")}))
	if k.Enabled {
		t.Errorf("update-api-key /enabled value=False: enabled %v, want false", k.Enabled)
	}
}
