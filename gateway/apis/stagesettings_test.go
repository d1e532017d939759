package apis

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

func ptr[T any](v T) *T { return &v }

func TestMethodSettingsCopyAllAtCreation(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a, _ := s.Create(ctx, helloAPI())
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.UpdateStage(ctx, a.ID, "dev", StagePatch{MethodSettings: []MethodSettingPatch{{Key: "~1hello/GET", MetricsEnabled: ptr(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.MethodSettings["~1hello/GET"]; rateOf(got) != -1 || got.CacheTTLInSeconds != DefaultCacheTTL || !got.MetricsEnabled {
		t.Fatalf("an entry without */* to copy: %+v", got)
	}
	st, err = s.UpdateStage(ctx, a.ID, "dev", StagePatch{MethodSettings: []MethodSettingPatch{
		{Key: "*/*", ThrottlingRateLimit: ptr(10.0), ThrottlingBurstLimit: ptr(5)},
		{Key: "~1{proxy+}/ANY", CacheTTLInSeconds: ptr(30)},
		{Key: "*/*", ThrottlingRateLimit: ptr(20.0)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.MethodSettings["~1{proxy+}/ANY"]; rateOf(got) != 10 || burstOf(got) != 5 || got.CacheTTLInSeconds != 30 {
		t.Fatalf("a later entry copies */* as it was then: %+v", got)
	}
	if got := st.MethodSettings["~1hello/GET"]; rateOf(got) != -1 {
		t.Fatalf("an existing entry changed with */*: %+v", got)
	}
	if ms, own, ok := st.EffectiveMethodSetting("/other", "GET"); own || !ok || rateOf(ms) != 20 {
		t.Fatalf("effective setting of a method without its own: %+v %v %v", ms, own, ok)
	}
	for name, p := range map[string]MethodSettingPatch{
		"ttl":      {Key: "*/*", CacheTTLInSeconds: ptr(3601)},
		"strategy": {Key: "*/*", UnauthorizedCacheControlHeaderStrategy: ptr("SOMETIMES")},
		"key":      {Key: "GET", MetricsEnabled: ptr(true)},
		"any verb": {Key: "~1pets/*", MetricsEnabled: ptr(true)},
		"any path": {Key: "*/GET", MetricsEnabled: ptr(true)},
		"no path":  {Key: "/GET", MetricsEnabled: ptr(true)},
		"method":   {Key: "/pets/FETCH", MetricsEnabled: ptr(true)},
		"remove":   {Key: "/nothing/GET", Remove: true},
		"level":    {Key: "*/*", LoggingLevel: ptr("DEBUG")},
		"rate":     {Key: "*/*", ThrottlingRateLimit: ptr(-2.0)},
	} {
		// A good change before the bad one is not applied either.
		_, err := s.UpdateStage(ctx, a.ID, "dev", StagePatch{Description: ptr("changed"),
			MethodSettings: []MethodSettingPatch{{Key: "*/*", ThrottlingRateLimit: ptr(99.0)}, p}})
		if !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	st, _ = s.GetStage(ctx, a.ID, "dev")
	if st.Description != "" || rateOf(st.MethodSettings["*/*"]) != 20 {
		t.Fatalf("a refused update left changes: %q %+v", st.Description, st.MethodSettings["*/*"])
	}
}

func TestCanaryLifecycle(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a, _ := s.Create(ctx, helloAPI())
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "prod", Canary: &CanarySettings{PercentTraffic: 5}}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("a canary deployment into a missing stage: %v", err)
	}
	if list, _ := s.ListDeployments(ctx, a.ID); len(list) != 0 {
		t.Fatalf("a refused canary deployment was stored: %v", list)
	}
	base, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "prod", Variables: map[string]string{"alias": "live", "keep": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateStage(ctx, a.ID, "prod", StagePatch{PromoteDeployment: true}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("promote without a canary: %v", err)
	}
	for _, p := range []float64{-0.1, 100.01} {
		if _, err := s.UpdateStage(ctx, a.ID, "prod", StagePatch{Canary: &CanaryPatch{PercentTraffic: &p}}); !errors.Is(err, errdefs.ErrInvalid) {
			t.Fatalf("percent %v: %v", p, err)
		}
	}
	canary, st, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "prod",
		Canary: &CanarySettings{PercentTraffic: 12.5, StageVariableOverrides: map[string]string{"alias": "beta"}}})
	if err != nil {
		t.Fatal(err)
	}
	if st.DeploymentID != base.ID || st.CanarySettings.DeploymentID != canary.ID || st.CanaryVariables()["alias"] != "beta" || st.CanaryVariables()["keep"] != "1" {
		t.Fatalf("after a canary deployment: %+v %+v", st, st.CanarySettings)
	}
	// A promotion that names another canary (the page that asked read it
	// before a newer canary deployment) is refused whole.
	for _, want := range []string{base.ID, "gone123456"} {
		if _, err := s.UpdateStage(ctx, a.ID, "prod", StagePatch{ExpectCanaryDeployment: &want, PromoteDeployment: true, PromoteVariables: true,
			Canary: &CanaryPatch{PercentTraffic: ptr(0.0)}}); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "serves deployment "+canary.ID+" now") {
			t.Fatalf("promote expecting canary %s: %v, want ErrConflict naming %s", want, err, canary.ID)
		}
	}
	if st, _ := s.GetStage(ctx, a.ID, "prod"); st.DeploymentID != base.ID || st.Variables["alias"] != "live" || st.CanarySettings.PercentTraffic != 12.5 {
		t.Fatalf("a refused promotion changed the stage: %+v %+v", st, st.CanarySettings)
	}
	// Nor is one that names other variable overrides than the canary's: the
	// user confirmed merging those.
	for _, want := range []map[string]string{{}, {"alias": "evil"}, {"alias": "beta", "admin": "true"}} {
		if _, err := s.UpdateStage(ctx, a.ID, "prod", StagePatch{ExpectCanaryDeployment: &canary.ID, ExpectCanaryOverrides: want, PromoteDeployment: true, PromoteVariables: true,
			Canary: &CanaryPatch{PercentTraffic: ptr(0.0)}}); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "are {alias=beta} now") {
			t.Fatalf("promote expecting overrides %v: %v, want ErrConflict naming alias=beta", want, err)
		}
	}
	if st, _ := s.GetStage(ctx, a.ID, "prod"); st.DeploymentID != base.ID || st.Variables["alias"] != "live" || st.CanarySettings.PercentTraffic != 12.5 {
		t.Fatalf("a refused promotion changed the stage: %+v %+v", st, st.CanarySettings)
	}
	st, err = s.UpdateStage(ctx, a.ID, "prod", StagePatch{ExpectCanaryDeployment: &canary.ID, ExpectCanaryOverrides: map[string]string{"alias": "beta"},
		PromoteDeployment: true, PromoteVariables: true, Canary: &CanaryPatch{PercentTraffic: ptr(0.0)}})
	if err != nil {
		t.Fatal(err)
	}
	if st.DeploymentID != canary.ID || st.Variables["alias"] != "beta" || st.Variables["keep"] != "1" || st.CanarySettings == nil ||
		st.CanarySettings.PercentTraffic != 0 || st.History[len(st.History)-1].Action != ActionPromote {
		t.Fatalf("after promotion: %+v %+v", st, st.CanarySettings)
	}
	st, err = s.UpdateStage(ctx, a.ID, "prod", StagePatch{Canary: &CanaryPatch{Remove: true}})
	if err != nil || st.CanarySettings != nil || st.DeploymentID != canary.ID {
		t.Fatalf("after removal: %v %+v", err, st)
	}
	if _, err := s.UpdateStage(ctx, a.ID, "prod", StagePatch{ExpectCanaryDeployment: &canary.ID, PromoteDeployment: true}); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "has no canary now") {
		t.Fatalf("promote expecting a canary that was removed: %v, want ErrConflict", err)
	}
	if _, err := s.UpdateStage(ctx, a.ID, "prod", StagePatch{ExpectCanaryOverrides: map[string]string{}, PromoteVariables: true}); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "has no canary now") {
		t.Fatalf("promote expecting the overrides of a canary that was removed: %v, want ErrConflict", err)
	}
	h := helloAPI()
	h.Protocol = ProtocolHTTP
	ha, _ := s.Create(ctx, h)
	if _, _, err := s.Deploy(ctx, ha.ID, DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateStage(ctx, ha.ID, "dev", StagePatch{Canary: &CanaryPatch{PercentTraffic: ptr(1.0)}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("a canary on an HTTP API: %v", err)
	}
	if _, _, err := s.Deploy(ctx, ha.ID, DeployInput{StageName: "dev", Canary: &CanarySettings{PercentTraffic: 1}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("a canary deployment on an HTTP API: %v", err)
	}
}

// TestMethodSettingsKeepCachingAsItWas: on a stage whose cache is on, GET
// methods are cached without any method setting; a patch that sets only
// throttling creates "*/*" (or a method's entry) with caching as it was in
// effect: on for GET methods, off for others. On a stage without a cache a new
// entry starts with caching off, as DefaultMethodSetting has it.
func TestMethodSettingsKeepCachingAsItWas(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a, _ := s.Create(ctx, helloAPI())
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "nocache"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.UpdateStage(ctx, a.ID, "dev", StagePatch{CacheClusterEnabled: ptr(true), MethodSettings: []MethodSettingPatch{
		{Key: "*/*", ThrottlingRateLimit: ptr(100.0)},
		{Key: "~1hello/POST", ThrottlingRateLimit: ptr(10.0)},
		{Key: "~1other/GET", ThrottlingRateLimit: ptr(10.0)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !st.MethodSettings["*/*"].CachingEnabled || !st.MethodSettings["~1other/GET"].CachingEnabled || st.MethodSettings["~1hello/POST"].CachingEnabled {
		t.Fatalf("caching changed by throttling patches: %+v", st.MethodSettings)
	}
	if ms, own, ok := st.EffectiveMethodSetting("/hello", "GET"); own || !ok || !ms.CachingEnabled {
		t.Fatalf("GET /hello is no longer cached: %+v %v %v", ms, own, ok)
	}
	st, err = s.UpdateStage(ctx, a.ID, "nocache", StagePatch{MethodSettings: []MethodSettingPatch{{Key: "*/*", ThrottlingRateLimit: ptr(100.0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if st.MethodSettings["*/*"].CachingEnabled {
		t.Fatalf("a stage without a cache: %+v", st.MethodSettings["*/*"])
	}
}

// rateOf and burstOf are a setting's throttle values, -1 when not set (as
// API Gateway shows them).
func rateOf(ms MethodSetting) float64 {
	if ms.ThrottlingRateLimit == nil {
		return -1
	}
	return *ms.ThrottlingRateLimit
}

func burstOf(ms MethodSetting) int {
	if ms.ThrottlingBurstLimit == nil {
		return -1
	}
	return *ms.ThrottlingBurstLimit
}

// TestMethodSettingsKeyForms: API Gateway's key escapes the resource path's
// slashes ("~1pets~1{id}/GET", the root "~1/GET"); the form without ~1 and an
// older Portico's "/pets/{id}/GET" name the same method; only */* is a
// wildcard.
func TestMethodSettingsKeyForms(t *testing.T) {
	if k := MethodSettingsKey("/pets/{id}", "GET"); k != "~1pets~1{id}/GET" {
		t.Errorf("key of GET /pets/{id}: %q", k)
	}
	if k := MethodSettingsKey("/", "POST"); k != "~1/POST" {
		t.Errorf("key of POST /: %q", k)
	}
	for key, want := range map[string]string{
		"~1pets~1{id}/GET": "/pets/{id} GET", "pets/{id}/GET": "/pets/{id} GET", "/pets/{id}/GET": "/pets/{id} GET",
		"~1/ANY": "/ ANY", "*/*": "* *", "~1a~0b/PUT": "/a~b PUT",
	} {
		p, m, err := ResolveMethodSettingsKey(key)
		if err != nil || p+" "+m != want {
			t.Errorf("%q: %q %q %v, want %s", key, p, m, err, want)
		}
	}
	for _, key := range []string{"~1pets/*", "*/GET", "/GET", "~1pets/FETCH", "GET", "~1pets~1/GET"} {
		if _, _, err := ResolveMethodSettingsKey(key); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", key, err)
		}
	}
}
