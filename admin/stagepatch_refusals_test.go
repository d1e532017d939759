package admin_test

import (
	"encoding/json"
	"fmt"
	"io"
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

// restStage makes a REST API with a MOCK GET / deployed to stage dev, and
// returns its id.
func restStage(t *testing.T, c *cpEnv) string {
	t.Helper()
	ctx := t.Context()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("refusals")}))
	root := resourceIDs(t, c.ag, aws.ToString(api.Id))["/"]
	must[*apigateway.PutMethodOutput](t, "PutMethod")(c.ag.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id,
		ResourceId: aws.String(root), HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")}))
	must[*apigateway.PutIntegrationOutput](t, "PutIntegration")(c.ag.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id,
		ResourceId: aws.String(root), HttpMethod: aws.String("GET"), Type: agtypes.IntegrationTypeMock}))
	must[*apigateway.CreateDeploymentOutput](t, "CreateDeployment")(c.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")}))
	return aws.ToString(api.Id)
}

// patchStage sends update-stage's body as it is and returns the status and
// the answer's message.
func patchStage(t *testing.T, c *cpEnv, apiID, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, c.env.AdminURL+"/restapis/"+apiID+"/stages/dev", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+cpToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out.Message
}

// TestStagePatchRefusals: update-stage refuses, in AWS's words and without
// Go's type names, a body of the wrong shape; a patch path that is no JSON
// pointer; a method settings key whose resource path no method can have;
// more method settings than a stage holds; and the paths of features
// Portico does not have, saying so.
func TestStagePatchRefusals(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	id := restStage(t, c)

	for body, want := range map[string]string{
		`{"patchOperations":{}}`: "patchOperations must be a list, not a JSON object",
		`{"patchOperations":[{"op":"replace","path":"/description","value":5}]}`: "patchOperations.value must be a string, not a JSON number",
	} {
		code, msg := patchStage(t, c, id, body)
		if code != http.StatusBadRequest || !strings.Contains(msg, want) || strings.Contains(msg, "Go ") || strings.Contains(msg, "admin.") {
			t.Errorf("%s: %d %q, want 400 saying %q without Go's names", body, code, msg, want)
		}
	}

	update := func(ops ...agtypes.PatchOperation) error {
		_, err := c.ag.UpdateStage(t.Context(), &apigateway.UpdateStageInput{RestApiId: aws.String(id), StageName: aws.String("dev"), PatchOperations: ops})
		return err
	}
	replace := func(path, value string) agtypes.PatchOperation {
		return agtypes.PatchOperation{Op: agtypes.OpReplace, Path: aws.String(path), Value: aws.String(value)}
	}
	for path, want := range map[string]string{
		"/~1pets~1..~1x/GET/metrics/enabled": `".." segment`,
		"/~1pets~1./GET/metrics/enabled":     `"." segment`,
		"/~1p\u00e9ts/GET/metrics/enabled":   "invalid characters",
		"/~1pets~1%41/GET/metrics/enabled":   "%",
		"/~1pets~1{a b}/GET/metrics/enabled": "invalid parameter name",
	} {
		wantV2Error(t, update(replace(path, "true")), 400, "BadRequestException", "Invalid method setting path: "+path)
		wantV2Error(t, update(replace(path, "true")), 400, "BadRequestException", want)
	}
	wantV2Error(t, update(replace("~1pets/GET/metrics/enabled", "true")), 400, "BadRequestException",
		"Invalid patch path '~1pets/GET/metrics/enabled' specified for op 'replace': a patch path starts with /")
	for path, feature := range map[string]string{"/clientCertificateId": "client certificates", "/documentationVersion": "documentation versions", "/webAclArn": "WAF"} {
		wantV2Error(t, update(replace(path, "x")), 400, "BadRequestException", feature)
		wantV2Error(t, update(replace(path, "x")), 400, "BadRequestException", "not supported by Portico")
	}
	if err := update(replace("/~1pets~1{id}/GET/metrics/enabled", "true"), replace("/pets/{id}/POST/metrics/enabled", "true")); err != nil {
		t.Fatalf("keys of methods that can be deployed: %v", err)
	}

	// The cap: one PATCH over it is refused whole; up to it is taken.
	ops := make([]agtypes.PatchOperation, 0, apis.MaxMethodSettings+1)
	for i := range apis.MaxMethodSettings + 1 {
		ops = append(ops, replace(fmt.Sprintf("/~1r%d/GET/metrics/enabled", i), "true"))
	}
	wantV2Error(t, update(ops...), 400, "BadRequestException", fmt.Sprintf("a stage holds at most %d method settings", apis.MaxMethodSettings))
	st := must[*apigateway.GetStageOutput](t, "GetStage")(c.ag.GetStage(t.Context(), &apigateway.GetStageInput{RestApiId: aws.String(id), StageName: aws.String("dev")}))
	if len(st.MethodSettings) != 2 {
		t.Fatalf("%d method settings after refused updates, want the 2 taken", len(st.MethodSettings))
	}
	if err := update(ops[:apis.MaxMethodSettings-2]...); err != nil {
		t.Fatalf("up to the cap: %v", err)
	}
}

// TestV2RouteSettingsUnknownRouteKey: routeSettings naming a route key the
// API does not have is refused naming the key, not an internal identifier;
// a body of the wrong shape is refused without Go's type names.
func TestV2RouteSettingsUnknownRouteKey(t *testing.T) {
	t.Parallel()
	e, h := startV2WithHTTPAPI(t, "routesettings")
	ctx := t.Context()
	if _, err := e.ag.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: h.ApiId, StageName: aws.String("beta")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.ag.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: h.ApiId, StageName: aws.String("beta"),
		RouteSettings: map[string]v2types.RouteSettings{"GET /nope": {ThrottlingRateLimit: aws.Float64(1)}}})
	wantV2Error(t, err, http.StatusNotFound, "NotFoundException", "Unable to find Route by key GET /nope within the provided RouteSettings")
	if err != nil && strings.Contains(err.Error(), "000000000000") {
		t.Errorf("the message names the account: %v", err)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, e.env.AdminURL+"/v2/apis/"+aws.ToString(h.ApiId)+"/stages/beta",
		strings.NewReader(`{"stageVariables":["a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+v2Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "stageVariables must be an object, not a JSON array") ||
		strings.Contains(string(raw), "Go ") {
		t.Fatalf("stageVariables as a list: %d %s", resp.StatusCode, raw)
	}
}
