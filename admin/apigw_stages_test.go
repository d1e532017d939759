package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/cache"
	"github.com/portico-dev/portico/internal/sigv4/sigv4test"
)

const releaseToken = "release-admin-token-0123456789"

// backend is an HTTP backend that answers its path and counts its calls per path.
type backend struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls map[string]int
	n     atomic.Int64
}

func newBackend(t *testing.T) *backend {
	b := &backend{calls: map[string]int{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.calls[r.URL.Path]++
		b.mu.Unlock()
		n := b.n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"path":%q,"query":%q,"n":%d}`, r.URL.Path, r.URL.RawQuery, n)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) count(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[path]
}

type releaseEnv struct {
	env     *apptest.Env
	ag      *apigateway.Client
	be      *backend
	apiID   string
	cache   *cache.Stage
	svc     *apis.Service
	clockNS atomic.Int64
}

// startRelease starts a server with an admin token, imports a REST API whose
// /color route proxies to the backend at /${stageVariables.color} and whose
// /items route caches by ?type, and returns an apigateway client.
func startRelease(t *testing.T) *releaseEnv {
	t.Helper()
	re := &releaseEnv{be: newBackend(t)}
	re.env = apptest.Start(t, apptest.Options{
		Settings: func(s *app.Settings) { s.AdminToken = releaseToken },
		Populate: []any{&re.cache, &re.svc},
	})
	re.clockNS.Store(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	re.cache.SetClock(func() time.Time { return time.Unix(0, re.clockNS.Load()) })
	re.ag = apigateway.New(apigateway.Options{
		BaseEndpoint: aws.String(re.env.AdminURL), Region: "us-east-1", RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("portico", releaseToken, ""),
	})
	doc := fmt.Sprintf(`openapi: 3.0.1
info: {title: release, version: "1"}
paths:
  /color:
    get:
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: %[1]s/${stageVariables.color}
  /items:
    get:
      parameters:
        - {name: type, in: query, schema: {type: string}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: %[1]s/items
        cacheKeyParameters: [method.request.querystring.type]
`, re.be.srv.URL)
	re.apiID = importAPI(t, re.env, doc, "REST")
	return re
}

func importAPI(t *testing.T, env *apptest.Env, doc, protocol string) string {
	t.Helper()
	resp, err := env.Client().Do(context.Background(), http.MethodPost, "/portico/v1/apis/import",
		url.Values{"protocol": {protocol}}, []byte(doc), http.Header{"Content-Type": {"application/yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	if err := json.Unmarshal(resp.Body, &imp); err != nil || imp.API.ID == "" {
		t.Fatalf("import: %s %v", resp.Body, err)
	}
	return imp.API.ID
}

func (re *releaseEnv) advance(d time.Duration) { re.clockNS.Add(int64(d)) }

// call GETs path on stage prod and returns the backend path that answered.
func (re *releaseEnv) call(t *testing.T, path string, hdr http.Header) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, re.env.GatewayURL+"/"+re.apiID+"/prod"+path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (re *releaseEnv) colors(t *testing.T, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		status, body, _ := re.call(t, "/color", nil)
		var v struct{ Path string }
		if status != 200 || json.Unmarshal([]byte(body), &v) != nil {
			t.Fatalf("GET /color: %d %s", status, body)
		}
		out[strings.TrimPrefix(v.Path, "/")]++
	}
	return out
}

func (re *releaseEnv) update(t *testing.T, ops ...agtypes.PatchOperation) *apigateway.UpdateStageOutput {
	t.Helper()
	out, err := re.ag.UpdateStage(context.Background(), &apigateway.UpdateStageInput{
		RestApiId: aws.String(re.apiID), StageName: aws.String("prod"), PatchOperations: ops})
	if err != nil {
		t.Fatalf("update-stage %v: %v", ops, err)
	}
	return out
}

func op(o agtypes.Op, path, value string) agtypes.PatchOperation {
	p := agtypes.PatchOperation{Op: o, Path: aws.String(path)}
	if value != "" || o != agtypes.OpRemove {
		p.Value = aws.String(value)
	}
	return p
}

func TestCanaryReleaseSDK(t *testing.T) {
	t.Parallel()
	re := startRelease(t)
	ctx := context.Background()
	base, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Description: aws.String("blue"), Variables: map[string]string{"color": "blue"}})
	if err != nil {
		t.Fatal(err)
	}
	canary, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Description: aws.String("green"),
		CanarySettings: &agtypes.DeploymentCanarySettings{PercentTraffic: 25, StageVariableOverrides: map[string]string{"color": "green"}}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(st.DeploymentId) != aws.ToString(base.Id) || st.CanarySettings == nil ||
		aws.ToString(st.CanarySettings.DeploymentId) != aws.ToString(canary.Id) || st.CanarySettings.PercentTraffic != 25 {
		t.Fatalf("stage after a canary deployment: deployment %s, canary %+v", aws.ToString(st.DeploymentId), st.CanarySettings)
	}

	// 25%: 400 draws, binomial sd = sqrt(400*.25*.75) ~ 8.7; 6 sigma is +-52,
	// outside which an unseeded binomial(400, 0.25) falls 3.5 times in 10^9
	// (5 sigma: 7 in 10^7).
	const n = 400
	got := re.colors(t, n)
	if got["green"]+got["blue"] != n || got["green"] < 100-52 || got["green"] > 100+52 {
		t.Fatalf("a 25%% canary answered %v of %d calls", got, n)
	}

	// A decimal share, through update-stage.
	re.update(t, op(agtypes.OpReplace, "/canarySettings/percentTraffic", "0.0"))
	if got := re.colors(t, 50); got["green"] != 0 {
		t.Fatalf("a 0%% canary answered %v", got)
	}

	// Removing the canary leaves the base.
	out := re.update(t, agtypes.PatchOperation{Op: agtypes.OpRemove, Path: aws.String("/canarySettings")})
	if out.CanarySettings != nil {
		t.Fatalf("canary still there after remove: %+v", out.CanarySettings)
	}
	if got := re.colors(t, 50); got["blue"] != 50 {
		t.Fatalf("after removing the canary: %v", got)
	}
	// Removing an override of the canary that is no longer there is
	// refused, and does not make a canary (r-stages28 #6).
	_, err = re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
		PatchOperations: []agtypes.PatchOperation{op(agtypes.OpRemove, "/canarySettings/stageVariableOverrides/color", "")}})
	if ae := (smithy.APIError)(nil); !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" || !strings.Contains(ae.ErrorMessage(), "stage prod has no canary") {
		t.Fatalf("remove an override without a canary: %v, want BadRequestException: stage prod has no canary", err)
	}
	if st, err := re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")}); err != nil || st.CanarySettings != nil {
		t.Fatalf("after removing an override without a canary: canary %+v, %v", st.CanarySettings, err)
	}

	// A canary created by update-stage sits on the current deployment; point it
	// at the green deployment, send everything there, then promote.
	out = re.update(t, op(agtypes.OpReplace, "/canarySettings/percentTraffic", "100"),
		op(agtypes.OpReplace, "/canarySettings/stageVariableOverrides/color", "green"))
	if out.CanarySettings == nil || aws.ToString(out.CanarySettings.DeploymentId) != aws.ToString(base.Id) {
		t.Fatalf("a canary created by update-stage: %+v", out.CanarySettings)
	}
	re.update(t, op(agtypes.OpReplace, "/canarySettings/deploymentId", aws.ToString(canary.Id)))
	if got := re.colors(t, 30); got["green"] != 30 {
		t.Fatalf("a 100%% canary answered %v", got)
	}
	promote := []agtypes.PatchOperation{
		{Op: agtypes.OpCopy, From: aws.String("/canarySettings/stageVariableOverrides"), Path: aws.String("/variables")},
		{Op: agtypes.OpCopy, From: aws.String("/canarySettings/deploymentId"), Path: aws.String("/deploymentId")},
		op(agtypes.OpReplace, "/canarySettings/percentTraffic", "0")}
	// A promotion conditional on the canary it was asked for (the console's
	// Promote): one that names another is a 409 that names the canary's
	// deployment now, and changes nothing; test supports no other path.
	for _, tc := range []struct {
		test agtypes.PatchOperation
		code string
		msg  string
	}{
		{op(agtypes.OpTest, "/canarySettings/deploymentId", aws.ToString(base.Id)), "ConflictException", "serves deployment " + aws.ToString(canary.Id) + " now, not " + aws.ToString(base.Id)},
		{op(agtypes.OpTest, "/variables/color", "green"), "BadRequestException", "test only /canarySettings/deploymentId"},
		// The overrides the promotion merges are part of what was asked:
		// others set since are a 409 too, none ({}) included.
		{op(agtypes.OpTest, "/canarySettings/stageVariableOverrides", `{"color":"red"}`), "ConflictException", "are {color=green} now, not {color=red}"},
		{op(agtypes.OpTest, "/canarySettings/stageVariableOverrides", `{}`), "ConflictException", "are {color=green} now, not none"},
		{op(agtypes.OpTest, "/canarySettings/stageVariableOverrides", `{"color":"green","admin":"true"}`), "ConflictException", "not {admin=true, color=green}"},
		{op(agtypes.OpTest, "/canarySettings/stageVariableOverrides", `["color"]`), "BadRequestException", "is not a JSON object of strings"},
		{op(agtypes.OpTest, "/canarySettings/stageVariableOverrides", `null`), "BadRequestException", "is not a JSON object of strings"},
	} {
		_, err := re.ag.UpdateStage(context.Background(), &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
			PatchOperations: append([]agtypes.PatchOperation{tc.test}, promote...)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tc.code || !strings.Contains(ae.ErrorMessage(), tc.msg) {
			t.Fatalf("promote with test %s %s: %v, want %s saying %q", aws.ToString(tc.test.Path), aws.ToString(tc.test.Value), err, tc.code, tc.msg)
		}
	}
	if got := re.colors(t, 10); got["green"] != 10 {
		t.Fatalf("after refused promotions the canary answered %v", got)
	}
	out = re.update(t, append([]agtypes.PatchOperation{op(agtypes.OpTest, "/canarySettings/deploymentId", aws.ToString(canary.Id)),
		op(agtypes.OpTest, "/canarySettings/stageVariableOverrides", `{"color":"green"}`)}, promote...)...)
	if aws.ToString(out.DeploymentId) != aws.ToString(canary.Id) || out.Variables["color"] != "green" || out.CanarySettings == nil {
		t.Fatalf("after promotion: deployment %s, variables %v, canary %+v", aws.ToString(out.DeploymentId), out.Variables, out.CanarySettings)
	}
	if got := re.colors(t, 50); got["green"] != 50 {
		t.Fatalf("after promotion: %v", got)
	}
}

func TestStageCacheSDK(t *testing.T) {
	t.Parallel()
	re := startRelease(t)
	ctx := context.Background()
	if _, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Variables: map[string]string{"color": "blue"},
		CacheClusterEnabled: aws.Bool(true), CacheClusterSize: agtypes.CacheClusterSizeSize0Point5Gb}); err != nil {
		t.Fatal(err)
	}
	out := re.update(t, op(agtypes.OpReplace, "/*/*/caching/enabled", "true"), op(agtypes.OpReplace, "/*/*/caching/ttlInSeconds", "60"))
	if !out.CacheClusterEnabled || out.CacheClusterSize != agtypes.CacheClusterSizeSize0Point5Gb ||
		!out.MethodSettings["*/*"].CachingEnabled || out.MethodSettings["*/*"].CacheTtlInSeconds != 60 {
		t.Fatalf("stage after enabling the cache: %+v %+v", out, out.MethodSettings)
	}
	get := func(q string, hdr http.Header) (string, http.Header) {
		t.Helper()
		status, body, h := re.call(t, "/items"+q, hdr)
		if status != 200 {
			t.Fatalf("GET /items%s: %d %s", q, status, body)
		}
		return body, h
	}
	a1, _ := get("?type=a", nil)
	a2, _ := get("?type=a", nil)
	if a1 != a2 || re.be.count("/items") != 1 {
		t.Fatalf("a cached GET reached the backend again: %s / %s (calls %d)", a1, a2, re.be.count("/items"))
	}
	b1, _ := get("?type=b", nil)
	if b1 == a1 || re.be.count("/items") != 2 {
		t.Fatalf("another cache key parameter value shared the entry")
	}
	re.advance(59 * time.Second)
	if a, _ := get("?type=a", nil); a != a1 {
		t.Fatalf("within the TTL: %s", a)
	}
	re.advance(time.Second)
	a3, _ := get("?type=a", nil)
	if a3 == a1 || re.be.count("/items") != 3 {
		t.Fatalf("after the TTL the cached answer stayed: %s (calls %d)", a3, re.be.count("/items"))
	}

	maxAge := http.Header{"Cache-Control": {"max-age=0"}}
	re.update(t, op(agtypes.OpReplace, "/*/*/caching/requireAuthorizationForCacheControl", "true"),
		op(agtypes.OpReplace, "/*/*/caching/unauthorizedCacheControlHeaderStrategy", "FAIL_WITH_403"))
	status, body, _ := re.call(t, "/items?type=a", maxAge)
	if status != 403 || re.be.count("/items") != 3 {
		t.Fatalf("FAIL_WITH_403: %d %s (calls %d)", status, body, re.be.count("/items"))
	}
	// The first call after an update compiles the stage again; the cache lives on.
	for _, tc := range []struct {
		strategy string
		warning  bool
	}{{"SUCCEED_WITH_RESPONSE_HEADER", true}, {"SUCCEED_WITHOUT_RESPONSE_HEADER", false}} {
		re.update(t, op(agtypes.OpReplace, "/*/*/caching/unauthorizedCacheControlHeaderStrategy", tc.strategy))
		got, h := get("?type=a", maxAge)
		if got != a3 || re.be.count("/items") != 3 || (h.Get("Warning") != "") != tc.warning {
			t.Fatalf("%s: %s, warning %q (calls %d)", tc.strategy, got, h.Get("Warning"), re.be.count("/items"))
		}
	}
	// Signed with the admin credentials: authorized, refetches and replaces.
	req, _ := http.NewRequest(http.MethodGet, re.env.GatewayURL+"/"+re.apiID+"/prod/items?type=a", nil)
	req.Header.Set("Cache-Control", "max-age=0")
	sigv4test.SignNow(t, req, aws.Credentials{AccessKeyID: "portico", SecretAccessKey: releaseToken}, nil, "execute-api")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(fresh) == a3 || re.be.count("/items") != 4 {
		t.Fatalf("signed max-age=0: %d %s (calls %d)", resp.StatusCode, fresh, re.be.count("/items"))
	}
	if a, _ := get("?type=a", nil); a != string(fresh) {
		t.Fatalf("the refetched answer did not replace the entry: %s", a)
	}

	// Flush.
	if _, err := re.ag.FlushStageCache(ctx, &apigateway.FlushStageCacheInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	get("?type=a", nil)
	get("?type=b", nil)
	if re.be.count("/items") != 6 {
		t.Fatalf("after a flush: calls %d, want 6", re.be.count("/items"))
	}
	if s := re.cache.Stats(re.apiID, "prod")["/items/GET"]; s.Hits == 0 || s.Misses != 6 {
		t.Fatalf("hit/miss counts %+v", s)
	}
}

// apiErr returns the SDK error's code and the HTTP status.
func apiErr(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func TestStageAPIBadInput(t *testing.T) {
	t.Parallel()
	re := startRelease(t)
	ctx := context.Background()
	if _, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Variables: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	_, err := re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("nope")})
	if code, _ := apiErr(t, err); code != "NotFoundException" {
		t.Fatalf("unknown stage: %s", code)
	}
	_, err = re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("nope"),
		PatchOperations: []agtypes.PatchOperation{op(agtypes.OpReplace, "/description", "x")}})
	if code, _ := apiErr(t, err); code != "NotFoundException" {
		t.Fatalf("update of an unknown stage: %s", code)
	}
	_, err = re.ag.FlushStageCache(ctx, &apigateway.FlushStageCacheInput{RestApiId: aws.String(re.apiID), StageName: aws.String("nope")})
	if code, _ := apiErr(t, err); code != "NotFoundException" {
		t.Fatalf("flush of an unknown stage: %s", code)
	}
	// flush-stage-authorizers-cache (r-authz20): 202 on a stage, 404 on none
	// (gateway/auth's TestResultCacheTTL checks what it drops).
	if _, err := re.ag.FlushStageAuthorizersCache(ctx, &apigateway.FlushStageAuthorizersCacheInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod")}); err != nil {
		t.Fatalf("flush-stage-authorizers-cache: %v", err)
	}
	_, err = re.ag.FlushStageAuthorizersCache(ctx, &apigateway.FlushStageAuthorizersCacheInput{RestApiId: aws.String(re.apiID), StageName: aws.String("nope")})
	if code, _ := apiErr(t, err); code != "NotFoundException" {
		t.Fatalf("authorizers flush of an unknown stage: %s", code)
	}
	for _, tc := range []struct {
		name    string
		ops     []agtypes.PatchOperation
		mention string
	}{
		{"percent over 100", []agtypes.PatchOperation{op(agtypes.OpReplace, "/canarySettings/percentTraffic", "100.5")}, "/canarySettings/percentTraffic"},
		{"percent negative", []agtypes.PatchOperation{op(agtypes.OpReplace, "/canarySettings/percentTraffic", "-1")}, "/canarySettings/percentTraffic"},
		{"cache size", []agtypes.PatchOperation{op(agtypes.OpReplace, "/cacheClusterSize", "3")}, "/cacheClusterSize"},
		{"ttl", []agtypes.PatchOperation{op(agtypes.OpReplace, "/*/*/caching/ttlInSeconds", "3601")}, "/*/*/caching/ttlInSeconds"},
		{"ttl not a number", []agtypes.PatchOperation{op(agtypes.OpReplace, "/*/*/caching/ttlInSeconds", "soon")}, "/*/*/caching/ttlInSeconds"},
		// Every TTL refusal names the range taken (r-stages26 #3), where a
		// fraction was told "an integer from -2147483648 to 2147483647".
		{"ttl range", []agtypes.PatchOperation{op(agtypes.OpReplace, "/*/*/caching/ttlInSeconds", "-1")}, "an integer from 0 to 3600"},
		{"ttl fraction", []agtypes.PatchOperation{op(agtypes.OpReplace, "/~1pets/GET/caching/ttlInSeconds", "10.5")}, "an integer from 0 to 3600"},
		{"unknown path", []agtypes.PatchOperation{op(agtypes.OpReplace, "/bogus", "1")}, "/bogus"},
		// The way to clear it, said (r-stages26 #4).
		{"remove description", []agtypes.PatchOperation{{Op: agtypes.OpRemove, Path: aws.String("/description")}}, "clear the description with op 'replace' and no value"},
		{"unknown setting", []agtypes.PatchOperation{op(agtypes.OpReplace, "/*/*/caching/colour", "1")}, "/*/*/caching/colour"},
		{"bad method key", []agtypes.PatchOperation{op(agtypes.OpReplace, "/~1pets/FETCH/throttling/rateLimit", "1")}, "/~1pets/FETCH/throttling/rateLimit"},
		{"remove overrides", []agtypes.PatchOperation{{Op: agtypes.OpRemove, Path: aws.String("/canarySettings/stageVariableOverrides")}}, "/canarySettings/stageVariableOverrides"},
		{"bad strategy", []agtypes.PatchOperation{op(agtypes.OpReplace, "/*/*/caching/unauthorizedCacheControlHeaderStrategy", "MAYBE")}, "unauthorizedCacheControlHeaderStrategy"},
		{"copy elsewhere", []agtypes.PatchOperation{{Op: agtypes.OpCopy, From: aws.String("/variables"), Path: aws.String("/description")}}, "/description"},
		{"promote without a canary", []agtypes.PatchOperation{{Op: agtypes.OpCopy, From: aws.String("/canarySettings/deploymentId"), Path: aws.String("/deploymentId")}}, "canary"},
		// A good operation before a bad one: nothing is applied.
		{"half", []agtypes.PatchOperation{op(agtypes.OpReplace, "/variables/color", "red"), op(agtypes.OpReplace, "/cacheClusterEnabled", "yes")}, "/cacheClusterEnabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"), PatchOperations: tc.ops})
			code, msg := apiErr(t, err)
			if code != "BadRequestException" || !strings.Contains(msg, tc.mention) {
				t.Fatalf("%s: %s %q, want BadRequestException naming %s", tc.name, code, msg, tc.mention)
			}
		})
	}
	st, err := re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	if st.Variables["color"] != "blue" || st.CanarySettings != nil || st.CacheClusterEnabled {
		t.Fatalf("a refused update left changes: %+v", st)
	}
	// patchOperations is optional (as in update-deployment and
	// update-rest-api): none answers the stage as it is; an unknown stage
	// is still 404.
	noop, err := re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")})
	if err != nil || noop.Variables["color"] != "blue" || aws.ToString(noop.DeploymentId) != aws.ToString(st.DeploymentId) ||
		!aws.ToTime(noop.LastUpdatedDate).Equal(aws.ToTime(st.LastUpdatedDate)) {
		t.Fatalf("update-stage without operations: %+v %v", noop, err)
	}
	_, err = re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("nope")})
	if code, _ := apiErr(t, err); code != "NotFoundException" {
		t.Fatalf("update of an unknown stage without operations: %s", code)
	}
	_, err = re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod"),
		CanarySettings: &agtypes.DeploymentCanarySettings{PercentTraffic: 101}})
	if code, _ := apiErr(t, err); code != "BadRequestException" {
		t.Fatalf("a deployment with a 101%% canary: %s", code)
	}
	// A canary goes into an existing stage: the 404 says to deploy without
	// one first, and nothing is created.
	_, err = re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID), StageName: aws.String("newst"),
		CanarySettings: &agtypes.DeploymentCanarySettings{PercentTraffic: 5}})
	if code, msg := apiErr(t, err); code != "NotFoundException" || !strings.Contains(msg, `deploy to stage "newst" without canarySettings`) {
		t.Fatalf("a canary deployment to a missing stage: %s %q", code, msg)
	}
	if _, err := re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("newst")}); err == nil {
		t.Fatal("a refused canary deployment created its stage")
	}

	// An HTTP API is apigatewayv2's: this control plane does not know its id
	// (it deployed it and took REST settings, canaries refused, on its stages).
	httpID := importAPI(t, re.env, `openapi: 3.0.1
info: {title: h, version: "1"}
paths:
  /x:
    get:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "http://127.0.0.1:1/x", payloadFormatVersion: "1.0"}
`, "HTTP")
	_, err = re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(httpID), StageName: aws.String("dev")})
	if code, msg := apiErr(t, err); code != "NotFoundException" || !strings.Contains(msg, "Invalid API identifier specified") {
		t.Fatalf("create-deployment of an HTTP API: %s %q", code, msg)
	}
	_, err = re.ag.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: aws.String(httpID), StageName: aws.String("dev"),
		PatchOperations: []agtypes.PatchOperation{op(agtypes.OpReplace, "/canarySettings/percentTraffic", "10")}})
	if code, msg := apiErr(t, err); code != "NotFoundException" || !strings.Contains(msg, "Invalid API identifier specified") {
		t.Fatalf("canary on an HTTP API: %s %q", code, msg)
	}

	// A per-method setting created later copies the current */* values.
	re.update(t, op(agtypes.OpReplace, "/*/*/throttling/rateLimit", "50"), op(agtypes.OpReplace, "/*/*/caching/ttlInSeconds", "120"))
	out := re.update(t, op(agtypes.OpReplace, "/~1color/GET/throttling/burstLimit", "7"))
	if m := out.MethodSettings["~1color/GET"]; m.ThrottlingRateLimit != 50 || m.CacheTtlInSeconds != 120 || m.ThrottlingBurstLimit != 7 {
		t.Fatalf("a new per-method setting: %+v (all %v)", m, out.MethodSettings)
	}
	out = re.update(t, agtypes.PatchOperation{Op: agtypes.OpRemove, Path: aws.String("/~1color/GET")})
	if _, ok := out.MethodSettings["~1color/GET"]; ok {
		t.Fatal("remove of a per-method setting left it")
	}
	stages, err := re.ag.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: aws.String(re.apiID)})
	if err != nil || len(stages.Item) != 1 || aws.ToString(stages.Item[0].StageName) != "prod" {
		t.Fatalf("get-stages: %+v %v", stages, err)
	}
}

// TestCanaryDeploymentSetsVariables: create-deployment's variables are the
// stage's variables, also when the deployment goes to the stage's canary
// (AWS: "the stage variables for the Stage resource that is associated with
// the new deployment"); before, they were dropped without a word.
func TestCanaryDeploymentSetsVariables(t *testing.T) {
	t.Parallel()
	re := startRelease(t)
	ctx := context.Background()
	if _, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Variables: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Variables: map[string]string{"cv": "1"},
		CanarySettings: &agtypes.DeploymentCanarySettings{PercentTraffic: 10, StageVariableOverrides: map[string]string{"color": "green"}}}); err != nil {
		t.Fatal(err)
	}
	st, err := re.ag.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(re.apiID), StageName: aws.String("prod")})
	if err != nil {
		t.Fatal(err)
	}
	if st.Variables["cv"] != "1" || st.Variables["color"] != "blue" {
		t.Errorf("stage variables after a canary deployment with variables: %v, want cv=1 and color=blue", st.Variables)
	}
	if st.CanarySettings == nil || st.CanarySettings.StageVariableOverrides["color"] != "green" || st.CanarySettings.PercentTraffic != 10 {
		t.Errorf("canary settings: %+v", st.CanarySettings)
	}
	// Invalid variables are refused, canary or not.
	_, err = re.ag.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(re.apiID),
		StageName: aws.String("prod"), Variables: map[string]string{"bad name": "1"},
		CanarySettings: &agtypes.DeploymentCanarySettings{PercentTraffic: 10}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "BadRequestException" {
		t.Errorf("invalid variables on a canary deployment: %v, want BadRequestException", err)
	}
}
