package admin_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// lambdaInvocationARNRe is the form API Gateway takes, and reports, for a
// Lambda integration's uri on REST and WebSocket APIs and for every
// authorizerUri.
var lambdaInvocationARNRe = regexp.MustCompile(`^arn:aws:apigateway:[a-z]{2}-[a-z]+-\d:lambda:path/2015-03-31/functions/arn:aws:lambda:[a-z]{2}-[a-z]+-\d:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?/invocations$`)

const (
	helloInvocationARN = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:hello:live/invocations"
	authzInvocationARN = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:authz/invocations"
)

// functionNamedDoc is a REST API whose integration and authorizer name their
// functions as function:NAME, as Portico's docs show.
const functionNamedDoc = `{"openapi": "3.0.1", "info": {"title": "named", "version": "1"},
  "components": {"securitySchemes": {"authz": {"type": "apiKey", "name": "Authorization", "in": "header",
    "x-amazon-apigateway-authtype": "custom", "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": "function:authz"}}}},
  "paths": {"/hello": {"get": {"security": [{"authz": []}], "responses": {"200": {"description": "ok"}},
    "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": "function:hello:live"}}}}}`

// TestRESTReportsLambdaInvocationARNs: a REST API stored with function:NAME
// URIs reads back (get-integration, get-method, get-authorizers, get-export)
// with the invocation ARNs API Gateway reports, which its put-integration
// takes; put-integration still takes function:NAME; and the export imported
// into a fresh server exports the same document.
func TestRESTReportsLambdaInvocationARNs(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(functionNamedDoc), FailOnWarnings: true}))
	res := aws.String(resourceIDs(t, c.ag, aws.ToString(api.Id))["/hello"])
	check := func(what, got, want string) {
		t.Helper()
		if got != want || !lambdaInvocationARNRe.MatchString(got) {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	integ := must[*apigateway.GetIntegrationOutput](t, "GetIntegration")(c.ag.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api.Id, ResourceId: res, HttpMethod: aws.String("GET")}))
	check("GetIntegration uri", aws.ToString(integ.Uri), helloInvocationARN)
	m := must[*apigateway.GetMethodOutput](t, "GetMethod")(c.ag.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api.Id, ResourceId: res, HttpMethod: aws.String("GET")}))
	if m.MethodIntegration == nil {
		t.Fatal("GetMethod: no methodIntegration")
	}
	check("GetMethod methodIntegration.uri", aws.ToString(m.MethodIntegration.Uri), helloInvocationARN)
	auths := must[*apigateway.GetAuthorizersOutput](t, "GetAuthorizers")(c.ag.GetAuthorizers(ctx, &apigateway.GetAuthorizersInput{RestApiId: api.Id}))
	if len(auths.Items) != 1 {
		t.Fatalf("GetAuthorizers: %d items", len(auths.Items))
	}
	check("GetAuthorizers authorizerUri", aws.ToString(auths.Items[0].AuthorizerUri), authzInvocationARN)
	// A patch that does not name the URI leaves it stored as given.
	must[*apigateway.UpdateAuthorizerOutput](t, "UpdateAuthorizer")(c.ag.UpdateAuthorizer(ctx, &apigateway.UpdateAuthorizerInput{RestApiId: api.Id,
		AuthorizerId: auths.Items[0].Id, PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/authorizerResultTtlInSeconds"), Value: aws.String("60")}}}))
	stored, err := c.env.Client().Do(ctx, "GET", "/portico/v1/apis/"+aws.ToString(api.Id), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored.Body), `"authorizerUri":"function:authz"`) {
		t.Errorf("Portico's API reads back %s, want authorizerUri function:authz as stored", stored.Body)
	}

	// put-integration takes function:NAME as ever, and answers as it reads back.
	put := must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: res,
		HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String("function:hello:live")}))
	check("PutIntegration uri", aws.ToString(put.Uri), helloInvocationARN)

	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("prod")}))
	export := func(ag *apigateway.Client, id *string) map[string]any {
		t.Helper()
		exp := must[*apigateway.GetExportOutput](t, "GetExport")(ag.GetExport(ctx, &apigateway.GetExportInput{RestApiId: id, StageName: aws.String("prod"),
			ExportType: aws.String("oas30"), Parameters: map[string]string{"extensions": "integrations,authorizers"}}))
		var doc map[string]any
		if err := json.Unmarshal(exp.Body, &doc); err != nil {
			t.Fatal(err)
		}
		delete(doc, "servers") // the stage's URL, the API's id in it
		return doc
	}
	doc := export(c.ag, api.Id)
	paths, _ := doc["paths"].(map[string]any)
	hello, _ := paths["/hello"].(map[string]any)
	get, _ := hello["get"].(map[string]any)
	x, _ := get["x-amazon-apigateway-integration"].(map[string]any)
	check("get-export uri", x["uri"].(string), helloInvocationARN)

	fresh := apptest.Start(t, apptest.Options{})
	ag2 := apigateway.NewFromConfig(sdkConfig(fresh.AdminURL, "any"))
	raw, _ := json.Marshal(doc)
	api2 := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi of the export")(ag2.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: raw, FailOnWarnings: true}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(ag2.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api2.Id, StageName: aws.String("prod")}))
	if again := export(ag2, api2.Id); !reflect.DeepEqual(again, doc) {
		t.Errorf("export of the imported export differs:\n%v\nwant:\n%v", again, doc)
	}
}

// TestV2ReportsLambdaARNs: apigatewayv2 reads back a function:NAME
// integration as API Gateway reports it: an HTTP API's as the function ARN,
// a WebSocket API's as the invocation ARN, and an authorizer's authorizerUri
// as the invocation ARN; export-api says the same.
func TestV2ReportsLambdaARNs(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	for _, c := range []struct {
		protocol v2types.ProtocolType
		want     string
	}{
		{v2types.ProtocolTypeHttp, "arn:aws:lambda:us-east-1:000000000000:function:hello:live"},
		{v2types.ProtocolTypeWebsocket, helloInvocationARN},
	} {
		in := &apigatewayv2.CreateApiInput{Name: aws.String("named"), ProtocolType: c.protocol}
		if c.protocol == v2types.ProtocolTypeWebsocket {
			in.RouteSelectionExpression = aws.String("$request.body.action")
		}
		api := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, in))
		integIn := &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: v2types.IntegrationTypeAwsProxy, IntegrationUri: aws.String("function:hello:live")}
		authIn := &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String("authz"), AuthorizerType: v2types.AuthorizerTypeRequest,
			AuthorizerUri: aws.String("function:authz"), IdentitySource: []string{"route.request.querystring.token"}}
		if c.protocol == v2types.ProtocolTypeHttp {
			integIn.PayloadFormatVersion = aws.String("2.0")
			authIn.IdentitySource = []string{"$request.header.Authorization"}
			authIn.AuthorizerPayloadFormatVersion = aws.String("2.0")
		}
		created := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, integIn))
		if got := aws.ToString(created.IntegrationUri); got != c.want {
			t.Errorf("%s CreateIntegration integrationUri = %q, want %q", c.protocol, got, c.want)
		}
		got := must[*apigatewayv2.GetIntegrationOutput](t, "GetIntegration")(e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: api.ApiId, IntegrationId: created.IntegrationId}))
		if aws.ToString(got.IntegrationUri) != c.want {
			t.Errorf("%s GetIntegration integrationUri = %q, want %q", c.protocol, aws.ToString(got.IntegrationUri), c.want)
		}
		list := must[*apigatewayv2.GetIntegrationsOutput](t, "GetIntegrations")(e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: api.ApiId}))
		if len(list.Items) != 1 || aws.ToString(list.Items[0].IntegrationUri) != c.want {
			t.Errorf("%s GetIntegrations = %+v, want one of %q", c.protocol, list.Items, c.want)
		}
		au := must[*apigatewayv2.CreateAuthorizerOutput](t, "CreateAuthorizer")(e.ag.CreateAuthorizer(ctx, authIn))
		gotAu := must[*apigatewayv2.GetAuthorizerOutput](t, "GetAuthorizer")(e.ag.GetAuthorizer(ctx, &apigatewayv2.GetAuthorizerInput{ApiId: api.ApiId, AuthorizerId: au.AuthorizerId}))
		if uri := aws.ToString(gotAu.AuthorizerUri); uri != authzInvocationARN || aws.ToString(au.AuthorizerUri) != uri {
			t.Errorf("%s authorizerUri = %q (created %q), want %q", c.protocol, uri, aws.ToString(au.AuthorizerUri), authzInvocationARN)
		}
		// An update that does not set the URI leaves it stored as given:
		// Portico's own API reads it back so.
		must[*apigatewayv2.UpdateAuthorizerOutput](t, "UpdateAuthorizer")(e.ag.UpdateAuthorizer(ctx, &apigatewayv2.UpdateAuthorizerInput{ApiId: api.ApiId,
			AuthorizerId: au.AuthorizerId, Name: aws.String("authz2")}))
		stored, err := e.env.Client().Do(ctx, "GET", "/portico/v1/apis/"+aws.ToString(api.ApiId), nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"authorizerUri":"function:authz"`, `"uri":"function:hello:live"`} {
			if !strings.Contains(string(stored.Body), want) {
				t.Errorf("%s: Portico's API reads back %s, want it to hold %s as stored", c.protocol, stored.Body, want)
			}
		}
		if c.protocol != v2types.ProtocolTypeHttp {
			continue
		}
		must[*apigatewayv2.CreateRouteOutput](t, "CreateRoute")(e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId,
			RouteKey: aws.String("GET /hello"), Target: aws.String("integrations/" + aws.ToString(created.IntegrationId))}))
		out := must[*apigatewayv2.ExportApiOutput](t, "ExportApi")(e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: api.ApiId,
			OutputType: aws.String("JSON"), Specification: aws.String("OAS30")}))
		var doc struct {
			Paths map[string]map[string]struct {
				X struct {
					URI string `json:"uri"`
				} `json:"x-amazon-apigateway-integration"`
			} `json:"paths"`
			Components struct {
				Schemes map[string]struct {
					X struct {
						URI string `json:"authorizerUri"`
					} `json:"x-amazon-apigateway-authorizer"`
				} `json:"securitySchemes"`
			} `json:"components"`
		}
		if err := json.Unmarshal(out.Body, &doc); err != nil {
			t.Fatal(err)
		}
		if uri := doc.Paths["/hello"]["get"].X.URI; uri != c.want {
			t.Errorf("ExportApi uri = %q, want %q", uri, c.want)
		}
		if uri := doc.Components.Schemes["authz2"].X.URI; uri != authzInvocationARN {
			t.Errorf("ExportApi authorizerUri = %q, want %q", uri, authzInvocationARN)
		}
	}
}
