package admin_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// TestAuthExtensionNoneReadsNone: an operation whose x-amazon-apigateway-auth
// is {type: NONE} reads back NONE from get-method and get-resources, as the
// gateway serves it (r-openapi28 #7: it read AWS_IAM); {type: AWS_IAM} reads
// AWS_IAM.
func TestAuthExtensionNoneReadsNone(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	doc := `{"openapi": "3.0.1", "info": {"title": "none", "version": "1"}, "paths": {
  "/a": {"get": {"x-amazon-apigateway-auth": {"type": "NONE"}, "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}}},
  "/b": {"get": {"x-amazon-apigateway-auth": {"type": "AWS_IAM"}, "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}}}}}`
	imp := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(doc)}))
	res := must[*apigateway.GetResourcesOutput](t, "GetResources")(c.ag.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: imp.Id, Embed: []string{"methods"}}))
	want := map[string]string{"/a": "NONE", "/b": "AWS_IAM"}
	for _, r := range res.Items {
		w, ok := want[aws.ToString(r.Path)]
		if !ok {
			continue
		}
		if got := aws.ToString(r.ResourceMethods["GET"].AuthorizationType); got != w {
			t.Errorf("get-resources %s: authorizationType %q, want %q", aws.ToString(r.Path), got, w)
		}
		m := must[*apigateway.GetMethodOutput](t, "GetMethod")(c.ag.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: imp.Id, ResourceId: r.Id, HttpMethod: aws.String("GET")}))
		if got := aws.ToString(m.AuthorizationType); got != w {
			t.Errorf("get-method %s: authorizationType %q, want %q", aws.ToString(r.Path), got, w)
		}
	}
}
