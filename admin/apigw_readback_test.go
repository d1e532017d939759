package admin_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// This file checks that what the control planes are given is read back as AWS
// returns it, so tools that compare what they wrote with what they read
// (Terraform's provider, CloudFormation drift detection) see no difference.

// unescapePolicy reads a REST API's policy back as Terraform's provider does:
// the value is the inside of a JSON string, so it is decoded as one.
func unescapePolicy(t *testing.T, p string) any {
	t.Helper()
	var doc string
	if err := json.Unmarshal([]byte(`"`+p+`"`), &doc); err != nil {
		t.Fatalf("policy %q is not an escaped JSON string: %v", p, err)
	}
	// The provider then normalizes and unquotes it with strconv.Unquote.
	normalized, _ := json.Marshal(doc)
	if _, err := strconv.Unquote(string(normalized)); err != nil {
		t.Fatalf("policy %q does not unquote: %v", p, err)
	}
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("policy %q unescapes to %q, not a JSON document: %v", p, doc, err)
	}
	return v
}

// TestRestAPIPolicyReadBackEscaped: create-rest-api, update-rest-api and
// get-rest-api(s) return the resource policy as API Gateway does, minified and
// escaped ({\"Version\":...}, "/" as "\/"), which un-escapes to the document
// that was written.
func TestRestAPIPolicyReadBackEscaped(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	written := `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}
  ]
}`
	// Minified and escaped; the keys are kept in an order of Portico's.
	wantParts := []string{`\"Version\":\"2012-10-17\"`, `\"Resource\":\"execute-api:\/*\"`, `[{\"`}
	var wantDoc any
	_ = json.Unmarshal([]byte(written), &wantDoc)
	check := func(what string, got *string) {
		t.Helper()
		p := aws.ToString(got)
		for _, part := range wantParts {
			if !strings.Contains(p, part) || strings.ContainsAny(p, " \n") {
				t.Errorf("%s policy = %s, want it minified and escaped, with %s", what, p, part)
			}
		}
		if doc := unescapePolicy(t, aws.ToString(got)); !reflect.DeepEqual(doc, wantDoc) {
			t.Errorf("%s policy un-escapes to %v, want %v", what, doc, wantDoc)
		}
	}
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{
		Name: aws.String("p"), Policy: aws.String(written)}))
	check("CreateRestApi", api.Policy)
	got := must[*apigateway.GetRestApiOutput](t, "GetRestApi")(c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api.Id}))
	check("GetRestApi", got.Policy)
	list := must[*apigateway.GetRestApisOutput](t, "GetRestApis")(c.ag.GetRestApis(ctx, &apigateway.GetRestApisInput{}))
	if len(list.Items) != 1 {
		t.Fatalf("GetRestApis = %d APIs", len(list.Items))
	}
	check("GetRestApis", list.Items[0].Policy)

	// update-rest-api takes the document as Terraform sends it (normalized).
	written = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`
	_ = json.Unmarshal([]byte(written), &wantDoc)
	up := must[*apigateway.UpdateRestApiOutput](t, "UpdateRestApi")(c.ag.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: api.Id,
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/policy"), Value: aws.String(written)}}}))
	if doc := unescapePolicy(t, aws.ToString(up.Policy)); !reflect.DeepEqual(doc, wantDoc) {
		t.Errorf("UpdateRestApi policy un-escapes to %v, want %v", doc, wantDoc)
	}
	got = must[*apigateway.GetRestApiOutput](t, "GetRestApi")(c.ag.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api.Id}))
	if doc := unescapePolicy(t, aws.ToString(got.Policy)); !reflect.DeepEqual(doc, wantDoc) {
		t.Errorf("GetRestApi after update: policy un-escapes to %v, want %v", doc, wantDoc)
	}
}

// TestMethodParametersRequiredReadBack: the required flags of a method's
// request parameters and of its method responses' header parameters are
// echoed as written, by put, get and update.
func TestMethodParametersRequiredReadBack(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("r")}))
	root := api.RootResourceId
	reqParams := map[string]bool{"method.request.querystring.q": true, "method.request.header.h": false}
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: root,
		HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE"), RequestParameters: reqParams}))
	respParams := map[string]bool{"method.response.header.X-Req": true, "method.response.header.X-Opt": false}
	put := must[*apigateway.PutMethodResponseOutput](t, "PutMethodResponse")(c.ag.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{
		RestApiId: api.Id, ResourceId: root, HttpMethod: aws.String("GET"), StatusCode: aws.String("200"), ResponseParameters: respParams}))
	if !reflect.DeepEqual(put.ResponseParameters, respParams) {
		t.Errorf("PutMethodResponse responseParameters = %v, want %v", put.ResponseParameters, respParams)
	}
	got := must[*apigateway.GetMethodResponseOutput](t, "GetMethodResponse")(c.ag.GetMethodResponse(ctx, &apigateway.GetMethodResponseInput{
		RestApiId: api.Id, ResourceId: root, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}))
	if !reflect.DeepEqual(got.ResponseParameters, respParams) {
		t.Errorf("GetMethodResponse responseParameters = %v, want %v", got.ResponseParameters, respParams)
	}
	m := must[*apigateway.GetMethodOutput](t, "GetMethod")(c.ag.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api.Id, ResourceId: root, HttpMethod: aws.String("GET")}))
	if !reflect.DeepEqual(m.RequestParameters, reqParams) || !reflect.DeepEqual(m.MethodResponses["200"].ResponseParameters, respParams) {
		t.Errorf("GetMethod requestParameters = %v, method response's = %v", m.RequestParameters, m.MethodResponses["200"].ResponseParameters)
	}
	up := must[*apigateway.UpdateMethodResponseOutput](t, "UpdateMethodResponse")(c.ag.UpdateMethodResponse(ctx, &apigateway.UpdateMethodResponseInput{
		RestApiId: api.Id, ResourceId: root, HttpMethod: aws.String("GET"), StatusCode: aws.String("200"),
		PatchOperations: []agtypes.PatchOperation{
			{Op: agtypes.OpReplace, Path: aws.String("/responseParameters/method.response.header.X-Opt"), Value: aws.String("true")},
			{Op: agtypes.OpReplace, Path: aws.String("/responseParameters/method.response.header.X-Req"), Value: aws.String("false")},
		}}))
	want := map[string]bool{"method.response.header.X-Req": false, "method.response.header.X-Opt": true}
	if !reflect.DeepEqual(up.ResponseParameters, want) {
		t.Errorf("UpdateMethodResponse responseParameters = %v, want %v", up.ResponseParameters, want)
	}
}

// sameJSON reports whether a and b are the same JSON value (Terraform compares
// schemas so).
func sameJSON(a, b string) bool {
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

// TestModelDescriptionReadBack: create-model keeps the description, the
// model's reads echo it, and update-model replaces it without touching the
// schema.
func TestModelDescriptionReadBack(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("m")}))
	const schema = `{"type":"object","properties":{"name":{"type":"string"}}}`
	m := must[*apigateway.CreateModelOutput](t, "CreateModel")(c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id,
		Name: aws.String("Pet"), ContentType: aws.String("application/json"), Description: aws.String("a pet"), Schema: aws.String(schema)}))
	if aws.ToString(m.Description) != "a pet" {
		t.Errorf("CreateModel description = %q, want %q", aws.ToString(m.Description), "a pet")
	}
	got := must[*apigateway.GetModelOutput](t, "GetModel")(c.ag.GetModel(ctx, &apigateway.GetModelInput{RestApiId: api.Id, ModelName: aws.String("Pet")}))
	if aws.ToString(got.Description) != "a pet" || !sameJSON(aws.ToString(got.Schema), schema) {
		t.Errorf("GetModel = description %q schema %s", aws.ToString(got.Description), aws.ToString(got.Schema))
	}
	up := must[*apigateway.UpdateModelOutput](t, "UpdateModel")(c.ag.UpdateModel(ctx, &apigateway.UpdateModelInput{RestApiId: api.Id, ModelName: aws.String("Pet"),
		PatchOperations: []agtypes.PatchOperation{{Op: agtypes.OpReplace, Path: aws.String("/description"), Value: aws.String("a pet, with a name")}}}))
	if aws.ToString(up.Description) != "a pet, with a name" || !sameJSON(aws.ToString(up.Schema), schema) {
		t.Errorf("UpdateModel = description %q schema %s", aws.ToString(up.Description), aws.ToString(up.Schema))
	}
	list := must[*apigateway.GetModelsOutput](t, "GetModels")(c.ag.GetModels(ctx, &apigateway.GetModelsInput{RestApiId: api.Id}))
	for _, it := range list.Items {
		if aws.ToString(it.Name) == "Pet" && aws.ToString(it.Description) != "a pet, with a name" {
			t.Errorf("GetModels: Pet's description = %q", aws.ToString(it.Description))
		}
	}
}
