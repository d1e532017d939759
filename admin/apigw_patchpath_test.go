package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestPatchPathEscapes: a patch path is a JSON pointer, where ~0 is "~" and
// ~1 is "/" and a '~' followed by anything else (or nothing) is no escape.
// Such a path is refused with 400 BadRequestException naming it, on every
// update call (update-integration and update-stage here), and nothing is
// stored; ~1 and ~0 are read as "/" and "~".
func TestPatchPathEscapes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := startControlPlane(t)
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("tilde")}))
	root := resourceIDs(t, c.ag, aws.ToString(api.Id))["/"]
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id,
		ResourceId: aws.String(root), HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id,
		ResourceId: aws.String(root), HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock}))
	update := func(path string) error {
		_, err := c.ag.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(root), HttpMethod: aws.String("GET"),
			PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpAdd, Path: aws.String(path), Value: aws.String("a")}}})
		return err
	}
	for _, path := range []string{"/requestTemplates/text~2plain", "/requestTemplates/text~", "/requestTemplates/~x~1plain"} {
		wantV2Error(t, update(path), 400, "BadRequestException", "Invalid patch path '"+path+"'")
	}
	if err := update("/requestTemplates/text~1plain"); err != nil {
		t.Fatalf("update-integration with ~1: %v", err)
	}
	got := must[*apigateway.GetIntegrationOutput](t, "GetIntegration")(c.ag.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api.Id,
		ResourceId: aws.String(root), HttpMethod: aws.String("GET")}))
	if len(got.RequestTemplates) != 1 || got.RequestTemplates["text/plain"] != "a" {
		t.Fatalf("request templates %v, want only text/plain", got.RequestTemplates)
	}

	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")}))
	_, err := c.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api.Id, StageName: aws.String("dev"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/~2/GET/throttling/rateLimit"), Value: aws.String("5")}}})
	wantV2Error(t, err, 400, "BadRequestException", "Invalid patch path '/~2/GET/throttling/rateLimit'")
	st := must[*apigateway.GetStageOutput](t, "GetStage")(c.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api.Id, StageName: aws.String("dev")}))
	if len(st.MethodSettings) != 0 {
		t.Fatalf("method settings %v after a refused update-stage, want none", st.MethodSettings)
	}
}
