package deploy

import (
	"strings"
	"testing"
)

// withCanary is twoFunctions with a canary of pct percent on stage prod.
func withCanary(text, pct string) string {
	return strings.Replace(text, "      StageName: prod\n", "      StageName: prod\n      CanarySetting:\n        PercentTraffic: "+pct+"\n", 1)
}

// withTags tags the REST API: its SetRESTTags runs after the stage's patch,
// for a failure injected there to fail the deploy once the stage changed.
func withTags(text string) string {
	return strings.Replace(text, "      StageName: prod\n", "      StageName: prod\n      Tags:\n        team: pets\n", 1)
}

// canaryStage deploys twoFunctions with a canary of 10% and a second,
// changed, definition, which goes to the canary; it returns the API.
func canaryStage(t *testing.T, f *fakeTarget, dir string) *fakeAPI {
	t.Helper()
	if _, err := deployText(t, f, dir, "s", withCanary(twoFunctions, "10"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := deployText(t, f, dir, "s", withCanary(strings.Replace(twoFunctions, "Path: /hello", "Path: /hello2", 1), "10"), nil); err != nil {
		t.Fatal(err)
	}
	api := f.apis[f.stacks["s"].Resources["Api"].PhysicalID]
	if c := api.live["prod"].Canary; c == nil || c.PercentTraffic != 10 {
		t.Fatalf("stage prod's canary %+v, want 10%%", c)
	}
	return api
}

// TestCanaryDroppedFromTemplateLeavesTheStage: a template without the
// CanarySetting it had took the canary off nothing: the stage kept sending
// 10% of requests to the canary's deployment, and the next deploy said "up
// to date".
func TestCanaryDroppedFromTemplateLeavesTheStage(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	api := canaryStage(t, f, dir)
	plain := strings.Replace(twoFunctions, "Path: /hello", "Path: /hello2", 1)
	if _, err := deployText(t, f, dir, "s", plain, nil); err != nil {
		t.Fatal(err)
	}
	if c := api.live["prod"].Canary; c != nil {
		t.Fatalf("stage prod still has a canary (%+v) after a deploy of a template without one", c)
	}
	// A canary put back by hand (or left by a killed deploy) is seen.
	api.live["prod"].Canary = &SavedCanary{PercentTraffic: 50, DeploymentID: "dep1"}
	p, err := deployText(t, f, dir, "s", plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Empty() || api.live["prod"].Canary != nil {
		t.Fatalf("plan %s left the canary %+v the template does not have", actions(p), api.live["prod"].Canary)
	}
	if p, err := deployText(t, f, dir, "s", plain, nil); err != nil || !p.Empty() {
		t.Fatalf("a third deploy: plan %v, err %v; want up to date", p, err)
	}
}

// TestFailedDeployPutsBackTheCanary: a failed deploy that had made a new
// canary deployment (or changed the canary's percentage) left it serving,
// while saying "rolled back".
func TestFailedDeployPutsBackTheCanary(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	api := canaryStage(t, f, dir)
	was := *api.live["prod"].Canary
	for name, text := range map[string]string{
		"new canary deployment": withCanary(strings.Replace(twoFunctions, "Path: /hello", "Path: /hello3", 1), "50"),
		"canary dropped":        strings.Replace(twoFunctions, "Path: /hello", "Path: /hello2", 1),
	} {
		f.failAt = "SetRESTTags"
		if _, err := deployText(t, f, dir, "s", withTags(text), nil); err == nil || !strings.Contains(err.Error(), "rolled back") {
			t.Fatalf("%s: err = %v, want the injected failure, rolled back", name, err)
		}
		if c := api.live["prod"].Canary; c == nil || c.PercentTraffic != was.PercentTraffic || c.DeploymentID != was.DeploymentID {
			t.Fatalf("%s: canary after the rollback %+v, want %+v", name, c, was)
		}
	}
}

// throttled is twoFunctions with a stage-wide throttle of rate.
func throttled(rate string) string {
	return strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      MethodSettings:\n        - ResourcePath: /*\n          HttpMethod: '*'\n          ThrottlingRateLimit: "+rate+"\n          ThrottlingBurstLimit: 5\n", 1)
}

// TestFailedDeployPutsBackStageSettings: a failed deploy left the stage's
// throttle and variables as the failed template set them, and a redeploy
// of the old template said "up to date" (the record was the old one's).
func TestFailedDeployPutsBackStageSettings(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", throttled("10"), nil); err != nil {
		t.Fatal(err)
	}
	api := f.apis[f.stacks["s"].Resources["Api"].PhysicalID]
	live := api.live["prod"]
	check := func(when string) {
		t.Helper()
		if got := live.MethodSettings["*/*"]["throttlingRateLimit"]; got != "10" || live.Variables["alias"] != "live" || len(live.Variables) != 1 || len(live.MethodSettings) != 1 {
			t.Fatalf("%s: stage rate %v, method settings %v, variables %v; want 10, */* only, alias=live only", when, got, live.MethodSettings, live.Variables)
		}
	}
	check("first deploy")
	bad := strings.Replace(throttled("1000"), "        alias: live\n", "        alias: other\n        extra: x\n", 1)
	bad = strings.Replace(bad, "          ThrottlingBurstLimit: 5\n", "          ThrottlingBurstLimit: 5\n        - ResourcePath: /hello\n          HttpMethod: GET\n          ThrottlingRateLimit: 1\n", 1)
	f.failAt = "SetRESTTags"
	if _, err := deployText(t, f, dir, "s", withTags(bad), nil); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	check("after the rollback")

	// A killed deploy undoes nothing: what it left is compared with the
	// template, not taken from the record.
	f.failAt = "SetRESTTags"
	f.down = false
	f.downAt = "SetRESTTags"
	if _, err := deployText(t, f, dir, "s", withTags(bad), nil); err == nil {
		t.Fatal("a deploy whose server went away succeeded")
	}
	f.down, f.downAt, f.failAt = false, "", ""
	if live.MethodSettings["*/*"]["throttlingRateLimit"] != "1000" {
		t.Fatalf("the killed deploy did not get as far as the stage: %v", live.MethodSettings)
	}
	p, out, err := deployOutput(t, f, dir, "s", throttled("10"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Empty() || !strings.Contains(out, "patch operations") {
		t.Fatalf("plan %s: the stage the killed deploy changed was taken as up to date", actions(p))
	}
	check("after the redeploy")
	if p, err := deployText(t, f, dir, "s", throttled("10"), nil); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}
}

// TestDroppedUsagePlanDeletedOnlyWhenTheDeploySucceeds: a template without
// the PER_API usage plan it had deleted the plan and its key while
// switching; a later failure then rolled back everything but them.
func TestDroppedUsagePlanDeletedOnlyWhenTheDeploySucceeds(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        ApiKeyRequired: true\n        UsagePlan:\n          CreateUsagePlan: PER_API\n", 1)
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Api"]
	if rec.UsagePlanID == "" || rec.APIKeyID == "" {
		t.Fatalf("no plan or key recorded: %+v", rec)
	}
	// The template drops the plan and a function (whose deletion fails).
	dropped := strings.Replace(twoFunctions, "        Any:\n          Type: HttpApi\n", "        Get:\n          Type: Api\n          Properties:\n            Path: /other\n            Method: get\n            RestApiId: !Ref Api\n", 1)
	if _, err := deployText(t, f, dir, "s", dropped, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.plans[rec.UsagePlanID]; ok {
		t.Fatalf("usage plan %s is still there after a successful deploy that dropped it", rec.UsagePlanID)
	}
	// Again, now with a failure after the switch.
	f2 := newFake()
	if _, err := deployText(t, f2, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	rec = f2.stacks["s"].Resources["Api"]
	f2.failAt = "DeleteAPI" // the HTTP API the template drops with Other's HttpApi event
	_, out, err := deployOutput(t, f2, dir, "s", dropped, nil)
	if err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	if _, ok := f2.plans[rec.UsagePlanID]; !ok || f2.keys[rec.APIKeyID] == "" {
		t.Fatalf("usage plan %s or API key %s is gone after a failed deploy:\n%s", rec.UsagePlanID, rec.APIKeyID, out)
	}
}

// TestMethodSettingOfNoMethodRefused: a MethodSettings entry naming a path
// or method the API does not have was set on the stage, where it throttles
// nothing; CloudFormation fails the stage ("Invalid method setting path").
func TestMethodSettingOfNoMethodRefused(t *testing.T) {
	dir := fixture(t)
	setting := func(path, method string) string {
		return strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      MethodSettings:\n        - ResourcePath: "+path+"\n          HttpMethod: "+method+"\n          ThrottlingRateLimit: 5\n", 1)
	}
	for _, c := range [][2]string{{"/nope", "GET"}, {"/hello", "POST"}, {"/~1nope", "GET"}} {
		_, err := deployText(t, newFake(), dir, "s", setting(c[0], c[1]), nil)
		if err == nil || !strings.Contains(err.Error(), "Invalid method setting path") || !strings.Contains(err.Error(), "its methods: GET /hello") {
			t.Errorf("%s %s: err = %v, want Invalid method setting path, naming GET /hello", c[0], c[1], err)
		}
	}
	for _, c := range [][2]string{{"/hello", "GET"}, {"/hello", "get"}, {"/~1hello", "GET"}, {"/hello", "'*'"}, {"/*", "'*'"}} {
		if _, err := deployText(t, newFake(), dir, "s", setting(c[0], c[1]), nil); err != nil {
			t.Errorf("%s %s: %v", c[0], c[1], err)
		}
	}
}

// TestBadCacheClusterSizeRefusedAtPlan: a CacheClusterSize the server
// refuses passed the plan (and so a dry run), to fail the deploy midway.
func TestBadCacheClusterSizeRefusedAtPlan(t *testing.T) {
	dir := fixture(t)
	size := func(v string) string {
		return strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      CacheClusterEnabled: true\n      CacheClusterSize: '"+v+"'\n", 1)
	}
	f := newFake()
	if _, err := planOf(t, f, dir, "s", size("2"), nil); err == nil || !strings.Contains(err.Error(), `CacheClusterSize "2" is not one of 0.5, 1.6, 6.1`) {
		t.Fatalf("plan of CacheClusterSize 2: %v", err)
	}
	if len(f.calls) != 0 {
		t.Fatalf("calls %v before the refusal", f.calls)
	}
	if _, err := planOf(t, f, dir, "s", size("0.5"), nil); err != nil {
		t.Fatalf("CacheClusterSize 0.5: %v", err)
	}
}

// TestStageDriftReadsTheServersShape: the stage as GetStage answers it
// (numbers as JSON numbers, a key as it was written) is no drift from the
// template that set it; what differs is named.
func TestStageDriftReadsTheServersShape(t *testing.T) {
	a := &API{Variables: map[string]string{"alias": "live"}, StageOps: []PatchOp{
		{Op: "replace", Path: "/~1hello/get/throttling/rateLimit", Value: "5"},
		{Op: "replace", Path: "/*/*/throttling/burstLimit", Value: "10"},
		{Op: "replace", Path: "/tracingEnabled", Value: "true"}}}
	live := func() *SavedStage {
		return &SavedStage{Variables: map[string]string{"alias": "live"}, TracingEnabled: true, MethodSettings: map[string]map[string]any{
			"~1hello/get": {"throttlingRateLimit": 5.0, "throttlingBurstLimit": -1.0, "metricsEnabled": false},
			"*/*":         {"throttlingBurstLimit": 10.0, "throttlingRateLimit": -1.0}}}
	}
	if d := stageDrift(a, live()); len(d) != 0 {
		t.Fatalf("drift %v of the stage the template set", d)
	}
	for name, change := range map[string]func(*SavedStage){
		"variables":                   func(s *SavedStage) { s.Variables["x"] = "y" },
		"canary":                      func(s *SavedStage) { s.Canary = &SavedCanary{PercentTraffic: 50} },
		"method settings */*":         func(s *SavedStage) { s.MethodSettings["*/*"]["throttlingBurstLimit"] = 1000.0 },
		"method settings ~1x/POST":    func(s *SavedStage) { s.MethodSettings["~1x/POST"] = map[string]any{} },
		"method settings ~1hello/GET": func(s *SavedStage) { delete(s.MethodSettings, "~1hello/get") },
		"tracing (off)":               func(s *SavedStage) { s.TracingEnabled = false },
		"cache cluster (on)":          func(s *SavedStage) { s.CacheClusterEnabled = true },
		"access log (to stdout; the template has none)": func(s *SavedStage) {
			s.AccessLog = &SavedAccessLog{DestinationArn: "stdout", Format: "clf"}
		},
	} {
		s := live()
		change(s)
		if d := strings.Join(stageDrift(a, s), "; "); !strings.HasPrefix(d, name) {
			t.Errorf("%s: drift %q", name, d)
		}
	}
}

// TestFailedDeployPutsBackHTTPStageSettings: a failed deploy left an HTTP
// API stage's DefaultRouteSettings as the failed template set them.
func TestFailedDeployPutsBackHTTPStageSettings(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", httpStageSettings, nil); err != nil {
		t.Fatal(err)
	}
	id := f.stacks["s"].Resources["Http"].PhysicalID
	first := f.apis[id].httpStage["dev"][1]
	f.failAt = "PutStack" // the record, the run's last step
	if _, err := deployText(t, f, dir, "s", strings.Replace(httpStageSettings, "ThrottlingBurstLimit: 100", "ThrottlingBurstLimit: 5000", 1), nil); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	if got := f.apis[id].httpStage["dev"][1]; got == nil || got.DefaultRouteSettings == nil || *got.DefaultRouteSettings.ThrottlingBurstLimit != *first.DefaultRouteSettings.ThrottlingBurstLimit {
		t.Fatalf("stage dev after the rollback: %+v, want the first deploy's %+v", got, first)
	}
}
