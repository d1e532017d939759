package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestMetricsAfterAKnownMix makes a known mix of calls through the real server
// (200s from MOCK and a function, 403s from missing routes, a 429 from a function
// with no concurrency, 502s from a bad proxy result and a function error) and
// finds exactly those counts under the stage's labels at GET /metrics, with the
// functions' invocations, errors and throttles beside them.
func TestMetricsAfterAKnownMix(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	ctx := context.Background()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	createFunction(t, c, "limited", probeZip(t), nil, 5)
	admin(t, c, "PUT", "/2017-10-31/functions/limited/concurrency", nil, map[string]any{"ReservedConcurrentExecutions": 0}, nil)

	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "metered", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	for _, r := range []map[string]any{
		{"method": "GET", "path": "/ok", "integration": map[string]any{"type": "MOCK",
			"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
			"responses":        map[string]any{"default": map[string]any{"statusCode": "200"}}}},
		{"method": "GET", "path": "/probe", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:probe"}},
		{"method": "GET", "path": "/limited", "integration": map[string]any{"type": "AWS_PROXY", "uri": "function:limited"}},
	} {
		admin(t, c, "POST", base+"/routes", nil, r, nil)
	}
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	dev := env.GatewayURL + "/" + api.ID + "/dev"
	for _, call := range []struct {
		path   string
		status int
		times  int
	}{
		{"/ok", 200, 3}, {"/probe", 200, 1}, {"/nope", 403, 2}, {"/ok/deeper", 403, 1},
		{"/limited", 429, 1}, {"/probe?bad=1", 502, 2}, {"/probe?fail=1", 502, 1},
	} {
		for range call.times {
			if a := get(t, "GET", dev+call.path, ""); a.status != call.status {
				t.Fatalf("GET %s: %d %s, want %d", call.path, a.status, a.body, call.status)
			}
		}
	}

	// A call's concurrency is given back once its sandbox's runtime is back in
	// next, which may come just after its caller had the answer: scrape until
	// the function's gauge has come down.
	conc := `portico_lambda_concurrent_executions{function="probe"}`
	var got map[string]string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		got = scrape(ctx, t, env.AdminURL)
		if got[conc] == "0" || time.Now().After(deadline) {
			break
		}
	}
	stage := fmt.Sprintf(`{api_id=%q,api_name="metered",canary="false",method="",resource="",stage="dev"}`, api.ID)
	want := map[string]string{
		"portico_api_requests_total" + stage:                                                     "11",
		"portico_api_4xx_errors_total" + stage:                                                   "4",
		"portico_api_5xx_errors_total" + stage:                                                   "3",
		"portico_api_latency_seconds_count" + stage:                                              "11",
		"portico_api_integration_latency_seconds_count" + stage:                                  "8",
		`portico_lambda_invocations_total{alias="",executed_version="$LATEST",function="probe"}`: "4",
		`portico_lambda_errors_total{alias="",executed_version="$LATEST",function="probe"}`:      "1",
		`portico_lambda_throttles_total{alias="",executed_version="$LATEST",function="limited"}`: "1",
		conc: "0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %s", k, got[k], v)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	if _, ok := got[`portico_lambda_invocations_total{alias="",executed_version="$LATEST",function="limited"}`]; ok {
		t.Error("a throttled call counted as an invocation")
	}
}

// scrape returns GET /metrics's samples, by series.
func scrape(ctx context.Context, t *testing.T, adminURL string) map[string]string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", adminURL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			got[k] = v
		}
	}
	return got
}

// scrapeSeries returns the lines of GET /metrics that mention apiID.
func scrapeSeries(t *testing.T, adminURL, apiID string) []string {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.Contains(line, `api_id="`+apiID+`"`) {
			out = append(out, line)
		}
	}
	return out
}

// TestMetricsOfDeletedStagesAndAPIsGo deletes a stage, then its API, and finds
// their series gone from GET /metrics (and the other stage's kept until then).
func TestMetricsOfDeletedStagesAndAPIsGo(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "shortlived", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/ok", "integration": map[string]any{"type": "MOCK",
		"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses":        map[string]any{"default": map[string]any{"statusCode": "200"}}}}, nil)
	for _, stage := range []string{"dev", "prod"} {
		admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": stage}, nil)
		if a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/"+stage+"/ok", ""); a.status != 200 {
			t.Fatalf("GET /%s/ok: %d %s", stage, a.status, a.body)
		}
	}
	count := func(lines []string, stage string) int {
		n := 0
		for _, l := range lines {
			if strings.Contains(l, `stage="`+stage+`"`) {
				n++
			}
		}
		return n
	}
	before := scrapeSeries(t, env.AdminURL, api.ID)
	if count(before, "dev") == 0 || count(before, "prod") == 0 {
		t.Fatalf("before: no series of both stages:\n%s", strings.Join(before, "\n"))
	}
	admin(t, c, "DELETE", base+"/stages/dev", nil, nil, nil)
	after := scrapeSeries(t, env.AdminURL, api.ID)
	if n := count(after, "dev"); n != 0 {
		t.Errorf("deleted stage dev still has %d series:\n%s", n, strings.Join(after, "\n"))
	}
	if count(after, "prod") != count(before, "prod") {
		t.Errorf("stage prod's series changed when dev was deleted: %d, were %d", count(after, "prod"), count(before, "prod"))
	}
	admin(t, c, "DELETE", base, nil, nil, nil)
	if gone := scrapeSeries(t, env.AdminURL, api.ID); len(gone) != 0 {
		t.Errorf("deleted API still has %d series:\n%s", len(gone), strings.Join(gone, "\n"))
	}
}

// TestMetricsOfARenamedAPI renames an API, deploys it again and keeps its
// older deployment as the stage's canary: every series of the stage, the
// canary's included, carries the name the stage's deployment has, and the
// series under the old name are gone, so that a stage is listed once.
func TestMetricsOfARenamedAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "old-name", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/ok", "integration": map[string]any{"type": "MOCK",
		"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses":        map[string]any{"default": map[string]any{"statusCode": "200"}}}}, nil)
	var dep1 struct {
		Deployment struct {
			ID string `json:"id"`
		} `json:"deployment"`
	}
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, &dep1)
	url := env.GatewayURL + "/" + api.ID + "/dev/ok"
	if a := get(t, "GET", url, ""); a.status != 200 {
		t.Fatalf("GET /dev/ok: %d %s", a.status, a.body)
	}
	admin(t, c, "PATCH", base, nil, map[string]any{"name": "new-name"}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	for _, pct := range []string{"100", "0"} { // every request to the canary, then none
		admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []any{
			map[string]any{"op": "replace", "path": "/canarySettings/deploymentId", "value": dep1.Deployment.ID},
			map[string]any{"op": "replace", "path": "/canarySettings/percentTraffic", "value": pct},
		}}, nil)
		if a := get(t, "GET", url, ""); a.status != 200 {
			t.Fatalf("GET /dev/ok: %d %s", a.status, a.body)
		}
	}
	lines := scrapeSeries(t, env.AdminURL, api.ID)
	var canary, main bool
	for _, l := range lines {
		if !strings.Contains(l, `api_name="new-name"`) {
			t.Errorf("a series not under the stage's name: %s", l)
		}
		canary = canary || strings.HasPrefix(l, "portico_api_requests_total{") && strings.Contains(l, `canary="true"`)
		main = main || strings.HasPrefix(l, "portico_api_requests_total{") && strings.Contains(l, `canary="false"`)
	}
	if !canary || !main {
		t.Errorf("no requests counted on the canary (%v) or the stage's deployment (%v):\n%s", canary, main, strings.Join(lines, "\n"))
	}
}
