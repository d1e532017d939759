package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/internal/wstest"
)

// TestDeployWebSocketAPIKeys deploys a WebSocket API whose $connect requires
// an API key, with its raw usage plan, key and usage plan key, through
// `portico deploy`, and dials it with real WebSocket clients: without a key
// or with a wrong one the handshake is 403; with the deploy's key (read
// through the admin API: the deploy prints its id, never its value) it
// connects, and each handshake counts against the plan's quota, so the
// fourth of the day is 429 and get-usage says so; the next day it connects
// again. A redeploy with Enabled: false keeps the key, which is then
// refused; its plan says so. Deleting the stack deletes the plan and the key. (Before, deploy
// refused ApiKeyRequired: true and ignored the raw usage plan resources.)
func TestDeployWebSocketAPIKeys(t *testing.T) {
	t.Parallel()
	var us *usage.Service
	env := apptest.Start(t, apptest.Options{Populate: []any{&us}})
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	us.SetClock(func() time.Time { return day })
	ctx := context.Background()
	gw := adminSDK(env)
	// A chat API whose $connect requires a key of its raw usage plan (a
	// quota of 3 a day), its API key and usage plan key.
	tpl, err := os.ReadFile(filepath.Join("deploy", "testdata", "ws-api-key.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "template.yaml")
	writeFile(t, path, tpl, 0o600)
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "wsk")
	rec := stackRecord(t, env, "wsk").Resources["Chat"]
	if rec == nil || rec.APIKeyID == "" || rec.UsagePlanID == "" {
		t.Fatalf("record %+v: want the usage plan and its key", rec)
	}
	k := apiKey(t, gw, rec.APIKeyID)
	if *k.Name != "chat-key" || strings.Contains(out, *k.Value) {
		t.Fatalf("key name %q; deploy output shows its value: %v\n%s", *k.Name, strings.Contains(out, *k.Value), out)
	}
	plan, err := gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(rec.UsagePlanID)})
	if err != nil || *plan.Name != "chat-plan" || len(plan.ApiStages) != 1 || *plan.ApiStages[0].Stage != "live" || plan.Quota.Limit != 3 {
		t.Fatalf("get-usage-plan: %+v %v", plan, err)
	}

	url := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + rec.PhysicalID + "/live"
	dial := func(key string) int {
		t.Helper()
		h := http.Header{}
		if key != "" {
			h.Set("x-api-key", key)
		}
		c, status, err := wstest.Dial(websocket.DefaultDialer, url, h)
		if err == nil {
			if c != nil {
				_ = c.Close()
			}
			return http.StatusSwitchingProtocols
		}
		return status
	}
	refusal := func(key string) (int, string) {
		t.Helper()
		h := http.Header{}
		if key != "" {
			h.Set("x-api-key", key)
		}
		c, resp, err := websocket.DefaultDialer.Dial(url, h)
		if err == nil {
			_ = c.Close()
			return http.StatusSwitchingProtocols, ""
		}
		if resp == nil {
			t.Fatalf("handshake: %v", err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType") + " " + string(body)
	}
	if got, body := refusal(""); got != http.StatusForbidden || body != `ForbiddenException {"message":"Forbidden"}` {
		t.Fatalf("handshake without a key: %d %s, want 403 ForbiddenException {\"message\":\"Forbidden\"}", got, body)
	}
	if got := dial("not-a-key-of-this-server-0123456789"); got != http.StatusForbidden {
		t.Fatalf("handshake with a wrong key: %d, want 403", got)
	}
	for i := range 3 {
		if got := dial(*k.Value); got != http.StatusSwitchingProtocols {
			t.Fatalf("handshake %d with the key: %d, want connected", i+1, got)
		}
	}
	if got, body := refusal(*k.Value); got != http.StatusTooManyRequests || body != `LimitExceededException {"message":"Limit Exceeded"}` {
		t.Fatalf("fourth handshake of the day (quota 3): %d %s, want 429 LimitExceededException Limit Exceeded", got, body)
	}
	d := day.Format(time.DateOnly)
	u, err := gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(rec.UsagePlanID), StartDate: aws.String(d), EndDate: aws.String(d)})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Items[rec.APIKeyID]; len(got) != 1 || got[0][0] != 3 || got[0][1] != 0 {
		t.Errorf("get-usage %v, want [[3 0]] for key %s", u.Items, rec.APIKeyID)
	}
	next := day.Add(24 * time.Hour)
	us.SetClock(func() time.Time { return next })
	if got := dial(*k.Value); got != http.StatusSwitchingProtocols {
		t.Fatalf("handshake the next day: %d, want connected", got)
	}

	replaceInFile(t, path, "Enabled: true", "Enabled: false")
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "wsk"); !strings.Contains(out, "- disable API key "+rec.APIKeyID+" (Key)") {
		t.Errorf("the redeploy's plan does not say the key is disabled:\n%s", out)
	}
	if again := stackRecord(t, env, "wsk").Resources["Chat"]; again.APIKeyID != rec.APIKeyID || again.UsagePlanID != rec.UsagePlanID {
		t.Fatalf("redeploy: key %s plan %s, want %s %s kept", again.APIKeyID, again.UsagePlanID, rec.APIKeyID, rec.UsagePlanID)
	}
	if got := dial(*k.Value); got != http.StatusForbidden {
		t.Fatalf("handshake with the disabled key: %d, want 403", got)
	}

	cliCombined(t, env, "stack", "delete", "wsk")
	_, err = gw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(rec.APIKeyID)})
	wantGone(t, "the key", err)
	_, err = gw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(rec.UsagePlanID)})
	wantGone(t, "the plan", err)
}
