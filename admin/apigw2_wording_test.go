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
