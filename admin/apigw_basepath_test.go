package admin_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// basePathSwagger has basePath /v1/api, a catch-all, a method and a resource
// without methods.
const basePathSwagger = `{"swagger":"2.0","info":{"title":"based","version":"1"},"basePath":"/v1/api/","paths":{
  "/pets":{"get":{"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"},"responses":{"default":{"statusCode":"200"}}}}},
  "/{proxy+}":{"x-amazon-apigateway-any-method":{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\":200}"}}}},
  "/things":{}}}`

// TestImportBasePath checks import-rest-api's and put-rest-api's basepath
// parameter, as API Gateway's: ignore (the default) leaves the document's base
// path out, prepend puts it before every path, split without its first
// segment; in OpenAPI 3 the base path is the basePath server variable, else
// the server url's path. Other values are refused.
func TestImportBasePath(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	paths := func(id *string) []string {
		t.Helper()
		res := must[*apigateway.GetResourcesOutput](t, "GetResources")(c.ag.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: id, Limit: aws.Int32(500)}))
		var out []string
		for _, r := range res.Items {
			out = append(out, aws.ToString(r.Path))
		}
		slices.Sort(out)
		return out
	}
	imp := func(doc, mode string) *string {
		t.Helper()
		in := &apigateway.ImportRestApiInput{Body: []byte(doc)}
		if mode != "" {
			in.Parameters = map[string]string{"basepath": mode}
		}
		return must[*apigateway.ImportRestApiOutput](t, "ImportRestApi basepath="+mode)(c.ag.ImportRestApi(ctx, in)).Id
	}
	for _, tc := range []struct {
		doc, mode string
		want      []string
	}{
		{basePathSwagger, "", []string{"/", "/pets", "/things", "/{proxy+}"}},
		{basePathSwagger, "ignore", []string{"/", "/pets", "/things", "/{proxy+}"}},
		{basePathSwagger, "prepend", []string{"/", "/v1", "/v1/api", "/v1/api/pets", "/v1/api/things", "/v1/api/{proxy+}"}},
		{basePathSwagger, "split", []string{"/", "/api", "/api/pets", "/api/things", "/api/{proxy+}"}},
		{`{"openapi":"3.0.1","info":{"title":"o","version":"1"},"servers":[{"url":"https://example.com/{basePath}","variables":{"basePath":{"default":"stage/x"}}}],
		  "paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock"}}}}}`, "prepend",
			[]string{"/", "/stage", "/stage/x", "/stage/x/a"}},
		{`{"openapi":"3.0.1","info":{"title":"o","version":"1"},"servers":[{"url":"https://{host}/v2/svc","variables":{"host":{"default":"example.com"}}}],
		  "paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock"}}}}}`, "split",
			[]string{"/", "/svc", "/svc/a"}},
	} {
		if got := paths(imp(tc.doc, tc.mode)); !slices.Equal(got, tc.want) {
			t.Errorf("basepath=%q: resources %v, want %v", tc.mode, got, tc.want)
		}
	}

	// A prepended API answers under its base path.
	id := imp(basePathSwagger, "prepend")
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: id, StageName: aws.String("dev")}))
	if st, _, _ := get(t, c.env.GatewayURL+"/"+aws.ToString(id)+"/dev/v1/api/pets"); st != 200 {
		t.Errorf("GET /v1/api/pets of the prepended API: %d", st)
	}
	if st, _, _ := get(t, c.env.GatewayURL+"/"+aws.ToString(id)+"/dev/pets"); st != 403 {
		t.Errorf("GET /pets of the prepended API: %d, want 403 (no such route)", st)
	}

	// put-rest-api takes it too.
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("put")}))
	must[*apigateway.PutRestApiOutput](t, "PutRestApi")(c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: api.Id, Body: []byte(basePathSwagger),
		Mode: "overwrite", Parameters: map[string]string{"basepath": "split"}}))
	if got, want := paths(api.Id), []string{"/", "/api", "/api/pets", "/api/things", "/api/{proxy+}"}; !slices.Equal(got, want) {
		t.Errorf("put-rest-api basepath=split: resources %v, want %v", got, want)
	}

	_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(basePathSwagger), Parameters: map[string]string{"basepath": "append"}})
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); msg != "Invalid basepath 'append': use ignore (the default), prepend or split" {
		t.Errorf("basepath=append: %q", msg)
	}
}

// TestImportRestAPIJSONSurrogatePairs: import-rest-api and put-rest-api take a
// JSON document with a surrogate pair escape (valid JSON, not YAML), as
// import-api does; the resources without methods were read with a YAML
// parser, which refused it ("paths: yaml: found invalid Unicode character
// escape code").
func TestImportRestAPIJSONSurrogatePairs(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	const doc = `{"openapi":"3.0.1","info":{"title":"emoji \ud83d\ude00","version":"1"},"paths":{
  "/pets":{"get":{"summary":"dog \ud83d\udc36","responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock"}}},
  "/things":{}}}`
	imp, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(doc)})
	if err != nil {
		t.Fatalf("ImportRestApi: %v", err)
	}
	if got := aws.ToString(imp.Name); got != "emoji \U0001F600" {
		t.Errorf("name %q", got)
	}
	res := must[*apigateway.GetResourcesOutput](t, "GetResources")(c.ag.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: imp.Id}))
	var paths []string
	for _, r := range res.Items {
		paths = append(paths, aws.ToString(r.Path))
	}
	slices.Sort(paths)
	if want := []string{"/", "/pets", "/things"}; !slices.Equal(paths, want) {
		t.Errorf("resources %v, want %v", paths, want)
	}
	if _, err := c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: imp.Id, Body: []byte(doc)}); err != nil {
		t.Errorf("PutRestApi: %v", err)
	}
}
