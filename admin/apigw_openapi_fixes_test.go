package admin_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// TestCreateAPIKeyEmptyValueGenerates: Terraform's aws_api_gateway_api_key
// without a value sends {"value":""}; API Gateway generates a key then, as it
// does for no value at all.
func TestCreateAPIKeyEmptyValueGenerates(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	key, err := c.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("tf"), Enabled: true, Value: aws.String("")})
	if err != nil {
		t.Fatalf("CreateApiKey value \"\": %v", err)
	}
	if v := aws.ToString(key.Value); len(v) < 20 {
		t.Fatalf("generated value %q, want at least 20 characters", v)
	}
	got, err := c.ag.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: key.Id, IncludeValue: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetApiKey: %v", err)
	}
	if aws.ToString(got.Value) != aws.ToString(key.Value) {
		t.Fatalf("read back value %q, want %q", aws.ToString(got.Value), aws.ToString(key.Value))
	}
	// A value that is given stays held to AWS's rule.
	_, err = c.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("short"), Value: aws.String("short")})
	if err == nil {
		t.Fatal("CreateApiKey value \"short\" succeeded, want BadRequestException")
	}
}

// TestV2ImportIgnoresWhatHTTPAPIsDoNotHave: HTTP APIs have no request
// validation and do not transform requests. API Gateway's import-api ignores
// request validators, and an integration's requestTemplates and
// passthroughBehavior, with a warning; nothing of them is stored (get-routes
// shows no requestParameters, which create-route refuses on HTTP APIs) and
// failOnWarnings refuses the document.
func TestV2ImportIgnoresWhatHTTPAPIsDoNotHave(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	doc := `openapi: 3.0.1
info: {title: hv, version: "1"}
x-amazon-apigateway-request-validators:
  all: {validateRequestBody: true, validateRequestParameters: true}
x-amazon-apigateway-request-validator: all
paths:
  /s:
    get:
      x-amazon-apigateway-request-validator: all
      parameters: [{name: q, in: query, required: true, schema: {type: string}}]
      responses: {default: {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: https://example.com/s
        payloadFormatVersion: "1.0"
        passthroughBehavior: never
        requestTemplates: {application/json: '{"x":1}'}
  /b:
    post:
      requestBody:
        content:
          application/json: {schema: {$ref: '#/components/schemas/Pet'}}
      responses: {default: {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: POST
        uri: https://example.com/b
        payloadFormatVersion: "1.0"
        responses:
          default: {statusCode: "200", responseTemplates: {application/json: '{"y":1}'}}
components:
  schemas:
    Pet: {type: object}
`
	imp, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	if err != nil {
		t.Fatalf("ImportApi: %v", err)
	}
	all := strings.Join(imp.Warnings, "\n")
	for _, want := range []string{"x-amazon-apigateway-request-validators is ignored", "x-amazon-apigateway-request-validator is ignored",
		"GET /s: x-amazon-apigateway-request-validator is ignored", "requestTemplates are ignored", "passthroughBehavior is ignored",
		"POST /b: x-amazon-apigateway-integration: responses are ignored"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: imp.ApiId})
	if err != nil {
		t.Fatalf("GetRoutes: %v", err)
	}
	for _, r := range routes.Items {
		if len(r.RequestParameters) > 0 {
			t.Errorf("route %s shows requestParameters %v, which an HTTP API neither enforces nor takes from create-route", aws.ToString(r.RouteKey), r.RequestParameters)
		}
		// requestModels are WebSocket APIs' (AWS); the model stays in the
		// export's request body.
		if len(r.RequestModels) > 0 {
			t.Errorf("route %s shows requestModels %v, which only WebSocket routes have", aws.ToString(r.RouteKey), r.RequestModels)
		}
		if got, err := e.ag.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: imp.ApiId, RouteId: r.RouteId}); err != nil || len(got.RequestModels) > 0 {
			t.Errorf("GetRoute %s: requestModels %v, %v", aws.ToString(r.RouteKey), got.RequestModels, err)
		}
	}
	ints, err := e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: imp.ApiId})
	if err != nil {
		t.Fatalf("GetIntegrations: %v", err)
	}
	for _, in := range ints.Items {
		if len(in.RequestTemplates) > 0 || in.PassthroughBehavior != "" {
			t.Errorf("integration keeps requestTemplates %v, passthroughBehavior %q", in.RequestTemplates, in.PassthroughBehavior)
		}
		if len(in.ResponseParameters) > 0 || in.TemplateSelectionExpression != nil {
			t.Errorf("integration keeps responseParameters %v, templateSelectionExpression %v", in.ResponseParameters, aws.ToString(in.TemplateSelectionExpression))
		}
	}
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc), FailOnWarnings: aws.Bool(true)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "request-validators is ignored")
}

// sharedIntegrationsDoc is API Gateway's documented example of
// x-amazon-apigateway-integrations: integrations defined once under
// components and referred to by $ref from operations.
const sharedIntegrationsDoc = `{ "openapi": "3.0.1", "info": { "title": "Integrations", "description": "An API that reuses integrations", "version": "1.0" },
  "servers": [ { "url": "https://example.com/{basePath}", "description": "The production API server", "variables": { "basePath": { "default": "example/path" } } }],
  "paths": { "/": { "get": { "x-amazon-apigateway-integration": { "$ref": "#/components/x-amazon-apigateway-integrations/integration1" } } },
             "/pets": { "get": { "x-amazon-apigateway-integration": { "$ref": "#/components/x-amazon-apigateway-integrations/integration1" } } },
             "/checkout": { "get": { "x-amazon-apigateway-integration": { "$ref": "#/components/x-amazon-apigateway-integrations/integration2" } } } },
  "components": { "x-amazon-apigateway-integrations": {
      "integration1": { "type": "aws_proxy", "httpMethod": "POST", "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello/invocations", "payloadFormatVersion": "1.0" },
      "integration2": { "type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com/checkout", "payloadFormatVersion" : "1.0" } } } }`

// TestV2ImportSharedIntegrations: operations of an HTTP API document refer to
// components.x-amazon-apigateway-integrations by $ref; each route gets the
// integration named, routes naming one share it, and the export writes each
// route's integration in full, which imports again to the same routes.
func TestV2ImportSharedIntegrations(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	imp, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(sharedIntegrationsDoc)})
	if err != nil {
		t.Fatalf("ImportApi: %v", err)
	}
	if w := strings.Join(imp.Warnings, "\n"); strings.Contains(w, "x-amazon-apigateway-integration") {
		t.Errorf("warnings about the shared integrations:\n%s", w)
	}
	targets := func(id *string) map[string]string {
		t.Helper()
		routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: id})
		if err != nil {
			t.Fatalf("GetRoutes: %v", err)
		}
		ints, err := e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: id})
		if err != nil {
			t.Fatalf("GetIntegrations: %v", err)
		}
		uri := map[string]string{}
		for _, in := range ints.Items {
			uri["integrations/"+aws.ToString(in.IntegrationId)] = string(in.IntegrationType) + " " + aws.ToString(in.IntegrationUri)
		}
		out := map[string]string{}
		for _, r := range routes.Items {
			out[aws.ToString(r.RouteKey)] = uri[aws.ToString(r.Target)]
		}
		return out
	}
	fn := "AWS_PROXY arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello/invocations"
	want := map[string]string{"GET /": fn, "GET /pets": fn, "GET /checkout": "HTTP_PROXY https://example.com/checkout"}
	if got := targets(imp.ApiId); !maps.Equal(got, want) {
		t.Fatalf("routes -> integrations %v, want %v", got, want)
	}
	out, err := e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: imp.ApiId, Specification: aws.String("OAS30"), OutputType: aws.String("JSON")})
	if err != nil {
		t.Fatalf("ExportApi: %v", err)
	}
	if strings.Contains(string(out.Body), "$ref") || strings.Contains(string(out.Body), "x-amazon-apigateway-integrations") {
		t.Fatalf("export keeps the shared integrations or their references:\n%s", out.Body)
	}
	again, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(string(out.Body)), FailOnWarnings: aws.Bool(true)})
	if err != nil {
		t.Fatalf("ImportApi of the export: %v\n%s", err, out.Body)
	}
	if got := targets(again.ApiId); !maps.Equal(got, want) {
		t.Fatalf("export's import: routes -> integrations %v, want %v", got, want)
	}

	for _, tc := range []struct{ name, doc, msg string }{
		{"unknown name", strings.Replace(sharedIntegrationsDoc, "integrations/integration2", "integrations/nope", 1), `names no integration of components.x-amazon-apigateway-integrations`},
		{"elsewhere", strings.Replace(sharedIntegrationsDoc, "#/components/x-amazon-apigateway-integrations/integration2", "#/components/schemas/x", 1), `must name a shared integration`},
	} {
		_, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(tc.doc)})
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: ImportApi error %v, want one containing %q", tc.name, err, tc.msg)
		}
	}
}

// sigv4Doc is a REST API whose GET /who requires SigV4 (IAM) through an
// awsSigv4 security scheme, as API Gateway's exports write AWS_IAM.
const sigv4Doc = `openapi: 3.0.1
info: {title: sigv4, version: "1"}
components:
  securitySchemes:
    sigv4: {type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}
paths:
  /who:
    get:
      security: [{sigv4: []}]
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"user":"$context.identity.user"}'}}}
`

// TestImportedSigV4SchemeReadsBackAsAWSIAM: an imported awsSigv4 security
// scheme is IAM authorization: get-method reads AWS_IAM with no authorizer,
// get-authorizers lists none, and the gateway still requires a signature: an
// unsigned call is 403, one signed by a principal allowed execute-api:Invoke
// passes.
func TestImportedSigV4SchemeReadsBackAsAWSIAM(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ag := apigateway.NewFromConfig(sdkConfig(env.AdminURL, "any"))
	ctx := t.Context()
	api, err := ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(sigv4Doc), FailOnWarnings: true})
	if err != nil {
		t.Fatalf("ImportRestApi: %v", err)
	}
	m, err := ag.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api.Id, ResourceId: aws.String(resourceIDs(t, ag, aws.ToString(api.Id))["/who"]), HttpMethod: aws.String("GET")})
	if err != nil {
		t.Fatalf("GetMethod: %v", err)
	}
	if aws.ToString(m.AuthorizationType) != "AWS_IAM" || m.AuthorizerId != nil {
		t.Errorf("GET /who: authorizationType %q, authorizerId %q, want AWS_IAM and none", aws.ToString(m.AuthorizationType), aws.ToString(m.AuthorizerId))
	}
	auths, err := ag.GetAuthorizers(ctx, &apigateway.GetAuthorizersInput{RestApiId: api.Id})
	if err != nil {
		t.Fatalf("GetAuthorizers: %v", err)
	}
	for _, au := range auths.Items {
		t.Errorf("GetAuthorizers lists %q (type %q, authType %q); IAM authorization is no authorizer", aws.ToString(au.Name), au.Type, aws.ToString(au.AuthType))
	}
	// The same document as an HTTP API: the route is AWS_IAM, no authorizer.
	ag2 := apigatewayv2.NewFromConfig(sdkConfig(env.AdminURL, "any"))
	h, err := ag2.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(strings.Replace(sigv4Doc, "type: mock", "type: http_proxy\n        httpMethod: GET\n        uri: https://example.com/\n        payloadFormatVersion: \"1.0\"", 1))})
	if err != nil {
		t.Fatalf("ImportApi: %v", err)
	}
	routes, err := ag2.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: h.ApiId})
	if err != nil || len(routes.Items) != 1 {
		t.Fatalf("GetRoutes: %v %v", routes, err)
	}
	if r := routes.Items[0]; r.AuthorizationType != "AWS_IAM" || r.AuthorizerId != nil {
		t.Errorf("HTTP route: authorizationType %q, authorizerId %q, want AWS_IAM and none", r.AuthorizationType, aws.ToString(r.AuthorizerId))
	}
	if au, err := ag2.GetAuthorizers(ctx, &apigatewayv2.GetAuthorizersInput{ApiId: h.ApiId}); err != nil || len(au.Items) != 0 {
		t.Errorf("HTTP GetAuthorizers: %v %v, want none", au, err)
	}
	if _, err := ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}); err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	u := env.GatewayURL + "/" + aws.ToString(api.Id) + "/prod/who"
	if st, body, _ := get(t, u); st != http.StatusForbidden {
		t.Errorf("unsigned GET /who = %d %s, want 403", st, body)
	}
	if a := iamCall(t, env, "CreateUser", "UserName", "alice"); a.status != 200 {
		t.Fatalf("CreateUser: %d %s", a.status, a.body)
	}
	if a := iamCall(t, env, "PutUserPolicy", "UserName", "alice", "PolicyName", "p", "PolicyDocument",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`); a.status != 200 {
		t.Fatalf("PutUserPolicy: %d %s", a.status, a.body)
	}
	key := iamCall(t, env, "CreateAccessKey", "UserName", "alice")
	var secret struct {
		S string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if key.status != 200 || xml.Unmarshal([]byte(key.body), &secret) != nil {
		t.Fatalf("CreateAccessKey: %d %s", key.status, key.body)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	sigv4test.SignNow(t, req, aws.Credentials{AccessKeyID: key.KeyID, SecretAccessKey: secret.S}, nil, "execute-api")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"user":"`) {
		t.Errorf("signed GET /who = %d %s, want 200", resp.StatusCode, body)
	}
}

// TestV2ImportTags: an HTTP API document's root tag objects are the API's
// tags, valued by x-amazon-apigateway-tag-value ("" without), as API
// Gateway's import makes them; the export writes them back.
func TestV2ImportTags(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	doc := `openapi: 3.0.1
info: {title: tagged, version: "1"}
tags:
  - name: Owner
    x-amazon-apigateway-tag-value: Admin
  - name: Team
paths:
  /a:
    get:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "https://example.com/a", payloadFormatVersion: "1.0"}
`
	imp, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	if err != nil {
		t.Fatalf("ImportApi: %v", err)
	}
	want := map[string]string{"Owner": "Admin", "Team": ""}
	if !maps.Equal(imp.Tags, want) {
		t.Errorf("import-api tags %v, want %v", imp.Tags, want)
	}
	got, err := e.ag.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: imp.ApiId})
	if err != nil {
		t.Fatalf("GetApi: %v", err)
	}
	if !maps.Equal(got.Tags, want) {
		t.Errorf("get-api tags %v, want %v", got.Tags, want)
	}
	out, err := e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: imp.ApiId, Specification: aws.String("OAS30"), OutputType: aws.String("JSON")})
	if err != nil {
		t.Fatalf("ExportApi: %v", err)
	}
	again, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(string(out.Body))})
	if err != nil {
		t.Fatalf("ImportApi of the export: %v", err)
	}
	if !maps.Equal(again.Tags, want) {
		t.Errorf("export's import: tags %v, want %v\n%s", again.Tags, want, out.Body)
	}
}

// TestGetExportStageURLAndExtensions: get-export of a stage carries the
// stage's URL, as API Gateway's exports do (OpenAPI 3 servers with the
// basePath variable, Swagger 2.0 host, basePath and schemes), and
// extensions other than integrations, authorizers and apigateway are
// refused: postman saying Portico does not export it, an unknown value with
// API Gateway's BadRequestException.
func TestGetExportStageURLAndExtensions(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(sigv4Doc)})
	if err != nil {
		t.Fatalf("ImportRestApi: %v", err)
	}
	if _, err := c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}); err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	id := aws.ToString(api.Id)
	export := func(typ string, params map[string]string) map[string]any {
		t.Helper()
		out, err := c.ag.GetExport(ctx, &apigateway.GetExportInput{RestApiId: api.Id, StageName: aws.String("prod"), ExportType: aws.String(typ), Parameters: params})
		if err != nil {
			t.Fatalf("GetExport %s: %v", typ, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(out.Body, &doc); err != nil {
			t.Fatalf("GetExport %s: %v\n%s", typ, err, out.Body)
		}
		return doc
	}
	oas := export("oas30", map[string]string{"extensions": "apigateway"})
	servers, _ := json.Marshal(oas["servers"])
	if want := `[{"url":"` + c.env.GatewayURL + "/" + id + `/{basePath}","variables":{"basePath":{"default":"prod"}}}]`; string(servers) != want {
		t.Errorf("oas30 servers %s, want %s", servers, want)
	}
	// Swagger 2.0 has no server variables: as API Gateway's export (host
	// APIID.execute-api.REGION.amazonaws.com, basePath /STAGE), the host is
	// the stage's host-based URL's and the base path the stage alone.
	sw := export("swagger", map[string]string{"extensions": "apigateway"})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(c.env.GatewayURL, "http://"))
	if host := id + ".execute-api.localhost:" + port; sw["host"] != host || sw["basePath"] != "/prod" || fmt.Sprint(sw["schemes"]) != "[http]" {
		t.Errorf("swagger host %v basePath %v schemes %v, want %s /prod [http]", sw["host"], sw["basePath"], sw["schemes"], host)
	}
	// Either export imports again, its base path read as the stage name:
	// split leaves it out, prepend puts it before the paths.
	for name, doc := range map[string]map[string]any{"oas30": oas, "swagger": sw} {
		body, _ := json.Marshal(doc)
		for basepath, want := range map[string][]string{"split": {"/", "/who"}, "prepend": {"/", "/prod", "/prod/who"}} {
			again, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: body, FailOnWarnings: true, Parameters: map[string]string{"basepath": basepath}})
			if err != nil {
				t.Fatalf("ImportRestApi of the %s export, basepath=%s: %v", name, basepath, err)
			}
			if got := slices.Sorted(maps.Keys(resourceIDs(t, c.ag, aws.ToString(again.Id)))); !slices.Equal(got, want) {
				t.Errorf("%s export's import with basepath=%s: resources %v, want %v", name, basepath, got, want)
			}
		}
	}

	for _, tc := range []struct{ ext, msg string }{
		{"postman", "Portico does not export Postman extensions"},
		// The values offered are the ones taken: not postman.
		{"bogus", "Invalid extensions 'bogus': use integrations, authorizers or apigateway"},
		{"integrations,bogus", "Invalid extensions 'bogus': use integrations, authorizers or apigateway"},
	} {
		_, err := c.ag.GetExport(ctx, &apigateway.GetExportInput{RestApiId: api.Id, StageName: aws.String("prod"), ExportType: aws.String("oas30"),
			Parameters: map[string]string{"extensions": tc.ext}})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", tc.msg)
	}
}

// TestV2ExportStageURL: export-api of a stage carries the stage's URL in
// servers, as API Gateway's does; without a stage there is none.
func TestV2ExportStageURL(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	imp, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(sharedIntegrationsDoc)})
	if err != nil {
		t.Fatalf("ImportApi: %v", err)
	}
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: imp.ApiId, StageName: aws.String("prod"), AutoDeploy: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateStage: %v", err)
	}
	servers := func(stage *string) string {
		t.Helper()
		out, err := e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: imp.ApiId, Specification: aws.String("OAS30"), OutputType: aws.String("JSON"), StageName: stage})
		if err != nil {
			t.Fatalf("ExportApi: %v", err)
		}
		var doc map[string]any
		if err := json.Unmarshal(out.Body, &doc); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(doc["servers"])
		return string(b)
	}
	if got, want := servers(aws.String("prod")), `[{"url":"`+e.env.GatewayURL+"/"+aws.ToString(imp.ApiId)+`/{basePath}","variables":{"basePath":{"default":"prod"}}}]`; got != want {
		t.Errorf("servers %s, want %s", got, want)
	}
	if got := servers(nil); got != "null" {
		t.Errorf("servers without a stage: %s", got)
	}
}

// TestV2HTTPIntegrationRefusesTemplates: create-integration and
// update-integration on an HTTP API refuse requestTemplates and
// passthroughBehavior, which HTTP APIs do not apply (WebSocket APIs' only).
func TestV2HTTPIntegrationRefusesTemplates(t *testing.T) {
	t.Parallel()
	e, h := startV2WithHTTPAPI(t, "tpl")
	ctx := t.Context()
	_, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: v2types.IntegrationTypeHttpProxy,
		IntegrationMethod: aws.String("GET"), IntegrationUri: aws.String("https://example.com/"), PayloadFormatVersion: aws.String("1.0"),
		RequestTemplates: map[string]string{"application/json": `{"x":1}`}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "requestTemplates are supported only for WebSocket APIs")
	in, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: v2types.IntegrationTypeHttpProxy,
		IntegrationMethod: aws.String("GET"), IntegrationUri: aws.String("https://example.com/"), PayloadFormatVersion: aws.String("1.0")})
	if err != nil {
		t.Fatalf("CreateIntegration: %v", err)
	}
	_, err = e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: h.ApiId, IntegrationId: in.IntegrationId,
		PassthroughBehavior: v2types.PassthroughBehaviorNever})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "passthroughBehavior is supported only for WebSocket APIs")
}

// TestImportedTokenAuthorizerReadsBackItsHeader: a token authorizer imported
// without identitySource reads the header its security scheme names, as API
// Gateway's import does, and get-authorizers says so (obs6: it read
// Authorization, and identitySource read back null).
func TestImportedTokenAuthorizerReadsBackItsHeader(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ag := apigateway.NewFromConfig(sdkConfig(env.AdminURL, "any"))
	ctx := t.Context()
	doc := strings.Replace(sigv4Doc, "sigv4: {type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}",
		"sigv4: {type: apiKey, name: X-My-Token, in: header, x-amazon-apigateway-authtype: custom, x-amazon-apigateway-authorizer: "+
			"{type: token, authorizerUri: 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:authz/invocations', authorizerResultTtlInSeconds: 0}}", 1)
	api, err := ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(doc)})
	if err != nil {
		t.Fatalf("ImportRestApi: %v", err)
	}
	auths, err := ag.GetAuthorizers(ctx, &apigateway.GetAuthorizersInput{RestApiId: api.Id})
	if err != nil || len(auths.Items) != 1 {
		t.Fatalf("GetAuthorizers: %+v %v", auths, err)
	}
	if got := aws.ToString(auths.Items[0].IdentitySource); got != "method.request.header.X-My-Token" {
		t.Errorf("identitySource %q, want method.request.header.X-My-Token", got)
	}
}
