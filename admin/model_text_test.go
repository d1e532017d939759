package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// modelText is a schema as a person writes it: indented, keys in their own
// order, a space before a colon. API Gateway returns it as written.
const modelText = "{\n  \"type\" : \"object\",\n  \"required\": [\"name\"],\n  \"properties\": {\n    \"name\": {\"type\": \"string\"},\n    \"age\": {\"type\": \"integer\"}\n  }\n}"

// TestModelSchemaKeepsItsText: create-model, get-model, get-models and
// update-model (REST and apigatewayv2) return the schema text as written,
// not reformatted (whitespace gone, keys sorted), before and after a restart.
func TestModelSchemaKeepsItsText(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("text")}))
	m := must[*apigateway.CreateModelOutput](t, "CreateModel")(c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id,
		Name: aws.String("Pet"), ContentType: aws.String("application/json"), Schema: aws.String(modelText)}))
	if got := aws.ToString(m.Schema); got != modelText {
		t.Errorf("CreateModel schema:\n%s\nwant as written:\n%s", got, modelText)
	}
	check := func(when string) {
		t.Helper()
		got := must[*apigateway.GetModelOutput](t, "GetModel")(c.ag.GetModel(ctx, &apigateway.GetModelInput{RestApiId: api.Id, ModelName: aws.String("Pet")}))
		if s := aws.ToString(got.Schema); s != modelText {
			t.Errorf("GetModel %s:\n%s\nwant as written:\n%s", when, s, modelText)
		}
		list := must[*apigateway.GetModelsOutput](t, "GetModels")(c.ag.GetModels(ctx, &apigateway.GetModelsInput{RestApiId: api.Id}))
		for _, it := range list.Items {
			if aws.ToString(it.Name) == "Pet" && aws.ToString(it.Schema) != modelText {
				t.Errorf("GetModels %s: %s", when, aws.ToString(it.Schema))
			}
		}
	}
	check("after create-model")
	c.env.Restart()
	check("after a restart")
	text2 := "{ \"type\": \"array\" }"
	up := must[*apigateway.UpdateModelOutput](t, "UpdateModel")(c.ag.UpdateModel(ctx, &apigateway.UpdateModelInput{RestApiId: api.Id, ModelName: aws.String("Pet"),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/schema"), Value: aws.String(text2)}}}))
	if s := aws.ToString(up.Schema); s != text2 {
		t.Errorf("UpdateModel schema %s, want as written %s", s, text2)
	}

	e := startV2(t)
	ws := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("ws"),
		ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")}))
	vm := must[*apigatewayv2.CreateModelOutput](t, "CreateModel v2")(e.ag.CreateModel(ctx, &apigatewayv2.CreateModelInput{ApiId: ws.ApiId,
		Name: aws.String("Msg"), Schema: aws.String(modelText), ContentType: aws.String("application/json")}))
	if got := aws.ToString(vm.Schema); got != modelText {
		t.Errorf("v2 CreateModel schema:\n%s", got)
	}
	vu := must[*apigatewayv2.UpdateModelOutput](t, "UpdateModel v2")(e.ag.UpdateModel(ctx, &apigatewayv2.UpdateModelInput{ApiId: ws.ApiId,
		ModelId: vm.ModelId, Name: aws.String("Msg2")}))
	if s := aws.ToString(vu.Schema); s != modelText {
		t.Errorf("v2 UpdateModel (a rename) schema:\n%s", s)
	}
	e.env.Restart()
	got := must[*apigatewayv2.GetModelOutput](t, "GetModel v2")(e.ag.GetModel(ctx, &apigatewayv2.GetModelInput{ApiId: ws.ApiId, ModelId: vu.ModelId}))
	if s := aws.ToString(got.Schema); s != modelText {
		t.Errorf("v2 GetModel after a restart:\n%s\nwant as written", s)
	}
}
