package admin_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestDeleteModelReferencedByModel: delete-model of a model another model
// refers to ($ref in any form a model may use) is a 409 ConflictException
// naming the model that refers to it, as deleting a model a method names is;
// once the referring model is gone, the delete succeeds.
func TestDeleteModelReferencedByModel(t *testing.T) {
	c := startControlPlane(t)
	ctx := context.Background()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("refs")}))
	id := aws.ToString(api.Id)
	model := func(name, schema string) {
		t.Helper()
		if _, err := c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id, Name: aws.String(name),
			ContentType: aws.String("application/json"), Schema: aws.String(schema)}); err != nil {
			t.Fatalf("create-model %s: %v", name, err)
		}
	}
	del := func(name string) error {
		_, err := c.ag.DeleteModel(ctx, &apigateway.DeleteModelInput{RestApiId: api.Id, ModelName: aws.String(name)})
		return err
	}
	model("Sub", `{"type":"object"}`)
	model("Top", `{"type":"object","properties":{"s":{"$ref":"https://apigateway.amazonaws.com/restapis/`+id+`/models/Sub"}}}`)
	model("Leaf", `{"type":"string"}`)
	model("Tree", `{"type":"array","items":{"$ref":"#/definitions/Leaf"}}`)

	for name, by := range map[string]string{"Sub": "Top", "Leaf": "Tree"} {
		err := del(name)
		apiError(t, err, "ConflictException", 409)
		if _, msg := apiErr(t, err); msg != "Cannot delete model '"+name+"': it is referenced by model '"+by+"'" {
			t.Errorf("delete-model %s: %q", name, msg)
		}
	}
	for _, name := range []string{"Top", "Sub", "Tree", "Leaf"} {
		if err := del(name); err != nil {
			t.Fatalf("delete-model %s (no longer referenced): %v", name, err)
		}
	}
}

// TestV2DeleteModelReferencedByModel: the same through apigatewayv2 (a
// WebSocket API's models).
func TestV2DeleteModelReferencedByModel(t *testing.T) {
	e := startV2(t)
	ctx := t.Context()
	api := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("ws"),
		ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")}))
	model := func(name, schema string) *string {
		t.Helper()
		return must[*apigatewayv2.CreateModelOutput](t, "CreateModel "+name)(e.ag.CreateModel(ctx, &apigatewayv2.CreateModelInput{ApiId: api.ApiId,
			Name: aws.String(name), Schema: aws.String(schema), ContentType: aws.String("application/json")})).ModelId
	}
	sub := model("Sub", `{"type":"object"}`)
	top := model("Top", `{"type":"object","properties":{"s":{"$ref":"#/components/schemas/Sub"}}}`)
	_, err := e.ag.DeleteModel(ctx, &apigatewayv2.DeleteModelInput{ApiId: api.ApiId, ModelId: sub})
	apiError(t, err, "ConflictException", 409)
	if _, msg := apiErr(t, err); msg != "Cannot delete model 'Sub': it is referenced by model 'Top'" {
		t.Errorf("delete-model Sub: %q", msg)
	}
	for _, id := range []*string{top, sub} {
		if _, err := e.ag.DeleteModel(ctx, &apigatewayv2.DeleteModelInput{ApiId: api.ApiId, ModelId: id}); err != nil {
			t.Fatalf("delete-model %s: %v", aws.ToString(id), err)
		}
	}
}
