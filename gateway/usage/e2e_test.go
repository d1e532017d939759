package usage_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/throttle"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/internal/testkit"
)

func TestMain(m *testing.M) {
	code := m.Run()
	apptest.Cleanup()
	os.Exit(code)
}

// keyedDoc is an OpenAPI document whose GET /pets requires an API key (an
// apiKey scheme named x-api-key in the header) and whose GET /open does not;
// both are MOCK integrations.
const keyedDoc = `openapi: 3.0.1
info: {title: keyed, version: "1"}
components:
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
paths:
  /pets:
    get:
      security: [{api_key: []}]
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"pets":[]}'}}}
  /open:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"open":true}'}}}
`

// importKeyed imports keyedDoc and deploys it to stages (the first created by
// the deployment, the others from the same deployment); it returns the API id.
func importKeyed(t *testing.T, c *client.Client, stages ...string) string {
	t.Helper()
	return importDoc(t, c, keyedDoc, stages...)
}

// importDoc imports doc and deploys it to stages, as importKeyed does keyedDoc.
func importDoc(t *testing.T, c *client.Client, doc string, stages ...string) string {
	t.Helper()
	ctx := context.Background()
	resp, err := c.Do(ctx, "POST", "/portico/v1/apis/import", url.Values{"name": {"keyed"}}, []byte(doc), nil)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	if err := json.Unmarshal(resp.Body, &imp); err != nil {
		t.Fatal(err)
	}
	for _, st := range stages {
		if _, err := c.Do(ctx, "POST", "/portico/v1/apis/"+imp.API.ID+"/deployments", nil, map[string]any{"stageName": st}, nil); err != nil {
			t.Fatalf("deploy %s: %v", st, err)
		}
	}
	return imp.API.ID
}

// call GETs url with the key (when set) and returns the status, the
// x-amzn-ErrorType and the body.
func call(t *testing.T, u, key string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), strings.TrimSpace(string(b))
}

// TestKeyRequiredMethodRefusesRequestWithoutKey is the defect of issue 8: a
// method whose OpenAPI security names an api_key scheme answered 200 to a
// request with no key.
func TestKeyRequiredMethodRefusesRequestWithoutKey(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	id := importKeyed(t, env.Client(), "dev")
	base := env.GatewayURL + "/" + id + "/dev"
	status, typ, body := call(t, base+"/pets", "")
	if status != http.StatusForbidden || typ != "ForbiddenException" || body != `{"message":"Forbidden"}` {
		t.Fatalf("GET /pets without a key: %d %s %s; want 403 ForbiddenException {\"message\":\"Forbidden\"}", status, typ, body)
	}
	if status, _, body := call(t, base+"/open", ""); status != http.StatusOK {
		t.Fatalf("GET /open: %d %s", status, body)
	}
}

// sdk returns an AWS SDK apigateway client for the server's admin API, signing
// with secret (the admin token, when the server has one).
func sdk(env *apptest.Env, secret string) *apigateway.Client {
	return apigateway.New(apigateway.Options{
		BaseEndpoint:     aws.String(env.AdminURL),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("portico", secret, ""),
		RetryMaxAttempts: 1,
	})
}

// frozen is the fake time of the e2e tests: no bucket refills, no quota period
// ends while a test runs.
var frozen = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// controls are the server's traffic-control services, refilled at each start.
type controls struct {
	th   *throttle.Stage
	us   *usage.Service
	apis *apis.Service
}

// startFrozen starts a server whose throttle and usage clocks stand still.
func startFrozen(t *testing.T, settings func(*app.Settings)) (*apptest.Env, *controls) {
	t.Helper()
	c := &controls{}
	env := apptest.Start(t, apptest.Options{Settings: settings, Populate: []any{&c.th, &c.us, &c.apis}})
	c.freeze()
	return env, c
}

func (c *controls) freeze() {
	c.th.SetClock(func() time.Time { return frozen })
	c.us.SetClock(func() time.Time { return frozen })
}

func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v, want %s", err, code)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
		t.Fatalf("error %s %q, want %s mentioning %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// startKeyed starts a frozen app with the keyed API imported on stages; it
// returns the app, its controls, an SDK client and the API's id.
func startKeyed(t *testing.T, stages ...string) (*apptest.Env, *controls, *apigateway.Client, string) {
	t.Helper()
	env, c := startFrozen(t, nil)
	gw := sdk(env, "x")
	return env, c, gw, importKeyed(t, env.Client(), stages...)
}

// createKey creates an API key.
func createKey(t *testing.T, gw *apigateway.Client, in *apigateway.CreateApiKeyInput) *apigateway.CreateApiKeyOutput {
	t.Helper()
	k, err := gw.CreateApiKey(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// plan creates a usage plan on api stages and attaches keys to it.
func plan(t *testing.T, gw *apigateway.Client, in *apigateway.CreateUsagePlanInput, keys ...string) string {
	t.Helper()
	ctx := context.Background()
	p, err := gw.CreateUsagePlan(ctx, in)
	if err != nil {
		t.Fatalf("create-usage-plan: %v", err)
	}
	for _, k := range keys {
		if _, err := gw.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: aws.String(k), KeyType: aws.String("API_KEY")}); err != nil {
			t.Fatalf("create-usage-plan-key: %v", err)
		}
	}
	return *p.Id
}

func TestAPIKeysEndToEnd(t *testing.T) {
	env, _, gw, id := startKeyed(t, "dev")
	ctx := context.Background()
	base := env.GatewayURL + "/" + id + "/dev/pets"

	good := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("good"), Enabled: true})
	if len(aws.ToString(good.Value)) != 40 || !good.Enabled || good.CreatedDate == nil {
		t.Fatalf("created key %+v", good)
	}
	disabled := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("off"), Value: aws.String("disabled-key-value-0123456789")})
	if disabled.Enabled {
		t.Fatal("create-api-key without enabled made an enabled key")
	}
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("basic"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, *good.Id, *disabled.Id)

	for _, tc := range []struct {
		name, key string
		status    int
	}{
		{"no key", "", 403},
		{"wrong key", strings.Repeat("w", 40), 403},
		{"disabled key", *disabled.Value, 403},
		{"good key", *good.Value, 200},
	} {
		status, typ, body := call(t, base, tc.key)
		if status != tc.status {
			t.Errorf("%s: %d %s %s, want %d", tc.name, status, typ, body, tc.status)
		}
		if status == 403 && (typ != "ForbiddenException" || body != `{"message":"Forbidden"}`) {
			t.Errorf("%s: %s %s", tc.name, typ, body)
		}
	}
	// Enabling the key (update-api-key) lets it in.
	if _, err := gw.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: disabled.Id,
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	if status, _, body := call(t, base, *disabled.Value); status != 200 {
		t.Fatalf("enabled key: %d %s", status, body)
	}

	got, err := gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: good.Id, IncludeValue: aws.Bool(true)})
	if err != nil || aws.ToString(got.Value) != *good.Value || len(got.StageKeys) != 1 || got.StageKeys[0] != id+"/dev" {
		t.Fatalf("get-api-key: %+v %v", got, err)
	}
	if got, _ := gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: good.Id}); got.Value != nil {
		t.Fatal("get-api-key without includeValue returned the value")
	}
	// Pagination: one key per page.
	p1, err := gw.GetApiKeys(ctx, &apigateway.GetApiKeysInput{Limit: aws.Int32(1)})
	if err != nil || len(p1.Items) != 1 || p1.Position == nil || p1.Items[0].Value != nil {
		t.Fatalf("get-api-keys page 1: %+v %v", p1, err)
	}
	p2, err := gw.GetApiKeys(ctx, &apigateway.GetApiKeysInput{Limit: aws.Int32(1), Position: p1.Position, IncludeValues: aws.Bool(true)})
	if err != nil || len(p2.Items) != 1 || p2.Position != nil || p2.Items[0].Value == nil || *p2.Items[0].Id == *p1.Items[0].Id {
		t.Fatalf("get-api-keys page 2: %+v %v", p2, err)
	}
	if named, _ := gw.GetApiKeys(ctx, &apigateway.GetApiKeysInput{NameQuery: aws.String("go")}); len(named.Items) != 1 {
		t.Fatalf("nameQuery: %d keys", len(named.Items))
	}
	// import-api-keys from CSV.
	imp, err := gw.ImportApiKeys(ctx, &apigateway.ImportApiKeysInput{Format: types.ApiKeysFormatCsv,
		Body: []byte("Name,Key,Description,Enabled,UsagePlanIds\nimported,imported-key-value-0123456789,,true,\n")})
	if err != nil || len(imp.Ids) != 1 {
		t.Fatalf("import-api-keys: %+v %v", imp, err)
	}
	if _, err := gw.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: good.Id}); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := call(t, base, *good.Value); status != 403 {
		t.Fatalf("deleted key: %d", status)
	}
}

func TestQuotaEndToEnd(t *testing.T) {
	env, ctl, gw, id := startKeyed(t, "dev")
	ctx := context.Background()
	base := env.GatewayURL + "/" + id + "/dev/pets"
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("q"), Enabled: true})
	const quota, sent = 50, 300
	planID := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("quota"),
		Quota:     &types.QuotaSettings{Limit: quota, Period: types.QuotaPeriodTypeDay},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, *k.Id)

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	statuses := map[int]int{}
	var limited string
	var wg sync.WaitGroup
	for range sent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, base, nil)
			req.Header.Set("x-api-key", *k.Value)
			resp, err := hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			statuses[resp.StatusCode]++
			if resp.StatusCode == 429 {
				limited = resp.Header.Get("x-amzn-ErrorType") + " " + string(b)
			}
		}()
	}
	wg.Wait()
	if statuses[200] != quota || statuses[429] != sent-quota {
		t.Fatalf("statuses %v, want %d of 200 and %d of 429", statuses, quota, sent-quota)
	}
	if limited != `LimitExceededException {"message":"Limit Exceeded"}` {
		t.Fatalf("over quota: %s", limited)
	}
	// The count survives a restart.
	env.Restart()
	ctl.freeze()
	if status, typ, _ := call(t, base, *k.Value); status != 429 || typ != "LimitExceededException" {
		t.Fatalf("after restart: %d %s, want 429 (the quota must not reset)", status, typ)
	}
	day := frozen.Format(time.DateOnly)
	u, err := gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(planID), StartDate: aws.String(day), EndDate: aws.String(day)})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Items[*k.Id]; len(got) != 1 || got[0][0] != quota || got[0][1] != 0 {
		t.Fatalf("get-usage %v, want [[%d 0]]", u.Items, quota)
	}
	// update-usage resets the remaining quota.
	if _, err := gw.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: aws.String(planID), KeyId: k.Id,
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String("2")}}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{200, 200, 429} {
		if status, _, _ := call(t, base, *k.Value); status != want {
			t.Fatalf("call %d after update-usage: %d, want %d", i, status, want)
		}
	}
}

// TestGetUsageFollowsQuotaChangesEndToEnd is the defect found by a tester:
// get-usage reported the remaining quota recorded when the last request was
// admitted, so after update-usage-plan lowered the limit it still said 15 left
// while the gateway answered 429, and a plan that had counted requests without
// a quota and then got one reported the old plan's remaining while it refused
// every request. Remaining is now what the plan's current quota leaves of the
// count the gateway admits against, before and after a restart.
func TestGetUsageFollowsQuotaChangesEndToEnd(t *testing.T) {
	env, ctl, gw, id := startKeyed(t, "dev")
	ctx := context.Background()
	base := env.GatewayURL + "/" + id + "/dev/pets"
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("u"), Enabled: true})
	planID := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p3"),
		Quota:     &types.QuotaSettings{Limit: 20, Period: types.QuotaPeriodTypeDay},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, *k.Id)
	day := frozen.Format(time.DateOnly)
	wantUsage := func(step string, used, remaining int64) {
		t.Helper()
		u, err := gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(planID), StartDate: aws.String(day), EndDate: aws.String(day)})
		if err != nil {
			t.Fatalf("%s: get-usage: %v", step, err)
		}
		if got := u.Items[*k.Id]; len(got) != 1 || len(got[0]) != 2 || got[0][0] != used || got[0][1] != remaining {
			t.Fatalf("%s: get-usage %v, want [[%d %d]]", step, u.Items, used, remaining)
		}
	}
	send := func(step string, n, want int) {
		t.Helper()
		for i := range n {
			if status, typ, body := call(t, base, *k.Value); status != want {
				t.Fatalf("%s: request %d: %d %s %s, want %d", step, i, status, typ, body, want)
			}
		}
	}
	patch := func(op types.Op, path, value string) {
		t.Helper()
		po := types.PatchOperation{Op: op, Path: aws.String(path)}
		if value != "" {
			po.Value = aws.String(value)
		}
		if _, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(planID), PatchOperations: []types.PatchOperation{po}}); err != nil {
			t.Fatalf("update-usage-plan %s %s: %v", op, path, err)
		}
	}

	send("under 20", 5, 200)
	wantUsage("5 of 20", 5, 15)
	patch(types.OpReplace, "/quota/limit", "3")
	wantUsage("limit lowered to 3 under the count", 5, 0)
	send("limit 3", 1, 429)
	wantUsage("after a refused request", 5, 0)
	patch(types.OpReplace, "/quota/limit", "8")
	wantUsage("limit raised to 8", 5, 3)
	send("limit 8", 3, 200)
	send("limit 8 used up", 1, 429)
	wantUsage("8 of 8", 8, 0)

	// Without a quota the requests are still counted; a quota given back in
	// the same period admits against that count, and get-usage says so.
	patch(types.OpRemove, "/quota", "")
	send("no quota", 4, 200)
	wantUsage("no quota", 12, 0)
	patch(types.OpReplace, "/quota/limit", "50")
	wantUsage("quota of 50 back", 12, 38)
	patch(types.OpReplace, "/quota/limit", "10")
	send("quota of 10 back, 12 counted", 1, 429)
	wantUsage("quota of 10 back", 12, 0)

	env.Restart()
	ctl.freeze()
	wantUsage("after a restart", 12, 0)
	patch(types.OpReplace, "/quota/limit", "14")
	wantUsage("limit 14 after a restart", 12, 2)
	send("limit 14", 2, 200)
	send("limit 14 used up", 1, 429)
	wantUsage("14 of 14", 14, 0)
}

func TestThrottlesEndToEnd(t *testing.T) {
	env, ctl, gw, id := startKeyed(t, "dev", "prod", "plan")
	ctx := context.Background()
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("t"), Enabled: true})
	// dev: a plan with a per-method throttle (burst 4) and a plan throttle
	// (burst 6); plan: only the plan throttle (burst 6); prod: a plan without
	// throttles.
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("throttled"),
		Throttle: &types.ThrottleSettings{RateLimit: 1, BurstLimit: 6},
		ApiStages: []types.ApiStage{
			{ApiId: aws.String(id), Stage: aws.String("dev"), Throttle: map[string]types.ThrottleSettings{"/pets/GET": {RateLimit: 1, BurstLimit: 4}}},
			{ApiId: aws.String(id), Stage: aws.String("plan")},
		}}, *k.Id)
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("free"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("prod")}}}, *k.Id)
	burst := func(stage, path, key string, n int) (ok int, last string) {
		for range n {
			status, typ, body := call(t, env.GatewayURL+"/"+id+"/"+stage+path, key)
			switch status {
			case 200:
				ok++
			case 429:
				last = typ + " " + body
			default:
				t.Fatalf("%s%s: %d %s", stage, path, status, body)
			}
		}
		return ok, last
	}
	const tooMany = `TooManyRequestsException {"message":"Too Many Requests"}`
	if ok, last := burst("dev", "/pets", *k.Value, 20); ok != 4 || last != tooMany {
		t.Fatalf("plan per-method throttle: %d passed (%s), want 4", ok, last)
	}
	// The plan's bucket is the key's across all the plan's stages: dev took 4
	// of its 6 tokens.
	if ok, last := burst("plan", "/pets", *k.Value, 20); ok != 2 || last != tooMany {
		t.Fatalf("plan throttle: %d passed (%s), want 2", ok, last)
	}
	if ok, _ := burst("prod", "/pets", *k.Value, 20); ok != 20 {
		t.Fatalf("unthrottled stage: %d of 20 passed", ok)
	}
	// A stage method throttle (method settings) on prod's GET /open.
	if _, err := ctl.apis.SetMethodSettings(ctx, id, "prod", map[string]apis.MethodSetting{
		"/open/GET": {ThrottlingRateLimit: new(float64(1)), ThrottlingBurstLimit: new(int(3))}}); err != nil {
		t.Fatal(err)
	}
	if ok, last := burst("prod", "/open", "", 20); ok != 3 || last != tooMany {
		t.Fatalf("stage method throttle: %d passed (%s), want 3", ok, last)
	}
	if ok, _ := burst("dev", "/open", "", 20); ok != 20 {
		t.Fatalf("unthrottled stage's /open: %d of 20 passed", ok)
	}
}

// TestZeroStageThrottleEndToEnd: a throttle of rateLimit 0 and burstLimit 0
// set by update-stage, for the stage default (*/*) on dev and for one method
// on prod, throttles every request of those methods, a key's with a generous
// usage plan too, with API Gateway's 429; get-stage shows the 0/0 it was given
// and -1 for a throttle not set; the setting survives a restart; -1 takes it
// off again. (The gateway read 0/0 as "not set" and let everything through.)
func TestZeroStageThrottleEndToEnd(t *testing.T) {
	env, ctl, gw, id := startKeyed(t, "dev", "prod")
	ctx := context.Background()
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("z"), Enabled: true})
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("generous"),
		Throttle:  &types.ThrottleSettings{RateLimit: 1000, BurstLimit: 1000},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}, {ApiId: aws.String(id), Stage: aws.String("prod")}}}, *k.Id)
	patch := func(stage string, pathValues ...string) {
		t.Helper()
		var ops []types.PatchOperation
		for i := 0; i < len(pathValues); i += 2 {
			ops = append(ops, types.PatchOperation{Op: types.OpReplace, Path: aws.String(pathValues[i]), Value: aws.String(pathValues[i+1])})
		}
		if _, err := gw.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(id), StageName: aws.String(stage), PatchOperations: ops}); err != nil {
			t.Fatalf("update-stage %s: %v", stage, err)
		}
	}
	patch("dev", "/*/*/throttling/rateLimit", "0", "/*/*/throttling/burstLimit", "0")
	// prod's */* is made for metrics only (no throttle); GET /pets copies it
	// and gets 0/0.
	patch("prod", "/*/*/metrics/enabled", "true", "/~1pets/GET/throttling/rateLimit", "0", "/~1pets/GET/throttling/burstLimit", "0")

	const tooMany = `TooManyRequestsException {"message":"Too Many Requests"}`
	// throttle reads stage's method setting key and wants its rate and burst.
	throttle := func(when, stage, key string, rate float64, burst int32) {
		t.Helper()
		st, err := gw.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(id), StageName: aws.String(stage)})
		if err != nil {
			t.Fatal(err)
		}
		ms, ok := st.MethodSettings[key]
		if !ok || ms.ThrottlingRateLimit != rate || ms.ThrottlingBurstLimit != burst {
			t.Fatalf("%s: get-stage %s methodSettings[%s] = %+v (present %v), want rate %v burst %d", when, stage, key, ms, ok, rate, burst)
		}
	}
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			stage, path, key string
			status           int
		}{
			{"dev", "/open", "", 429},
			{"dev", "/pets", *k.Value, 429},
			{"prod", "/pets", *k.Value, 429},
			{"prod", "/open", "", 200},
		} {
			for range 3 {
				status, typ, body := call(t, env.GatewayURL+"/"+id+"/"+c.stage+c.path, c.key)
				if status != c.status || (status == 429 && typ+" "+body != tooMany) {
					t.Fatalf("%s: GET %s%s: %d %s %s, want %d", when, c.stage, c.path, status, typ, body, c.status)
				}
			}
		}
		throttle(when, "dev", "*/*", 0, 0)
		throttle(when, "prod", "~1pets/GET", 0, 0)
		throttle(when, "prod", "*/*", -1, -1)
	}
	check("after update-stage")
	env.Restart()
	ctl.freeze()
	check("after a restart")
	patch("dev", "/*/*/throttling/rateLimit", "-1", "/*/*/throttling/burstLimit", "-1")
	throttle("after -1", "dev", "*/*", -1, -1)
	for _, path := range []string{"/open", "/pets"} {
		if status, typ, body := call(t, env.GatewayURL+"/"+id+"/dev"+path, *k.Value); status != 200 {
			t.Fatalf("dev%s after -1: %d %s %s, want 200", path, status, typ, body)
		}
	}
}

// TestV1StoreUnsetThrottleEndToEnd: a data directory written before schema
// version 2, whose stage default held 0/0 for "no throttle", still means no
// throttle after an upgrade: the server migrates it at start.
func TestV1StoreUnsetThrottleEndToEnd(t *testing.T) {
	env, ctl, gw, id := startKeyed(t, "dev")
	ctx := context.Background()
	if _, err := gw.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(id), StageName: aws.String("dev"),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/*/*/metrics/enabled"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	env.Stop()
	// Rewrite the stage as version 1 stored it: 0/0 in a setting made for
	// metrics only.
	testkit.StageAsSchemaOne(t, env.DataDir, id+"/dev", "*/*")
	env.Restart()
	ctl.freeze()
	if status, typ, body := call(t, env.GatewayURL+"/"+id+"/dev/open", ""); status != 200 {
		t.Fatalf("GET /open after the upgrade: %d %s %s, want 200 (0/0 of version 1 is no throttle)", status, typ, body)
	}
	st, err := gw.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(id), StageName: aws.String("dev")})
	if err != nil {
		t.Fatal(err)
	}
	if ms := st.MethodSettings["*/*"]; !ms.MetricsEnabled || ms.ThrottlingRateLimit != -1 || ms.ThrottlingBurstLimit != -1 {
		t.Fatalf("*/* after the upgrade: %+v, want metrics on and no throttle (-1)", ms)
	}
}

func TestAccountThrottleEndToEnd(t *testing.T) {
	env, _ := startFrozen(t, func(s *app.Settings) { s.Throttle = throttle.Config{RateLimit: 1, BurstLimit: 5} })
	id := importKeyed(t, env.Client(), "dev")
	ok := 0
	for range 12 {
		if status, _, _ := call(t, env.GatewayURL+"/"+id+"/dev/open", ""); status == 200 {
			ok++
		}
	}
	if ok != 5 {
		t.Fatalf("account throttle burst 5: %d of 12 passed", ok)
	}
}

func TestUsageAPIBadInput(t *testing.T) {
	_, _, gw, id := startKeyed(t, "dev")
	ctx := context.Background()
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Value: aws.String("a-key-value-of-20-chars+")})
	_, err := gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String("nokey")})
	wantAPIError(t, err, "NotFoundException", "Invalid API Key identifier")
	_, err = gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String("noplan")})
	wantAPIError(t, err, "NotFoundException", "Invalid Usage Plan ID")
	_, err = gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("nostage")}}})
	wantAPIError(t, err, "NotFoundException", "stage")
	_, err = gw.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Value: aws.String("a-key-value-of-20-chars+")})
	wantAPIError(t, err, "ConflictException", "already exists")
	_, err = gw.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Value: aws.String("short")})
	wantAPIError(t, err, "BadRequestException", "at least 20")
	_, err = gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), Quota: &types.QuotaSettings{Limit: 5, Period: "YEAR"}})
	wantAPIError(t, err, "BadRequestException", "DAY, WEEK or MONTH")
	_, err = gw.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: k.Id,
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/colour"), Value: aws.String("red")}}})
	wantAPIError(t, err, "BadRequestException", "/colour")

	p, err := gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), Quota: &types.QuotaSettings{Limit: 5, Period: types.QuotaPeriodTypeDay}})
	if err != nil {
		t.Fatal(err)
	}
	// A good op then a bad one: nothing is applied.
	_, err = gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: p.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/name"), Value: aws.String("renamed")},
		{Op: types.OpReplace, Path: aws.String("/quota/bogus"), Value: aws.String("1")},
	}})
	wantAPIError(t, err, "BadRequestException", "/quota/bogus")
	_, err = gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: p.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/name"), Value: aws.String("renamed")},
		{Op: types.OpReplace, Path: aws.String("/quota/period"), Value: aws.String("FORTNIGHT")},
	}})
	wantAPIError(t, err, "BadRequestException", "DAY, WEEK or MONTH")
	got, err := gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: p.Id})
	if err != nil || *got.Name != "p" || got.Quota.Period != types.QuotaPeriodTypeDay {
		t.Fatalf("plan after refused updates: %+v %v", got, err)
	}
	// Good updates: a stage, its method throttle, a new quota.
	up, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: p.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpAdd, Path: aws.String("/apiStages"), Value: aws.String(id + ":dev")},
		{Op: types.OpReplace, Path: aws.String("/apiStages/" + id + ":dev/throttle/~1pets/GET/rateLimit"), Value: aws.String("7")},
		{Op: types.OpReplace, Path: aws.String("/quota/period"), Value: aws.String("WEEK")},
		{Op: types.OpReplace, Path: aws.String("/throttle/burstLimit"), Value: aws.String("9")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(up.ApiStages) != 1 || up.ApiStages[0].Throttle["/pets/GET"].RateLimit != 7 || up.Quota.Period != types.QuotaPeriodTypeWeek || up.Throttle.BurstLimit != 9 {
		t.Fatalf("updated plan %+v", up)
	}
	_, err = gw.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: aws.String("nokey"), KeyType: aws.String("API_KEY")})
	wantAPIError(t, err, "NotFoundException", "")
	_, err = gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: p.Id, StartDate: aws.String("2026-13-01"), EndDate: aws.String("2026-11-01")})
	wantAPIError(t, err, "BadRequestException", "startDate")
	_, err = gw.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: p.Id, KeyId: k.Id,
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String("1")}}})
	wantAPIError(t, err, "NotFoundException", "not in usage plan")
	// Two operations: the error names the count, not a supported path (keys18).
	_, err = gw.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: p.Id, KeyId: k.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String("5")},
		{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String("7")}}})
	wantAPIError(t, err, "BadRequestException", "patchOperations holds 2 replaces of /remaining: send one operation per request")
	if _, err := gw.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
		t.Fatal(err)
	}
	keys, err := gw.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: p.Id})
	if err != nil || len(keys.Items) != 1 || *keys.Items[0].Id != *k.Id || *keys.Items[0].Type != "API_KEY" {
		t.Fatalf("get-usage-plan-keys %+v %v", keys, err)
	}
	// A plan with API stages is not deleted, as API Gateway refuses it; the
	// key keeps its plan.
	_, err = gw.DeleteUsagePlan(ctx, &apigateway.DeleteUsagePlanInput{UsagePlanId: p.Id})
	wantAPIError(t, err, "BadRequestException", "Cannot delete Usage Plan "+*p.Id+" because there are API Stages associated with it, including "+id+":dev")
	if keys, err := gw.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: p.Id}); err != nil || len(keys.Items) != 1 {
		t.Fatalf("keys after a refused delete: %+v %v", keys, err)
	}
	if _, err := gw.DeleteUsagePlanKey(ctx, &apigateway.DeleteUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: k.Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: p.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpRemove, Path: aws.String("/apiStages"), Value: aws.String(id + ":dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.DeleteUsagePlan(ctx, &apigateway.DeleteUsagePlanInput{UsagePlanId: p.Id}); err != nil {
		t.Fatal(err)
	}
	plans, err := gw.GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{})
	if err != nil || len(plans.Items) != 0 {
		t.Fatalf("plans after delete: %+v %v", plans, err)
	}

	// A stage deleted while in a plan leaves the plan with it, so the plan
	// can be deleted at once.
	p2, err := gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p2"), ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: aws.String(id), StageName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.DeleteUsagePlan(ctx, &apigateway.DeleteUsagePlanInput{UsagePlanId: p2.Id}); err != nil {
		t.Fatalf("delete-usage-plan whose only stage was deleted: %v", err)
	}
}

// TestSigV4ForAPIGateway: requests signed for service apigateway with the admin
// token as the secret are accepted, as for lambda; a wrong secret is refused.
func TestSigV4ForAPIGateway(t *testing.T) {
	env, _ := startFrozen(t, func(s *app.Settings) { s.AdminToken = "s3cret-token" })
	ctx := context.Background()
	if _, err := sdk(env, "s3cret-token").GetApiKeys(ctx, &apigateway.GetApiKeysInput{}); err != nil {
		t.Fatalf("signed with the token: %v", err)
	}
	_, err := sdk(env, "wrong").GetApiKeys(ctx, &apigateway.GetApiKeysInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("signed with a wrong secret: %v", err)
	}
}

// TestQuotaWhileDataDirMovedEndToEnd: with the data directory moved under
// the running server, a key under a plan with a quota is admitted as far as
// its last durable reservation reaches; past it the gateway answers a
// retryable 503 {"message": "Service Unavailable"} (the store refuses the
// write that would count further), not the generic 500 it answered, and the
// key is admitted again once the directory is back, with no restart.
func TestQuotaWhileDataDirMovedEndToEnd(t *testing.T) {
	env, _, gw, id := startKeyed(t, "dev")
	base := env.GatewayURL + "/" + id + "/dev/pets"
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("m"), Enabled: true})
	const quota = 10000
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("moved"),
		Quota:     &types.QuotaSettings{Limit: quota, Period: types.QuotaPeriodTypeDay},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, *k.Id)
	if status, _, body := call(t, base, *k.Value); status != http.StatusOK {
		t.Fatalf("before the move: %d %s", status, body)
	}
	moved := env.DataDir + ".moved"
	if err := os.Rename(env.DataDir, moved); err != nil {
		t.Fatal(err)
	}
	back := func() {
		if moved != "" {
			if err := os.Rename(moved, env.DataDir); err != nil {
				t.Fatal(err)
			}
			moved = ""
		}
	}
	t.Cleanup(back)
	admitted := 1
	for {
		status, typ, body := call(t, base, *k.Value)
		if status == http.StatusOK {
			if admitted++; admitted >= quota {
				t.Fatalf("%d admitted with the data directory moved; want the reservation to run out", admitted)
			}
			continue
		}
		if status != http.StatusServiceUnavailable || typ != "InternalServerErrorException" || body != `{"message": "Service Unavailable"}` {
			t.Fatalf("past the reservation (%d admitted): %d %s %s; want 503 InternalServerErrorException {\"message\": \"Service Unavailable\"}", admitted, status, typ, body)
		}
		break
	}
	back()
	if status, _, body := call(t, base, *k.Value); status != http.StatusOK {
		t.Fatalf("with the data directory back: %d %s; want 200", status, body)
	}
}
