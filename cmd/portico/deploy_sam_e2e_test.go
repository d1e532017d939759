package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
	"github.com/portico-dev/portico/gateway/throttle"
)

// samTestdata writes the deploy package's testdata template name into a new
// directory, beside the code its CodeUris name: hello (the hello sample) and
// other (testdata/keyauthz, a TOKEN authorizer naming the token as the API
// key), and returns the template's path.
func samTestdata(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("deploy", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "template.yaml"), data, 0o600)
	writeBootstraps(t, dir, map[string]string{
		"hello": apptest.Sample(t, "hello"),
		"other": apptest.Program(t, "./cmd/portico/testdata/keyauthz"),
	})
	return filepath.Join(dir, "template.yaml")
}

// writeBootstraps copies the bootstrap of each built program (by the
// CodeUri it goes under) into dir/CodeUri.
func writeBootstraps(t *testing.T, dir string, built map[string]string) {
	t.Helper()
	for code, from := range built {
		boot, err := os.ReadFile(filepath.Join(from, "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, code, "bootstrap"), boot, 0o755)
	}
}

// replaceInFile replaces the first old in the file at path with new.
func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, []byte(strings.Replace(string(data), old, new, 1)), 0o600)
}

// gatewayCall sends one request to the gateway and returns the status and body.
func gatewayCall(t *testing.T, method, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stackKey creates an enabled API key and adds it to the usage plan the
// stack's API resource id made, and returns the key's value.
func stackKey(t *testing.T, env *apptest.Env, stack, id string) string {
	t.Helper()
	plan := stackRecord(t, env, stack).Resources[id].UsagePlanID
	if plan == "" {
		t.Fatalf("stack %s: %s has no usage plan", stack, id)
	}
	var k struct{ ID, Value string }
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "key", "create", "--name", stack+"-key", "--enabled")), &k); err != nil || k.Value == "" {
		t.Fatalf("key create: %+v %v", k, err)
	}
	cli(t, env, "plan", "add-key", plan, k.ID)
	return k.Value
}

// TestDeployRenamedStageMovesUsagePlan: a usage plan follows its API's
// renamed stage (it stayed on the deleted stage: the plan's keys got 403 on
// the new one and its throttle applied nowhere).
func TestDeployRenamedStageMovesUsagePlan(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "plan-stage.yaml")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "ps")
	api := stackRecord(t, env, "ps").Resources["Api"].PhysicalID
	key := stackKey(t, env, "ps", "Api")
	if st, body := gatewayCall(t, http.MethodGet, env.GatewayURL+"/"+api+"/v1/a", "", map[string]string{"x-api-key": key}); st != http.StatusOK {
		t.Fatalf("GET v1/a with the plan's key: %d %s", st, body)
	}
	replaceInFile(t, path, "StageName: v1", "StageName: v2")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "ps")
	if st, body := gatewayCall(t, http.MethodGet, env.GatewayURL+"/"+api+"/v2/a", "", map[string]string{"x-api-key": key}); st != http.StatusOK {
		t.Fatalf("GET v2/a with the plan's key: %d %s", st, body)
	}
	if st, _ := gatewayCall(t, http.MethodGet, env.GatewayURL+"/"+api+"/v2/a", "", nil); st != http.StatusForbidden {
		t.Fatalf("GET v2/a without a key: %d, want 403", st)
	}
	var plan struct {
		APIStages []struct{ APIID, Stage string } `json:"apiStages"`
	}
	adminJSON(t, env, "/usageplans/"+stackRecord(t, env, "ps").Resources["Api"].UsagePlanID, &plan)
	if len(plan.APIStages) != 1 || plan.APIStages[0].Stage != "v2" {
		t.Fatalf("the plan's API stages = %+v, want v2 only", plan.APIStages)
	}
}

// TestDeployGlobalsAPIKeyOnImplicitAPI deploys a template whose Globals.Api
// requires an API key, with functions on the implicit ServerlessRestApi: the
// gateway refuses a call without a key, answers one with a key of the usage
// plan Globals.Api declares, and leaves open the method whose event says
// ApiKeyRequired: false.
func TestDeployGlobalsAPIKeyOnImplicitAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "globals-implicit.yaml")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "g")
	api := stackRecord(t, env, "g").Resources["ServerlessRestApi"].PhysicalID
	base := env.GatewayURL + "/" + api + "/Prod"
	if st, body := gatewayCall(t, http.MethodGet, base+"/a", "", nil); st != http.StatusForbidden || !strings.Contains(body, "Forbidden") {
		t.Fatalf("GET /a without a key: %d %s, want 403 Forbidden", st, body)
	}
	key := stackKey(t, env, "g", "ServerlessRestApi")
	if st, body := gatewayCall(t, http.MethodGet, base+"/a", "", map[string]string{"x-api-key": key}); st != http.StatusOK {
		t.Fatalf("GET /a with the plan's key: %d %s", st, body)
	}
	if st, body := gatewayCall(t, http.MethodGet, base+"/open", "", nil); st != http.StatusOK {
		t.Fatalf("GET /open (ApiKeyRequired: false) without a key: %d %s", st, body)
	}
}

// TestDeployAPIKeySourceAuthorizer deploys an Api with ApiKeySourceType
// AUTHORIZER (the audit's sam4): the gateway takes the caller's API key from
// the authorizer's usageIdentifierKey, so a key of the usage plan named by the
// authorizer is admitted, and the same key in x-api-key, with an authorizer
// naming no key, is refused.
func TestDeployAPIKeySourceAuthorizer(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "api-key-source.yaml")
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "ks")
	if strings.Contains(out, "ApiKeySourceType") {
		t.Errorf("deploy printed:\n%s", out)
	}
	api := stackRecord(t, env, "ks").Resources["Api"].PhysicalID
	url := env.GatewayURL + "/" + api + "/prod/x"
	key := stackKey(t, env, "ks", "Api")
	if st, body := gatewayCall(t, http.MethodGet, url, "", map[string]string{"Authorization": key}); st != http.StatusOK {
		t.Fatalf("the authorizer naming the plan's key: %d %s", st, body)
	}
	if st, body := gatewayCall(t, http.MethodGet, url, "", map[string]string{"Authorization": "not-a-key", "x-api-key": key}); st != http.StatusForbidden {
		t.Fatalf("the plan's key in x-api-key, the authorizer naming none: %d %s, want 403", st, body)
	}
}

// TestDeployRequestValidation deploys an Api event's RequestModel (Model,
// Required, ValidateBody, ValidateParameters) and RequestParameters (the
// audit's sam6, checking parameters too): the gateway refuses a body that
// breaks the model and a call without the required query parameter with
// API Gateway's 400s, and answers a valid call.
func TestDeployRequestValidation(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "request-validation.yaml")
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "rv")
	if strings.Contains(out, "RequestModel") || strings.Contains(out, "RequestParameters") || strings.Contains(out, "Models") {
		t.Errorf("deploy printed:\n%s", out)
	}
	api := stackRecord(t, env, "rv").Resources["Api"].PhysicalID
	url := env.GatewayURL + "/" + api + "/dev/pets"
	ct := map[string]string{"Content-Type": "application/json"}
	if st, body := gatewayCall(t, http.MethodPost, url+"?q=1", `{"age": 3}`, ct); st != http.StatusBadRequest || !strings.Contains(body, "Invalid request body") {
		t.Errorf("a body without name: %d %s, want 400 Invalid request body", st, body)
	}
	if st, body := gatewayCall(t, http.MethodPost, url+"?q=1", "", ct); st != http.StatusBadRequest || !strings.Contains(body, "Invalid request body") {
		t.Errorf("no body (Required: true): %d %s, want 400 Invalid request body", st, body)
	}
	if st, body := gatewayCall(t, http.MethodPost, url, `{"name": "rex"}`, ct); st != http.StatusBadRequest || !strings.Contains(body, "Missing required request parameters: [q]") {
		t.Errorf("no q: %d %s, want 400 Missing required request parameters: [q]", st, body)
	}
	if st, body := gatewayCall(t, http.MethodPost, url+"?q=1", `{"name": "rex"}`, ct); st != http.StatusOK {
		t.Errorf("a valid call: %d %s", st, body)
	}
}

// TestDeployAPIKeyOnOptionsAndBodyMethods deploys an Api requiring API keys
// with a function on an OPTIONS method and a DefinitionBody method declaring
// security: [] (the audit's sam2-2): SAM applies the key to both, and the
// gateway refuses each without a key and answers it with one. Both used to
// answer anyone.
func TestDeployAPIKeyOnOptionsAndBodyMethods(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "options-key.yaml")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "ok")
	api := stackRecord(t, env, "ok").Resources["Api"].PhysicalID
	base := env.GatewayURL + "/" + api + "/prod"
	key := stackKey(t, env, "ok", "Api")
	for _, c := range []struct{ method, path string }{{http.MethodOptions, "/o"}, {http.MethodGet, "/public"}} {
		if st, body := gatewayCall(t, c.method, base+c.path, "", nil); st != http.StatusForbidden || !strings.Contains(body, "Forbidden") {
			t.Errorf("%s %s without a key: %d %s, want 403 Forbidden", c.method, c.path, st, body)
		}
		if st, body := gatewayCall(t, c.method, base+c.path, "", map[string]string{"x-api-key": key}); st != http.StatusOK {
			t.Errorf("%s %s with the plan's key: %d %s", c.method, c.path, st, body)
		}
	}
}

// TestDeployGatewayResponsesAndDisabledEndpoint deploys an Api's
// GatewayResponses (they were ignored with a warning) and another Api's
// DisableExecuteApiEndpoint: true (it was refused): the gateway answers an
// unknown route with the template's response, and the disabled API's stage
// URL answers 403 Forbidden, as API Gateway's does, while the other serves.
func TestDeployGatewayResponsesAndDisabledEndpoint(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "api-settings.yaml")
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "gr")
	// The "zipped DIR" line names the test's temporary directory, which
	// holds the test's name: only the other lines may not name the keys.
	var said []string
	for line := range strings.Lines(out) {
		if !strings.HasPrefix(strings.TrimSpace(line), "zipped ") {
			said = append(said, line)
		}
	}
	if rest := strings.Join(said, ""); strings.Contains(rest, "GatewayResponses") || strings.Contains(rest, "DisableExecuteApiEndpoint") {
		t.Errorf("deploy printed:\n%s", out)
	}
	rec := stackRecord(t, env, "gr")
	base := env.GatewayURL + "/" + rec.Resources["Api"].PhysicalID + "/prod"
	req, err := http.NewRequest(http.MethodGet, base+"/nope", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Route") != "none" || !strings.Contains(string(body), "no such route") {
		t.Errorf("GET /nope: %d %v %s, want the template's 404", resp.StatusCode, resp.Header, body)
	}
	if st, body := gatewayCall(t, http.MethodGet, base+"/x", "", nil); st != http.StatusOK {
		t.Errorf("GET /x: %d %s", st, body)
	}
	closed := env.GatewayURL + "/" + rec.Resources["Closed"].PhysicalID + "/prod/x"
	// Its stage URL is not printed as one to call (r-sam26 #5); the other's is.
	if want := "Closed (api " + rec.Resources["Closed"].PhysicalID + ", stage prod): (execute-api endpoint disabled: reach it through a custom domain)"; !strings.Contains(out, want) {
		t.Errorf("deploy output:\n%s\nwant %q", out, want)
	}
	if want := "Api (api " + rec.Resources["Api"].PhysicalID + ", stage prod): http"; !strings.Contains(out, want) {
		t.Errorf("deploy output:\n%s\nwant %q", out, want)
	}
	if st, body := gatewayCall(t, http.MethodGet, closed, "", nil); st != http.StatusForbidden || !strings.Contains(body, "Forbidden") {
		t.Errorf("GET /x on the API with DisableExecuteApiEndpoint: %d %s, want 403 Forbidden", st, body)
	}
}

// TestDeployDroppedStageSettingsAreReset deploys an Api whose stage
// throttles every method to one request a second, with tracing on, then the
// template without them (the audit's sam2 redeploy probe): the stage must
// lose both, as CloudFormation resets what a template drops. They stayed,
// and the deploy said the API was updated.
func TestDeployDroppedStageSettingsAreReset(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "stage-settings.yaml")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "ss")
	api := stackRecord(t, env, "ss").Resources["Api"].PhysicalID
	var st struct {
		TracingEnabled bool                      `json:"tracingEnabled"`
		MethodSettings map[string]map[string]any `json:"methodSettings"`
	}
	adminJSON(t, env, "/restapis/"+api+"/stages/prod", &st)
	if !st.TracingEnabled || st.MethodSettings["*/*"]["throttlingRateLimit"] != float64(1) {
		t.Fatalf("stage after the first deploy: %+v", st)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	trimmed := strings.Replace(string(text), `      TracingEnabled: true
      MethodSettings:
        - ResourcePath: "/*"
          HttpMethod: "*"
          ThrottlingRateLimit: 1
          ThrottlingBurstLimit: 1
`, "", 1)
	writeFile(t, path, []byte(trimmed), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "ss")
	st.TracingEnabled, st.MethodSettings = false, nil
	adminJSON(t, env, "/restapis/"+api+"/stages/prod", &st)
	if st.TracingEnabled || st.MethodSettings["*/*"] != nil {
		t.Errorf("stage after dropping the settings: tracing %v, method settings %v; want neither", st.TracingEnabled, st.MethodSettings)
	}
	for i := range 3 {
		if code, body := gatewayCall(t, http.MethodGet, env.GatewayURL+"/"+api+"/prod/x", "", nil); code != http.StatusOK {
			t.Fatalf("call %d after dropping the throttle: %d %s", i+1, code, body)
		}
	}

	// What the stage holds is compared with the template, not the record:
	// a throttle, a variable and a canary put on by hand (or left by a
	// killed deploy) were "up to date". A failed deploy's RestoreStage
	// puts a stage back through the admin API as SaveStage read it.
	ctx := context.Background()
	tgt := &deploy.HTTPTarget{C: env.Client()}
	saved, err := tgt.SaveStage(ctx, api, "prod")
	if err != nil {
		t.Fatal(err)
	}
	hand := []deploy.PatchOp{{Op: "replace", Path: "/*/*/throttling/rateLimit", Value: "1"}, {Op: "replace", Path: "/*/*/throttling/burstLimit", Value: "1"},
		{Op: "replace", Path: "/variables/x", Value: "y"}, {Op: "replace", Path: "/canarySettings/percentTraffic", Value: "50"}}
	if err := tgt.PatchStage(ctx, api, "prod", hand); err != nil {
		t.Fatal(err)
	}
	if err := tgt.RestoreStage(ctx, api, "prod", saved); err != nil {
		t.Fatal(err)
	}
	if back, err := tgt.SaveStage(ctx, api, "prod"); err != nil || !reflect.DeepEqual(back, saved) {
		t.Fatalf("stage after RestoreStage %+v (%v), want %+v", back, err, saved)
	}
	if err := tgt.PatchStage(ctx, api, "prod", hand); err != nil {
		t.Fatal(err)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "ss"); strings.Contains(out, "up to date") {
		t.Fatalf("a stage changed by hand was up to date:\n%s", out)
	}
	if now, err := tgt.SaveStage(ctx, api, "prod"); err != nil || now.Canary != nil || len(now.Variables) != 0 || len(now.MethodSettings) != 0 {
		t.Fatalf("stage after the redeploy: %+v (%v); want no canary, variable or method setting", now, err)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "ss"); !strings.Contains(out, "up to date") {
		t.Fatalf("a deploy after the correction was not up to date:\n%s", out)
	}
}

// TestDeployZeroMethodThrottle deploys an Api whose MethodSettings throttle
// every method to rate 0 and burst 0: as on API Gateway, every request is
// throttled (the gateway read 0/0 as no throttle and let them through).
func TestDeployZeroMethodThrottle(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "stage-settings.yaml")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zero := strings.Replace(string(text), "ThrottlingRateLimit: 1\n          ThrottlingBurstLimit: 1\n",
		"ThrottlingRateLimit: 0\n          ThrottlingBurstLimit: 0\n", 1)
	if zero == string(text) {
		t.Fatal("the template's MethodSettings changed; update the test")
	}
	writeFile(t, path, []byte(zero), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "zero")
	api := stackRecord(t, env, "zero").Resources["Api"].PhysicalID
	var st struct {
		MethodSettings map[string]map[string]any `json:"methodSettings"`
	}
	adminJSON(t, env, "/restapis/"+api+"/stages/prod", &st)
	if all := st.MethodSettings["*/*"]; all["throttlingRateLimit"] != float64(0) || all["throttlingBurstLimit"] != float64(0) {
		t.Fatalf("get-stage */*: %v, want rate 0 and burst 0", all)
	}
	for i := range 3 {
		if code, body := gatewayCall(t, http.MethodGet, env.GatewayURL+"/"+api+"/prod/x", "", nil); code != http.StatusTooManyRequests || body != `{"message":"Too Many Requests"}` {
			t.Fatalf("call %d: %d %s, want 429 {\"message\":\"Too Many Requests\"}", i+1, code, body)
		}
	}
}

// TestDeployHTTPZeroRouteThrottle deploys an HttpApi whose
// DefaultRouteSettings throttle every route to rate 0 and burst 0: as on API
// Gateway, every request of a route without a throttle of its own answers 429
// {"message":"Too Many Requests"} (the deploy refused it), get-stage shows 0
// and 0, and a route with its own throttle keeps it; redeployed without the
// throttle, the routes answer again.
func TestDeployHTTPZeroRouteThrottle(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "http-stage-settings.yaml")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	orig := strings.Replace(string(text), "DestinationArn: ACCESS_LOG", "DestinationArn: "+filepath.Join(t.TempDir(), "access.log"), 1)
	zero := strings.Replace(orig, "      DefaultRouteSettings:\n        DetailedMetricsEnabled: true\n",
		"      DefaultRouteSettings:\n        ThrottlingBurstLimit: 0\n        ThrottlingRateLimit: 0\n", 1)
	if zero == orig {
		t.Fatal("the template's DefaultRouteSettings changed; update the test")
	}
	writeFile(t, path, []byte(zero), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "hz")
	api := stackRecord(t, env, "hz").Resources["Http"].PhysicalID
	base := env.GatewayURL + "/" + api + "/dev"
	var st struct {
		DefaultRouteSettings map[string]any `json:"defaultRouteSettings"`
	}
	adminJSON(t, env, "/v2/apis/"+api+"/stages/dev", &st)
	if d := st.DefaultRouteSettings; d["throttlingRateLimit"] != float64(0) || d["throttlingBurstLimit"] != float64(0) {
		t.Fatalf("get-stage defaultRouteSettings: %v, want rate 0 and burst 0", d)
	}
	for i := range 3 {
		if code, body := gatewayCall(t, http.MethodGet, base+"/free", "", nil); code != http.StatusTooManyRequests || body != `{"message":"Too Many Requests"}` {
			t.Fatalf("GET /free call %d: %d %s, want 429 {\"message\":\"Too Many Requests\"}", i+1, code, body)
		}
	}
	// GET /limited's own throttle (burst 2) is not the default's.
	if code, body := gatewayCall(t, http.MethodGet, base+"/limited", "", nil); code != http.StatusOK {
		t.Fatalf("GET /limited under its own throttle: %d %s, want 200", code, body)
	}

	writeFile(t, path, []byte(orig), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "hz")
	for i := range 3 {
		if code, body := gatewayCall(t, http.MethodGet, base+"/free", "", nil); code != http.StatusOK {
			t.Fatalf("GET /free call %d after dropping the throttle: %d %s, want 200", i+1, code, body)
		}
	}
}

// TestDeployHTTPStageRouteThrottleAndAccessLog deploys an HttpApi whose
// event throttles its route (RouteSettings) and whose stage writes an access
// log (AccessLogSettings): both were warned about and ignored, so the route
// took any number of calls and nothing was logged. Under a frozen throttle
// clock, GET /limited answers twice and then 429, GET /free is not
// throttled, and the log holds one line per call in the declared format.
// Redeployed without them, the route is not throttled and nothing more is
// logged.
func TestDeployHTTPStageRouteThrottleAndAccessLog(t *testing.T) {
	t.Parallel()
	var th *throttle.Stage
	env := apptest.Start(t, apptest.Options{Populate: []any{&th}})
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th.SetClock(func() time.Time { return frozen })
	path := samTestdata(t, "http-stage-settings.yaml")
	logPath := filepath.Join(t.TempDir(), "access.log")
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, []byte(strings.Replace(string(text), "DestinationArn: ACCESS_LOG", "DestinationArn: "+logPath, 1)), 0o600)
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "hs"); strings.Contains(out, "warning") {
		t.Errorf("deploy warned:\n%s", out)
	}
	api := stackRecord(t, env, "hs").Resources["Http"].PhysicalID
	base := env.GatewayURL + "/" + api + "/dev"
	// The stage as the server answers it is the template's: up to date.
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "hs"); !strings.Contains(out, "up to date") {
		t.Fatalf("an unchanged redeploy:\n%s", out)
	}
	// A change by hand (as a killed deploy's) is corrected: GET /free,
	// blocked here, is served again below.
	if _, err := env.Client().Do(context.Background(), http.MethodPatch, "/v2/apis/"+api+"/stages/dev", nil, map[string]any{
		"stageVariables": map[string]string{"x": "y"},
		"routeSettings":  map[string]any{"GET /free": map[string]any{"throttlingBurstLimit": 0, "throttlingRateLimit": 0}}}, nil); err != nil {
		t.Fatal(err)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "hs"); !strings.Contains(out, "correct stage dev: its variables; route settings GET /free differ") {
		t.Fatalf("a redeploy after a change by hand:\n%s", out)
	}
	var got []int
	for range 3 {
		st, _ := gatewayCall(t, http.MethodGet, base+"/limited", "", nil)
		got = append(got, st)
	}
	if want := []int{200, 200, 429}; !slices.Equal(got, want) {
		t.Fatalf("GET /limited thrice: %v, want %v", got, want)
	}
	for i := range 3 {
		if st, body := gatewayCall(t, http.MethodGet, base+"/free", "", nil); st != http.StatusOK {
			t.Fatalf("GET /free call %d: %d %s, want 200 (no throttle)", i+1, st, body)
		}
	}
	// A graceful stop writes what the access log has queued (the idle
	// keep-alive connections closed first, so the stop need not wait on them).
	http.DefaultClient.CloseIdleConnections()
	env.Restart()
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "GET /limited 200 dev\nGET /limited 200 dev\nGET /limited 429 dev\nGET /free 200 dev\nGET /free 200 dev\nGET /free 200 dev\n"
	if withoutRequestIDs(t, data) != want {
		t.Fatalf("access log:\n%s\nwant:\n%s", data, want)
	}

	th.SetClock(func() time.Time { return frozen })
	trimmed := strings.Replace(string(text), `            RouteSettings:
              ThrottlingBurstLimit: 2
              ThrottlingRateLimit: 1
`, "", 1)
	trimmed = trimmed[:strings.Index(trimmed, "      DefaultRouteSettings:")] + trimmed[strings.Index(trimmed, "  F:\n"):]
	writeFile(t, path, []byte(trimmed), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "hs")
	var st struct {
		AccessLogSettings    map[string]any            `json:"accessLogSettings"`
		DefaultRouteSettings map[string]any            `json:"defaultRouteSettings"`
		RouteSettings        map[string]map[string]any `json:"routeSettings"`
	}
	adminJSON(t, env, "/v2/apis/"+api+"/stages/dev", &st)
	if st.AccessLogSettings != nil || st.RouteSettings != nil || st.DefaultRouteSettings["detailedMetricsEnabled"] != false {
		t.Errorf("stage after dropping the settings: %+v", st)
	}
	for i := range 4 {
		if code, body := gatewayCall(t, http.MethodGet, base+"/limited", "", nil); code != http.StatusOK {
			t.Fatalf("GET /limited call %d after dropping the throttle: %d %s", i+1, code, body)
		}
	}
	http.DefaultClient.CloseIdleConnections()
	env.Restart()
	if data, err := os.ReadFile(logPath); err != nil || withoutRequestIDs(t, data) != want {
		t.Errorf("access log after dropping it: %q %v, want no new lines", data, err)
	}
}

// outputValue returns the value `portico deploy` printed for output name.
func outputValue(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+": "); ok {
			return v
		}
	}
	t.Fatalf("deploy printed no output %s:\n%s", name, out)
	return ""
}

// TestDeploySAMInitGoTemplate deploys the template `sam init` writes for Go
// (hello-world, provided.al2023) as it comes: its output naming the role SAM
// generates for the function failed the whole deploy. Now the deploy serves
// the function, prints the role Portico reports with a warning saying why.
func TestDeploySAMInitGoTemplate(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "sam-init-go.yaml")
	boot, err := os.ReadFile(filepath.Join(filepath.Dir(path), "hello", "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(filepath.Dir(path), "hello-world", "bootstrap"), boot, 0o755)
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "sam-app")
	if got := outputValue(t, out, "HelloWorldFunctionIamRole"); got != "arn:aws:iam::000000000000:role/portico" {
		t.Errorf("HelloWorldFunctionIamRole: %s", got)
	}
	if !strings.Contains(out, "warning: output HelloWorldFunctionIamRole: !GetAtt HelloWorldFunctionRole.Arn: HelloWorldFunctionRole is the execution role SAM would make for function HelloWorldFunction; Portico makes no IAM roles") {
		t.Errorf("no warning about the role:\n%s", out)
	}
	if got := outputValue(t, out, "HelloWorldFunction"); got != "arn:aws:lambda:us-east-1:000000000000:function:sam-app-HelloWorldFunction" {
		t.Errorf("HelloWorldFunction: %s", got)
	}
	api := stackRecord(t, env, "sam-app").Resources["ServerlessRestApi"].PhysicalID
	if st, body := gatewayCall(t, http.MethodGet, env.GatewayURL+"/"+api+"/Prod/hello", "", nil); st != http.StatusOK {
		t.Fatalf("GET /Prod/hello: %d %s", st, body)
	}
}

// TestDeployOutputsAPIAttributes: !GetAtt ServerlessHttpApi.ApiEndpoint was
// printed as «ServerlessHttpApi.ApiEndpoint»; it is the API's base URL on
// the gateway (as apigatewayv2's GetApi reports it), which answers the
// function's route; a REST API's RootResourceId is its root resource; outputs
// naming what Portico does not make are left out with a warning.
func TestDeployOutputsAPIAttributes(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "api-attributes.yaml")
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "attrs")
	rec := stackRecord(t, env, "attrs")
	httpID, restID := rec.Resources["ServerlessHttpApi"].PhysicalID, rec.Resources["RestApi"].PhysicalID
	endpoint := outputValue(t, out, "HttpApiUrl")
	if endpoint != env.GatewayURL+"/"+httpID {
		t.Errorf("HttpApiUrl = %s, want %s/%s", endpoint, env.GatewayURL, httpID)
	}
	for _, url := range []string{endpoint + "/hello", outputValue(t, out, "HelloUrl")} {
		if st, body := gatewayCall(t, http.MethodGet, url, "", nil); st != http.StatusOK || !strings.Contains(body, "hello from portico") {
			t.Errorf("GET %s: %d %s", url, st, body)
		}
	}
	var restAPI struct {
		RootResourceID string `json:"rootResourceId"`
	}
	adminJSON(t, env, "/restapis/"+restID, &restAPI)
	if got := outputValue(t, out, "RestRoot"); got != restAPI.RootResourceID || got == "" {
		t.Errorf("RestRoot = %s, want %s", got, restAPI.RootResourceID)
	}
	for _, o := range []string{"TableName", "TableArn"} {
		if !strings.Contains(out, "warning: output "+o+" is left out") || strings.Contains(out, "  "+o+": ") {
			t.Errorf("output %s should be left out with a warning:\n%s", o, out)
		}
	}
	if strings.Contains(out, "«") {
		t.Errorf("an unresolved reference was printed:\n%s", out)
	}
}

// withoutRequestIDs returns an access log whose lines end in a request id
// with the ids cut off, failing the test unless each line has a distinct one.
func withoutRequestIDs(t *testing.T, data []byte) string {
	t.Helper()
	var out strings.Builder
	seen := map[string]bool{}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		id := strings.TrimSuffix(line[i+1:], "\n")
		if i < 0 || id == "" || id == "-" || seen[id] {
			t.Fatalf("access log line %q does not end in a request id of its own", line)
		}
		seen[id] = true
		out.WriteString(line[:i] + "\n")
	}
	return out.String()
}

// TestDeployEventInvokeConfig: a function's EventInvokeConfig reaches the
// server's event invoke config API on the function's alias, and a deploy
// without it takes it off.
func TestDeployEventInvokeConfig(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	boot, err := os.ReadFile(filepath.Join(apptest.Sample(t, "hello"), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "hello", "bootstrap"), boot, 0o755)
	const template = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Charge:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      Runtime: provided.al2023
      Handler: bootstrap
      AutoPublishAlias: live
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        MaximumEventAgeInSeconds: 600
`
	path := filepath.Join(dir, "template.yaml")
	writeFile(t, path, []byte(template), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "eic")
	fn := stackRecord(t, env, "eic").Resources["Charge"].PhysicalID
	var got struct {
		FunctionArn              string
		MaximumRetryAttempts     *int
		MaximumEventAgeInSeconds *int
	}
	adminJSON(t, env, "/2019-09-25/functions/"+fn+"/event-invoke-config?Qualifier=live", &got)
	if !strings.HasSuffix(got.FunctionArn, ":"+fn+":live") || got.MaximumRetryAttempts == nil || *got.MaximumRetryAttempts != 0 ||
		got.MaximumEventAgeInSeconds == nil || *got.MaximumEventAgeInSeconds != 600 {
		t.Fatalf("event invoke config after the deploy: %+v", got)
	}
	writeFile(t, path, []byte(strings.Split(template, "      EventInvokeConfig:")[0]), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "eic")
	if _, err := env.Client().Do(t.Context(), http.MethodGet, "/2019-09-25/functions/"+fn+"/event-invoke-config", url.Values{"Qualifier": {"live"}}, nil, nil); err == nil {
		t.Fatal("the event invoke config is still there after a deploy without EventInvokeConfig")
	}
}

// TestDeployStageURLMasksNoEcho: the stage URL printed after "Stack X
// deployed" showed a NoEcho parameter's value that the plan and progress
// lines above it mask.
func TestDeployStageURLMasksNoEcho(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	out := cliCombined(t, env, "deploy", "--template", samTestdata(t, "noecho-stage.yaml"), "--stack", "noecho")
	if strings.Contains(out, "hunter2secret") {
		t.Fatalf("the NoEcho value was printed:\n%s", out)
	}
	id := stackRecord(t, env, "noecho").Resources["Http"].PhysicalID
	if want := "  Http (api " + id + ", stage st****): " + env.GatewayURL + "/" + id + "/st****/"; !strings.Contains(out, want) {
		t.Fatalf("no line %q in:\n%s", want, out)
	}
}
