package admin_test

import (
	"maps"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestIntegrationCredentialsAndVPCLinkRefused: an integration's credentials (a
// role API Gateway would assume to call it) and connectionType VPC_LINK are
// refused by both control planes with a BadRequestException naming the field,
// on create and on update, and nothing is stored, as an OpenAPI import refuses
// them.
func TestIntegrationCredentialsAndVPCLinkRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	c := startControlPlane(t)
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("creds")}))
	res := resourceIDs(t, c.ag, aws.ToString(api.Id))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id,
		ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	_, err := c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]),
		HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeAwsProxy, IntegrationHttpMethod: aws.String("POST"),
		Uri:         aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations"),
		Credentials: aws.String("arn:aws:iam::123456789012:role/apigw")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `credentials "arn:aws:iam::123456789012:role/apigw" is not supported`)
	_, err = c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]),
		HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"),
		Uri: aws.String("http://nlb.internal/"), ConnectionType: agtypes.ConnectionTypeVpcLink, ConnectionId: aws.String("abc123")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "connectionType VPC_LINK is not supported")
	if _, err := c.ag.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET")}); err == nil {
		t.Fatal("a refused integration was stored")
	}
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id,
		ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock}))
	_, err = c.ag.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/credentials"), Value: aws.String("arn:aws:iam::*:user/*")}}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "credentials")
	got := must[*apigateway.GetIntegrationOutput](t, "GetIntegration")(c.ag.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api.Id,
		ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET")}))
	if got.Credentials != nil {
		t.Fatalf("credentials stored by a refused update: %q", *got.Credentials)
	}

	e, h := startV2WithHTTPAPI(t, "creds")
	_, err = e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: v2types.IntegrationTypeAwsProxy,
		IntegrationUri: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f"), PayloadFormatVersion: aws.String("2.0"),
		CredentialsArn: aws.String("arn:aws:iam::123456789012:role/apigw")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "credentials")
	_, err = e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: v2types.IntegrationTypeHttpProxy,
		IntegrationUri: aws.String("http://nlb.internal/"), IntegrationMethod: aws.String("ANY"), PayloadFormatVersion: aws.String("1.0"),
		ConnectionType: v2types.ConnectionTypeVpcLink, ConnectionId: aws.String("abc123")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "connectionType VPC_LINK is not supported")
	_, err = e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("quick"), ProtocolType: v2types.ProtocolTypeHttp,
		Target: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f"), CredentialsArn: aws.String("arn:aws:iam::123456789012:role/apigw")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "credentials")
	list, err := e.ag.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: h.ApiId})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("integrations after refused creates: %+v %v", list, err)
	}
}

// TestAuthorizerCredentialsRefused: a Lambda authorizer's credentials (the
// role API Gateway would assume to invoke it) are refused by both control
// planes, on create and on update, with a BadRequestException naming the field.
func TestAuthorizerCredentialsRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:authfn/invocations"
	const role = "arn:aws:iam::123456789012:role/authz"

	c := startControlPlane(t)
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("authz")}))
	_, err := c.ag.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{RestApiId: api.Id, Name: aws.String("tok"), Type: agtypes.AuthorizerTypeToken,
		AuthorizerUri: aws.String(uri), IdentitySource: aws.String("method.request.header.Authorization"), AuthorizerCredentials: aws.String(role)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "authorizerCredentials")
	au := must[*apigateway.CreateAuthorizerOutput](t, "CreateAuthorizer")(c.ag.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{RestApiId: api.Id,
		Name: aws.String("tok"), Type: agtypes.AuthorizerTypeToken, AuthorizerUri: aws.String(uri), IdentitySource: aws.String("method.request.header.Authorization")}))
	_, err = c.ag.UpdateAuthorizer(ctx, &apigateway.UpdateAuthorizerInput{RestApiId: api.Id, AuthorizerId: au.Id,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/authorizerCredentials"), Value: aws.String(role)}}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "authorizerCredentials")
	// Scopes on a Lambda authorizer's method would not be checked.
	res := resourceIDs(t, c.ag, aws.ToString(api.Id))
	_, err = c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET"),
		AuthorizationType: aws.String("CUSTOM"), AuthorizerId: au.Id, AuthorizationScopes: []string{"read"}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "Portico checks scopes for JWT authorizers only")
	got := must[*apigateway.GetAuthorizerOutput](t, "GetAuthorizer")(c.ag.GetAuthorizer(ctx, &apigateway.GetAuthorizerInput{RestApiId: api.Id, AuthorizerId: au.Id}))
	if got.AuthorizerCredentials != nil {
		t.Fatalf("authorizerCredentials stored by a refused update: %q", *got.AuthorizerCredentials)
	}

	// r-authz20: identityValidationExpression on a REQUEST authorizer (which
	// never applies it), and an IAM authType on a Lambda authorizer (IAM
	// would not be checked), are refused.
	_, err = c.ag.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{RestApiId: api.Id, Name: aws.String("req"), Type: agtypes.AuthorizerTypeRequest,
		AuthorizerUri: aws.String(uri), IdentitySource: aws.String("method.request.header.Authorization"), IdentityValidationExpression: aws.String("Bearer .+")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "identityValidationExpression is applied by a REST API's TOKEN authorizers only")
	_, err = c.ag.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{RestApiId: api.Id, Name: aws.String("sig"), Type: agtypes.AuthorizerTypeToken,
		AuthorizerUri: aws.String(uri), IdentitySource: aws.String("method.request.header.Authorization"), AuthType: aws.String("awsSigv4")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "one authorizer per method")

	e, h := startV2WithHTTPAPI(t, "authz")
	_, err = e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: h.ApiId, Name: aws.String("lambda"),
		AuthorizerType: v2types.AuthorizerTypeRequest, IdentitySource: []string{"$request.header.Authorization"}, AuthorizerUri: aws.String(uri),
		AuthorizerPayloadFormatVersion: aws.String("2.0"), AuthorizerCredentialsArn: aws.String(role)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "authorizerCredentials")
	v2au, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: h.ApiId, Name: aws.String("lambda"),
		AuthorizerType: v2types.AuthorizerTypeRequest, IdentitySource: []string{"$request.header.Authorization"}, AuthorizerUri: aws.String(uri),
		AuthorizerPayloadFormatVersion: aws.String("2.0")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateAuthorizer(ctx, &apigatewayv2.UpdateAuthorizerInput{ApiId: h.ApiId, AuthorizerId: v2au.AuthorizerId,
		IdentityValidationExpression: aws.String("x.+")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "identityValidationExpression is applied by a REST API's TOKEN authorizers only")
}

// startV2WithHTTPAPI starts a v2 control plane holding one HTTP API.
func startV2WithHTTPAPI(t *testing.T, name string) (*v2Env, *apigatewayv2.CreateApiOutput) {
	t.Helper()
	e := startV2(t)
	h, err := e.ag.CreateApi(t.Context(), &apigatewayv2.CreateApiInput{Name: aws.String(name), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	return e, h
}

// TestAWSIntegrationRequestParametersRefused: requestParameters on a REST
// AWS (non-proxy Lambda) integration, X-Amz-Invocation-Type: 'Event' the
// usual one, would be stored and not applied (Portico invokes synchronously),
// so they are refused, and nothing is stored.
func TestAWSIntegrationRequestParametersRefused(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := startControlPlane(t)
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("async")}))
	res := resourceIDs(t, c.ag, aws.ToString(api.Id))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id,
		ResourceId: aws.String(res["/"]), HttpMethod: aws.String("POST"), AuthorizationType: aws.String("NONE")}))
	_, err := c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]),
		HttpMethod: aws.String("POST"), Type: agtypes.IntegrationTypeAws, IntegrationHttpMethod: aws.String("POST"),
		Uri:               aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations"),
		RequestParameters: map[string]string{"integration.request.header.X-Amz-Invocation-Type": "'Event'"}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "requestParameters are not applied on AWS (Lambda) integrations")
	if _, err := c.ag.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]), HttpMethod: aws.String("POST")}); err == nil {
		t.Fatal("a refused integration was stored")
	}
}

// TestWebSocketIntegrationRequestParameters: apigatewayv2 takes a WebSocket
// HTTP or HTTP_PROXY integration's requestParameters (the gateway applies
// them) on create and update and reads them back; a mapping none of the
// WebSocket forms is refused (400) naming its key, as is any on AWS_PROXY,
// and nothing refused is stored. Before, every WebSocket integration refused
// them.
func TestWebSocketIntegrationRequestParameters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := startV2(t)
	ws := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("wsrp"),
		ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")}))
	params := map[string]string{"integration.request.header.connectionId": "context.connectionId", "integration.request.header.x-static": "'lit'"}
	for _, typ := range []v2types.IntegrationType{v2types.IntegrationTypeHttp, v2types.IntegrationTypeHttpProxy} {
		made := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
			ApiId: ws.ApiId, IntegrationType: typ, IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String("http://127.0.0.1:1/rp"),
			RequestParameters: params}))
		if !maps.Equal(made.RequestParameters, params) {
			t.Errorf("%s: created with %v, want %v", typ, made.RequestParameters, params)
		}
		upd := must[*apigatewayv2.UpdateIntegrationOutput](t, "UpdateIntegration")(e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{
			ApiId: ws.ApiId, IntegrationId: made.IntegrationId,
			RequestParameters: map[string]string{"integration.request.querystring.room": "route.request.body.room", "integration.request.header.x-static": ""}}))
		want := map[string]string{"integration.request.header.connectionId": "context.connectionId", "integration.request.querystring.room": "route.request.body.room"}
		if !maps.Equal(upd.RequestParameters, want) {
			t.Errorf("%s: updated to %v, want %v", typ, upd.RequestParameters, want)
		}
		_, err := e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: ws.ApiId, IntegrationId: made.IntegrationId,
			RequestParameters: map[string]string{"integration.request.header.x-bad": "method.request.header.y"}})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `request parameter mapping "integration.request.header.x-bad": value "method.request.header.y"`)
		_, err = e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: ws.ApiId, IntegrationType: typ,
			IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String("http://127.0.0.1:1/rp"),
			RequestParameters: map[string]string{"integration.request.path.p": "'x'"}})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `request parameter mapping "integration.request.path.p"`)
		now := must[*apigatewayv2.GetIntegrationOutput](t, "GetIntegration")(e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: ws.ApiId, IntegrationId: made.IntegrationId}))
		if !maps.Equal(now.RequestParameters, want) {
			t.Errorf("%s: a refused update changed the mapping to %v", typ, now.RequestParameters)
		}
	}
	// A route gives a mapping a value or is refused: headers are $connect's.
	hdr := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: ws.ApiId, IntegrationType: v2types.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String("http://127.0.0.1:1/rp"),
		RequestParameters: map[string]string{"integration.request.header.x-user": "route.request.header.X-User"}}))
	must[*apigatewayv2.CreateRouteOutput](t, "CreateRoute")(e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: ws.ApiId,
		RouteKey: aws.String("$connect"), Target: aws.String("integrations/" + aws.ToString(hdr.IntegrationId))}))
	_, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: ws.ApiId,
		RouteKey: aws.String("send"), Target: aws.String("integrations/" + aws.ToString(hdr.IntegrationId))})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "is read on $connect only")

	aws2 := &apigatewayv2.CreateIntegrationInput{ApiId: ws.ApiId, IntegrationType: v2types.IntegrationTypeAwsProxy,
		IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f")}
	_, err = e.ag.CreateIntegration(ctx, func() *apigatewayv2.CreateIntegrationInput { c := *aws2; c.RequestParameters = params; return &c }())
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "requestParameters are not taken on WebSocket AWS_PROXY integrations")
	made := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, aws2))
	_, err = e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: ws.ApiId, IntegrationId: made.IntegrationId, RequestParameters: params})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "requestParameters are not taken on WebSocket AWS_PROXY integrations")
	now := must[*apigatewayv2.GetIntegrationOutput](t, "GetIntegration")(e.ag.GetIntegration(ctx, &apigatewayv2.GetIntegrationInput{ApiId: ws.ApiId, IntegrationId: made.IntegrationId}))
	if len(now.RequestParameters) > 0 {
		t.Errorf("AWS_PROXY: a refused update was stored: %v", now.RequestParameters)
	}
}
