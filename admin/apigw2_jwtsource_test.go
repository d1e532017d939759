package admin_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
)

// TestV2JWTIdentitySourceHeaderOrQuery: a JWT authorizer reads its token from
// one header or query parameter, the only selections API Gateway takes for
// JWT. A $context or $stageVariables source was saved and could never carry a
// token the client sent; create-authorizer, update-authorizer and import now
// refuse it with a BadRequestException naming identitySource.
func TestV2JWTIdentitySourceHeaderOrQuery(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("jwtsrc"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &v2types.JWTConfiguration{Issuer: aws.String("https://issuer.example"), Audience: []string{"me"}}
	for _, src := range []string{"$context.requestId", "$stageVariables.token", "$context.identity.sourceIp"} {
		_, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String("jwt"),
			AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{src}, JwtConfiguration: cfg})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "identitySource")
	}
	for i, src := range []string{"$request.header.Authorization", "$request.querystring.token"} {
		au, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String(fmt.Sprint("ok", i)),
			AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{src}, JwtConfiguration: cfg})
		if err != nil {
			t.Fatalf("CreateAuthorizer(%s): %v", src, err)
		}
		_, err = e.ag.UpdateAuthorizer(ctx, &apigatewayv2.UpdateAuthorizerInput{ApiId: api.ApiId, AuthorizerId: au.AuthorizerId,
			IdentitySource: []string{"$stageVariables.token"}})
		wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "identitySource")
		got, err := e.ag.GetAuthorizer(ctx, &apigatewayv2.GetAuthorizerInput{ApiId: api.ApiId, AuthorizerId: au.AuthorizerId})
		if err != nil || len(got.IdentitySource) != 1 || got.IdentitySource[0] != src {
			t.Fatalf("after a refused update: %+v %v, want identitySource [%s]", got, err, src)
		}
	}

	doc := `{"openapi":"3.0.1","info":{"title":"jwtctx","version":"1"},
	  "components":{"securitySchemes":{"jwt":{"type":"oauth2","flows":{},"x-amazon-apigateway-authorizer":{"type":"jwt",
	    "identitySource":"$context.requestId","jwtConfiguration":{"issuer":"https://issuer.example","audience":["me"]}}}}},
	  "paths":{"/pets":{"get":{"security":[{"jwt":[]}],
	    "x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"https://example.com/pets","payloadFormatVersion":"1.0"}}}}}`
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "identitySource")
	_, err = e.ag.ReimportApi(ctx, &apigatewayv2.ReimportApiInput{ApiId: api.ApiId, Body: aws.String(doc)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "identitySource")
}

// TestV2JWTIssuerHTTPSOnly: a JWT authorizer's issuer is an https URL, as in
// API Gateway: the gateway fetches the issuer's keys from it, and keys fetched
// over plain http could be replaced by anyone on the path. An http:// issuer
// used to be saved (and its keys fetched in cleartext); create-authorizer,
// update-authorizer, import and reimport now refuse it with a
// BadRequestException that says to use https, and leave the API as it was.
func TestV2JWTIssuerHTTPSOnly(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("jwtiss"), ProtocolType: v2types.ProtocolTypeHttp})
	if err != nil {
		t.Fatal(err)
	}
	const plain = "http://issuer.example"
	_, err = e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String("jwt"),
		AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{"$request.header.Authorization"},
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String(plain), Audience: []string{"me"}}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "use the issuer's https:// URL")
	au, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: api.ApiId, Name: aws.String("jwt"),
		AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{"$request.header.Authorization"},
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String("https://issuer.example"), Audience: []string{"me"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateAuthorizer(ctx, &apigatewayv2.UpdateAuthorizerInput{ApiId: api.ApiId, AuthorizerId: au.AuthorizerId,
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String(plain), Audience: []string{"me"}}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "https")
	got, err := e.ag.GetAuthorizer(ctx, &apigatewayv2.GetAuthorizerInput{ApiId: api.ApiId, AuthorizerId: au.AuthorizerId})
	if err != nil || got.JwtConfiguration == nil || aws.ToString(got.JwtConfiguration.Issuer) != "https://issuer.example" {
		t.Fatalf("after a refused update: %+v %v, want the https issuer kept", got, err)
	}

	doc := `{"openapi":"3.0.1","info":{"title":"jwthttp","version":"1"},
	  "components":{"securitySchemes":{"jwt":{"type":"oauth2","flows":{},"x-amazon-apigateway-authorizer":{"type":"jwt",
	    "identitySource":"$request.header.Authorization","jwtConfiguration":{"issuer":"` + plain + `","audience":["me"]}}}}},
	  "paths":{"/pets":{"get":{"security":[{"jwt":[]}],
	    "x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"https://example.com/pets","payloadFormatVersion":"1.0"}}}}}`
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "https")
	_, err = e.ag.ReimportApi(ctx, &apigatewayv2.ReimportApiInput{ApiId: api.ApiId, Body: aws.String(doc)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "https")
}
