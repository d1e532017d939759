package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// keyedDoc is an API whose method requires an API key from the x-api-key header.
const keyedDoc = `{"openapi":"3.0.1","info":{"title":"keyed","version":"1"},
 "x-amazon-apigateway-api-key-source":"HEADER",
 "components":{"securitySchemes":{"api_key":{"type":"apiKey","name":"x-api-key","in":"header"}}},
 "paths":{"/pets":{"get":{"security":[{"api_key":[]}],"responses":{"200":{"description":"ok"}},
  "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},
   "responses":{"default":{"statusCode":"200"}}}}}}}`

// TestImportAPIKeysWithoutWarnings: an API with apiKeySource and a method
// requiring a key imports and re-imports (put, overwrite) through the AWS SDK
// with failOnWarnings, since keys are enforced: the deployed method refuses
// a request without one.
func TestImportAPIKeysWithoutWarnings(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	imp := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{
		Body: []byte(keyedDoc), FailOnWarnings: true}))
	if len(imp.Warnings) != 0 || imp.ApiKeySource != agtypes.ApiKeySourceTypeHeader {
		t.Fatalf("import: warnings %q, key source %q", imp.Warnings, imp.ApiKeySource)
	}
	must[*apigateway.PutRestApiOutput](t, "PutRestApi")(c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{
		RestApiId: imp.Id, Body: []byte(keyedDoc), Mode: agtypes.PutModeOverwrite, FailOnWarnings: true}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{
		RestApiId: imp.Id, StageName: aws.String("dev")}))
	if st, body, _ := get(t, c.env.GatewayURL+"/"+aws.ToString(imp.Id)+"/dev/pets"); st != 403 {
		t.Errorf("GET without an API key: %d %s, want 403", st, body)
	}
}
