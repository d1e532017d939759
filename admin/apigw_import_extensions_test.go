package admin_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// TestImportExtensionUnderPaths: an x- extension directly under paths (valid
// OpenAPI 3) neither fails import-rest-api nor becomes a resource, and
// failOnWarnings takes the document.
func TestImportExtensionUnderPaths(t *testing.T) {
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
