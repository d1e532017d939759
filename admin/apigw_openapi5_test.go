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

	"github.com/portico-dev/portico/gateway/apis"
)

// deepSchema is an object schema with a property nested levels deep
// (two JSON levels each).
func deepSchema(levels int) string {
	return strings.Repeat(`{"type":"object","properties":{"a":`, levels) + `{"type":"string"}` + strings.Repeat(`}}`, levels)
}

// TestImportRefusesDeepNesting: a small document whose schema (or x-
// extension) nests thousands deep is refused with a 400 naming where and the
// limit, before the JSON Schema compiler (whose work grows with the cube of
// the depth) or the exporter's indentation see it; a model nested beyond
// MaxModelDepth is refused at import and at create-model, naming the model;
// a schema within the limits is accepted.
func TestImportRefusesDeepNesting(t *testing.T) {
	c := startControlPlane(t)
	ctx := t.Context()
	doc := func(schema, ext string) []byte {
		return []byte(`{"openapi":"3.0.1","info":{"title":"deep","version":"1"},"paths":{},` + ext +
			`"components":{"schemas":{"D":` + schema + `}}}`)
	}
	for _, tc := range []struct {
		name, schema, ext, want string
	}{
		{"schema 2000 deep", deepSchema(2000), "", "document at /components/schemas/D/properties/a/properties/a/"},
		{"extension 9990 deep", `{"type":"object"}`, `"x-deep":` + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + ",", "document at /x-deep/0/0/0/"},
		{"model 40 deep", deepSchema(40), "", `model "D" at /properties/a/properties/a/`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc(tc.schema, tc.ext)})
			apiError(t, err, "BadRequestException", 400)
			_, msg := apiErr(t, err)
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "nests objects and arrays too deeply") {
				t.Errorf("import: %q, want it to name %q and the limit", msg, tc.want)
			}
		})
	}
	ok := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi of a 30-deep schema")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc(deepSchema(30), "")}))

	_, err := c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: ok.Id, Name: aws.String("Deep"),
		ContentType: aws.String("application/json"), Schema: aws.String(deepSchema(33))})
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); !strings.Contains(msg, `model "Deep" at /properties/a/`) || !strings.Contains(msg, "more than 64 levels") {
		t.Errorf("create-model: %q", msg)
	}
	must[*apigateway.CreateModelOutput](t, "CreateModel 32 deep")(c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: ok.Id, Name: aws.String("Deep"),
		ContentType: aws.String("application/json"), Schema: aws.String(deepSchema(31))}))
}

// TestModelRefCycles: a model that is only a cycle of $refs (A is B, B is A;
// or a model that is itself) matches no value, so it is refused at import and
// at create-model, naming the model and the cycle; a recursive schema with
// structure (A's property b is B, B's property a is A; a tree whose children
// are trees) stays allowed.
func TestModelRefCycles(t *testing.T) {
	c := startControlPlane(t)
	ctx := t.Context()
	doc := func(a, b string) []byte {
		return []byte(`{"openapi":"3.0.1","info":{"title":"cyc","version":"1"},"paths":{},"components":{"schemas":{"A":` + a + `,"B":` + b + `}}}`)
	}
	_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc(`{"$ref":"#/components/schemas/B"}`, `{"$ref":"#/components/schemas/A"}`)})
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); !strings.Contains(msg, `model "A": $ref cycle A -> B -> A never reaches a schema`) {
		t.Errorf("import of A -> B -> A: %q", msg)
	}
	api := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi of a structured recursive schema")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: doc(
		`{"type":"object","properties":{"b":{"$ref":"#/components/schemas/B"}}}`, `{"type":"object","properties":{"a":{"$ref":"#/components/schemas/A"}}}`)}))
	id := aws.ToString(api.Id)

	create := func(name, schema string) error {
		_, err := c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id, Name: aws.String(name),
			ContentType: aws.String("application/json"), Schema: aws.String(schema)})
		return err
	}
	err = create("Self", `{"$ref":"https://apigateway.amazonaws.com/restapis/`+id+`/models/Self"}`)
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); !strings.Contains(msg, `model "Self": $ref cycle Self -> Self never reaches a schema`) {
		t.Errorf("create-model Self: %q", msg)
	}
	if err := create("Tree", `{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#/definitions/Tree"}}}}`); err != nil {
		t.Errorf("create-model of a tree: %v", err)
	}
	if err := create("AliasOfA", `{"$ref":"https://apigateway.amazonaws.com/restapis/`+id+`/models/A"}`); err != nil {
		t.Errorf("create-model of a $ref to a recursive model: %v", err)
	}
}

// TestCreateModelErrorNamesTheModel: a $schema no model may use (one that
// would have to be fetched) is refused naming the model being created, not
// the first of the API's models, and nothing is fetched.
func TestCreateModelErrorNamesTheModel(t *testing.T) {
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("m3")}))
	_, err := c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id, Name: aws.String("M3"),
		ContentType: aws.String("application/json"), Schema: aws.String(`{"$schema":"http://127.0.0.1:1/meta.json","type":"object"}`)})
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); !strings.Contains(msg, `model "M3": $schema "http://127.0.0.1:1/meta.json"`) {
		t.Errorf("create-model M3: %q", msg)
	}
}

// TestAWSIntegrationOtherThanLambdaRefused: an AWS integration of another
// service than Lambda (DynamoDB, SQS, ...), which the gateway cannot call, is
// refused with a 400 saying only Lambda ARNs are supported by put-integration,
// update-integration and import, and nothing is stored; on an HTTP API,
// apigatewayv2 create-integration refuses any AWS integration, as API Gateway
// does (TestV2HTTPAPIRefusesNonProxyIntegrations).
func TestAWSIntegrationOtherThanLambdaRefused(t *testing.T) {
	ctx := t.Context()
	const dynamo = "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem"
	const want = "AWS service integrations other than Lambda are not supported: only Lambda ARNs are supported"
	c := startControlPlane(t)
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("dd")}))
	res := resourceIDs(t, c.ag, aws.ToString(api.Id))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id,
		ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	_, err := c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]),
		HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeAws, IntegrationHttpMethod: aws.String("POST"), Uri: aws.String(dynamo)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", want)
	if _, err := c.ag.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET")}); err == nil {
		t.Fatal("a refused integration was stored")
	}
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id,
		ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeAws, IntegrationHttpMethod: aws.String("POST"),
		Uri: aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations")}))
	_, err = c.ag.UpdateIntegration(ctx, &apigateway.UpdateIntegrationInput{RestApiId: api.Id, ResourceId: aws.String(res["/"]), HttpMethod: aws.String("GET"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/uri"), Value: aws.String(dynamo)}}})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", want)

	_, err = c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(`{"openapi":"3.0.1","info":{"title":"dd","version":"1"},"paths":{"/dd":{"get":{
		"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"aws","httpMethod":"POST","uri":"` + dynamo + `",
		"responses":{"default":{"statusCode":"200"}}}}}}}`)})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", want)

	e, h := startV2WithHTTPAPI(t, "dd")
	_, err = e.ag.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: h.ApiId, IntegrationType: v2types.IntegrationTypeAws,
		IntegrationUri: aws.String(dynamo), IntegrationMethod: aws.String("POST"), PayloadFormatVersion: aws.String("1.0")})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", apis.HTTPProxyOnly)
}

// TestImportPathItemRefCycles: a path item whose $ref leads back to itself,
// directly or through other path items, never resolves to a path item, so
// the import is refused with a 400 naming the cycle, as any $ref that does
// not resolve is (before, the paths vanished, or stayed as resources without
// methods, even with failonwarnings).
func TestImportPathItemRefCycles(t *testing.T) {
	ctx := t.Context()
	c := startControlPlane(t)
	ok := `"/ok":{"get":{"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock",
		"requestTemplates":{"application/json":"{\"statusCode\":200}"},"responses":{"default":{"statusCode":"200"}}}}}`
	for _, tc := range []struct{ name, paths, want string }{
		{"two", `"/a":{"$ref":"#/paths/~1b"},"/b":{"$ref":"#/paths/~1a"}`, `paths["/a"]: $ref cycle /a -> /b -> /a never reaches a path item`},
		{"self", `"/secret":{"$ref":"#/paths/~1secret"},` + ok, `paths["/secret"]: $ref cycle /secret -> /secret`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, params := range []map[string]string{nil, {"failonwarnings": "true"}} {
				_, err := c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Parameters: params,
					Body: []byte(`{"openapi":"3.0.1","info":{"title":"cyc","version":"1"},"paths":{` + tc.paths + `}}`)})
				wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", tc.want)
			}
		})
	}
	must[*apigateway.ImportRestApiOutput](t, "ImportRestApi of a path item $ref")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{
		Body: []byte(`{"openapi":"3.0.1","info":{"title":"ref","version":"1"},"paths":{"/alias":{"$ref":"#/paths/~1ok"},` + ok + `}}`)}))
}
