package admin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
)

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// resourceIDs maps each resource path of an API to its id.
func resourceIDs(t *testing.T, ag *apigateway.Client, apiID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := apigateway.NewGetResourcesPaginator(ag, &apigateway.GetResourcesInput{RestApiId: aws.String(apiID)})
	for p.HasMorePages() {
		page := must[*apigateway.GetResourcesOutput](t, "GetResources")(p.NextPage(t.Context()))
		for _, r := range page.Items {
			out[aws.ToString(r.Path)] = aws.ToString(r.Id)
		}
	}
	return out
}

// get calls the gateway with net/http and returns the status, body and headers.
func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url) //nolint:gosec,noctx // a test URL
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

const petSchema = `{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}`

// buildPets builds, call by call, the REST API that petsDoc describes: GET
// /pets/{id} calls the function named by stage variable fn with a required
// path and an optional query parameter and a request validator; GET /mock is a
// MOCK whose integration response maps a header and renders a stage
// variable; /empty has no methods yet.
func buildPets(t *testing.T, c *cpEnv, name string) string {
	t.Helper()
	ctx := t.Context()
	ag := c.ag
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{
		Name: aws.String(name), Version: aws.String("1"), BinaryMediaTypes: []string{"image/png"},
		EndpointConfiguration: &agtypes.EndpointConfiguration{Types: []agtypes.EndpointType{agtypes.EndpointTypeRegional}},
		Tags:                  map[string]string{"team": "pets"},
	}))
	id := aws.ToString(api.Id)
	if api.RootResourceId == nil || len(api.EndpointConfiguration.Types) != 1 || api.EndpointConfiguration.Types[0] != agtypes.EndpointTypeRegional {
		t.Fatalf("CreateRestApi = %+v", api)
	}
	res := func(parent, part string) string {
		t.Helper()
		out := must[*apigateway.CreateResourceOutput](t, "CreateResource "+part)(ag.CreateResource(ctx, &apigateway.CreateResourceInput{
			RestApiId: aws.String(id), ParentId: aws.String(parent), PathPart: aws.String(part)}))
		return aws.ToString(out.Id)
	}
	pets := res(aws.ToString(api.RootResourceId), "pets")
	pet := res(pets, "{id}")
	mock := res(aws.ToString(api.RootResourceId), "mock")
	res(aws.ToString(api.RootResourceId), "empty")

	must[*apigateway.CreateModelOutput](t, "CreateModel")(ag.CreateModel(ctx, &apigateway.CreateModelInput{
		RestApiId: aws.String(id), Name: aws.String("Pet"), ContentType: aws.String("application/json"), Schema: aws.String(petSchema)}))
	v := must[*apigateway.CreateRequestValidatorOutput](t, "CreateRequestValidator")(ag.CreateRequestValidator(ctx, &apigateway.CreateRequestValidatorInput{
		RestApiId: aws.String(id), Name: aws.String("params"), ValidateRequestParameters: true}))

	must[*apigateway.PutMethodOutput](t, "PutMethod GET /pets/{id}")(ag.PutMethod(ctx, &apigateway.PutMethodInput{
		RestApiId: aws.String(id), ResourceId: aws.String(pet), HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE"),
		OperationName:      aws.String("getPet"),
		RequestParameters:  map[string]bool{"method.request.path.id": true, "method.request.querystring.name": true},
		RequestValidatorId: v.Id,
	}))
	must[*apigateway.PutMethodResponseOutput](t, "PutMethodResponse")(ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
		RestApiId: aws.String(id), ResourceId: aws.String(pet), HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
		ResponseModels: map[string]string{"application/json": "Pet"}}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration AWS_PROXY")(ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{
		RestApiId: aws.String(id), ResourceId: aws.String(pet), HttpMethod: aws.String("GET"),
		Type: agtypes.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"),
		Uri:             aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:${stageVariables.fn}/invocations"),
		TimeoutInMillis: aws.Int32(10000),
	}))

	must[*apigateway.PutMethodOutput](t, "PutMethod GET /mock")(ag.PutMethod(ctx, &apigateway.PutMethodInput{
		RestApiId: aws.String(id), ResourceId: aws.String(mock), HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	must[*apigateway.PutMethodResponseOutput](t, "PutMethodResponse mock")(ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
		RestApiId: aws.String(id), ResourceId: aws.String(mock), HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
		ResponseParameters: map[string]bool{"method.response.header.X-Mock": false}}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration MOCK")(ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{
		RestApiId: aws.String(id), ResourceId: aws.String(mock), HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock,
		RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}))
	must[*apigateway.PutIntegrationResponseOutput](t, "PutIntegrationResponse")(ag.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{
		RestApiId: aws.String(id), ResourceId: aws.String(mock), HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
		ResponseParameters: map[string]string{"method.response.header.X-Mock": "'yes'"},
		ResponseTemplates:  map[string]string{"application/json": `{"colour":"$stageVariables.colour"}`}}))
	return id
}

// petsDoc is the OpenAPI form of buildPets' API.
const petsDoc = `openapi: 3.0.1
info: {title: pets-imported, version: "1"}
x-amazon-apigateway-binary-media-types: [image/png]
x-amazon-apigateway-request-validators:
  params: {validateRequestBody: false, validateRequestParameters: true}
components:
  schemas:
    Pet: {type: object, required: [name], properties: {name: {type: string}}}
paths:
  /empty: {}
  /pets/{id}:
    get:
      operationId: getPet
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: name, in: query, required: true, schema: {type: string}}
      x-amazon-apigateway-request-validator: params
      responses:
        "200":
          description: ""
          content:
            application/json: {schema: {$ref: "#/components/schemas/Pet"}}
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        timeoutInMillis: 10000
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:${stageVariables.fn}/invocations
  /mock:
    get:
      responses:
        "200":
          description: ""
          headers:
            X-Mock: {schema: {type: string}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses:
          default:
            statusCode: "200"
            responseParameters: {method.response.header.X-Mock: "'yes'"}
            responseTemplates: {application/json: '{"colour":"$stageVariables.colour"}'}
`

// deployProd deploys an API to stage prod with the variables the pets API
// needs.
func deployProd(t *testing.T, c *cpEnv, id string) {
	t.Helper()
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(t.Context(), &apigateway.CreateDeploymentInput{
		RestApiId: aws.String(id), StageName: aws.String("prod"), Description: aws.String("first"),
		Variables: map[string]string{"fn": "hello", "colour": "blue"}}))
}

// callPets calls the pets API's two methods through the gateway.
func callPets(t *testing.T, c *cpEnv, id string) {
	t.Helper()
	base := c.env.GatewayURL + "/" + id + "/prod"
	status, body, _ := get(t, base+"/pets/42?name=rex")
	var g greeting
	if status != 200 || json.Unmarshal([]byte(body), &g) != nil || g.Path != "/pets/42" || g.Name != "rex" || g.Greeting != "hi" {
		t.Fatalf("GET /pets/42 = %d %s", status, body)
	}
	// The validator requires ?name.
	if status, body, _ := get(t, base+"/pets/42"); status != 400 || !strings.Contains(body, "Missing required request parameters: [name]") {
		t.Errorf("GET /pets/42 without name = %d %s, want 400", status, body)
	}
	status, body, hdr := get(t, base+"/mock")
	if status != 200 || strings.TrimSpace(body) != `{"colour":"blue"}` || hdr.Get("X-Mock") != "yes" {
		t.Fatalf("GET /mock = %d %s X-Mock=%q", status, body, hdr.Get("X-Mock"))
	}
	if status, _, _ := get(t, base+"/empty"); status != 403 {
		t.Errorf("GET /empty (no methods) = %d, want 403", status)
	}
}

// TestRestAPIBuiltResourceByResource builds a REST API with the apigateway
// SDK (requests signed for service apigateway), deploys it with stage
// variables and calls it through the gateway; its resource ids survive a
// redeployment and a restart.
func TestRestAPIBuiltResourceByResource(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	createHello(t, ctx, c.fn, "hello", "hi")
	id := buildPets(t, c, "pets")
	before := resourceIDs(t, c.ag, id)
	for _, p := range []string{"/", "/pets", "/pets/{id}", "/mock", "/empty"} {
		if before[p] == "" {
			t.Fatalf("resources %v lack %s", before, p)
		}
	}

	res := must[*apigateway.GetResourceOutput](t, "GetResource")(c.ag.GetResource(ctx, &apigateway.GetResourceInput{
		RestApiId: aws.String(id), ResourceId: aws.String(before["/pets/{id}"]), Embed: []string{"methods"}}))
	m := res.ResourceMethods["GET"]
	if m.MethodIntegration == nil || m.MethodIntegration.Type != agtypes.IntegrationTypeAwsProxy ||
		!reflect.DeepEqual(m.RequestParameters, map[string]bool{"method.request.path.id": true, "method.request.querystring.name": true}) ||
		aws.ToString(m.OperationName) != "getPet" || aws.ToString(res.ParentId) != before["/pets"] {
		t.Fatalf("GetResource(embed=methods) = %+v, GET = %+v", res, m)
	}

	deployProd(t, c, id)
	callPets(t, c, id)

	st := must[*apigateway.GetStageOutput](t, "GetStage")(c.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(id), StageName: aws.String("prod")}))
	if st.Variables["fn"] != "hello" {
		t.Errorf("stage variables = %v", st.Variables)
	}
	deps := must[*apigateway.GetDeploymentsOutput](t, "GetDeployments")(c.ag.GetDeployments(ctx, &apigateway.GetDeploymentsInput{RestApiId: aws.String(id)}))
	if len(deps.Items) != 1 || aws.ToString(deps.Items[0].Id) != aws.ToString(st.DeploymentId) {
		t.Errorf("GetDeployments = %+v, stage on %s", deps.Items, aws.ToString(st.DeploymentId))
	}
	dep := must[*apigateway.GetDeploymentOutput](t, "GetDeployment")(c.ag.GetDeployment(ctx, &apigateway.GetDeploymentInput{
		RestApiId: aws.String(id), DeploymentId: st.DeploymentId, Embed: []string{"apisummary"}}))
	if dep.ApiSummary["/mock"]["GET"].AuthorizationType == nil {
		t.Errorf("GetDeployment apiSummary = %+v", dep.ApiSummary)
	}

	// A second stage from the same deployment, then deleted.
	must[*apigateway.CreateStageOutput](t, "CreateStage")(c.ag.CreateStage(ctx, &apigateway.CreateStageInput{
		RestApiId: aws.String(id), StageName: aws.String("beta"), DeploymentId: st.DeploymentId,
		Variables: map[string]string{"fn": "hello", "colour": "green"}, Tags: map[string]string{"env": "beta"}}))
	if status, body, _ := get(t, c.env.GatewayURL+"/"+id+"/beta/mock"); status != 200 || !strings.Contains(body, "green") {
		t.Errorf("GET beta /mock = %d %s", status, body)
	}
	must[*apigateway.DeleteStageOutput](t, "DeleteStage")(c.ag.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: aws.String(id), StageName: aws.String("beta")}))
	if status, _, _ := get(t, c.env.GatewayURL+"/"+id+"/beta/mock"); status == 200 {
		t.Error("deleted stage beta still answers")
	}

	// Renaming /pets keeps every id in its subtree, and the gateway follows.
	must[*apigateway.UpdateResourceOutput](t, "UpdateResource")(c.ag.UpdateResource(ctx, &apigateway.UpdateResourceInput{
		RestApiId: aws.String(id), ResourceId: aws.String(before["/pets"]),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/pathPart"), Value: aws.String("animals")}}}))
	// A redeployment with variables sets them on the existing stage.
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{
		RestApiId: aws.String(id), StageName: aws.String("prod"), Variables: map[string]string{"colour": "red"}}))
	if status, body, _ := get(t, c.env.GatewayURL+"/"+id+"/prod/animals/7?name=a"); status != 200 {
		t.Errorf("GET /animals/7 after the rename = %d %s", status, body)
	}
	if status, body, _ := get(t, c.env.GatewayURL+"/"+id+"/prod/mock"); status != 200 || !strings.Contains(body, "red") {
		t.Errorf("GET /mock after a deployment with colour=red = %d %s", status, body)
	}
	moved := resourceIDs(t, c.ag, id)
	if moved["/animals"] != before["/pets"] || moved["/animals/{id}"] != before["/pets/{id}"] || moved["/mock"] != before["/mock"] {
		t.Errorf("ids after the rename = %v, before %v", moved, before)
	}

	c.env.Restart()
	if after := resourceIDs(t, c.ag, id); !reflect.DeepEqual(after, moved) {
		t.Errorf("ids after a restart = %v, want %v", after, moved)
	}
	tags := must[*apigateway.GetTagsOutput](t, "GetTags")(c.ag.GetTags(ctx, &apigateway.GetTagsInput{
		ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/restapis/" + id)}))
	if tags.Tags["team"] != "pets" {
		t.Errorf("GetTags = %v", tags.Tags)
	}
}

// canonicalExport reads a get-export document for comparison: info (title,
// version) and the stage URL (servers, host, which name the API's id, and basePath) left
// out, parameters in a stable order.
func canonicalExport(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, body)
	}
	delete(doc, "info")
	delete(doc, "servers")
	delete(doc, "host")
	delete(doc, "basePath")
	for _, item := range doc["paths"].(map[string]any) {
		for _, op := range item.(map[string]any) {
			if params, ok := op.(map[string]any)["parameters"].([]any); ok {
				sort.Slice(params, func(i, j int) bool {
					a, b := params[i].(map[string]any), params[j].(map[string]any)
					return a["in"].(string)+a["name"].(string) < b["in"].(string)+b["name"].(string)
				})
			}
		}
	}
	return doc
}

func export(t *testing.T, c *cpEnv, id, typ string) []byte {
	t.Helper()
	out := must[*apigateway.GetExportOutput](t, "GetExport")(c.ag.GetExport(t.Context(), &apigateway.GetExportInput{
		RestApiId: aws.String(id), StageName: aws.String("prod"), ExportType: aws.String(typ),
		Parameters: map[string]string{"extensions": "apigateway"}}))
	return out.Body
}

// TestRestAPIImportEqualsBuilt imports the OpenAPI form of the API that
// TestRestAPIBuiltResourceByResource builds: both serve the same way, have
// the same resource tree, and export to the same document (OpenAPI 3 and
// Swagger 2.0), and an export imports back to the same API.
func TestRestAPIImportEqualsBuilt(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	createHello(t, ctx, c.fn, "hello", "hi")
	built := buildPets(t, c, "pets")
	imp := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{
		Body: []byte(petsDoc), FailOnWarnings: true, Parameters: map[string]string{"endpointConfigurationTypes": "REGIONAL"}}))
	imported := aws.ToString(imp.Id)
	if len(imp.EndpointConfiguration.Types) != 1 || imp.EndpointConfiguration.Types[0] != agtypes.EndpointTypeRegional {
		t.Errorf("imported endpoint types = %v", imp.EndpointConfiguration.Types)
	}
	for _, id := range []string{built, imported} {
		deployProd(t, c, id)
		callPets(t, c, id)
	}
	paths := func(id string) []string {
		var out []string
		for p := range resourceIDs(t, c.ag, id) {
			out = append(out, p)
		}
		sort.Strings(out)
		return out
	}
	if b, i := paths(built), paths(imported); !reflect.DeepEqual(b, i) {
		t.Errorf("resource paths: built %v, imported %v", b, i)
	}
	for _, typ := range []string{"oas30", "swagger"} {
		b, i := export(t, c, built, typ), export(t, c, imported, typ)
		if bd, id := canonicalExport(t, b), canonicalExport(t, i); !reflect.DeepEqual(bd, id) {
			t.Errorf("%s exports differ:\nbuilt:    %s\nimported: %s", typ, b, i)
		}
	}
	// The SDK always sends Accept: application/json; ask for YAML with net/http.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.env.AdminURL+"/restapis/"+built+"/stages/prod/exports/oas30?extensions=integrations", nil)
	req.Header.Set("Authorization", "Bearer "+cpToken)
	req.Header.Set("Accept", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	yml, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/yaml" ||
		!bytes.Contains(yml, []byte("x-amazon-apigateway-integration")) || bytes.Contains(yml, []byte("x-amazon-apigateway-request-validator")) || !bytes.Contains(yml, []byte("openapi: 3.0.1")) || !bytes.Contains(yml, []byte("/empty: {}")) {
		t.Errorf("YAML export:\n%s", yml)
	}

	// The built API's export, imported with failonwarnings, is the same API.
	again := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi(export)")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{
		Body: export(t, c, built, "oas30"), FailOnWarnings: true}))
	deployProd(t, c, aws.ToString(again.Id))
	callPets(t, c, aws.ToString(again.Id))

	// Without extensions the export is plain OpenAPI.
	plain := must[*apigateway.GetExportOutput](t, "GetExport")(c.ag.GetExport(ctx, &apigateway.GetExportInput{
		RestApiId: aws.String(built), StageName: aws.String("prod"), ExportType: aws.String("oas30")}))
	if bytes.Contains(plain.Body, []byte("x-amazon-apigateway")) {
		t.Errorf("export without extensions has them:\n%s", plain.Body)
	}

	// put-rest-api overwrite with the document keeps the built API's ids.
	ids := resourceIDs(t, c.ag, built)
	must[*apigateway.PutRestApiOutput](t, "PutRestApi")(c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{
		RestApiId: aws.String(built), Mode: agtypes.PutModeOverwrite, Body: []byte(petsDoc)}))
	if after := resourceIDs(t, c.ag, built); !reflect.DeepEqual(after, ids) {
		t.Errorf("ids after put-rest-api = %v, want %v", after, ids)
	}
	// Merge adds a method and keeps the rest.
	must[*apigateway.PutRestApiOutput](t, "PutRestApi merge")(c.ag.PutRestApi(ctx, &apigateway.PutRestApiInput{
		RestApiId: aws.String(built), Mode: agtypes.PutModeMerge, Body: []byte(`{"openapi":"3.0.1","info":{"title":"x","version":"2"},
"paths":{"/mock":{"post":{"responses":{},"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"}}}}}}`)}))
	res := must[*apigateway.GetResourceOutput](t, "GetResource")(c.ag.GetResource(ctx, &apigateway.GetResourceInput{
		RestApiId: aws.String(built), ResourceId: aws.String(ids["/mock"])}))
	if _, ok := res.ResourceMethods["POST"]; !ok || len(res.ResourceMethods) != 2 {
		t.Errorf("after a merge /mock has %v", res.ResourceMethods)
	}
}

// TestRestAPIPagination pages through more resources and APIs than one page
// holds, by position and limit, as the SDK's paginators do.
func TestRestAPIPagination(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("many")}))
	for i := range 30 {
		must[*apigateway.CreateResourceOutput](t, "CreateResource")(c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{
			RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("r" + string(rune('a'+i%26)) + string(rune('a'+i/26)))}))
	}
	seen := map[string]bool{}
	pages := 0
	p := apigateway.NewGetResourcesPaginator(c.ag, &apigateway.GetResourcesInput{RestApiId: api.Id, Limit: aws.Int32(7)})
	for p.HasMorePages() {
		page := must[*apigateway.GetResourcesOutput](t, "GetResources")(p.NextPage(ctx))
		pages++
		if len(page.Items) > 7 {
			t.Fatalf("page of %d items, limit 7", len(page.Items))
		}
		for _, r := range page.Items {
			if seen[aws.ToString(r.Id)] {
				t.Fatalf("resource %s seen twice", aws.ToString(r.Id))
			}
			seen[aws.ToString(r.Id)] = true
		}
	}
	if len(seen) != 31 || pages != 5 {
		t.Errorf("paged %d resources in %d pages, want 31 in 5", len(seen), pages)
	}

	for i := range 4 {
		must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("api" + string(rune('0'+i)))}))
	}
	n := 0
	ap := apigateway.NewGetRestApisPaginator(c.ag, &apigateway.GetRestApisInput{Limit: aws.Int32(2)})
	for ap.HasMorePages() {
		n += len(must[*apigateway.GetRestApisOutput](t, "GetRestApis")(ap.NextPage(ctx)).Items)
	}
	if n != 5 {
		t.Errorf("paged %d REST APIs, want 5", n)
	}
}

// cpAnswer is one answer of the control plane, read with net/http.
type cpAnswer struct {
	Status  int
	Type    string
	Message string
}

func call(t *testing.T, c *cpEnv, method, path, body string) cpAnswer {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, c.env.AdminURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cpToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Message string `json:"message"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return cpAnswer{Status: resp.StatusCode, Type: resp.Header.Get("x-amzn-ErrorType"), Message: out.Message}
}

// TestRestAPIErrors checks every error shape of the v1 control plane: AWS's
// not-found messages, conflicts, patch paths named in bad requests, clashing
// paths, and declared access control the gateway does not enforce, refused
// with the OpenAPI importer's own message.
func TestRestAPIErrors(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("errs")}))
	id, root := aws.ToString(api.Id), aws.ToString(api.RootResourceId)
	pets := must[*apigateway.CreateResourceOutput](t, "CreateResource")(c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{
		RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("pets")}))
	must[*apigateway.CreateResourceOutput](t, "CreateResource")(c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{
		RestApiId: api.Id, ParentId: pets.Id, PathPart: aws.String("{id}")}))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{
		RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	petsID := aws.ToString(pets.Id)

	cases := []struct {
		name, method, path, body string
		status                   int
		typ, message             string
	}{
		{"unknown api", "GET", "/restapis/abcdefghij", "", 404, "NotFoundException", "Invalid API identifier specified 000000000000:abcdefghij"},
		{"unknown api resources", "GET", "/restapis/abcdefghij/resources", "", 404, "NotFoundException", "Invalid API identifier specified 000000000000:abcdefghij"},
		{"unknown resource", "GET", "/restapis/" + id + "/resources/zzzzzz", "", 404, "NotFoundException", "Invalid Resource identifier specified"},
		{"unknown method", "GET", "/restapis/" + id + "/resources/" + petsID + "/methods/POST", "", 404, "NotFoundException", "Invalid Method identifier specified"},
		{"no integration", "GET", "/restapis/" + id + "/resources/" + petsID + "/methods/GET/integration", "", 404, "NotFoundException", "Invalid Integration identifier specified"},
		{"unknown method response", "GET", "/restapis/" + id + "/resources/" + petsID + "/methods/GET/responses/200", "", 404, "NotFoundException", "Invalid Response status code specified"},
		{"unknown stage", "GET", "/restapis/" + id + "/stages/nope", "", 404, "NotFoundException", "Invalid Stage identifier specified"},
		{"unknown deployment", "GET", "/restapis/" + id + "/deployments/zzzzzz", "", 404, "NotFoundException", "Invalid Deployment identifier specified"},
		{"unknown authorizer", "GET", "/restapis/" + id + "/authorizers/zzzzzz", "", 404, "NotFoundException", "Invalid Authorizer identifier specified"},
		{"unknown model", "GET", "/restapis/" + id + "/models/Nope", "", 404, "NotFoundException", "Invalid model name specified: Nope"},
		{"unknown validator", "GET", "/restapis/" + id + "/requestvalidators/zzzzzz", "", 404, "NotFoundException", "Invalid Request Validator identifier specified"},
		{"export of unknown stage", "GET", "/restapis/" + id + "/stages/nope/exports/oas30", "", 404, "NotFoundException", "Invalid Stage identifier specified"},
		{"resource exists", "POST", "/restapis/" + id + "/resources/" + root, `{"pathPart":"pets"}`, 409, "ConflictException", "Another resource with the same parent already has this name: pets"},
		{"method exists", "PUT", "/restapis/" + id + "/resources/" + petsID + "/methods/GET", `{"authorizationType":"NONE"}`, 409, "ConflictException", "Method already exists for this resource"},
		{"variable siblings clash", "POST", "/restapis/" + id + "/resources/" + petsID, `{"pathPart":"{name}"}`, 400, "BadRequestException", "A sibling ({id}) of this resource already has a variable path part -- only one is allowed"},
		{"bad path part", "POST", "/restapis/" + id + "/resources/" + root, `{"pathPart":"a b"}`, 400, "BadRequestException", ""},
		{"unknown patch path", "PATCH", "/restapis/" + id, `{"patchOperations":[{"op":"replace","path":"/nope","value":"x"}]}`, 400, "BadRequestException",
			"Invalid patch path '/nope' specified for op 'replace'. Must be one of the supported paths."},
		{"wrong value type", "PATCH", "/restapis/" + id + "/resources/" + petsID + "/methods/GET", `{"patchOperations":[{"op":"replace","path":"/apiKeyRequired","value":"maybe"}]}`, 400, "BadRequestException",
			`Invalid value for replace /apiKeyRequired: "maybe" is not true or false`},
		{"no integration to deploy", "POST", "/restapis/" + id + "/deployments", `{"stageName":"prod"}`, 400, "BadRequestException", ""},
		{"policy that does not parse", "POST", "/restapis", `{"name":"p","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Maybe\"}]}"}`, 400, "BadRequestException", ""},
		{"private endpoint refused", "POST", "/restapis", `{"name":"p","endpointConfiguration":{"types":["PRIVATE"]}}`, 400, "BadRequestException", ""},
		{"cognito refused", "POST", "/restapis/" + id + "/authorizers", `{"name":"c","type":"COGNITO_USER_POOLS","providerARNs":["arn:aws:cognito-idp:us-east-1:000000000000:userpool/x"]}`, 400, "BadRequestException", ""},
		{"not a document", "POST", "/restapis?mode=import", `{{{`, 400, "BadRequestException", ""},
		{"unknown tag target", "GET", "/tags/arn:aws:apigateway:us-east-1::%2Frestapis%2Fabcdefghij", "", 404, "NotFoundException", "Invalid API identifier specified 000000000000:abcdefghij"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := call(t, c, tc.method, tc.path, tc.body)
			if got.Status != tc.status || got.Type != tc.typ || (tc.message != "" && got.Message != tc.message) || got.Message == "" {
				t.Errorf("%s %s = %d %s %q, want %d %s %q", tc.method, tc.path, got.Status, got.Type, got.Message, tc.status, tc.typ, tc.message)
			}
		})
	}
	// IAM authorization and resource policies are enforced by the gateway, so the
	// control plane takes them as the importer does.
	if got := call(t, c, "PUT", "/restapis/"+id+"/resources/"+petsID+"/methods/POST", `{"authorizationType":"AWS_IAM"}`); got.Status != 201 {
		t.Errorf("put-method AWS_IAM = %d %s %q, want 201", got.Status, got.Type, got.Message)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}]}`
	withPolicy, err := c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("p"), Policy: aws.String(policy)})
	if err != nil || aws.ToString(withPolicy.Policy) == "" {
		t.Errorf("create-rest-api with a policy = %v, %v", withPolicy, err)
	}

	// Nothing of a refused change was applied.
	res := must[*apigateway.GetResourceOutput](t, "GetResource")(c.ag.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: api.Id, ResourceId: pets.Id}))
	if len(res.ResourceMethods) != 2 { // GET, and the AWS_IAM POST

		t.Errorf("after refused changes /pets has methods %v", res.ResourceMethods)
	}
	// The SDK reads the shapes into its typed errors.
	_, err = c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String("abcdefghij")})
	var nf *agtypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("GetRestApi(unknown) = %v, want NotFoundException", err)
	}
	_, err = c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("pets")})
	var conflict *agtypes.ConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("CreateResource(existing) = %v, want ConflictException", err)
	}
}

// TestRestAPIWithKeysAndTags: a method made to require an API key with
// update-method is enforced once redeployed, with a key of a usage plan on the
// stage (the existing key and plan routes); tags work on REST APIs and stages
// (v1) and on HTTP APIs (v2).
func TestRestAPIWithKeysAndTags(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	createHello(t, ctx, c.fn, "hello", "hi")
	id := buildPets(t, c, "pets")
	mock := resourceIDs(t, c.ag, id)["/mock"]
	must[*apigateway.UpdateMethodOutput](t, "UpdateMethod")(c.ag.UpdateMethod(ctx, &apigateway.UpdateMethodInput{
		RestApiId: aws.String(id), ResourceId: aws.String(mock), HttpMethod: aws.String("GET"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/apiKeyRequired"), Value: aws.String("true")}}}))
	deployProd(t, c, id)
	url := c.env.GatewayURL + "/" + id + "/prod/mock"
	if status, _, _ := get(t, url); status != 403 {
		t.Fatalf("GET /mock without a key = %d, want 403", status)
	}
	key := must[*apigateway.CreateApiKeyOutput](t, "CreateApiKey")(c.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true}))
	plan := must[*apigateway.CreateUsagePlanOutput](t, "CreateUsagePlan")(c.ag.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{
		Name: aws.String("p"), ApiStages: []agtypes.ApiStage{{ApiId: aws.String(id), Stage: aws.String("prod")}}}))
	must[*apigateway.CreateUsagePlanKeyOutput](t, "CreateUsagePlanKey")(c.ag.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{
		UsagePlanId: plan.Id, KeyId: key.Id, KeyType: aws.String("API_KEY")}))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("x-api-key", aws.ToString(key.Value))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /mock with the plan's key = %d, want 200", resp.StatusCode)
	}

	stageARN := aws.String("arn:aws:apigateway:us-east-1::/restapis/" + id + "/stages/prod")
	must[*apigateway.TagResourceOutput](t, "TagResource")(c.ag.TagResource(ctx, &apigateway.TagResourceInput{
		ResourceArn: stageARN, Tags: map[string]string{"a": "1", "b": "2"}}))
	must[*apigateway.UntagResourceOutput](t, "UntagResource")(c.ag.UntagResource(ctx, &apigateway.UntagResourceInput{
		ResourceArn: stageARN, TagKeys: []string{"a"}}))
	tags := must[*apigateway.GetTagsOutput](t, "GetTags")(c.ag.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: stageARN}))
	if !reflect.DeepEqual(tags.Tags, map[string]string{"b": "2"}) {
		t.Errorf("stage tags = %v", tags.Tags)
	}
	st := must[*apigateway.GetStageOutput](t, "GetStage")(c.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(id), StageName: aws.String("prod")}))
	if st.Tags["b"] != "2" {
		t.Errorf("GetStage tags = %v", st.Tags)
	}

	// v2: an HTTP API's tags at /v2/tags.
	httpID := importAPI(t, c.env, "openapi: 3.0.1\ninfo: {title: h, version: '1'}\npaths:\n  /x:\n    get:\n      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: 'http://127.0.0.1:1/x', payloadFormatVersion: '1.0'}\n", "HTTP")
	v2 := apigatewayv2.New(apigatewayv2.Options{BaseEndpoint: aws.String(c.env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("portico", cpToken, "")})
	arn := aws.String("arn:aws:apigateway:us-east-1::/apis/" + httpID)
	must[*apigatewayv2.TagResourceOutput](t, "v2 TagResource")(v2.TagResource(ctx, &apigatewayv2.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"x": "y"}}))
	got := must[*apigatewayv2.GetTagsOutput](t, "v2 GetTags")(v2.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: arn}))
	if got.Tags["x"] != "y" {
		t.Errorf("v2 tags = %v", got.Tags)
	}
	must[*apigatewayv2.UntagResourceOutput](t, "v2 UntagResource")(v2.UntagResource(ctx, &apigatewayv2.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"x"}}))
	if got := must[*apigatewayv2.GetTagsOutput](t, "v2 GetTags")(v2.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: arn})); len(got.Tags) != 0 {
		t.Errorf("v2 tags after untag = %v", got.Tags)
	}
	// A REST API is not a v2 resource, nor an HTTP API a v1 one.
	if _, err := v2.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/apis/" + id)}); err == nil {
		t.Error("v2 GetTags of a REST API succeeded")
	}
	if _, err := c.ag.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/restapis/" + httpID)}); err == nil {
		t.Error("v1 GetTags of an HTTP API succeeded")
	}
	// A missing stage of an existing API is the stage's 404, as get-stage
	// says, not the API's.
	nope := aws.String("arn:aws:apigateway:us-east-1::/apis/" + httpID + "/stages/nope")
	_, err = v2.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: nope})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Stage identifier specified 000000000000:nope")
	_, err = v2.TagResource(ctx, &apigatewayv2.TagResourceInput{ResourceArn: nope, Tags: map[string]string{"a": "b"}})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Stage identifier specified 000000000000:nope")
	_, err = v2.UntagResource(ctx, &apigatewayv2.UntagResourceInput{ResourceArn: nope, TagKeys: []string{"a"}})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Stage identifier specified 000000000000:nope")
	_, err = c.ag.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String("arn:aws:apigateway:us-east-1::/restapis/" + id + "/stages/nope")})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Invalid Stage identifier specified")
	// Tags survive a restart.
	c.env.Restart()
	if tags := must[*apigateway.GetTagsOutput](t, "GetTags")(c.ag.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: stageARN})); tags.Tags["b"] != "2" {
		t.Errorf("stage tags after a restart = %v", tags.Tags)
	}
}

// TestRestAPIAuthorizerAndGatewayResponses: a TOKEN authorizer created with
// create-authorizer guards a method put with authorizationType CUSTOM (a call
// without a token is refused by the gateway), and a gateway response put with
// put-gateway-response changes the gateway's answer.
func TestRestAPIAuthorizerAndGatewayResponses(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	createHello(t, ctx, c.fn, "hello", "hi")
	id := buildPets(t, c, "pets")
	au := must[*apigateway.CreateAuthorizerOutput](t, "CreateAuthorizer")(c.ag.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{
		RestApiId: aws.String(id), Name: aws.String("tok"), Type: agtypes.AuthorizerTypeToken,
		AuthorizerUri:                aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello/invocations"),
		IdentitySource:               aws.String("method.request.header.Authorization"),
		AuthorizerResultTtlInSeconds: aws.Int32(0)}))
	mock := resourceIDs(t, c.ag, id)["/mock"]
	m := must[*apigateway.UpdateMethodOutput](t, "UpdateMethod")(c.ag.UpdateMethod(ctx, &apigateway.UpdateMethodInput{
		RestApiId: aws.String(id), ResourceId: aws.String(mock), HttpMethod: aws.String("GET"),
		PatchOperations: []agtypes.PatchOperation{
			{Op: agtypes.OpReplace, Path: aws.String("/authorizationType"), Value: aws.String("CUSTOM")},
			{Op: agtypes.OpReplace, Path: aws.String("/authorizerId"), Value: au.Id},
		}}))
	if aws.ToString(m.AuthorizationType) != "CUSTOM" || aws.ToString(m.AuthorizerId) != aws.ToString(au.Id) {
		t.Fatalf("UpdateMethod = %+v", m)
	}
	got := must[*apigateway.GetAuthorizersOutput](t, "GetAuthorizers")(c.ag.GetAuthorizers(ctx, &apigateway.GetAuthorizersInput{RestApiId: aws.String(id)}))
	if len(got.Items) != 1 || aws.ToString(got.Items[0].IdentitySource) != "method.request.header.Authorization" || got.Items[0].Type != agtypes.AuthorizerTypeToken {
		t.Fatalf("GetAuthorizers = %+v", got.Items)
	}
	// In use: refused.
	if _, err := c.ag.DeleteAuthorizer(ctx, &apigateway.DeleteAuthorizerInput{RestApiId: aws.String(id), AuthorizerId: au.Id}); err == nil {
		t.Error("DeleteAuthorizer of an authorizer in use succeeded")
	}
	must[*apigateway.PutGatewayResponseOutput](t, "PutGatewayResponse")(c.ag.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{
		RestApiId: aws.String(id), ResponseType: agtypes.GatewayResponseTypeMissingAuthenticationToken, StatusCode: aws.String("404"),
		ResponseTemplates: map[string]string{"application/json": `{"error":"no such route"}`}}))
	deployProd(t, c, id)
	base := c.env.GatewayURL + "/" + id + "/prod"
	if status, body, _ := get(t, base+"/mock"); status != 401 {
		t.Errorf("GET /mock without a token = %d %s, want 401", status, body)
	}
	if status, body, _ := get(t, base+"/nowhere"); status != 404 || !strings.Contains(body, "no such route") {
		t.Errorf("GET /nowhere = %d %s, want the customised 404", status, body)
	}
	grs := must[*apigateway.GetGatewayResponsesOutput](t, "GetGatewayResponses")(c.ag.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{
		RestApiId: aws.String(id), Limit: aws.Int32(500)}))
	custom := 0
	for _, gr := range grs.Items {
		if !gr.DefaultResponse {
			custom++
		}
	}
	if len(grs.Items) != 21 || custom != 1 {
		t.Errorf("GetGatewayResponses: %d types, %d customised", len(grs.Items), custom)
	}
	// The export carries the authorizer as a security scheme.
	doc := export(t, c, id, "oas30")
	if !bytes.Contains(doc, []byte(`"x-amazon-apigateway-authorizer"`)) || !bytes.Contains(doc, []byte(`"tok": []`)) {
		t.Errorf("export:\n%s", doc)
	}
	// An import with warnings is refused with failonwarnings.
	_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{FailOnWarnings: true,
		Body: []byte(`{"openapi":"3.0.1","info":{"title":"w","version":"1"},"externalDocs":{"url":"https://example.com"},"paths":{}}`)})
	var bad *agtypes.BadRequestException
	if !errors.As(err, &bad) || !strings.Contains(aws.ToString(bad.Message), "externalDocs") {
		t.Errorf("import with warnings and failonwarnings = %v", err)
	}
}

// TestGatewayResponseFamilyStatus: get-gateway-response(s) reports the status
// in force. A type still on its defaults takes the statusCode of a customised
// DEFAULT_4XX (DEFAULT_5XX), and its own again when that statusCode is
// removed; a type set explicitly without a statusCode keeps its default.
func TestGatewayResponseFamilyStatus(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("family")}))
	id := api.Id
	status := func(typ agtypes.GatewayResponseType) (string, bool) {
		t.Helper()
		gr := must[*apigateway.GetGatewayResponseOutput](t, "GetGatewayResponse")(c.ag.GetGatewayResponse(ctx, &apigateway.GetGatewayResponseInput{
			RestApiId: id, ResponseType: typ}))
		return aws.ToString(gr.StatusCode), gr.DefaultResponse
	}
	must[*apigateway.PutGatewayResponseOutput](t, "PutGatewayResponse")(c.ag.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{
		RestApiId: id, ResponseType: agtypes.GatewayResponseTypeDefault4xx, StatusCode: aws.String("418")}))
	must[*apigateway.PutGatewayResponseOutput](t, "PutGatewayResponse")(c.ag.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{
		RestApiId: id, ResponseType: agtypes.GatewayResponseTypeUnauthorized,
		ResponseParameters: map[string]string{"gatewayresponse.header.X-Own": "'yes'"}}))
	for _, tc := range []struct {
		typ    agtypes.GatewayResponseType
		status string
		def    bool
	}{
		{agtypes.GatewayResponseTypeMissingAuthenticationToken, "418", true},
		{agtypes.GatewayResponseTypeBadRequestBody, "418", true},
		{agtypes.GatewayResponseTypeDefault4xx, "418", false},
		{agtypes.GatewayResponseTypeUnauthorized, "401", false},
		{agtypes.GatewayResponseTypeIntegrationTimeout, "504", true},
		{agtypes.GatewayResponseTypeDefault5xx, "", true},
	} {
		if s, def := status(tc.typ); s != tc.status || def != tc.def {
			t.Errorf("%s: statusCode %q defaultResponse %v, want %q %v", tc.typ, s, def, tc.status, tc.def)
		}
	}
	grs := must[*apigateway.GetGatewayResponsesOutput](t, "GetGatewayResponses")(c.ag.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{
		RestApiId: id, Limit: aws.Int32(500)}))
	for _, gr := range grs.Items {
		if gr.ResponseType == agtypes.GatewayResponseTypeAccessDenied && aws.ToString(gr.StatusCode) != "418" {
			t.Errorf("GetGatewayResponses: ACCESS_DENIED statusCode %q, want 418", aws.ToString(gr.StatusCode))
		}
	}
	// Removing DEFAULT_4XX's statusCode gives the types their own back.
	must[*apigateway.UpdateGatewayResponseOutput](t, "UpdateGatewayResponse")(c.ag.UpdateGatewayResponse(ctx, &apigateway.UpdateGatewayResponseInput{
		RestApiId: id, ResponseType: agtypes.GatewayResponseTypeDefault4xx,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpRemove, Path: aws.String("/statusCode")}}}))
	if s, _ := status(agtypes.GatewayResponseTypeMissingAuthenticationToken); s != "403" {
		t.Errorf("MISSING_AUTHENTICATION_TOKEN after DEFAULT_4XX's statusCode is removed: %q, want 403", s)
	}
}

// TestGatewayResponseFamilyReadBack: the tester's case. A type still on its
// defaults reads back with what it is served with: a customised DEFAULT_5XX's
// template and DEFAULT_4XX's headers (the "Enable CORS" ones) along with the
// inherited status, not the default template and no headers; a family
// without templates leaves the type the default template; a type set
// explicitly reads back as set.
func TestGatewayResponseFamilyReadBack(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("readback")}))
	id := api.Id
	custom5 := map[string]string{"application/json": `{"custom5":$context.error.messageString}`}
	cors := map[string]string{"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}
	own := map[string]string{"application/json": `{"own":1}`}
	for _, in := range []*apigateway.PutGatewayResponseInput{
		{RestApiId: id, ResponseType: agtypes.GatewayResponseTypeDefault5xx, StatusCode: aws.String("599"), ResponseTemplates: custom5},
		{RestApiId: id, ResponseType: agtypes.GatewayResponseTypeDefault4xx, ResponseParameters: cors},
		{RestApiId: id, ResponseType: agtypes.GatewayResponseTypeThrottled, ResponseTemplates: own},
	} {
		must[*apigateway.PutGatewayResponseOutput](t, "PutGatewayResponse")(c.ag.PutGatewayResponse(ctx, in))
	}
	dflt := map[string]string{"application/json": `{"message":$context.error.messageString}`}
	for _, tc := range []struct {
		typ       agtypes.GatewayResponseType
		status    string
		params    map[string]string
		templates map[string]string
		def       bool
	}{
		{agtypes.GatewayResponseTypeIntegrationTimeout, "599", map[string]string{}, custom5, true},
		{agtypes.GatewayResponseTypeAccessDenied, "403", cors, dflt, true},
		{agtypes.GatewayResponseTypeThrottled, "429", map[string]string{}, own, false},
		{agtypes.GatewayResponseTypeDefault5xx, "599", map[string]string{}, custom5, false},
	} {
		gr := must[*apigateway.GetGatewayResponseOutput](t, "GetGatewayResponse")(c.ag.GetGatewayResponse(ctx, &apigateway.GetGatewayResponseInput{
			RestApiId: id, ResponseType: tc.typ}))
		if aws.ToString(gr.StatusCode) != tc.status || gr.DefaultResponse != tc.def || !maps.Equal(gr.ResponseParameters, tc.params) ||
			!maps.Equal(gr.ResponseTemplates, tc.templates) {
			t.Errorf("%s: %s %v %v %v, want %s %v %v %v", tc.typ, aws.ToString(gr.StatusCode), gr.DefaultResponse, gr.ResponseParameters,
				gr.ResponseTemplates, tc.status, tc.def, tc.params, tc.templates)
		}
	}
	grs := must[*apigateway.GetGatewayResponsesOutput](t, "GetGatewayResponses")(c.ag.GetGatewayResponses(ctx, &apigateway.GetGatewayResponsesInput{
		RestApiId: id, Limit: aws.Int32(500)}))
	for _, gr := range grs.Items {
		if gr.ResponseType == agtypes.GatewayResponseTypeUnauthorized && !maps.Equal(gr.ResponseParameters, cors) {
			t.Errorf("GetGatewayResponses: UNAUTHORIZED responseParameters %v, want %v", gr.ResponseParameters, cors)
		}
	}
}

// TestImportJavaRegularExpressions: an OpenAPI document whose selection
// pattern and model patterns use Java syntax RE2 lacks (lookahead, \p{Alpha})
// imports, as it does into API Gateway; a selection pattern that is no
// regular expression is refused naming it as written.
func TestImportJavaRegularExpressions(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	doc := `{"openapi": "3.0.1", "info": {"title": "javare", "version": "1"},
  "paths": {"/accounts": {"post": {
    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Account"}}}},
    "responses": {"200": {"description": "ok"}, "400": {"description": "bad"}},
    "x-amazon-apigateway-request-validator": "body",
    "x-amazon-apigateway-integration": {"type": "aws", "httpMethod": "POST",
      "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello/invocations",
      "responses": {"default": {"statusCode": "200"}, "PATTERN": {"statusCode": "400"}}}}}},
  "x-amazon-apigateway-request-validators": {"body": {"validateRequestBody": true, "validateRequestParameters": false}},
  "components": {"schemas": {"Account": {"type": "object",
    "properties": {"password": {"type": "string", "pattern": "^(?=.*[A-Z]).{8,}$"}},
    "patternProperties": {"^x-\\p{Alpha}+$": {"type": "integer"}}}}}}`
	out, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{FailOnWarnings: true,
		Body: []byte(strings.Replace(doc, "PATTERN", `^(?!Internal).+`, 1))})
	if err != nil || aws.ToString(out.Id) == "" {
		t.Fatalf("import with Java patterns: %v", err)
	}
	_, err = c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(strings.Replace(doc, "PATTERN", `[`, 1))})
	var bad *agtypes.BadRequestException
	if !errors.As(err, &bad) || !strings.Contains(aws.ToString(bad.Message), `pattern "[" is not a regular expression`) ||
		strings.Contains(aws.ToString(bad.Message), ")$") {
		t.Errorf("import with selection pattern [: %v", err)
	}
}

// TestPutGatewayResponseRefusesBadHeaderNames: put-gateway-response with a
// gatewayresponse.header name that is no HTTP header name (CR/LF, a space)
// is a BadRequestException naming it; it was saved and the header silently
// not sent (r-vtlval27 #5).
func TestPutGatewayResponseRefusesBadHeaderNames(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("grnames")}))
	for _, name := range []string{"X-Bad\r\nInj", "X Bad"} {
		_, err := c.ag.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: api.Id,
			ResponseType:       agtypes.GatewayResponseTypeBadRequestParameters,
			ResponseParameters: map[string]string{"gatewayresponse.header." + name: "'v'"}})
		var bre *agtypes.BadRequestException
		if !errors.As(err, &bre) || !strings.Contains(err.Error(), "is not an HTTP header name") {
			t.Errorf("%q: %v; want BadRequestException naming the header", name, err)
		}
	}
	must[*apigateway.PutGatewayResponseOutput](t, "PutGatewayResponse")(c.ag.PutGatewayResponse(ctx, &apigateway.PutGatewayResponseInput{RestApiId: api.Id,
		ResponseType: agtypes.GatewayResponseTypeBadRequestParameters, ResponseParameters: map[string]string{"gatewayresponse.header.X-Good": "'v'"}}))
}
