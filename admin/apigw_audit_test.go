package admin_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
)

// TestRestAPIModelReferences: a new REST API has API Gateway's two default
// models, Empty and Error, which methods may name; a method or method response
// naming a model the API lacks is refused with API Gateway's
// BadRequestException ("Invalid model identifier specified: X"), instead of
// being stored to break the stage (500 on every route) and the export (a $ref
// that does not resolve).
func TestRestAPIModelReferences(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("models")}))
	models := must[*apigateway.GetModelsOutput](t, "GetModels")(c.ag.GetModels(ctx, &apigateway.GetModelsInput{RestApiId: api.Id}))
	var names []string
	for _, m := range models.Items {
		names = append(names, aws.ToString(m.Name))
	}
	if len(names) != 2 || names[0] != "Empty" || names[1] != "Error" {
		t.Errorf("a new REST API's models = %v, want [Empty Error]", names)
	}

	res := must[*apigateway.CreateResourceOutput](t, "CreateResource")(c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{
		RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("pets")}))
	badRequest := func(what string, err error) {
		t.Helper()
		var br *agtypes.BadRequestException
		if !errors.As(err, &br) || aws.ToString(br.Message) != "Invalid model identifier specified: Nope" {
			t.Errorf("%s naming an unknown model = %v, want BadRequestException: Invalid model identifier specified: Nope", what, err)
		}
	}
	_, err := c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("POST"),
		AuthorizationType: aws.String("NONE"), RequestModels: map[string]string{"application/json": "Nope"}})
	badRequest("PutMethod", err)
	must[*apigateway.PutMethodOutput](t, "PutMethod with Empty")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id,
		HttpMethod: aws.String("POST"), AuthorizationType: aws.String("NONE"), RequestModels: map[string]string{"application/json": "Empty"}}))
	_, err = c.ag.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("POST"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/requestModels/application~1json"), Value: aws.String("Nope")}}})
	badRequest("UpdateMethod", err)
	_, err = c.ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("POST"),
		StatusCode: aws.String("200"), ResponseModels: map[string]string{"application/json": "Nope"}})
	badRequest("PutMethodResponse", err)
	must[*apigateway.PutMethodResponseOutput](t, "PutMethodResponse with Error")(c.ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
		RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("POST"), StatusCode: aws.String("400"),
		ResponseModels: map[string]string{"application/json": "Error"}}))
	_, err = c.ag.UpdateMethodResponse(ctx, &apigateway.UpdateMethodResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("POST"),
		StatusCode: aws.String("400"), PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpAdd, Path: aws.String("/responseModels/text~1plain"), Value: aws.String("Nope")}}})
	badRequest("UpdateMethodResponse", err)

	// Nothing of the refused calls was kept.
	m := must[*apigateway.GetMethodOutput](t, "GetMethod")(c.ag.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("POST")}))
	if m.RequestModels["application/json"] != "Empty" || len(m.MethodResponses) != 1 || len(m.MethodResponses["400"].ResponseModels) != 1 {
		t.Errorf("after refused changes the method is %+v", m)
	}
	// A model a method names is in use.
	if _, err := c.ag.DeleteModel(ctx, &apigateway.DeleteModelInput{RestApiId: api.Id, ModelName: aws.String("Empty")}); err == nil {
		t.Error("DeleteModel(Empty) while POST /pets names it succeeded")
	}

	// With a validator checking bodies, the deployed method validates against
	// Empty (any object), and the export's $refs resolve: it imports again.
	v := must[*apigateway.CreateRequestValidatorOutput](t, "CreateRequestValidator")(c.ag.CreateRequestValidator(ctx, &apigateway.CreateRequestValidatorInput{
		RestApiId: api.Id, Name: aws.String("body"), ValidateRequestBody: true}))
	must[*apigateway.UpdateMethodOutput](t, "UpdateMethod")(c.ag.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: api.Id, ResourceId: res.Id,
		HttpMethod: aws.String("POST"), PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/requestValidatorId"), Value: v.Id}}}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id,
		HttpMethod: aws.String("POST"), Type: agtypes.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}))
	// The integration response's status needs its method response, or the
	// request is a 500, as on API Gateway.
	must[*apigateway.PutMethodResponseOutput](t, "PutMethodResponse 200")(c.ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
		RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("POST"), StatusCode: aws.String("200")}))
	must[*apigateway.PutIntegrationResponseOutput](t, "PutIntegrationResponse")(c.ag.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{
		RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("POST"), StatusCode: aws.String("200"), SelectionPattern: aws.String("")}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}))
	status, body := post(t, c.env.GatewayURL+"/"+aws.ToString(api.Id)+"/prod/pets", `{"name":"rex"}`)
	if status != 200 {
		t.Errorf("POST /prod/pets = %d %s, want 200", status, body)
	}
	if status, body := post(t, c.env.GatewayURL+"/"+aws.ToString(api.Id)+"/prod/pets", `[1]`); status != 400 {
		t.Errorf("POST /prod/pets with an array (Empty wants an object) = %d %s, want 400", status, body)
	}
	exp := must[*apigateway.GetExportOutput](t, "GetExport")(c.ag.GetExport(ctx, &apigateway.GetExportInput{RestApiId: api.Id, StageName: aws.String("prod"),
		ExportType: aws.String("oas30"), Parameters: map[string]string{"extensions": "apigateway"}}))
	must[*apigateway.ImportRestApiOutput](t, "ImportRestApi of the export")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: exp.Body}))
}

// post sends body as JSON to the gateway and returns the status and body.
func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body)) //nolint:gosec,noctx // a test URL
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// deployedMockAPI creates a REST API whose GET / is a MOCK answering 200 and deploys
// it to stage prod; it returns the API's id.
func deployedMockAPI(t *testing.T, c *cpEnv, name string) string {
	t.Helper()
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String(name)}))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: api.RootResourceId,
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: api.RootResourceId,
		HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}))
	return aws.ToString(api.Id)
}

// TestUpdateStageUnknownDeployment: update-stage naming a deployment the API
// lacks says the deployment is unknown, as create-stage does, not the stage
// (which exists).
func TestUpdateStageUnknownDeployment(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	id := deployedMockAPI(t, c, "stages")
	for _, path := range []string{"/deploymentId", "/canarySettings/deploymentId"} {
		_, err := c.ag.UpdateStage(t.Context(), &apigateway.UpdateStageInput{RestApiId: aws.String(id), StageName: aws.String("prod"),
			PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String(path), Value: aws.String("nosuch")}}})
		var nf *agtypes.NotFoundException
		if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Invalid Deployment identifier specified" {
			t.Errorf("update-stage %s to an unknown deployment = %v, want NotFoundException: Invalid Deployment identifier specified", path, err)
		}
	}
	_, err := c.ag.UpdateStage(t.Context(), &apigateway.UpdateStageInput{RestApiId: aws.String(id), StageName: aws.String("nosuch"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/deploymentId"), Value: aws.String("nosuch")}}})
	var nf *agtypes.NotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Invalid Stage identifier specified" {
		t.Errorf("update-stage of an unknown stage = %v, want NotFoundException: Invalid Stage identifier specified", err)
	}
}

// TestIntegrationMappingsMustBeDeclared: put-integration mapping a method
// request parameter the method does not declare, and put-integration-response
// mapping a header its method response does not declare (or for a status
// without a method response), are refused with API Gateway's
// "Invalid mapping expression specified" BadRequestException; declared ones
// (and the resource's path parameters) are taken.
func TestIntegrationMappingsMustBeDeclared(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("mappings")}))
	res := must[*apigateway.CreateResourceOutput](t, "CreateResource")(c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{
		RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("{id}")}))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: res.Id,
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE"), RequestParameters: map[string]bool{"method.request.querystring.q": false}}))
	wantRefused := func(what string, err error, detail string) {
		t.Helper()
		want := "Invalid mapping expression specified: Validation Result: warnings : [], errors : [" + detail + "]"
		var br *agtypes.BadRequestException
		if !errors.As(err, &br) || aws.ToString(br.Message) != want {
			t.Errorf("%s = %v, want BadRequestException: %s", what, err, want)
		}
	}
	integ := func(params map[string]string) error {
		_, err := c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			Type: agtypes.IntegrationTypeHttp, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String("http://127.0.0.1:1/{id}"), RequestParameters: params})
		return err
	}
	wantRefused("PutIntegration from an undeclared query parameter",
		integ(map[string]string{"integration.request.header.x": "method.request.querystring.nope"}),
		"Invalid mapping expression parameter specified: method.request.querystring.nope")
	wantRefused("PutIntegration from an undeclared header",
		integ(map[string]string{"integration.request.header.x": "method.request.header.X-Nope"}),
		"Invalid mapping expression parameter specified: method.request.header.X-Nope")
	if err := integ(map[string]string{"integration.request.header.x": "method.request.querystring.q", "integration.request.path.id": "method.request.path.id",
		"integration.request.header.y": "'literal'"}); err != nil {
		t.Fatalf("PutIntegration from declared parameters: %v", err)
	}
	_, err := c.ag.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpAdd, Path: aws.String("/requestParameters/integration.request.querystring.z"), Value: aws.String("method.request.multivaluequerystring.z")}}})
	wantRefused("UpdateIntegration from an undeclared query parameter", err, "Invalid mapping expression parameter specified: method.request.multivaluequerystring.z")

	intResp := func(code string) error {
		_, err := c.ag.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
			StatusCode: aws.String(code), SelectionPattern: aws.String(code),
			ResponseParameters: map[string]string{"method.response.header.X-Id": "integration.response.header.X-Id"}})
		return err
	}
	wantRefused("PutIntegrationResponse without a method response", intResp("200"), "No method response exists for method.")
	// Without mappings, a status with no method response is not found, as
	// API Gateway answers it; it used to be taken, to fail every request it
	// was selected for.
	_, err = c.ag.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: res.Id, HttpMethod: aws.String("GET"),
		StatusCode: aws.String("500"), SelectionPattern: aws.String(`5\d\d`)})
	var nf *agtypes.NotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Invalid Response status code specified" {
		t.Errorf("PutIntegrationResponse 500 without a method response = %v, want NotFoundException: Invalid Response status code specified", err)
	}
	must[*apigateway.PutMethodResponseOutput](t, "PutMethodResponse")(c.ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id,
		ResourceId: res.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}))
	wantRefused("PutIntegrationResponse mapping an undeclared header", intResp("200"), "Invalid mapping expression parameter specified: method.response.header.X-Id")
	must[*apigateway.UpdateMethodResponseOutput](t, "UpdateMethodResponse")(c.ag.UpdateMethodResponse(ctx, &apigateway.UpdateMethodResponseInput{RestApiId: api.Id,
		ResourceId: res.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpAdd, Path: aws.String("/responseParameters/method.response.header.X-Id"), Value: aws.String("false")}}}))
	if err := intResp("200"); err != nil {
		t.Errorf("PutIntegrationResponse mapping a declared header: %v", err)
	}
}

// TestUnknownAPIGatewayOperation: an API Gateway operation Portico does not
// implement answers in API Gateway's JSON error shape (UnknownOperationException,
// 404), which the SDKs and CLI read, instead of a plain-text 404 or 405, on both
// control planes; the routes Portico serves under the same paths still answer.
func TestUnknownAPIGatewayOperation(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	_, err := c.ag.GetAccount(ctx, &apigateway.GetAccountInput{})
	apiError(t, err, "UnknownOperationException", 404)
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("docs")}))
	_, err = c.ag.CreateDocumentationPart(ctx, &apigateway.CreateDocumentationPartInput{RestApiId: api.Id,
		Location: &agtypes.DocumentationPartLocation{Type: agtypes.DocumentationPartTypeApi}, Properties: aws.String(`{"description":"x"}`)})
	apiError(t, err, "UnknownOperationException", 404)
	_, err = c.ag.CreateVpcLink(ctx, &apigateway.CreateVpcLinkInput{Name: aws.String("l"), TargetArns: []string{"arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/x/y"}})
	apiError(t, err, "UnknownOperationException", 404)
	must[*apigateway.GetRestApiOutput](t, "GetRestApi")(c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api.Id}))

	v2 := startV2(t)
	_, err = v2.ag.GetVpcLinks(ctx, &apigatewayv2.GetVpcLinksInput{})
	apiError(t, err, "UnknownOperationException", 404)
	must[*apigatewayv2.GetApisOutput](t, "GetApis")(v2.ag.GetApis(ctx, &apigatewayv2.GetApisInput{}))
}

// TestAPIVersionOnlyWhenGiven: an API created without a version has none (as
// API Gateway's get-rest-api and get-api show), and its export's info.version
// is its creation time, as API Gateway's exports are. On the way, deploying it
// before it has methods, or integrations, is refused in API Gateway's words.
func TestAPIVersionOnlyWhenGiven(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("v")}))
	got := must[*apigateway.GetRestApiOutput](t, "GetRestApi")(c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api.Id}))
	if got.Version != nil {
		t.Errorf("get-rest-api version = %q, want none", aws.ToString(got.Version))
	}
	// API Gateway's words, without Portico's ": invalid parameter".
	_, err := c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")})
	var br *agtypes.BadRequestException
	if !errors.As(err, &br) || aws.ToString(br.Message) != "The REST API doesn't contain any methods" {
		t.Errorf("deploying an API without methods = %v, want BadRequestException: The REST API doesn't contain any methods", err)
	}
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: api.RootResourceId,
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	_, err = c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")})
	if !errors.As(err, &br) || aws.ToString(br.Message) != "No integration defined for method (GET /)" {
		t.Errorf("deploying a method without integration = %v, want BadRequestException: No integration defined for method (GET /)", err)
	}
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: api.RootResourceId,
		HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")}))
	exp := must[*apigateway.GetExportOutput](t, "GetExport")(c.ag.GetExport(ctx, &apigateway.GetExportInput{RestApiId: api.Id, StageName: aws.String("dev"), ExportType: aws.String("oas30")}))
	var doc struct{ Info struct{ Version string } }
	if err := json.Unmarshal(exp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if want := api.CreatedDate.UTC().Format(time.RFC3339); doc.Info.Version != want {
		t.Errorf("export info.version = %q, want the creation time %q", doc.Info.Version, want)
	}
	given := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("v2"), Version: aws.String("1.2")}))
	if aws.ToString(given.Version) != "1.2" {
		t.Errorf("create-rest-api --version 1.2 = %q", aws.ToString(given.Version))
	}

	v2 := startV2(t)
	h := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(v2.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("h"), ProtocolType: "HTTP"}))
	if h.Version != nil {
		t.Errorf("create-api version = %q, want none", aws.ToString(h.Version))
	}
}
