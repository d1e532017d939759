package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestDeployCorrectsAPIKeyTakenOffByHand: a method's apiKeyRequired set
// false by hand (update-method) and deployed (create-deployment) served the
// API without its key, and the next deploy said "up to date" (r-sam26 #2).
// The dry run names the correction; the deploy serves the template's
// definition again (403 without the key), and the deploy after is up to date.
func TestDeployCorrectsAPIKeyTakenOffByHand(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	gw := adminSDK(env)
	path := samTestdata(t, "api-key-per-api.yaml")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "k")
	rec := stackRecord(t, env, "k").Resources["Api"]
	url := env.GatewayURL + "/" + rec.PhysicalID + "/prod/hello"
	if st, body := gatewayCall(t, http.MethodGet, url, "", nil); st != http.StatusForbidden {
		t.Fatalf("GET without a key: %d %s, want 403", st, body)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "k", "--dry-run"); !strings.Contains(out, "0 to create, 0 to update, 0 to delete") {
		t.Fatalf("a dry run after the deploy:\n%s\nwant up to date", out)
	}

	res, err := gw.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: aws.String(rec.PhysicalID)})
	if err != nil {
		t.Fatal(err)
	}
	var rid string
	for _, r := range res.Items {
		if aws.ToString(r.Path) == "/hello" {
			rid = aws.ToString(r.Id)
		}
	}
	if _, err := gw.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: aws.String(rec.PhysicalID), ResourceId: aws.String(rid), HttpMethod: aws.String("GET"),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/apiKeyRequired"), Value: aws.String("false")}}}); err != nil {
		t.Fatalf("update-method: %v", err)
	}
	dep, err := gw.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(rec.PhysicalID), StageName: aws.String("prod")})
	if err != nil {
		t.Fatalf("create-deployment: %v", err)
	}
	if st, body := gatewayCall(t, http.MethodGet, url, "", nil); st != http.StatusOK {
		t.Fatalf("GET without a key after the change by hand: %d %s, want 200", st, body)
	}

	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "k", "--dry-run")
	for _, want := range []string{"correct stage prod: it serves deployment " + aws.ToString(dep.Id) + ", not the stack's " + rec.Deployment,
		"correct API " + rec.PhysicalID + ": its route GET /hello's API key requirement differs", "Dry run"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run:\n%s\nwant %q", out, want)
		}
	}
	cliCombined(t, env, "deploy", "--template", path, "--stack", "k")
	if st, body := gatewayCall(t, http.MethodGet, url, "", nil); st != http.StatusForbidden {
		t.Fatalf("GET without a key after the deploy: %d %s, want 403", st, body)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "k", "--dry-run"); !strings.Contains(out, "0 to create, 0 to update, 0 to delete") {
		t.Fatalf("a dry run after the correction:\n%s\nwant up to date", out)
	}
}
