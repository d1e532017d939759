package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestAuthorizerURIStageVariableMissing: an authorizer URI whose stage
// variable the stage lacks (or whose value names no function) answers as a
// function that does not exist does, 500 {"message": null} with
// AuthorizerConfigurationException, on the routes that authorizer guards
// only; a route without it serves, and a request without a token still gets
// 401. The stage used not to compile, so every route answered 500
// API_CONFIGURATION_ERROR. The server log warns at deploy and set-var, naming
// the authorizer and the variable; setting the variable to a function serves.
func TestAuthorizerURIStageVariableMissing(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogWriter: logs})
	c := env.Client()
	ctx := context.Background()
	createFunction(t, c, "echo", 5)
	createFunction(t, c, "authz", 5)
	doc := `{"openapi":"3.0.1","info":{"title":"sv","version":"1"},
  "components":{"securitySchemes":{"tok":{"type":"apiKey","name":"Authorization","in":"header",
    "x-amazon-apigateway-authtype":"custom",
    "x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:${stageVariables.af}",
      "identitySource":"method.request.header.Authorization","authorizerResultTtlInSeconds":300}}}},
  "paths":{"/s":{"get":{"security":[{"tok":[]}],"x-amazon-apigateway-integration":{"type":"aws_proxy","httpMethod":"POST","uri":"function:echo"}}},
    "/open":{"get":{"x-amazon-apigateway-integration":{"type":"aws_proxy","httpMethod":"POST","uri":"function:echo"}}}}}`
	resp, err := c.Do(ctx, "POST", "/portico/v1/apis/import", nil, []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct {
		API struct{ ID string } `json:"api"`
	}
	if err := json.Unmarshal(resp.Body, &api); err != nil || api.API.ID == "" {
		t.Fatalf("import: %s %v", resp.Body, err)
	}
	id := api.API.ID
	resp, err = c.Do(ctx, "POST", "/portico/v1/apis/"+id+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var dep struct {
		Stage struct{ Warnings []string } `json:"stage"`
	}
	_ = json.Unmarshal(resp.Body, &dep)
	if w := strings.Join(dep.Stage.Warnings, "\n"); !strings.Contains(w, "authorizer tok names no function on this stage") || !strings.Contains(w, "af") ||
		!strings.Contains(w, "AuthorizerConfigurationException") {
		t.Errorf("deploy without af: warnings %q, want one naming the authorizer and the variable", dep.Stage.Warnings)
	}
	if l := logs.String(); !strings.Contains(l, "authorizer tok names no function on this stage") {
		t.Errorf("deploy without af: the server log does not warn:\n%s", l)
	}
	base := env.GatewayURL + "/" + id + "/dev"
	check := func(what string) {
		t.Helper()
		expect(t, what+": the authorizer's route", call(t, base+"/s", "Authorization", "allow"), 500, "AuthorizerConfigurationException", `{"message": null}`)
		expect(t, what+": the authorizer's route without a token", call(t, base+"/s"), 401, "UnauthorizedException", "")
		if a := call(t, base+"/open"); a.status != 200 {
			t.Errorf("%s: a route without the authorizer: %d %s, want 200", what, a.status, a.body)
		}
	}
	check("af undefined")
	setVar := func(v string) []string {
		t.Helper()
		resp, err := c.Do(ctx, http.MethodPatch, "/portico/v1/apis/"+id+"/stages/dev/variables", nil, map[string]any{"set": map[string]string{"af": v}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ Warnings []string }
		_ = json.Unmarshal(resp.Body, &st)
		return st.Warnings
	}
	if w := setVar("authz:../echo"); len(w) != 1 || !strings.Contains(w[0], "authorizer tok names no function on this stage") {
		t.Errorf("set-var af=authz:../echo: warnings %q, want one for tok", w)
	}
	check("af=authz:../echo")
	if w := setVar("authz"); len(w) != 0 {
		t.Errorf("set-var af=authz: warnings %q, want none", w)
	}
	expect(t, "af=authz", call(t, base+"/s", "Authorization", "allow"), 200, "", "")
}
