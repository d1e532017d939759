package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestModelCanonicalReferences checks the model reference form API Gateway
// requires, https://apigateway.amazonaws.com/restapis/{api}/models/{name}:
// create-model takes it for the API's own models (and refuses another API's,
// or a model the API lacks, saying what to use); request validation follows
// it; exports write it as the document's own reference (#/definitions/Pet,
// #/components/schemas/Pet), and such an export imports again.
func TestModelCanonicalReferences(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("models")}))
	id := aws.ToString(api.Id)
	model := func(name, schema string) error {
		_, err := c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id, Name: aws.String(name),
			ContentType: aws.String("application/json"), Schema: aws.String(schema)})
		return err
	}
	if err := model("Pet", `{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}`); err != nil {
		t.Fatal(err)
	}
	if err := model("Pets", `{"type":"array","items":{"$ref":"https://apigateway.amazonaws.com/restapis/`+id+`/models/Pet"}}`); err != nil {
		t.Fatalf("create-model with the canonical reference: %v", err)
	}
	err := model("Stray", `{"type":"array","items":{"$ref":"https://apigateway.amazonaws.com/restapis/abcdefghij/models/Pet"}}`)
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); !strings.Contains(msg, "another API (abcdefghij)") || !strings.Contains(msg, "restapis/"+id+"/models/Pet") {
		t.Errorf("another API's model: %q", msg)
	}
	err = model("Lost", `{"type":"array","items":{"$ref":"https://apigateway.amazonaws.com/restapis/`+id+`/models/Nope"}}`)
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); !strings.Contains(msg, "Nope") {
		t.Errorf("a model the API lacks: %q", msg)
	}

	// POST /pets validates its body against Pets.
	pets := must[*apigateway.CreateResourceOutput](t, "CreateResource")(c.ag.CreateResource(ctx, &apigateway.CreateResourceInput{
		RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("pets")}))
	v := must[*apigateway.CreateRequestValidatorOutput](t, "CreateRequestValidator")(c.ag.CreateRequestValidator(ctx, &apigateway.CreateRequestValidatorInput{
		RestApiId: api.Id, Name: aws.String("body"), ValidateRequestBody: true}))
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: pets.Id,
		HttpMethod: aws.String("POST"), AuthorizationType: aws.String("NONE"), RequestValidatorId: v.Id,
		RequestModels: map[string]string{"application/json": "Pets"}}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: pets.Id,
		HttpMethod: aws.String("POST"), Type: "MOCK", RequestTemplates: map[string]string{"application/json": `{"statusCode": 200}`}}))
	must[*apigateway.PutMethodResponseOutput](t, "PutMethodResponse")(c.ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: pets.Id,
		HttpMethod: aws.String("POST"), StatusCode: aws.String("200")}))
	must[*apigateway.PutIntegrationResponseOutput](t, "PutIntegrationResponse")(c.ag.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: pets.Id,
		HttpMethod: aws.String("POST"), StatusCode: aws.String("200"), ResponseTemplates: map[string]string{"application/json": `{"ok":true}`}}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")}))
	u := c.env.GatewayURL + "/" + id + "/dev/pets"
	if st, body := post(t, u, `[{"name":"rex"}]`); st != 200 {
		t.Errorf("POST a valid list: %d %s", st, body)
	}
	if st, body := post(t, u, `[{"age":3}]`); st != 400 || !strings.Contains(body, "Invalid request body") {
		t.Errorf("POST a pet without a name: %d %s, want 400 Invalid request body", st, body)
	}

	for typ, want := range map[string]string{"oas30": `"#/components/schemas/Pet"`, "swagger": `"#/definitions/Pet"`} {
		exp := must[*apigateway.GetExportOutput](t, "GetExport "+typ)(c.ag.GetExport(ctx, &apigateway.GetExportInput{RestApiId: api.Id,
			StageName: aws.String("dev"), ExportType: aws.String(typ), Accepts: aws.String("application/json"),
			Parameters: map[string]string{"extensions": "integrations"}}))
		if doc := string(exp.Body); !strings.Contains(doc, want) || strings.Contains(doc, "apigateway.amazonaws.com/restapis") {
			t.Errorf("%s export: want %s and no canonical reference:\n%s", typ, want, doc)
		}
		imp := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi of the "+typ+" export")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: exp.Body}))
		must[*apigateway.GetModelOutput](t, "GetModel Pets of the import")(c.ag.GetModel(ctx, &apigateway.GetModelInput{RestApiId: imp.Id, ModelName: aws.String("Pets")}))
	}
	// A document whose models refer to each other in the canonical form (of
	// the API it came from) imports: the references are its own models.
	doc := `{"swagger":"2.0","info":{"title":"canon","version":"1"},"paths":{},"definitions":{
	  "Pet":{"type":"object"},
	  "Pets":{"type":"array","items":{"$ref":"https://apigateway.amazonaws.com/restapis/abcdefghij/models/Pet"}}}}`
	imp := must[*apigateway.ImportRestApiOutput](t, "ImportRestApi with canonical references")(c.ag.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(doc)}))
	got := must[*apigateway.GetModelOutput](t, "GetModel")(c.ag.GetModel(ctx, &apigateway.GetModelInput{RestApiId: imp.Id, ModelName: aws.String("Pets")}))
	if s := aws.ToString(got.Schema); !strings.Contains(s, "Pet") || strings.Contains(s, "abcdefghij") {
		t.Errorf("imported Pets schema %s", s)
	}
}

// TestBadModelSchemaNamesTheModel: a model that is not valid JSON Schema is
// refused by create-model and update-model naming that model and what is
// wrong in it, not whichever of the API's models (Empty) came first.
func TestBadModelSchemaNamesTheModel(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("bad-models")}))
	wantBlame := func(op string, err error, name string) {
		t.Helper()
		apiError(t, err, "BadRequestException", 400)
		_, msg := apiErr(t, err)
		if !strings.Contains(msg, `model "`+name+`" is not a valid JSON Schema (draft 4)`) || !strings.Contains(msg, "at '/type'") ||
			!strings.Contains(msg, "must be one of") || strings.Contains(msg, `"Empty"`) || strings.Contains(msg, "urn:portico") {
			t.Errorf("%s: %q, want it to name model %q and say what is wrong at /type", op, msg, name)
		}
	}
	_, err := c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id, Name: aws.String("Pet"),
		ContentType: aws.String("application/json"), Schema: aws.String(`{"type":"objekt"}`)})
	wantBlame("create-model", err, "Pet")
	must[*apigateway.CreateModelOutput](t, "CreateModel Cat")(c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id, Name: aws.String("Cat"),
		ContentType: aws.String("application/json"), Schema: aws.String(`{"type":"object"}`)}))
	_, err = c.ag.UpdateModel(ctx, &apigateway.UpdateModelInput{RestApiId: api.Id, ModelName: aws.String("Cat"),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/schema"), Value: aws.String(`{"type":"objekt"}`)}}})
	wantBlame("update-model", err, "Cat")
}
