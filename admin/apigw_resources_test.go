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

// TestRestAPIRefusesDotAndPercentPaths: the edge15 leftovers. A path part
// with a % (an escape such as %2e%2e, or none such as %zz) or a . or ..
// segment was taken at import and by create-resource though no request could
// reach it; both refuse it with BadRequestException, as API Gateway does. An
// import's $ref in securityDefinitions and its x-amazon-apigateway-cors (an
// HTTP API extension) on a REST API are refused saying what to write instead.
func TestRestAPIRefusesDotAndPercentPaths(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("dots")}))
	for _, part := range []string{"..", ".", "%2e%2e", "%zz", "a%20b"} {
		_, err := c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String(part)})
		apiError(t, err, "BadRequestException", 400)
		if _, msg := apiErr(t, err); !strings.Contains(msg, "Resource's path part") {
			t.Errorf("create-resource %q: %q", part, msg)
		}
	}
	mock := `{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"}}}`
	imp := func(extra, path string) string {
		t.Helper()
		doc := `{"swagger":"2.0","info":{"title":"dots","version":"1"}` + extra + `,"paths":{"` + path + `":{"get":` + mock + `}}}`
		_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(doc)})
		apiError(t, err, "BadRequestException", 400)
		_, msg := apiErr(t, err)
		return msg
	}
	for path, want := range map[string]string{
		"/a/%2e%2e/b": `has a % in segment "%2e%2e"`,
		"/a/../b":     `has a ".." segment`,
		"/files/%zz":  `has a % in segment "%zz"`,
	} {
		if msg := imp("", path); !strings.Contains(msg, want) {
			t.Errorf("import of %s: %q, want it to say %q", path, msg, want)
		}
	}
	for name, tc := range map[string]struct{ extra, want string }{
		"$ref": {`,"securityDefinitions":{"k":{"$ref":"#/securityDefinitions/o"},"o":{"type":"apiKey","name":"x-api-key","in":"header"}}`,
			`security scheme "k": a $ref ("#/securityDefinitions/o") in securityDefinitions is not supported: write the scheme in full`},
		"cors": {`,"x-amazon-apigateway-cors":{"allowOrigins":["*"]}`,
			"x-amazon-apigateway-cors is an HTTP API extension, not read on a REST API: a REST API answers CORS preflights with an OPTIONS method"},
	} {
		if msg := imp(tc.extra, "/a"); !strings.Contains(msg, tc.want) || !strings.Contains(msg, "write") {
			t.Errorf("import with %s: %q, want it to say %q", name, msg, tc.want)
		}
	}
}

// TestRestAPIImportRefusesPartsCreateResourceRefuses: import-rest-api and
// put-rest-api (both modes) refuse a path whose literal part is outside
// a-zA-Z0-9._- (`*`, `:`), a path without methods too, as create-resource
// does, in the import's BadRequestException; they were imported.
func TestRestAPIImportRefusesPartsCreateResourceRefuses(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	mock := `{"get":{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"}}}}`
	doc := func(paths string) []byte {
		return []byte(`{"swagger":"2.0","info":{"title":"parts","version":"1"},"paths":{` + paths + `}}`)
	}
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("parts")}))
	for paths, bad := range map[string]string{
		`"/a*b":` + mock:                    `"a*b" is not one`,
		`"/ok":` + mock + `,"/x:y":` + mock: `"x:y" is not one`,
		`"/ok":` + mock + `,"/c:d":{}`:      `"c:d" is not one`,
	} {
		check := func(what string, err error) {
			t.Helper()
			apiError(t, err, "BadRequestException", 400)
			if _, msg := apiErr(t, err); !strings.HasPrefix(msg, "Errors found during import:\n\t") || !strings.Contains(msg, bad) || !strings.Contains(msg, "a-zA-Z0-9._-") {
				t.Errorf("%s of %s: %q", what, paths, msg)
			}
		}
		_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc(paths)})
		check("import-rest-api", err)
		for _, mode := range []agtypes.PutMode{agtypes.PutModeOverwrite, agtypes.PutModeMerge} {
			_, err := c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: api.Id, Body: doc(paths), Mode: mode})
			check("put-rest-api "+string(mode), err)
		}
	}
	must[*apigateway.ImportRestApiOutput](t, "ImportRestApi")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc(`"/a-b_c.d/{id}":` + mock)}))
}
