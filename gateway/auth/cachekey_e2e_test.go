package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAuthorizerCacheKeepsFunctionsApart: an authorizer whose URI a stage
// variable picks caches each function's answers apart. A canary whose
// override picks a lenient function used to fill the cache that answered the
// stage's main traffic, whose strict function refuses the same token; and
// set-var, which takes effect at once, left the old function's answers
// admitting tokens until their TTL ran out.
func TestAuthorizerCacheKeepsFunctionsApart(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	ctx := context.Background()
	createFunction(t, c, "echo", 5)
	createFunction(t, c, "authz", 5)
	strict := map[string]any{
		"FunctionName": "strict", "PackageType": "Zip", "Runtime": "provided.al2023", "Handler": "bootstrap",
		"Code":        map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(authfnZip(t))},
		"Environment": map[string]any{"Variables": map[string]any{"AUTHFN_REFUSE_ALL": "1"}},
	}
	if _, _, err := c.CreateFunction(ctx, strict); err != nil {
		t.Fatal(err)
	}
	doc := `{"openapi":"3.0.1","info":{"title":"sv","version":"1"},
  "components":{"securitySchemes":{"tok":{"type":"apiKey","name":"Authorization","in":"header",
    "x-amazon-apigateway-authtype":"custom",
    "x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"function:${stageVariables.az}",
      "identitySource":"method.request.header.Authorization","authorizerResultTtlInSeconds":300}}}},
  "paths":{"/pets":{"get":{"security":[{"tok":[]}],"x-amazon-apigateway-integration":{"type":"aws_proxy","httpMethod":"POST","uri":"function:echo"}}}}}`
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
	if _, err := c.Do(ctx, "POST", "/portico/v1/apis/"+id+"/deployments", nil,
		map[string]any{"stageName": "dev", "variables": map[string]string{"az": "strict"}}, nil); err != nil {
		t.Fatal(err)
	}
	u := env.GatewayURL + "/" + id + "/dev/pets"
	patch := func(ops ...map[string]any) {
		t.Helper()
		if _, err := c.Do(ctx, http.MethodPatch, "/restapis/"+id+"/stages/dev", nil, map[string]any{"patchOperations": ops}, nil); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, "main traffic, strict", call(t, u, "Authorization", "allow"), 401, "UnauthorizedException", "")

	// Every request goes to the canary, whose override picks authz: admitted.
	patch(map[string]any{"op": "replace", "path": "/canarySettings/percentTraffic", "value": "100"},
		map[string]any{"op": "replace", "path": "/canarySettings/stageVariableOverrides/az", "value": "authz"})
	expect(t, "canary, lenient", call(t, u, "Authorization", "allow"), 200, "", "")
	expect(t, "canary, lenient, cached", call(t, u, "Authorization", "allow"), 200, "", "")

	// Without the canary the same token meets the strict function again.
	patch(map[string]any{"op": "remove", "path": "/canarySettings"})
	expect(t, "main traffic after the canary admitted the token", call(t, u, "Authorization", "allow"), 401, "UnauthorizedException", "")

	// set-var: the new function answers at once, not the old one's cache.
	setVar := func(v string) {
		t.Helper()
		if _, err := c.Do(ctx, http.MethodPatch, "/portico/v1/apis/"+id+"/stages/dev/variables", nil, map[string]any{"set": map[string]string{"az": v}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	setVar("authz")
	expect(t, "set-var az=authz", call(t, u, "Authorization", "allow"), 200, "", "")
	setVar("strict")
	expect(t, "set-var az=strict", call(t, u, "Authorization", "allow"), 401, "UnauthorizedException", "")
}
