package deploy

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// limitedPlan is perAPIPlan with a quota and a throttle.
var limitedPlan = strings.Replace(perAPIPlan, "          CreateUsagePlan: PER_API\n",
	"          CreateUsagePlan: PER_API\n          Quota:\n            Limit: 100\n            Period: DAY\n          Throttle:\n            RateLimit: 10\n            BurstLimit: 5\n", 1)

// allSteps is the plan's steps, one a line.
func allSteps(p *Plan) string {
	var steps []string
	for _, c := range p.Changes {
		steps = append(steps, c.Steps...)
	}
	return strings.Join(steps, "\n")
}

// TestUsagePlanAndKeyDriftCorrected: a usage plan a killed deploy (or a
// change by hand) left with a looser quota and throttle, without the API's
// stage, and its API key disabled and taken out of the plan, are put back to
// the template's by the next deploy, which said "up to date": only the
// plan's fingerprint in the record was compared.
func TestUsagePlanAndKeyDriftCorrected(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", limitedPlan, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Api"]
	plan, key := rec.UsagePlanID, rec.APIKeyID
	if plan == "" || key == "" {
		t.Fatalf("no plan or key recorded: %+v", rec)
	}
	check := func(when string) {
		t.Helper()
		p := f.plans[plan]
		if !sameValue(p.Quota["limit"], "100") || !sameValue(p.Throttle["rateLimit"], "10") || !sameValue(p.Throttle["burstLimit"], "5") ||
			!slices.Contains(f.planStages[plan], APIStage{APIID: rec.PhysicalID, Stage: "prod"}) || !f.keySpecs[key].Enabled || !slices.Contains(f.planKeys[plan], key) {
			t.Fatalf("%s: plan quota %v throttle %v stages %v keys %v, key %+v; want the template's (100, 10/5, the API's stage prod, the key in it and enabled)",
				when, p.Quota, p.Throttle, f.planStages[plan], f.planKeys[plan], f.keySpecs[key])
		}
	}
	check("first deploy")

	// What a killed run (or a change by hand) left.
	loose := *f.plans[plan]
	loose.Quota, loose.Throttle = maps.Clone(loose.Quota), maps.Clone(loose.Throttle)
	loose.Quota["limit"], loose.Throttle["rateLimit"] = 5000, 1000
	f.plans[plan], f.planStages[plan] = &loose, nil
	k := f.keySpecs[key]
	k.Enabled = false
	f.keySpecs[key] = k
	f.planKeys[plan] = nil

	p, err := planOf(t, f, dir, "s", limitedPlan, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := allSteps(p)
	for _, want := range []string{"correct usage plan " + plan + ": its throttle, quota, API stages differ from the template",
		"enable API key " + key + " (ApiApiKey): it was disabled", "add API key " + key + " (ApiApiKey) to usage plan " + plan + " again"} {
		if !strings.Contains(steps, want) {
			t.Errorf("plan %s, steps:\n%s\nwant %q", actions(p), steps, want)
		}
	}
	if _, err := deployText(t, f, dir, "s", limitedPlan, nil); err != nil {
		t.Fatal(err)
	}
	check("after the redeploy")
	if p, err := deployText(t, f, dir, "s", limitedPlan, nil); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}
}

// TestRESTStageTracingAndAccessLogDriftCorrected: a REST stage a killed
// deploy (or a change by hand) left with its access log and tracing off, or
// with an access log, tracing and a cache cluster the template does not
// set, is set back to the template's by the next deploy, which said "up to
// date": only variables, method settings and the canary were compared.
func TestRESTStageTracingAndAccessLogDriftCorrected(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	logged := strings.Replace(twoFunctions, "      StageName: prod\n",
		"      StageName: prod\n      TracingEnabled: true\n      AccessLogSetting:\n        DestinationArn: stdout\n        Format: $context.requestId $context.status\n", 1)
	if _, err := deployText(t, f, dir, "s", logged, nil); err != nil {
		t.Fatal(err)
	}
	api := f.apis[f.stacks["s"].Resources["Api"].PhysicalID]
	if st := api.stage("prod"); !st.TracingEnabled || st.AccessLog == nil {
		t.Fatalf("first deploy: stage %+v, want tracing and an access log", st)
	}
	st := api.stage("prod")
	st.TracingEnabled, st.AccessLog = false, nil
	p, err := deployText(t, f, dir, "s", logged, nil)
	if err != nil {
		t.Fatal(err)
	}
	if steps := allSteps(p); !strings.Contains(steps, "correct stage prod: its tracing (off); access log (off) differ") {
		t.Fatalf("plan %s, steps:\n%s\nwant a correction of stage prod", actions(p), steps)
	}
	if st := api.stage("prod"); !st.TracingEnabled || st.AccessLog == nil || st.AccessLog.DestinationArn != "stdout" {
		t.Fatalf("after the redeploy: stage %+v, want tracing and the access log to stdout", st)
	}
	if p, err := deployText(t, f, dir, "s", logged, nil); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}

	// The other way: the template sets none of them.
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	st = api.stage("prod")
	st.TracingEnabled, st.CacheClusterEnabled, st.AccessLog = true, true, &SavedAccessLog{DestinationArn: "stdout", Format: "clf"}
	p, err = deployText(t, f, dir, "s", twoFunctions, nil)
	if err != nil {
		t.Fatal(err)
	}
	if steps := allSteps(p); !strings.Contains(steps, "correct stage prod: its tracing (on); cache cluster (on); access log (to stdout; the template has none) differ") {
		t.Fatalf("plan %s, steps:\n%s\nwant a correction of stage prod", actions(p), steps)
	}
	if st := api.stage("prod"); st.TracingEnabled || st.CacheClusterEnabled || st.AccessLog != nil {
		t.Fatalf("after the redeploy: stage %+v, want tracing, cache cluster and access log off", st)
	}
	if p, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}
}

// TestFunctionLimitsDriftCorrected: a function's reserved concurrency, its
// alias's provisioned concurrency and its event invoke configuration that a
// killed deploy (or a change by hand) left otherwise than the template says
// are set back by the next deploy, which said "up to date": only $LATEST and
// the alias were compared with the server.
func TestFunctionLimitsDriftCorrected(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	text := strings.Replace(twoFunctions, "      AutoPublishAlias: live\n      Environment:", "      AutoPublishAlias: live\n      ReservedConcurrentExecutions: 5\n"+
		"      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 2\n      EventInvokeConfig:\n        MaximumRetryAttempts: 0\n      Environment:", 1)
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	name := f.stacks["s"].Resources["Hello"].PhysicalID
	fn := f.fns[name]
	check := func(when string) {
		t.Helper()
		ei := fn.eventInvoke["live"]
		if fn.reserved == nil || *fn.reserved != 5 || fn.provisioned["live"] != 2 || ei == nil || ei.MaximumRetryAttempts == nil || *ei.MaximumRetryAttempts != 0 {
			t.Fatalf("%s: reserved %s, provisioned %d, event invoke %s; want 5, 2, retries 0", when, intOrNone(fn.reserved), fn.provisioned["live"], ei)
		}
	}
	check("first deploy")

	loose, two := 500, 2
	fn.reserved, fn.provisioned["live"], fn.eventInvoke["live"] = &loose, 0, &EventInvoke{MaximumRetryAttempts: &two}
	p, err := planOf(t, f, dir, "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := allSteps(p)
	for _, want := range []string{"correct reserved concurrency of " + name + ": the server has 500, the template 5",
		"correct provisioned concurrency of alias live: the server has 0, the template 2",
		"correct the event invoke config of " + name + ":live"} {
		if !strings.Contains(steps, want) {
			t.Errorf("plan %s, steps:\n%s\nwant %q", actions(p), steps, want)
		}
	}
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	check("after the redeploy")
	if p, err := deployText(t, f, dir, "s", text, nil); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}

	// A reservation the template does not make is taken off.
	fn.reserved = &loose
	plain := strings.Replace(text, "      ReservedConcurrentExecutions: 5\n", "", 1)
	if _, err := deployText(t, f, dir, "s", plain, nil); err != nil {
		t.Fatal(err)
	}
	fn.reserved = &loose
	if _, err := deployText(t, f, dir, "s", plain, nil); err != nil || fn.reserved != nil {
		t.Fatalf("reserved concurrency %s, err %v; want none", intOrNone(fn.reserved), err)
	}
}

// TestKilledShiftsVersionDeletedOnceAliasCorrected: a run killed during its
// traffic shift left version 2 published, with 10% of the alias's calls.
// The next deploy pointed the alias back at version 1 but kept version 2
// (the alias named it when the plan was made) and dropped the record's mark,
// so no deploy deleted it after that.
func TestKilledShiftsVersionDeletedOnceAliasCorrected(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	f.tellState = true
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Hello"]
	name := rec.PhysicalID
	fn := f.fns[name]
	if rec.Version != "1" || fn.aliases["live"] != "1" {
		t.Fatalf("first deploy: record version %q, alias %q; want 1", rec.Version, fn.aliases["live"])
	}
	// The killed run: its mark, version 2, 10% of the alias's calls on it.
	cp := *rec
	cp.Publishing = "1"
	f.stacks["s"].Resources["Hello"] = &cp
	fn.published, fn.versions = 2, append(fn.versions, "2")
	fn.weights = map[string]map[string]float64{"live": {"2": 0.1}}

	p, err := deployText(t, f, dir, "s", twoFunctions, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := allSteps(p)
	for _, want := range []string{"correct alias live", "delete version 2 of " + name} {
		if !strings.Contains(steps, want) {
			t.Errorf("plan %s, steps:\n%s\nwant %q", actions(p), steps, want)
		}
	}
	if !slices.Equal(fn.versions, []string{"1"}) || fn.aliases["live"] != "1" || len(fn.weights["live"]) > 0 {
		t.Fatalf("after the redeploy: versions %v, alias %s weights %v; want version 1 alone, serving all", fn.versions, fn.aliases["live"], fn.weights["live"])
	}
	if p, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}
}

// TestAccessLogDestinationRefusedAtPlan: an access log destination the
// server refuses (a function's log file) passed the plan and a dry run, and
// was refused only once the deploy patched the stage, midway.
func TestAccessLogDestinationRefusedAtPlan(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	f.badLogs = map[string]string{"/data/logs/rest.log": "access log destination \"/data/logs/rest.log\" is, or would be, a function's log file"}
	bad := strings.Replace(twoFunctions, "      StageName: prod\n",
		"      StageName: prod\n      AccessLogSetting:\n        DestinationArn: /data/logs/rest.log\n        Format: $context.requestId\n", 1)
	f.calls = nil
	if _, err := planOf(t, f, dir, "s", bad, nil); err == nil || !strings.Contains(err.Error(), "Api: the access log of stage prod: BadRequestException: access log destination \"/data/logs/rest.log\" is, or would be, a function's log file") {
		t.Fatalf("plan: %v, want the server's refusal", err)
	}
	if _, err := deployText(t, f, dir, "s", bad, nil); err == nil || !strings.Contains(err.Error(), "a function's log file") {
		t.Fatalf("deploy: %v, want the server's refusal", err)
	}
	if m := f.mutating(); len(m) != 0 {
		t.Fatalf("calls %v before the refusal, want none", m)
	}
}

// TestDeployWording: one field named is "its Timeout differs ... left it
// so" (it said "differ ... left them so"), one thing counted is singular
// ("1 resource deleted", "1 patch operation"), and stack delete says as it
// goes that it deletes the usage plan and API key of an API.
func TestDeployWording(t *testing.T) {
	if got, want := correctionWords("fn", []string{"Timeout"}), "correct $LATEST of fn: its Timeout differs from the template and the stack's record (an interrupted deploy or a change by hand left it so)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := correctionWords("fn", []string{"Timeout", "Environment"}); !strings.Contains(got, "its Timeout, Environment differ from") || !strings.Contains(got, "left them so") {
		t.Errorf("got %q", got)
	}
	for items, want := range map[string]string{"variables": "differ", "method settings */*": "differ", "access log (off)": "differs", "quota": "differs", "API stages": "differ"} {
		if got := differ([]string{items}); got != want {
			t.Errorf("differ(%q) = %s, want %s", items, got, want)
		}
	}
	if got := plural(1, "resource") + ", " + plural(2, "resource"); got != "1 resource, 2 resources" {
		t.Errorf("got %q", got)
	}

	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", perAPIPlan, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Api"]
	p, err := DeletePlan(t.Context(), f, "s")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := Apply(t.Context(), f, p, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"deleting usage plan " + rec.UsagePlanID + " of API " + rec.PhysicalID + " (Api)", "deleting API key " + rec.APIKeyID + " of API " + rec.PhysicalID + " (Api)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output:\n%s\nwant %q", out.String(), want)
		}
	}
}
