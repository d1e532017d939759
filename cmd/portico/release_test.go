package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// portico is cliErr for the tests that hold t.
func portico(t *testing.T, env *apptest.Env, args ...string) (string, error) {
	t.Helper()
	return cliErr(env, args...)
}

// TestStageReleaseCommands drives canary, promote, cache and throttle through
// the CLI and checks the stage the admin API then reports.
func TestStageReleaseCommands(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	ctx := context.Background()
	doc := `openapi: 3.0.1
info: {title: cli, version: "1"}
paths:
  /pets:
    get:
      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}, responses: {default: {statusCode: "200"}}}
`
	resp, err := c.Do(ctx, http.MethodPost, apisPath+"/import", url.Values{"protocol": {"REST"}}, []byte(doc), http.Header{"Content-Type": {"application/yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	_ = json.Unmarshal(resp.Body, &imp)
	id := imp.API.ID
	must := func(args ...string) string {
		t.Helper()
		out, err := portico(t, env, args...)
		if err != nil {
			t.Fatalf("portico %v: %v\n%s", args, err, out)
		}
		return out
	}
	must("api", "deploy", id, "--stage", "prod", "--var", "color=blue")
	first := must("-o", "json", "stage", "history", id, "prod")
	must("api", "deploy", id, "--stage", "prod")
	var hist struct {
		Items []struct{ DeploymentID string } `json:"items"`
	}
	_ = json.Unmarshal([]byte(first), &hist)
	older := hist.Items[0].DeploymentID

	out := must("stage", "canary", id, "prod", "--percent", "12.5", "--deployment", older, "--var", "color=green", "--use-stage-cache")
	if !strings.Contains(out, "12.5% -> "+older) || !strings.Contains(out, "color=green") || !strings.Contains(out, "stage-cache") {
		t.Fatalf("canary table:\n%s", out)
	}
	out = must("-o", "json", "stage", "promote", id, "prod")
	var st struct {
		DeploymentID   string            `json:"deploymentId"`
		Variables      map[string]string `json:"variables"`
		CanarySettings *struct {
			PercentTraffic float64 `json:"percentTraffic"`
		} `json:"canarySettings"`
		CacheClusterEnabled bool   `json:"cacheClusterEnabled"`
		CacheClusterSize    string `json:"cacheClusterSize"`
		MethodSettings      map[string]struct {
			ThrottlingRateLimit  float64 `json:"throttlingRateLimit"`
			ThrottlingBurstLimit int     `json:"throttlingBurstLimit"`
			CachingEnabled       bool    `json:"cachingEnabled"`
			CacheTTLInSeconds    int     `json:"cacheTtlInSeconds"`
		} `json:"methodSettings"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.DeploymentID != older || st.Variables["color"] != "green" || st.CanarySettings == nil || st.CanarySettings.PercentTraffic != 0 {
		t.Fatalf("after promote: %s", out)
	}
	// A rollback of the promotion moves the deployment back and says that
	// the merged variables stay (r-stages26 #5); rolling back again (to the
	// promoted deployment) passes over no promotion, and says nothing.
	out = must("stage", "rollback", id, "prod")
	if !strings.Contains(out, "note: the variables stay as they are (color=green)") || !strings.Contains(out, "a promotion it undid") {
		t.Fatalf("rollback of a promotion:\n%s", out)
	}
	if out = must("stage", "rollback", id, "prod"); strings.Contains(out, "note:") || !strings.Contains(out, "now serves deployment "+older) {
		t.Fatalf("second rollback:\n%s", out)
	}
	must("stage", "canary", id, "prod", "--remove")
	if out, err := portico(t, env, "api", "deploy", id, "--stage", "prod", "--canary", "5", "--canary-var", "color=red"); err != nil {
		t.Fatalf("deploy --canary: %v\n%s", err, out)
	} else {
		dep := strings.TrimSpace(out)
		list, _ := portico(t, env, "stage", "canary", id, "prod", "--percent", "5")
		if !strings.Contains(list, "5% -> "+dep) || !strings.Contains(list, "color=red") {
			t.Fatalf("after deploy --canary (%s):\n%s", dep, list)
		}
		// The canary shows without changing it: `stage canary` with no
		// flag, `stage list`'s table, and its -o json, which is the
		// server's stage, canarySettings and all (r-console27 #1).
		if shown := must("stage", "canary", id, "prod"); !strings.Contains(shown, "5% -> "+dep+" (color=red)") {
			t.Fatalf("stage canary with no flag:\n%s", shown)
		}
		if table := must("stage", "list", id); !strings.Contains(table, "CANARY") || !strings.Contains(table, "5% -> "+dep+" (color=red)") {
			t.Fatalf("stage list with a canary:\n%s", table)
		}
		var listed struct {
			Items []struct {
				CanarySettings *struct {
					PercentTraffic float64 `json:"percentTraffic"`
					DeploymentID   string  `json:"deploymentId"`
				} `json:"canarySettings"`
				CreatedAt string `json:"createdAt"`
			} `json:"items"`
		}
		raw := must("-o", "json", "stage", "list", id)
		if err := json.Unmarshal([]byte(raw), &listed); err != nil || len(listed.Items) != 1 || listed.Items[0].CanarySettings == nil ||
			listed.Items[0].CanarySettings.DeploymentID != dep || listed.Items[0].CanarySettings.PercentTraffic != 5 || listed.Items[0].CreatedAt == "" {
			t.Fatalf("stage list -o json (%v):\n%s", err, raw)
		}
	}
	out = must("stage", "canary", id, "prod", "--remove")
	if !strings.Contains(out, "prod") || strings.Contains(out, "% ->") {
		t.Fatalf("after remove:\n%s", out)
	}
	if table := must("stage", "list", id); strings.Contains(table, "CANARY") {
		t.Fatalf("stage list with no canary has a CANARY column:\n%s", table)
	}
	if out, err := portico(t, env, "stage", "canary", id, "prod", "--percent", "101"); err == nil {
		t.Fatalf("--percent 101 accepted:\n%s", out)
	}

	must("stage", "cache", id, "prod", "--enable", "--size", "1.6", "--ttl", "120")
	must("stage", "throttle", id, "prod", "--rate", "100", "--burst", "50")
	out = must("-o", "json", "stage", "throttle", id, "prod", "--method", "/pets/GET", "--rate", "5", "--burst", "2")
	st.MethodSettings = nil
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	all, pets := st.MethodSettings["*/*"], st.MethodSettings["~1pets/GET"]
	if !st.CacheClusterEnabled || st.CacheClusterSize != "1.6" || !all.CachingEnabled || all.CacheTTLInSeconds != 120 ||
		all.ThrottlingRateLimit != 100 || all.ThrottlingBurstLimit != 50 || pets.ThrottlingRateLimit != 5 || pets.ThrottlingBurstLimit != 2 ||
		!pets.CachingEnabled || pets.CacheTTLInSeconds != 120 {
		t.Fatalf("after cache and throttle: %s", out)
	}
	if out, err := portico(t, env, "stage", "cache", id, "prod", "--enable", "--size", "2"); err == nil || !strings.Contains(err.Error(), "cacheClusterSize") {
		t.Fatalf("size 2 accepted: %v\n%s", err, out)
	}
	if out := must("stage", "cache", id, "prod", "--flush"); !strings.Contains(out, "flushed") {
		t.Fatalf("flush: %s", out)
	}
	out = must("stage", "cache", id, "prod", "--disable")
	if !strings.Contains(out, "off") {
		t.Fatalf("after disable:\n%s", out)
	}
	// Rate 0 and burst 0 close the method: every request is throttled.
	if code, body := gatewayCall(t, http.MethodGet, env.GatewayURL+"/"+id+"/prod/pets", "", nil); code != http.StatusOK {
		t.Fatalf("GET /pets before 0/0: %d %s", code, body)
	}
	out = must("stage", "throttle", id, "prod", "--method", "/pets/GET", "--rate", "0", "--burst", "0")
	if !strings.Contains(out, "/pets/GET 0/s burst 0 (every request throttled)") {
		t.Fatalf("after --rate 0 --burst 0:\n%s", out)
	}
	if code, body := gatewayCall(t, http.MethodGet, env.GatewayURL+"/"+id+"/prod/pets", "", nil); code != http.StatusTooManyRequests || body != `{"message":"Too Many Requests"}` {
		t.Fatalf("GET /pets after 0/0: %d %s, want 429 Too Many Requests", code, body)
	}
	if _, err := portico(t, env, "stage", "throttle", id, "nope", "--rate", "1"); err == nil || !strings.Contains(err.Error(), "Invalid Stage identifier specified") {
		t.Fatalf("unknown stage: %v", err)
	}
}

// TestReleaseTableThrottles: the THROTTLE column says what a method setting
// does; a value not set is inherited (from */*, then the account), so a rate
// without a burst is not called a burst of no limit that throttles every
// request.
func TestReleaseTableThrottles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, settings, want string
	}{
		{"rate and burst", `{"throttlingRateLimit": 5, "throttlingBurstLimit": 2}`, "*/* 5/s burst 2\n"},
		{"rate alone", `{"throttlingRateLimit": 5, "throttlingBurstLimit": -1}`, "*/* 5/s burst inherited\n"},
		{"burst alone", `{"throttlingRateLimit": -1, "throttlingBurstLimit": 10}`, "*/* inherited burst 10\n"},
		{"burst 0", `{"throttlingRateLimit": 5, "throttlingBurstLimit": 0}`, "*/* 5/s burst 0 (every request throttled)\n"},
	} {
		var st awsStage
		if err := json.Unmarshal([]byte(`{"stageName": "prod", "methodSettings": {"*/*": `+tc.settings+`}}`), &st); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := releaseTable(&b, &st); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(b.String(), tc.want) {
			t.Errorf("%s: %q, want it to end %q", tc.name, b.String(), tc.want)
		}
	}
}

// TestReleaseTableCache: the CACHE column lists the methods whose setting
// caches them with their TTL; one whose TTL is 0 is not cached (0 turns
// caching off for the method), and says so (r-stages28 #4).
func TestReleaseTableCache(t *testing.T) {
	t.Parallel()
	var st awsStage
	if err := json.Unmarshal([]byte(`{"stageName": "prod", "cacheClusterEnabled": true, "cacheClusterSize": "0.5", "methodSettings": {
		"*/*": {"throttlingRateLimit": -1, "throttlingBurstLimit": -1, "cachingEnabled": true, "cacheTtlInSeconds": 300},
		"~1pets/GET": {"throttlingRateLimit": -1, "throttlingBurstLimit": -1, "cachingEnabled": true, "cacheTtlInSeconds": 0},
		"~1toys/GET": {"throttlingRateLimit": -1, "throttlingBurstLimit": -1, "cachingEnabled": false, "cacheTtlInSeconds": 60}}}`), &st); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := releaseTable(&b, &st); err != nil {
		t.Fatal(err)
	}
	if want := "0.5 GB, */* ttl 300s, /pets/GET off (ttl 0)"; !strings.Contains(b.String(), want+"  ") || strings.Contains(b.String(), "toys") {
		t.Errorf("table %q, want the CACHE column %q", b.String(), want)
	}
}
