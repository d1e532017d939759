package admin_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
)

// TestV2HTTPProxyPlaceholderNeedsTheRouteParameter guards r-httpapi29's
// finding 8 through the control plane: quick create, create-route,
// update-integration (of an integration a route targets) and import-api
// refuse an HTTP_PROXY uri whose {proxy} the route does not have, naming
// the placeholder and the route; a {proxy+} route takes it.
func TestV2HTTPProxyPlaceholderNeedsTheRouteParameter(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	_, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("q1"), ProtocolType: "HTTP",
		Target: aws.String("http://127.0.0.1:9/{proxy}"), RouteKey: aws.String("GET /x")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `names {proxy}, but route "GET /x" has no such path parameter`)

	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("q2"), ProtocolType: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	integ, err := e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: "HTTP_PROXY",
		IntegrationMethod: aws.String("ANY"), IntegrationUri: aws.String("http://127.0.0.1:9/{proxy}"), PayloadFormatVersion: aws.String("1.0")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("ANY /h/{proxy+}"),
		Target: aws.String("integrations/" + *integ.IntegrationId)}); err != nil {
		t.Fatalf("a {proxy+} route: %v", err)
	}
	_, err = e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: api.ApiId, RouteKey: aws.String("GET /lit"),
		Target: aws.String("integrations/" + *integ.IntegrationId)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `names {proxy}, but route "GET /lit" has no such path parameter`)
	_, err = e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: api.ApiId, IntegrationId: integ.IntegrationId,
		IntegrationUri: aws.String("http://127.0.0.1:9/{proxy}/{id}")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `names {id}, but route "ANY /h/{proxy+}" has no such path parameter`)

	doc := `{"openapi":"3.0.1","info":{"title":"ph","version":"1"},
	  "paths":{"/n":{"get":{"x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"http://127.0.0.1:9/{proxy}",
	    "payloadFormatVersion":"1.0"}}}}}`
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `names {proxy}, but route "GET /n" has no such path parameter`)
}
