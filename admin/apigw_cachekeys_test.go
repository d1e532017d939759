package admin_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestInvalidCacheKeyParametersRefused: a cacheKeyParameters entry that is
// not method.request.{querystring, multivaluequerystring, header,
// multivalueheader, path}.NAME, or names a request parameter the method does
// not declare, is refused where it is written (put-integration,
// update-integration, import-rest-api) with API Gateway's BadRequestException
// "Invalid cache key parameter specified", and nothing is stored; declared
// ones, and the path's own variables, are taken. They used to be stored, and
// the route then silently stopped caching.
func TestInvalidCacheKeyParametersRefused(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	refused := func(what, param string, err error) {
		t.Helper()
		var br *agtypes.BadRequestException
		if !errors.As(err, &br) || !strings.Contains(aws.ToString(br.Message), "Invalid cache key parameter specified: "+param) {
			t.Errorf("%s: %v, want BadRequestException: Invalid cache key parameter specified: %s", what, err, param)
		}
	}
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("keys")}))
	res := must[*apigateway.GetResourcesOutput](t, "GetResources")(c.ag.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id}))
	item := must[*apigateway.CreateResourceOutput](t, "CreateResource")(c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{
		RestApiId: api.Id, ParentId: res.Items[0].Id, PathPart: aws.String("{id}")}))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: item.Id,
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE"),
		RequestParameters: map[string]bool{"method.request.querystring.type": false, "method.request.header.X-Tenant": false}}))
	put := func(keys ...string) error {
		_, err := c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: item.Id, HttpMethod: aws.String("GET"),
			Type: agtypes.IntegrationTypeMock, RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}, CacheKeyParameters: keys})
		return err
	}
	for _, bad := range []string{"bogus.thing", "method.request.body", "method.request.querystring.", "integration.request.querystring.type",
		"method.request.querystring.color", "method.request.header.X-Other", "method.request.path.other"} {
		refused("put-integration "+bad, bad, put("method.request.querystring.type", bad))
	}
	good := []string{"method.request.querystring.type", "method.request.multivaluequerystring.type", "method.request.header.x-tenant",
		"method.request.multivalueheader.X-Tenant", "method.request.path.id"}
	if err := put(good...); err != nil {
		t.Fatalf("put-integration with declared cache key parameters: %v", err)
	}
	update := func(op agtypes.Op, path string) error {
		_, err := c.ag.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api.Id, ResourceId: item.Id, HttpMethod: aws.String("GET"),
			PatchOperations: []agtypes.PatchOperation{{Op: op, Path: aws.String(path)}}})
		return err
	}
	refused("update-integration add bogus.thing", "bogus.thing", update(agtypes.OpAdd, "/cacheKeyParameters/bogus.thing"))
	refused("update-integration add an undeclared one", "method.request.querystring.color", update(agtypes.OpAdd, "/cacheKeyParameters/method.request.querystring.color"))
	if err := update(agtypes.OpRemove, "/cacheKeyParameters/method.request.path.id"); err != nil {
		t.Errorf("update-integration remove: %v", err)
	}
	got := must[*apigateway.GetIntegrationOutput](t, "GetIntegration")(c.ag.GetIntegration(ctx, &apigateway.GetIntegrationInput{
		RestApiId: api.Id, ResourceId: item.Id, HttpMethod: aws.String("GET")}))
	if want := good[:4]; !slices.Equal(got.CacheKeyParameters, want) {
		t.Errorf("cacheKeyParameters after the refusals = %v, want %v", got.CacheKeyParameters, want)
	}
	_, err := c.ag.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: api.Id, ResourceId: item.Id, HttpMethod: aws.String("GET"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpRemove, Path: aws.String("/requestParameters/method.request.querystring.type")}}})
	refused("update-method removing a parameter a cache key names", "method.request.querystring.type", err)

	doc := func(keys string) []byte {
		return []byte(`{"openapi":"3.0.1","info":{"title":"k","version":"1"},"paths":{"/p/{id}":{"get":{
  "parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}},{"name":"q","in":"query","schema":{"type":"string"}}],
  "x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"},
    "cacheKeyParameters":[` + keys + `]}}}}}`)
	}
	for _, bad := range []string{"bogus.thing", "method.request.header.X-Undeclared"} {
		_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc(`"method.request.querystring.q","` + bad + `"`)})
		refused("import with "+bad, bad, err)
	}
	if _, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc(`"method.request.querystring.q","method.request.path.id"`)}); err != nil {
		t.Errorf("import with declared cache key parameters: %v", err)
	}
}
