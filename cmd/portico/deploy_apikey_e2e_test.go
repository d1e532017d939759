package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/usage"
)

// adminSDK is an AWS SDK v2 API Gateway client of the server's admin API.
func adminSDK(env *apptest.Env) *apigateway.Client {
	return apigateway.New(apigateway.Options{BaseEndpoint: aws.String(env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("portico", "x", "")})
}

// apiKey reads an API key with its value (get-api-key --include-value).
func apiKey(t *testing.T, gw *apigateway.Client, id string) *apigateway.GetApiKeyOutput {
	t.Helper()
	k, err := gw.GetApiKey(context.Background(), &apigateway.GetApiKeyInput{ApiKey: aws.String(id), IncludeValue: aws.Bool(true)})
	if err != nil {
		t.Fatalf("get-api-key %s: %v", id, err)
	}
	if k.Value == nil || *k.Value == "" || !k.Enabled {
		t.Fatalf("key %s: enabled %v, value set %v; want an enabled key with a value", id, k.Enabled, k.Value != nil)
	}
	return k
}

// wantGone fails unless err is API Gateway's NotFoundException.
func wantGone(t *testing.T, what string, err error) {
	t.Helper()
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("%s after the stack's deletion: %v, want NotFoundException", what, err)
	}
}

// TestDeployMakesAPIKey deploys an API with ApiKeyRequired and a PER_API
// usage plan: as SAM, the deploy makes an enabled API key (ApiApiKey) in the
// plan, printed by id (never by value) and by the output !Ref ApiApiKey. The
// key's value, read through the admin API, is refused nowhere: a call
// without it answers 403, with it 200, and the plan counts it. A redeploy
// that changes the plan keeps the key, its id and value; deleting the stack
// deletes the key and the plan. (Portico made no key: every call answered 403
// until the user made one by hand.)
func TestDeployMakesAPIKey(t *testing.T) {
	t.Parallel()
	var us *usage.Service
	env := apptest.Start(t, apptest.Options{Populate: []any{&us}})
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	us.SetClock(func() time.Time { return day })
	ctx := context.Background()
	gw := adminSDK(env)
	path := samTestdata(t, "api-key-per-api.yaml")
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "k")
	rec := stackRecord(t, env, "k").Resources["Api"]
	if rec.APIKeyID == "" || rec.UsagePlanID == "" {
		t.Fatalf("record %+v: want a usage plan and its key", rec)
	}
	k := apiKey(t, gw, rec.APIKeyID)
	if *k.Name != "k-ApiApiKey" {
		t.Errorf("key name %q, want k-ApiApiKey", *k.Name)
	}
	for _, want := range []string{"KeyId: " + rec.APIKeyID, "PlanId: " + rec.UsagePlanID, "ApiApiKey (API key " + rec.APIKeyID + " in usage plan " + rec.UsagePlanID + ")"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, *k.Value) || strings.Contains(out, "no API key") {
		t.Errorf("deploy output shows the key's value or warns of no key:\n%s", out)
	}
	pk, err := gw.GetUsagePlanKey(ctx, &apigateway.GetUsagePlanKeyInput{UsagePlanId: aws.String(rec.UsagePlanID), KeyId: aws.String(rec.APIKeyID)})
	if err != nil || *pk.Type != "API_KEY" {
		t.Fatalf("get-usage-plan-key: %+v %v", pk, err)
	}

	url := env.GatewayURL + "/" + rec.PhysicalID + "/prod/hello"
	if st, body := gatewayCall(t, http.MethodGet, url, "", nil); st != http.StatusForbidden {
		t.Fatalf("GET without a key: %d %s, want 403", st, body)
	}
	if st, body := gatewayCall(t, http.MethodGet, url, "", map[string]string{"x-api-key": *k.Value}); st != http.StatusOK {
		t.Fatalf("GET with the deploy's key: %d %s", st, body)
	}

	replaceInFile(t, path, "Limit: 100", "Limit: 50")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "k")
	again := stackRecord(t, env, "k").Resources["Api"]
	if again.APIKeyID != rec.APIKeyID || again.UsagePlanID != rec.UsagePlanID {
		t.Fatalf("redeploy: key %s plan %s, want %s %s kept", again.APIKeyID, again.UsagePlanID, rec.APIKeyID, rec.UsagePlanID)
	}
	if k2 := apiKey(t, gw, rec.APIKeyID); *k2.Value != *k.Value {
		t.Fatal("redeploy changed the key's value")
	}
	if st, body := gatewayCall(t, http.MethodGet, url, "", map[string]string{"x-api-key": *k.Value}); st != http.StatusOK {
		t.Fatalf("GET with the key after the redeploy: %d %s", st, body)
	}
	d := day.Format(time.DateOnly)
	u, err := gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(rec.UsagePlanID), StartDate: aws.String(d), EndDate: aws.String(d)})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Items[rec.APIKeyID]; len(got) != 1 || got[0][0] != 2 || got[0][1] != 48 {
		t.Errorf("get-usage %v, want [[2 48]] for key %s (two calls of a quota of 50)", u.Items, rec.APIKeyID)
	}

	cliCombined(t, env, "stack", "delete", "k")
	_, err = gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(rec.APIKeyID)})
	wantGone(t, "the key", err)
	_, err = gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(rec.UsagePlanID)})
	wantGone(t, "the plan", err)
}

// TestDeploySharedUsagePlan deploys two APIs whose usage plans say
// CreateUsagePlan SHARED (refused before): one plan, ServerlessUsagePlan, on
// both stages, with one key, ServerlessApiKey, whose value answers on both
// APIs. Deleting the stack deletes the plan and the key.
func TestDeploySharedUsagePlan(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	gw := adminSDK(env)
	path := samTestdata(t, "shared-plan-two-apis.yaml")
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "sh")
	recs := stackRecord(t, env, "sh").Resources
	shared := recs["ServerlessUsagePlan"]
	if shared == nil || shared.APIKeyID == "" {
		t.Fatalf("record %v: want ServerlessUsagePlan with its key", recs)
	}
	if !strings.Contains(out, "KeyId: "+shared.APIKeyID) || !strings.Contains(out, "PlanId: "+shared.PhysicalID) {
		t.Errorf("deploy output lacks the outputs:\n%s", out)
	}
	plan, err := gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(shared.PhysicalID)})
	if err != nil || len(plan.ApiStages) != 2 || *plan.Name != "both" {
		t.Fatalf("get-usage-plan: %+v %v; want plan both on two stages", plan, err)
	}
	k := apiKey(t, gw, shared.APIKeyID)
	for api, route := range map[string]string{"A": "a", "B": "b"} {
		url := env.GatewayURL + "/" + recs[api].PhysicalID + "/prod/" + route
		if st, body := gatewayCall(t, http.MethodGet, url, "", nil); st != http.StatusForbidden {
			t.Errorf("GET %s without a key: %d %s, want 403", api, st, body)
		}
		if st, body := gatewayCall(t, http.MethodGet, url, "", map[string]string{"x-api-key": *k.Value}); st != http.StatusOK {
			t.Errorf("GET %s with ServerlessApiKey: %d %s", api, st, body)
		}
	}
	cliCombined(t, env, "stack", "delete", "sh")
	_, err = gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(shared.APIKeyID)})
	wantGone(t, "the key", err)
	_, err = gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(shared.PhysicalID)})
	wantGone(t, "the plan", err)
}
