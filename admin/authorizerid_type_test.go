package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

const authzURI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:authz/invocations"

// TestV2AuthorizerIDNeedsCustomType: create-route and update-route with an
// authorizerId beside authorizationType NONE (or none given) or AWS_IAM are
// refused with 400, not stored as an open route with the authorizer dropped.
func TestV2AuthorizerIDNeedsCustomType(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{
		Name: aws.String("h"), ProtocolType: v2types.ProtocolTypeHttp}))
	integ := must[*apigatewayv2.CreateIntegrationOutput](t, "CreateIntegration")(e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId: api.ApiId, IntegrationType: v2types.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("GET"),
		IntegrationUri: aws.String("http://127.0.0.1:1/x"), PayloadFormatVersion: aws.String("1.0")}))
	au := must[*apigatewayv2.CreateAuthorizerOutput](t, "CreateAuthorizer")(e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{
		ApiId: api.ApiId, Name: aws.String("lam"), AuthorizerType: v2types.AuthorizerTypeRequest,
		IdentitySource: []string{"$request.header.Authorization"}, AuthorizerUri: aws.String(authzURI),
		AuthorizerPayloadFormatVersion: aws.String("2.0"), EnableSimpleResponses: aws.Bool(true), AuthorizerResultTtlInSeconds: aws.Int32(0)}))
	target := aws.String("integrations/" + aws.ToString(integ.IntegrationId))
	const want = "authorizerId needs authorizationType CUSTOM (or JWT)"
	for _, typ := range []v2types.AuthorizationType{"", v2types.AuthorizationTypeNone, v2types.AuthorizationTypeAwsIam} {
		_, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /m" + string(typ)),
			Target: target, AuthorizationType: typ, AuthorizerId: au.AuthorizerId})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", want)
	}
	open := must[*apigatewayv2.CreateRouteOutput](t, "CreateRoute")(e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId,
		RouteKey: aws.String("GET /open"), Target: target}))
	_, err := e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: api.ApiId, RouteId: open.RouteId, AuthorizerId: au.AuthorizerId})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", want)
	if rt := must[*apigatewayv2.GetRouteOutput](t, "GetRoute")(e.ag.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: api.ApiId, RouteId: open.RouteId})); rt.AuthorizationType != v2types.AuthorizationTypeNone {
		t.Fatalf("the refused update changed the route: %s", rt.AuthorizationType)
	}
	// The consistent forms stay accepted: the id with CUSTOM, and NONE
	// with an empty id.
	must[*apigatewayv2.UpdateRouteOutput](t, "UpdateRoute CUSTOM")(e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: api.ApiId,
		RouteId: open.RouteId, AuthorizationType: v2types.AuthorizationTypeCustom, AuthorizerId: au.AuthorizerId}))
	must[*apigatewayv2.UpdateRouteOutput](t, "UpdateRoute NONE")(e.ag.UpdateRoute(ctx, &apigatewayv2.UpdateRouteInput{ApiId: api.ApiId,
		RouteId: open.RouteId, AuthorizationType: v2types.AuthorizationTypeNone, AuthorizerId: aws.String("")}))
}

// TestV2WebSocketAuthorizerIDOnConnectOnly: on a WebSocket API an
// authorizerId on a route other than $connect is refused saying authorizers
// run on $connect only (not "set authorizationType CUSTOM", which would be
// refused next); on $connect beside NONE it needs CUSTOM.
func TestV2WebSocketAuthorizerIDOnConnectOnly(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api := must[*apigatewayv2.CreateApiOutput](t, "CreateApi")(e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{
		Name: aws.String("w"), ProtocolType: v2types.ProtocolTypeWebsocket, RouteSelectionExpression: aws.String("$request.body.action")}))
	au := must[*apigatewayv2.CreateAuthorizerOutput](t, "CreateAuthorizer")(e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{
		ApiId: api.ApiId, Name: aws.String("lam"), AuthorizerType: v2types.AuthorizerTypeRequest,
		IdentitySource: []string{"route.request.header.Authorization"}, AuthorizerUri: aws.String(authzURI)}))
	for _, typ := range []v2types.AuthorizationType{"", v2types.AuthorizationTypeNone, v2types.AuthorizationTypeCustom} {
		_, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("send" + string(typ)),
			AuthorizationType: typ, AuthorizerId: au.AuthorizerId})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "WebSocket authorizers run on $connect only")
	}
	_, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("$connect"),
		AuthorizationType: v2types.AuthorizationTypeNone, AuthorizerId: au.AuthorizerId})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "authorizerId needs authorizationType CUSTOM, not NONE")
	must[*apigatewayv2.CreateRouteOutput](t, "CreateRoute $connect CUSTOM")(e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId,
		RouteKey: aws.String("$connect"), AuthorizationType: v2types.AuthorizationTypeCustom, AuthorizerId: au.AuthorizerId}))
}

// TestRESTAuthorizerIDNeedsCustomType: put-method and update-method with an
// authorizerId beside authorizationType NONE or AWS_IAM are refused with 400.
func TestRESTAuthorizerIDNeedsCustomType(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	id := buildPets(t, c, "pets")
	au := must[*apigateway.CreateAuthorizerOutput](t, "CreateAuthorizer")(c.ag.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{
		RestApiId: aws.String(id), Name: aws.String("tok"), Type: agtypes.AuthorizerTypeToken, AuthorizerUri: aws.String(authzURI),
		IdentitySource: aws.String("method.request.header.Authorization"), AuthorizerResultTtlInSeconds: aws.Int32(0)}))
	mock := resourceIDs(t, c.ag, id)["/mock"]
	const want = "authorizerId needs authorizationType CUSTOM"
	for _, typ := range []string{"NONE", "AWS_IAM"} {
		_, err := c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: aws.String(id), ResourceId: aws.String(mock),
			HttpMethod: aws.String("POST"), AuthorizationType: aws.String(typ), AuthorizerId: au.Id})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", want)
	}
	// GET /mock is open: naming the authorizer alone is refused.
	_, err := c.ag.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: aws.String(id), ResourceId: aws.String(mock),
		HttpMethod: aws.String("GET"), PatchOperations: []agtypes.PatchOperation{
			{Op: agtypes.OpReplace, Path: aws.String("/authorizerId"), Value: au.Id}}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", want)
	m := must[*apigateway.UpdateMethodOutput](t, "UpdateMethod")(c.ag.UpdateMethod(ctx, &apigateway.UpdateMethodInput{
		RestApiId: aws.String(id), ResourceId: aws.String(mock), HttpMethod: aws.String("GET"),
		PatchOperations: []agtypes.PatchOperation{
			{Op: agtypes.OpReplace, Path: aws.String("/authorizerId"), Value: au.Id},
			{Op: agtypes.OpReplace, Path: aws.String("/authorizationType"), Value: aws.String("CUSTOM")},
		}}))
	if aws.ToString(m.AuthorizerId) != aws.ToString(au.Id) {
		t.Fatalf("UpdateMethod with CUSTOM = %+v", m)
	}
}

// TestRESTCreateAuthorizerWording: apigateway create-authorizer's refusals
// name the authorizer the caller made, not an OpenAPI security scheme, and
// quote the identityValidationExpression the caller wrote, not the anchored
// pattern Portico compiles.
func TestRESTCreateAuthorizerWording(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	id := buildPets(t, c, "pets")
	_, err := c.ag.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{
		RestApiId: aws.String(id), Name: aws.String("tok"), Type: agtypes.AuthorizerTypeToken, AuthorizerUri: aws.String(authzURI),
		IdentitySource: aws.String("method.request.header.Authorization"), IdentityValidationExpression: aws.String("(")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "authorizer \"tok\": identityValidationExpression: error parsing regexp: missing closing ): `(`")
	_, err = c.ag.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{
		RestApiId: aws.String(id), Name: aws.String("req"), Type: agtypes.AuthorizerTypeRequest, AuthorizerUri: aws.String(authzURI),
		IdentitySource: aws.String("method.request.body.x")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "authorizer \"req\": identity source")
	if err != nil && strings.Contains(err.Error(), "security scheme") {
		t.Errorf("the refusal speaks OpenAPI: %v", err)
	}
	au := must[*apigateway.CreateAuthorizerOutput](t, "CreateAuthorizer")(c.ag.CreateAuthorizer(ctx, &apigateway.CreateAuthorizerInput{
		RestApiId: aws.String(id), Name: aws.String("ok"), Type: agtypes.AuthorizerTypeToken, AuthorizerUri: aws.String(authzURI),
		IdentitySource: aws.String("method.request.header.Authorization")}))
	_, err = c.ag.UpdateAuthorizer(ctx, &apigateway.UpdateAuthorizerInput{RestApiId: aws.String(id), AuthorizerId: au.Id,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/identityValidationExpression"), Value: aws.String("a[")}}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "authorizer \"ok\": identityValidationExpression: error parsing regexp: missing closing ]: `[`")
}
