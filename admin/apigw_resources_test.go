package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestRestAPIOneVariablePerParent checks API Gateway's rule that a resource's
// children hold one variable path part at most, greedy or not: create-resource
// of {other+} beside {id}, a rename of /mock to {x} beside /{proxy+}, and an
// import with both are refused in AWS's words.
func TestRestAPIOneVariablePerParent(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("siblings")}))
	res := func(parent *string, part string) *apigateway.CreateResourceOutput {
		return must[*apigateway.CreateResourceOutput](t, "CreateResource "+part)(c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{
			RestApiId: api.Id, ParentId: parent, PathPart: aws.String(part)}))
	}
	a := res(api.RootResourceId, "a")
	res(a.Id, "{id}")
	res(api.RootResourceId, "{proxy+}")
	mock := res(api.RootResourceId, "mock")

	_, err := c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: a.Id, PathPart: aws.String("{other+}")})
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); msg != "A sibling ({id}) of this resource already has a variable path part -- only one is allowed" {
		t.Errorf("create-resource {other+} beside {id}: %q", msg)
	}
	_, err = c.ag.UpdateResource(ctx, &apigateway.UpdateResourceInput{RestApiId: api.Id, ResourceId: mock.Id,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/pathPart"), Value: aws.String("{x}")}}})
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); msg != "A sibling ({proxy+}) of this resource already has a variable path part -- only one is allowed" {
		t.Errorf("rename of /mock to {x} beside {proxy+}: %q", msg)
	}
	// A literal beside both stays allowed.
	res(a.Id, "toys")

	doc := `{"swagger":"2.0","info":{"title":"clash","version":"1"},"paths":{
	  "/a/{id}":{"get":{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"}}}},
	  "/a/{proxy+}":{"x-amazon-apigateway-any-method":{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"}}}}}}`
	_, err = c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(doc)})
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); !strings.Contains(msg, "only one is allowed") || !strings.Contains(msg, "/a/{proxy+}") {
		t.Errorf("import of {id} beside {proxy+}: %q", msg)
	}
}
