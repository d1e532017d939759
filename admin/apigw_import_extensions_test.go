package admin_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestImportExtensionUnderPaths: an x- extension directly under paths (valid
// OpenAPI 3) neither fails import-rest-api nor becomes a resource, and
// failOnWarnings takes the document.
func TestImportExtensionUnderPaths(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	for _, ext := range []string{`"p"`, `{"an": "object"}`} {
		doc := `{"openapi":"3.0.1","info":{"title":"ext","version":"1"},
 "paths":{"x-paths-ext":` + ext + `,"/bare":{},"/pets":{"get":{"responses":{"200":{"description":"ok"}},
  "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},
   "responses":{"default":{"statusCode":"200"}}}}}}}`
		imp := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{
			Body: []byte(doc), FailOnWarnings: true}))
		res := must[*apigateway.GetResourcesOutput](t, "GetResources")(c.ag.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: imp.Id}))
		var paths []string
		for _, r := range res.Items {
			paths = append(paths, aws.ToString(r.Path))
		}
		if strings.Join(paths, " ") != "/ /bare /pets" {
			t.Errorf("x-paths-ext %s: resources %q, want / /bare /pets", ext, paths)
		}
	}
}

// TestGetExportSwaggerWarnings: get-export as Swagger 2.0 of a method whose
// two body types have two models (which Swagger 2.0 cannot say) answers the
// document with a Warning header saying what an import of it would validate;
// as OpenAPI 3 it has none.
func TestGetExportSwaggerWarnings(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	doc := `{"openapi":"3.0.1","info":{"title":"two-bodies","version":"1"},
 "components":{"schemas":{"A":{"type":"object","required":["a"]},"B":{"type":"object","required":["b"]}}},
 "x-amazon-apigateway-request-validators":{"body":{"validateRequestBody":true,"validateRequestParameters":false}},
 "paths":{"/things":{"post":{"x-amazon-apigateway-request-validator":"body",
  "requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/A"}},"application/vnd.b+json":{"schema":{"$ref":"#/components/schemas/B"}}}},
  "responses":{"200":{"description":"ok"}},
  "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},
   "responses":{"default":{"statusCode":"200"}}}}}}}`
	imp := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(doc)}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{
		RestApiId: imp.Id, StageName: aws.String("dev")}))
	warnings := func(typ string) []string {
		t.Helper()
		exp := must[*apigateway.GetExportOutput](t, "GetExport "+typ)(c.ag.GetExport(ctx, &apigateway.GetExportInput{
			RestApiId: imp.Id, StageName: aws.String("dev"), ExportType: aws.String(typ)}))
		raw, ok := awsmiddleware.GetRawResponse(exp.ResultMetadata).(*smithyhttp.Response)
		if !ok {
			t.Fatal("no raw response")
		}
		return raw.Header.Values("Warning")
	}
	got := warnings("swagger")
	if len(got) != 1 || !strings.HasPrefix(got[0], `299 - "POST /things: Swagger 2.0 has one body schema per operation`) ||
		!strings.Contains(got[0], `validates application/vnd.b+json bodies against \"A\", not \"B\"`) {
		t.Errorf("swagger export's Warning headers: %q", got)
	}
	if got := warnings("oas30"); len(got) != 0 {
		t.Errorf("oas30 export's Warning headers: %q, want none", got)
	}
}
