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
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
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

// wsAuthorizerKeyTemplate is a WebSocket API whose $connect requires an API
// key that its Lambda REQUEST authorizer (wsauthz: the query string's key)
// names: ApiKeySelectionExpression $context.authorizer.usageIdentifierKey.
const wsAuthorizerKeyTemplate = `Transform: AWS::Serverless-2016-10-31
Resources:
  WsAuth:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: wsauthz
      Runtime: provided.al2023
      Handler: bootstrap
  Ws:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
      ApiKeySelectionExpression: $context.authorizer.usageIdentifierKey
  Auth:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Ws
      Name: tokens
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${WsAuth.Arn}/invocations
      IdentitySource:
        - route.request.querystring.token
  Mock:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Ws
      IntegrationType: MOCK
      RequestTemplates:
        $default: '{"statusCode": 200}'
  Connect:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Ws
      RouteKey: $connect
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Auth
      ApiKeyRequired: true
      Target: !Join ["/", ["integrations", !Ref Mock]]
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Ws
      StageName: dev
      AutoDeploy: true
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages:
        - ApiId: !Ref Ws
          Stage: !Ref Stage
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties:
      Enabled: true
      Value: wskeyfromauthorizer-0123456789
  PlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties:
      KeyId: !Ref Key
      KeyType: API_KEY
      UsagePlanId: !Ref Plan
`

// TestDeployWebSocketKeyFromAuthorizer deploys a WebSocket API whose
// ApiKeySelectionExpression is $context.authorizer.usageIdentifierKey with
// `portico deploy` and dials it with real WebSocket clients (the audit's
// authz11 1 and 2). The API is made with the authorizer as its key source
// (deploy used to make it with the x-api-key header, so the client chose the
// key it is billed against); a handshake whose authorizer names an enabled key
// of the stage's plan connects and is counted (every one used to be 403: the
// authorizer's key never reached the check); one whose authorizer names no
// key is refused though it sends the plan's key in x-api-key, and so are a
// key of no plan of the stage and a disabled key. A key source changed by
// hand on the server is put back by the next deploy, which does not call
// the API unchanged.
func TestDeployWebSocketKeyFromAuthorizer(t *testing.T) {
	t.Parallel()
	var us *usage.Service
	env := apptest.Start(t, apptest.Options{Populate: []any{&us}})
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	us.SetClock(func() time.Time { return day })
	ctx := context.Background()
	gw := adminSDK(env)
	path := wsStack(t, wsAuthorizerKeyTemplate, "")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "wsa")
	rec := stackRecord(t, env, "wsa").Resources["Ws"]
	if rec == nil || rec.APIKeyID == "" || rec.UsagePlanID == "" {
		t.Fatalf("record %+v: want the usage plan and its key", rec)
	}
	api := rec.PhysicalID
	keySource := func() string {
		t.Helper()
		var a apis.API
		adminJSON(t, env, "/portico/v1/apis/"+api, &a)
		return a.APIKeySource
	}
	if got := keySource(); got != "AUTHORIZER" {
		t.Fatalf("the deployed API's apiKeySource is %q, want AUTHORIZER", got)
	}
	const key = "wskeyfromauthorizer-0123456789"
	other, err := gw.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String("other"), Enabled: true, Value: aws.String("wskeyofnoplan-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api + "/dev?token=letmein"
	dial := func(query string, h http.Header) int {
		t.Helper()
		c, status, err := wstest.Dial(websocket.DefaultDialer, url+query, h)
		if err == nil {
			_ = c.Close()
			return http.StatusSwitchingProtocols
		}
		return status
	}
	if got := dial("&key="+key, nil); got != http.StatusSwitchingProtocols {
		t.Fatalf("the authorizer naming the plan's key: %d, want connected", got)
	}
	for _, tc := range []struct {
		name, query string
		h           http.Header
	}{
		{"the authorizer naming no key, the plan's key in x-api-key", "", http.Header{"X-Api-Key": {key}}},
		{"the authorizer naming a key of no plan", "&key=" + *other.Value, nil},
		{"the authorizer naming an unknown key", "&key=not-a-key-of-this-server-0123", nil},
	} {
		if got := dial(tc.query, tc.h); got != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, got)
		}
	}
	d := day.Format(time.DateOnly)
	u, err := gw.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: aws.String(rec.UsagePlanID), StartDate: aws.String(d), EndDate: aws.String(d)})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Items[rec.APIKeyID]; len(got) != 1 || got[0][0] != 1 {
		t.Errorf("get-usage %v, want [[1 ...]] for key %s", u.Items, rec.APIKeyID)
	}

	// The key source changed by hand: the next deploy sees it and puts the
	// template's back.
	if _, err := env.Client().Do(ctx, http.MethodPatch, "/portico/v1/apis/"+api, nil, map[string]string{"apiKeySource": "HEADER"}, nil); err != nil {
		t.Fatal(err)
	}
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "wsa")
	if !strings.Contains(out, "usageIdentifierKey") || strings.Contains(out, "0 updated") {
		t.Errorf("redeploy over a key source changed by hand:\n%s\nwant the API updated, saying why", out)
	}
	if got := keySource(); got != "AUTHORIZER" {
		t.Fatalf("after the redeploy, apiKeySource is %q, want AUTHORIZER", got)
	}
	if got := dial("", http.Header{"X-Api-Key": {key}}); got != http.StatusForbidden {
		t.Errorf("after the redeploy, the plan's key in x-api-key only: %d, want 403", got)
	}

	if _, err := gw.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: aws.String(rec.APIKeyID),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}
	if got := dial("&key="+key, nil); got != http.StatusForbidden {
		t.Errorf("the authorizer naming the disabled key: %d, want 403", got)
	}
}
