package admin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/smithy-go"
)

// TestV2RefusalWording drives apigatewayv2 through the AWS SDK: a request with
// several problems names each, separated by "; "; create-authorizer and
// update-authorizer name the authorizer, not an OpenAPI security scheme; a
// route key with a lower-case method or the path /$default (where exports
// put the $default route) is refused, saying what to use.
func TestV2RefusalWording(t *testing.T) {
	t.Parallel()
	e, h := startV2WithHTTPAPI(t, "wording")
	ctx := t.Context()
	refused := func(what string, err error, want ...string) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" {
			t.Fatalf("%s: %v, want a BadRequestException", what, err)
		}
		for _, w := range want {
			if !strings.Contains(ae.ErrorMessage(), w) {
				t.Errorf("%s: message %q, want it to say %q", what, ae.ErrorMessage(), w)
			}
		}
		if strings.Contains(ae.ErrorMessage(), "\n") || strings.Contains(ae.ErrorMessage(), "security scheme") {
			t.Errorf("%s: message %q has a line break or names a security scheme", what, ae.ErrorMessage())
		}
	}
	_, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId,
		IntegrationType: v2types.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("GET"),
		IntegrationUri: aws.String("http://127.0.0.1:32400/base"), PayloadFormatVersion: aws.String("1.0"),
		RequestParameters: map[string]string{"overwrite:header.host": "evil.example", "overwrite:header.x-a": "$request.multivalueheader.x"}})
	refused("two bad mappings", err, "host is reserved and cannot be mapped; ")

	_, err = e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: h.ApiId, Name: aws.String("ttlbig"),
		AuthorizerType: v2types.AuthorizerTypeRequest, AuthorizerUri: aws.String("arn:aws:lambda:us-east-1:000000000000:function:auth"),
		IdentitySource: []string{"$request.header.a"}, AuthorizerPayloadFormatVersion: aws.String("2.0"),
		EnableSimpleResponses: aws.Bool(true), AuthorizerResultTtlInSeconds: aws.Int32(3601)})
	refused("create-authorizer with ttl 3601", err, `authorizer "ttlbig"`, "3601")
	au, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: h.ApiId, Name: aws.String("j"),
		AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{"$request.header.Authorization"},
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String("https://issuer.example"), Audience: []string{"a"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ag.UpdateAuthorizer(ctx, &apigatewayv2.UpdateAuthorizerInput{ApiId: h.ApiId, AuthorizerId: au.AuthorizerId,
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String("ftp://x")}})
	refused("update-authorizer with an ftp issuer", err, `authorizer "j"`, "issuer")

	for key, want := range map[string]string{"get /v": `use "GET /v"`, "ANY /$default": "use the route key $default"} {
		_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: h.ApiId, RouteKey: aws.String(key)})
		refused("create-route "+key, err, want)
	}
}

// TestV2ExportReimportsWithFailOnWarnings: an HTTP API built with
// create-route (a $default route behind a JWT authorizer, a path parameter, a
// greedy path) exports to a document that import-api with failOnWarnings
// takes, giving the same route keys, the $default route still protected.
func TestV2ExportReimportsWithFailOnWarnings(t *testing.T) {
	t.Parallel()
	e, h := startV2WithHTTPAPI(t, "roundtrip")
	ctx := t.Context()
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId,
		IntegrationType: v2types.IntegrationTypeHttpProxy, IntegrationMethod: aws.String("ANY"),
		IntegrationUri: aws.String("http://127.0.0.1:32400/be"), PayloadFormatVersion: aws.String("1.0")})
	if err != nil {
		t.Fatal(err)
	}
	au, err := e.ag.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{ApiId: h.ApiId, Name: aws.String("j"),
		AuthorizerType: v2types.AuthorizerTypeJwt, IdentitySource: []string{"$request.header.Authorization"},
		JwtConfiguration: &v2types.JWTConfiguration{Issuer: aws.String("https://issuer.example"), Audience: []string{"a"}}})
	if err != nil {
		t.Fatal(err)
	}
	target := aws.String("integrations/" + aws.ToString(integ.IntegrationId))
	for _, key := range []string{"$default", "GET /items/{id}", "POST /new/{a}/{b+}"} {
		in := &apigatewayv2.CreateRouteInput{ApiId: h.ApiId, RouteKey: aws.String(key), Target: target}
		if key == "$default" {
			in.AuthorizationType, in.AuthorizerId = v2types.AuthorizationTypeJwt, au.AuthorizerId
		}
		if _, err := e.ag.CreateRoute(ctx, in); err != nil {
			t.Fatalf("CreateRoute %s: %v", key, err)
		}
	}
	out, err := e.ag.ExportApi(ctx, &apigatewayv2.ExportApiInput{ApiId: h.ApiId, Specification: aws.String("OAS30"), OutputType: aws.String("JSON")})
	if err != nil {
		t.Fatal(err)
	}
	imp, err := e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(string(out.Body)), FailOnWarnings: aws.Bool(true)})
	if err != nil {
		t.Fatalf("ImportApi --fail-on-warnings of the export: %v\n%s", err, out.Body)
	}
	routes, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: imp.ApiId})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]v2types.AuthorizationType{}
	for _, r := range routes.Items {
		got[aws.ToString(r.RouteKey)] = r.AuthorizationType
	}
	if len(got) != 3 || got["$default"] != v2types.AuthorizationTypeJwt || got["GET /items/{id}"] != v2types.AuthorizationTypeNone || got["POST /new/{a}/{b+}"] != v2types.AuthorizationTypeNone {
		t.Fatalf("imported routes %v, want $default (JWT), GET /items/{id}, POST /new/{a}/{b+}", got)
	}
}
