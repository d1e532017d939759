package admin_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestPutRestAPIOverwriteClearsDescription: put-rest-api --mode overwrite
// with a document that has no description clears the API's, and takes its
// name from info.title, as API Gateway's overwrite does (r-openapi28 #5);
// merge keeps both.
func TestPutRestAPIOverwriteClearsDescription(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	const full = `{"openapi": "3.0.1", "info": {"title": "full", "description": "everything", "version": "1"},
  "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}}}}}`
	const small = `{"openapi": "3.0.1", "info": {"title": "small", "version": "9"},
  "paths": {"/b": {"get": {"x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"}}}}}}`
	imp := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(full)}))
	must[*apigateway.PutRestApiOutput](t, "PutRestApi merge")(c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: imp.Id, Body: []byte(small), Mode: agtypes.PutModeMerge}))
	got := must[*apigateway.GetRestApiOutput](t, "GetRestApi")(c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: imp.Id}))
	if aws.ToString(got.Name) != "full" || aws.ToString(got.Description) != "everything" {
		t.Errorf("after merge: name %q description %q, want full, everything", aws.ToString(got.Name), aws.ToString(got.Description))
	}
	must[*apigateway.PutRestApiOutput](t, "PutRestApi overwrite")(c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: imp.Id, Body: []byte(small), Mode: agtypes.PutModeOverwrite}))
	got = must[*apigateway.GetRestApiOutput](t, "GetRestApi")(c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: imp.Id}))
	if aws.ToString(got.Name) != "small" || got.Description != nil || aws.ToString(got.Version) != "9" {
		t.Errorf("after overwrite: name %q description %v version %q, want small, none, 9", aws.ToString(got.Name), aws.ToString(got.Description), aws.ToString(got.Version))
	}
}
