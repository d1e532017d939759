package admin_test

import (
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
)

// TestV2MappingBodyPathsRefuseDeepScanAndFilters: an HTTP API parameter
// mapping's $request.body JSON path may not use recursive descent (..) or a
// filter expression (?(...)), which API Gateway's HTTP APIs do not support;
// they were taken (and applied). create-integration, update-integration and
// import-api refuse them with a BadRequestException naming the mapping and
// why; a plain path is taken.
func TestV2MappingBodyPathsRefuseDeepScanAndFilters(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("bodypath"), ProtocolType: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(req map[string]string) (*apigatewayv2.CreateIntegrationOutput, error) {
		return e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: "HTTP_PROXY",
			IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String("http://127.0.0.1:9/n"), PayloadFormatVersion: aws.String("1.0"),
			RequestParameters: req})
	}
	_, err = create(map[string]string{"overwrite:header.x-name": "$request.body..name"})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `"overwrite:header.x-name": $request.body..name uses recursive descent (..)`)
	_, err = create(map[string]string{"append:querystring.tag": "t-${request.body.items[?(@.on == true)].tag}"})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `"append:querystring.tag": $request.body.items[?(@.on == true)].tag uses a filter expression (?(...))`)
	integ, err := create(map[string]string{"overwrite:header.x-name": "$request.body.user['first.name']", "overwrite:header.x-dots": "${request.body['a..b']}"})
	if err != nil {
		t.Fatalf("plain paths (a quoted name may hold ..): %v", err)
	}
	_, err = e.ag.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: api.ApiId, IntegrationId: integ.IntegrationId,
		RequestParameters: map[string]string{"overwrite:header.x-deep": "$request.body.a..b"}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `"overwrite:header.x-deep": $request.body.a..b uses recursive descent`)

	doc := `{"openapi":"3.0.1","info":{"title":"bp","version":"1"},
	  "paths":{"/n":{"post":{"x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"POST","uri":"http://127.0.0.1:9/n",
	    "payloadFormatVersion":"1.0","requestParameters":{"overwrite:header.x-f":"$request.body[?(@.k)]"}}}}}}`
	_, err = e.ag.ImportApi(ctx, &apigatewayv2.ImportApiInput{Body: aws.String(doc)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `"overwrite:header.x-f": $request.body[?(@.k)] uses a filter expression`)
}

// TestV2ResponseMappingBodyPathsRefuseDeepScanAndFilters: a response
// mapping's (responseParameters) $response.body path is refused as a
// request mapping's $request.body path is: recursive descent and filters
// are BadRequestException naming the status code, the mapping and why (they
// were taken); a plain path is taken.
func TestV2ResponseMappingBodyPathsRefuseDeepScanAndFilters(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()
	api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("respbodypath"), ProtocolType: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	create := func(resp map[string]string) (*apigatewayv2.CreateIntegrationOutput, error) {
		return e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: api.ApiId, IntegrationType: "HTTP_PROXY",
			IntegrationMethod: aws.String("POST"), IntegrationUri: aws.String("http://127.0.0.1:9/n"), PayloadFormatVersion: aws.String("1.0"),
			ResponseParameters: map[string]map[string]string{"200": resp}})
	}
	_, err = create(map[string]string{"overwrite:header.x-name": "$response.body..name"})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `responseParameters "200": parameter mapping "overwrite:header.x-name": $response.body..name uses recursive descent (..)`)
	_, err = create(map[string]string{"append:header.x-tag": "t-${response.body.items[?(@.on == true)].tag}"})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", `$response.body.items[?(@.on == true)].tag uses a filter expression (?(...))`)
	if _, err := create(map[string]string{"overwrite:header.x-name": "$response.body.user.name"}); err != nil {
		t.Fatalf("a plain path: %v", err)
	}
}
