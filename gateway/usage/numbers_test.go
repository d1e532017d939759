package usage_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// patchPlan applies one replace to a usage plan.
func patchPlan(gw *apigateway.Client, id, path, value string) (*apigateway.UpdateUsagePlanOutput, error) {
	return gw.UpdateUsagePlan(context.Background(), &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(id),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String(path), Value: aws.String(value)}}})
}

// TestPlanRateNotANumber: NaN and Inf rates in update-usage-plan, for the
// plan and for a method, answered 500 (the record could not be written); they
// are 400 naming the path, as update-stage answers them. -0 is stored as 0.
func TestPlanRateNotANumber(t *testing.T) {
	_, _, gw, id := startKeyed(t, "dev")
	p := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p"),
		Throttle:  &types.ThrottleSettings{RateLimit: 1, BurstLimit: 1},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}})
	for _, path := range []string{"/throttle/rateLimit", "/apiStages/" + id + ":dev/throttle/~1pets/GET/rateLimit"} {
		for _, v := range []string{"NaN", "nan", "Infinity", "inf", "-Inf"} {
			_, err := patchPlan(gw, p, path, v)
			wantAPIError(t, err, "BadRequestException", `Invalid value for replace `+path+`: "`+v+`" is not a number`)
		}
	}
	up, err := patchPlan(gw, p, "/throttle/rateLimit", "-0")
	if err != nil {
		t.Fatal(err)
	}
	if r := up.Throttle.RateLimit; r != 0 {
		t.Fatalf("rate -0 read back %v", r)
	}
}

// TestPlanAndStageIntegersAreInt32: API Gateway's quota limit, burst limits
// and remaining quota are 32-bit Integers; larger values were taken and read
// back wrapped by the SDKs (Quota.Limit -1), and update-usage overflowed the
// count. They are 400 now.
func TestPlanAndStageIntegersAreInt32(t *testing.T) {
	env, _, gw, id := startKeyed(t, "dev")
	ctx := context.Background()
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	p := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p"),
		Throttle:  &types.ThrottleSettings{RateLimit: 1, BurstLimit: 1},
		Quota:     &types.QuotaSettings{Limit: 10, Period: types.QuotaPeriodTypeDay},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, *k.Id)
	// keys25's finding 6: the message named negatives as accepted.
	for path, accepted := range map[string]string{"/quota/limit": "from 1 to 2147483647", "/throttle/burstLimit": "from 0 to 2147483647",
		"/apiStages/" + id + ":dev/throttle/~1pets/GET/burstLimit": "from 0 to 2147483647",
		"/quota/offset": "from 0 to 6 for a WEEK period, 0 to 27 for MONTH, 0 for DAY"} {
		for _, v := range []string{"2147483648", "99999999999", "9223372036854775807", "1.5", "abc"} {
			_, err := patchPlan(gw, p, path, v)
			wantAPIError(t, err, "BadRequestException", "Invalid value for replace "+path+": \""+v+"\" is not an integer "+accepted)
		}
	}
	_, err := env.Client().Do(ctx, "POST", "/usageplans", nil, map[string]any{"name": "x", "quota": map[string]any{"limit": 1.5, "period": "DAY"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "quota.limit must be a whole number, not 1.5") {
		t.Errorf("create-usage-plan with quota limit 1.5: %v", err)
	}
	if up, err := patchPlan(gw, p, "/quota/limit", "2147483647"); err != nil || up.Quota.Limit != 2147483647 {
		t.Fatalf("quota limit 2147483647: %+v %v", up, err)
	}
	_, err = gw.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: aws.String(p), KeyId: k.Id,
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String("9223372036854775807")}}})
	wantAPIError(t, err, "BadRequestException", "is not an integer from 0 to 2147483647")
	// keys22's finding 4: update-usage's message named negatives as accepted,
	// and refused them.
	for _, v := range []string{"abc", "-5", "-2147483648"} {
		_, err := gw.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: aws.String(p), KeyId: k.Id,
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String(v)}}})
		wantAPIError(t, err, "BadRequestException", "Invalid value for replace /remaining: \""+v+"\" is not an integer from 0 to 2147483647")
	}
	u, err := gw.UpdateUsage(ctx, &apigateway.UpdateUsageInput{UsagePlanId: aws.String(p), KeyId: k.Id,
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String("2147483647")}}})
	if err != nil || u.Items[*k.Id][0][1] != 2147483647 {
		t.Fatalf("update-usage remaining 2147483647: %+v %v", u, err)
	}

	// create-usage-plan's JSON body, which the SDKs cannot send.
	c := env.Client()
	for _, body := range []map[string]any{
		{"name": "q", "quota": map[string]any{"limit": int64(99999999999), "period": "DAY"}},
		{"name": "q", "throttle": map[string]any{"rateLimit": 1, "burstLimit": int64(9223372036854775807)}},
		{"name": "q", "throttle": map[string]any{"rateLimit": 1, "burstLimit": 1}, "apiStages": []any{map[string]any{"apiId": id, "stage": "dev",
			"throttle": map[string]any{"/pets/GET": map[string]any{"rateLimit": 1, "burstLimit": int64(2147483648)}}}}},
	} {
		_, err := c.Do(ctx, "POST", "/usageplans", nil, body, nil)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Type != "BadRequestException" {
			b, _ := json.Marshal(body)
			t.Fatalf("create-usage-plan %s: %v, want 400 BadRequestException", b, err)
		}
	}

	// A stage's burst limit, REST (update-stage) and HTTP (route settings).
	for _, v := range []string{"2147483648", "9223372036854775807"} {
		_, err := gw.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(id), StageName: aws.String("dev"),
			PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/*/*/throttling/burstLimit"), Value: aws.String(v)}}})
		wantAPIError(t, err, "BadRequestException", "is not an integer from -2147483648 to 2147483647")
	}
}

// TestPlanRateWithoutBurstServes: a usage plan throttle given a rate alone
// (create-usage-plan --throttle rateLimit=50; the SDK sends no burstLimit
// and API Gateway reads back 0) has no burst set, which is inherited: a
// method's from the plan's, the plan's from the account's. It does not throttle
// every request of the key (as main did from c118483, an outage on upgrade
// for plans older builds served). 0/0 on a method still closes it.
func TestPlanRateWithoutBurstServes(t *testing.T) {
	env, _, gw, id := startKeyed(t, "dev", "prod", "shut")
	k := createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String("k"), Enabled: true})
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("plan"), Throttle: &types.ThrottleSettings{RateLimit: 50},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, *k.Id)
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("method"), Throttle: &types.ThrottleSettings{RateLimit: 1000, BurstLimit: 1000},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("prod"),
			Throttle: map[string]types.ThrottleSettings{"/pets/GET": {RateLimit: 1000}}}}}, *k.Id)
	for _, stage := range []string{"dev", "prod"} {
		if status, typ, _ := call(t, env.GatewayURL+"/"+id+"/"+stage+"/pets", *k.Value); status != 200 {
			t.Errorf("%s: %d %s, want 200", stage, status, typ)
		}
	}
	plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("shut"), Throttle: &types.ThrottleSettings{RateLimit: 1000, BurstLimit: 1000},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("shut"),
			Throttle: map[string]types.ThrottleSettings{"/pets/GET": {RateLimit: 0, BurstLimit: 0}}}}}, *k.Id)
	if status, typ, _ := call(t, env.GatewayURL+"/"+id+"/shut/pets", *k.Value); status != 429 || typ != "TooManyRequestsException" {
		t.Errorf("0/0: %d %s, want 429 TooManyRequestsException", status, typ)
	}
	got, err := gw.GetUsagePlans(context.Background(), &apigateway.GetUsagePlansInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got.Items {
		if aws.ToString(p.Name) == "plan" && (p.Throttle == nil || p.Throttle.BurstLimit != 0 || p.Throttle.RateLimit != 50) {
			t.Errorf("plan reads back %+v, want burstLimit 0 rateLimit 50 as API Gateway", p.Throttle)
		}
	}
}

// TestGetUsagePagesByKey: get-usage ignored limit and position and answered
// every key at once; it pages by key as the other lists do (the SDK's
// paginator sees every key once), and a bad limit or position is 400.
func TestGetUsagePagesByKey(t *testing.T) {
	_, _, gw, id := startKeyed(t, "dev")
	ctx := context.Background()
	var keys []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		keys = append(keys, *createKey(t, gw, &apigateway.CreateApiKeyInput{Name: aws.String(n), Enabled: true}).Id)
	}
	p := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), Quota: &types.QuotaSettings{Limit: 10, Period: types.QuotaPeriodTypeDay},
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}}, keys...)
	in := &apigateway.GetUsageInput{UsagePlanId: aws.String(p), StartDate: aws.String("2026-11-25"), EndDate: aws.String("2026-11-25"), Limit: aws.Int32(2)}
	first, err := gw.GetUsage(ctx, in)
	if err != nil || len(first.Items) != 2 || first.Position == nil {
		t.Fatalf("first page of 2: %+v %v", first, err)
	}
	seen := map[string]int{}
	pages := 0
	for pg := apigateway.NewGetUsagePaginator(gw, in); pg.HasMorePages(); {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for k, v := range out.Items {
			seen[k]++
			if len(v) != 1 || v[0][1] != 10 {
				t.Errorf("key %s: %v, want one day with 10 remaining", k, v)
			}
		}
	}
	if pages != 3 || len(seen) != 5 {
		t.Fatalf("%d pages, keys %v; want 3 pages, 5 keys once each", pages, seen)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("key %s on %d pages", k, n)
		}
	}
	_, err = gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(p), StartDate: aws.String("2026-11-25"), EndDate: aws.String("2026-11-25"), Limit: aws.Int32(0)})
	wantAPIError(t, err, "BadRequestException", "Invalid limit '0': use 1..500")
	_, err = gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(p), StartDate: aws.String("2026-11-25"), EndDate: aws.String("2026-11-25"), Position: aws.String("nope")})
	wantAPIError(t, err, "BadRequestException", "Invalid position 'nope'")
}

// createAndDeploy creates an API from def with the native API and deploys it
// to stage; it returns the API's id.
func createAndDeploy(t *testing.T, c *client.Client, def map[string]any, stage string) string {
	t.Helper()
	ctx := context.Background()
	resp, err := c.Do(ctx, "POST", "/portico/v1/apis", nil, def, nil)
	if err != nil {
		t.Fatalf("create api: %v", err)
	}
	var a struct{ ID string }
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, "POST", "/portico/v1/apis/"+a.ID+"/deployments", nil, map[string]any{"stageName": stage}, nil); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return a.ID
}

// TestPlanMethodThrottlesMustBeEnforceable: per-method throttles on a method
// the stage's deployment lacks, or on a plan without a plan throttle, were
// stored and never enforced; they are refused as API Gateway refuses them
// (404 "Invalid method", 400 "Can not define fine grain throttling ...").
// A method a later deployment removes leaves the plan editable and the
// gateway serving.
func TestPlanMethodThrottlesMustBeEnforceable(t *testing.T) {
	env, _, gw, id := startKeyed(t, "dev", "s3")
	ctx := context.Background()
	one := types.ThrottleSettings{RateLimit: 1, BurstLimit: 1}
	_, err := gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"), Throttle: &one,
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("s3"), Throttle: map[string]types.ThrottleSettings{"/nope/GET": {RateLimit: 0.01, BurstLimit: 1}}}}})
	wantAPIError(t, err, "NotFoundException", "Invalid method /nope/GET in API stage "+id+":s3")
	_, err = gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("s3"), Throttle: map[string]types.ThrottleSettings{"/pets/GET": one}}}})
	wantAPIError(t, err, "BadRequestException", "Can not define fine grain throttling if usage plan throttle is not defined.")

	p := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("p"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(id), Stage: aws.String("dev")}}})
	_, err = patchPlan(gw, p, "/apiStages/"+id+":dev/throttle/~1pets/GET/rateLimit", "5")
	wantAPIError(t, err, "BadRequestException", "Can not define fine grain throttling")
	if _, err := patchPlan(gw, p, "/throttle/rateLimit", "10"); err != nil {
		t.Fatal(err)
	}
	_, err = patchPlan(gw, p, "/apiStages/"+id+":dev/throttle/~1nope/GET/rateLimit", "0.01")
	wantAPIError(t, err, "NotFoundException", "Invalid method /nope/GET in API stage "+id+":dev")
	if _, err := patchPlan(gw, p, "/apiStages/"+id+":dev/throttle/~1pets/GET/burstLimit", "5"); err != nil {
		t.Fatal(err)
	}
	// Removing the plan throttle would leave the method's unenforced.
	_, err = gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(p),
		PatchOperations: []types.PatchOperation{{Op: types.OpRemove, Path: aws.String("/throttle")}}})
	wantAPIError(t, err, "BadRequestException", "Can not define fine grain throttling")

	// A deployment without GET /pets: the plan keeps its throttle for it,
	// stays editable, and the stage serves.
	c := env.Client()
	if _, err := c.Do(ctx, "DELETE", "/portico/v1/apis/"+id+"/routes/"+routeID(t, c, id, "GET", "/pets"), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, "POST", "/portico/v1/apis/"+id+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	if up, err := patchPlan(gw, p, "/name", "renamed"); err != nil || up.ApiStages[0].Throttle["/pets/GET"].BurstLimit != 5 {
		t.Fatalf("rename after the method went: %+v %v", up, err)
	}
	_, err = patchPlan(gw, p, "/apiStages/"+id+":dev/throttle/~1pets/GET/burstLimit", "6")
	wantAPIError(t, err, "NotFoundException", "Invalid method /pets/GET")
	if _, err := gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(p),
		PatchOperations: []types.PatchOperation{{Op: types.OpRemove, Path: aws.String("/apiStages/" + id + ":dev/throttle/~1pets/GET")}}}); err != nil {
		t.Fatalf("remove the gone method's throttle: %v", err)
	}
	if status, _, body := call(t, env.GatewayURL+"/"+id+"/dev/open", ""); status != 200 {
		t.Fatalf("GET /open after the redeploy: %d %s", status, body)
	}
}

// TestPlanStagesOfHTTPAPIsRefused: HTTP APIs have no API keys; a usage plan
// refuses their stages (create-usage-plan, add /apiStages). WebSocket APIs
// have keys and plans, and their stages are taken.
func TestPlanStagesOfHTTPAPIsRefused(t *testing.T) {
	env, _, gw, _ := startKeyed(t)
	ctx := context.Background()
	mock := map[string]any{"type": "MOCK"}
	httpID := createAndDeploy(t, env.Client(), map[string]any{"name": "h", "protocol": "HTTP",
		"routes": []any{map[string]any{"method": "GET", "path": "/a", "integration": mock}}}, "dev")
	wsID := createAndDeploy(t, env.Client(), map[string]any{"name": "w", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
		"routes": []any{map[string]any{"routeKey": "$default", "integration": mock}}}, "dev")
	want := "Invalid API stage " + httpID + ":dev: it is an HTTP API's, and HTTP APIs have no API keys or usage plans"
	_, err := gw.CreateUsagePlan(ctx, &apigateway.CreateUsagePlanInput{Name: aws.String("p"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(httpID), Stage: aws.String("dev")}}})
	wantAPIError(t, err, "BadRequestException", want)
	p := plan(t, gw, &apigateway.CreateUsagePlanInput{Name: aws.String("ws"),
		ApiStages: []types.ApiStage{{ApiId: aws.String(wsID), Stage: aws.String("dev")}}})
	_, err = gw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(p),
		PatchOperations: []types.PatchOperation{{Op: types.OpAdd, Path: aws.String("/apiStages"), Value: aws.String(httpID + ":dev")}}})
	wantAPIError(t, err, "BadRequestException", want)
}

// routeID returns the id of the route method path of API id.
func routeID(t *testing.T, c *client.Client, id, method, path string) string {
	t.Helper()
	resp, err := c.Do(context.Background(), "GET", "/portico/v1/apis/"+id, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Routes []struct{ ID, Method, Path string } `json:"routes"`
	}
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		t.Fatal(err)
	}
	for _, r := range a.Routes {
		if r.Method == method && r.Path == path {
			return r.ID
		}
	}
	t.Fatalf("API %s has no route %s %s", id, method, path)
	return ""
}
