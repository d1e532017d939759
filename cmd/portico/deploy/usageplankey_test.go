package deploy

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// perAPIPlan is twoFunctions with a PER_API usage plan on Api, whose outputs
// name the resources SAM generates for it.
var perAPIPlan = strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        ApiKeyRequired: true\n        UsagePlan:\n          CreateUsagePlan: PER_API\n", 1) +
	`Outputs:
  KeyId:
    Value: !Ref ApiApiKey
  KeyAttr:
    Value: !GetAtt ApiApiKey.APIKeyId
  PlanId:
    Value: !Ref ApiUsagePlan
  PlanAttr:
    Value: !GetAtt ApiUsagePlan.Id
  PlanKeyId:
    Value: !Sub "key ${ApiUsagePlanKey}"
`

// resolveOutputs loads the template deployText last wrote to dir and resolves
// its outputs against stack's record.
func resolveOutputs(t *testing.T, f *fakeTarget, dir, stack string) (map[string]string, []string) {
	t.Helper()
	tpl, err := Load(filepath.Join(dir, "template.yaml"), Options{Stack: stack})
	if err != nil {
		t.Fatal(err)
	}
	return tpl.ResolveOutputs(context.Background(), f.stacks[stack], fakeAttrs{})
}

// TestUsagePlanMakesAPIKey: CreateUsagePlan PER_API makes, as SAM, an enabled
// API key (ApiApiKey) in the API's usage plan (ApiUsagePlanKey), whose ids
// the outputs print. The key is made once: a redeploy, a changed plan and a
// plan deleted by hand keep it (its value is what callers were given); a key
// deleted by hand, or a plan recorded without one, gets a new one; dropping
// the plan deletes the key with it, as CloudFormation deletes resources a
// template no longer makes (the deploy made no key, and a method requiring
// one answered 403 until the user made one by hand).
func TestUsagePlanMakesAPIKey(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	p, err := deployText(t, f, dir, "s", perAPIPlan, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p.Print(&out)
	if !strings.Contains(out.String(), "create usage plan s-Api-prod (ApiUsagePlan) and API key s-ApiApiKey (ApiApiKey) in it") {
		t.Errorf("the plan does not name the key:\n%s", out.String())
	}
	if strings.Contains(out.String(), "no API key") {
		t.Errorf("the plan still warns of no key:\n%s", out.String())
	}
	rec := *f.stacks["s"].Resources["Api"]
	if rec.APIKeyID == "" || f.keys[rec.APIKeyID] != "s-ApiApiKey" {
		t.Fatalf("record %+v, keys %v: want key s-ApiApiKey recorded", rec, f.keys)
	}
	if got := f.planKeys[rec.UsagePlanID]; !reflect.DeepEqual(got, []string{rec.APIKeyID}) {
		t.Fatalf("keys of plan %s = %v, want [%s]", rec.UsagePlanID, got, rec.APIKeyID)
	}
	outs, warnings := resolveOutputs(t, f, dir, "s")
	want := map[string]string{"KeyId": rec.APIKeyID, "KeyAttr": rec.APIKeyID, "PlanId": rec.UsagePlanID, "PlanAttr": rec.UsagePlanID, "PlanKeyId": "key " + rec.APIKeyID}
	if !reflect.DeepEqual(outs, want) || len(warnings) > 0 {
		t.Errorf("outputs = %v (warnings %q), want %v", outs, warnings, want)
	}

	steps := []struct {
		name string
		// before changes the server or the record before the deploy.
		before func()
		text   string
		// makes: the deploy makes a key.
		makes bool
	}{
		{name: "redeploy", text: perAPIPlan},
		{name: "changed plan", text: strings.Replace(perAPIPlan, "CreateUsagePlan: PER_API\n", "CreateUsagePlan: PER_API\n          Quota: {Limit: 5, Period: DAY}\n", 1)},
		{name: "plan deleted by hand", before: func() { _ = f.DeleteUsagePlan(context.Background(), f.stacks["s"].Resources["Api"].UsagePlanID) }, text: perAPIPlan},
		{name: "record without a key", before: func() {
			// As a deploy before Portico made keys recorded it.
			r := f.stacks["s"].Resources["Api"]
			_ = f.DeleteAPIKey(context.Background(), r.APIKeyID)
			r.APIKeyID = ""
		}, text: perAPIPlan, makes: true},
		{name: "key deleted by hand", before: func() { _ = f.DeleteAPIKey(context.Background(), f.stacks["s"].Resources["Api"].APIKeyID) }, text: perAPIPlan, makes: true},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		old := f.stacks["s"].Resources["Api"].APIKeyID
		f.calls = nil
		if _, err := deployText(t, f, dir, "s", s.text, nil); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		now := *f.stacks["s"].Resources["Api"]
		made := slices.ContainsFunc(f.calls, func(c string) bool { return strings.HasPrefix(c, "CreateAPIKey") })
		switch {
		case made != s.makes:
			t.Errorf("%s: made a key: %v, want %v (calls %v)", s.name, made, s.makes, f.calls)
		case !s.makes && now.APIKeyID != old:
			t.Errorf("%s: key %s replaced by %s", s.name, old, now.APIKeyID)
		}
		if _, ok := f.keys[now.APIKeyID]; !ok || !slices.Contains(f.planKeys[now.UsagePlanID], now.APIKeyID) {
			t.Errorf("%s: key %s (exists %v) not in plan %s (keys %v)", s.name, now.APIKeyID, ok, now.UsagePlanID, f.planKeys[now.UsagePlanID])
		}
	}

	kept := f.stacks["s"].Resources["Api"].APIKeyID
	p, err = deployText(t, f, dir, "s", twoFunctions, nil)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	p.Print(&out)
	if !strings.Contains(out.String(), "delete API key "+kept) {
		t.Errorf("the plan does not list the key's deletion:\n%s", out.String())
	}
	if len(f.keys) != 0 || len(f.plans) != 0 || f.stacks["s"].Resources["Api"].APIKeyID != "" {
		t.Errorf("after dropping the plan: keys %v, plans %v, record %+v", f.keys, f.plans, f.stacks["s"].Resources["Api"])
	}

	// Deleting the stack deletes the key with the API.
	if _, err := deployText(t, f, dir, "s", perAPIPlan, nil); err != nil {
		t.Fatal(err)
	}
	deleteStack(t, f, "s")
	if len(f.keys) != 0 || len(f.plans) != 0 {
		t.Errorf("after deleting the stack: keys %v, plans %v", f.keys, f.plans)
	}
}

func deleteStack(t *testing.T, f *fakeTarget, stack string) {
	t.Helper()
	ctx := context.Background()
	p, err := DeletePlan(ctx, f, stack)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := Apply(ctx, f, p, &out); err != nil {
		t.Fatal(err)
	}
}

// TestSharedUsagePlan: CreateUsagePlan SHARED (refused before) makes, as SAM,
// one usage plan (ServerlessUsagePlan) on the stages of every API that says
// SHARED, with one API key (ServerlessApiKey) in it, whose ids the outputs
// print. A redeploy keeps them; an API leaving the plan takes its stage out;
// the last one leaving deletes the plan and the key, and so does deleting
// the stack.
func TestSharedUsagePlan(t *testing.T) {
	dir := t.TempDir()
	writeCode(t, dir, "hello", "#!/bin/sh\necho hello\n")
	f := newFake()
	text := readTestdata(t, "shared-plan-two-apis.yaml")
	p, err := deployText(t, f, dir, "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), "A=create B=create Hello=create ServerlessUsagePlan=create"; got != want {
		t.Fatalf("actions = %s, want %s", got, want)
	}
	recs := f.stacks["s"].Resources
	shared := *recs[SharedUsagePlan]
	a, b := recs["A"].PhysicalID, recs["B"].PhysicalID
	wantStages := []APIStage{{a, "prod"}, {b, "prod"}}
	if got := f.planStages[shared.PhysicalID]; !reflect.DeepEqual(got, wantStages) {
		t.Errorf("stages of %s = %v, want %v", shared.PhysicalID, got, wantStages)
	}
	if p := f.plans[shared.PhysicalID]; p == nil || p.Name != "both" || p.Quota["limit"] != float64(100) {
		t.Errorf("plan = %+v, want both with A's quota", p)
	}
	if f.keys[shared.APIKeyID] != "s-ServerlessApiKey" || !reflect.DeepEqual(f.planKeys[shared.PhysicalID], []string{shared.APIKeyID}) {
		t.Errorf("keys %v, plan keys %v, want s-ServerlessApiKey in the plan", f.keys, f.planKeys)
	}
	if recs["A"].UsagePlanID != "" || recs["B"].UsagePlanID != "" || len(f.plans) != 1 {
		t.Errorf("plans %v, A %+v, B %+v: want the shared plan alone", f.plans, recs["A"], recs["B"])
	}
	outs, warnings := resolveOutputs(t, f, dir, "s")
	want := map[string]string{"PlanId": shared.PhysicalID, "KeyId": shared.APIKeyID, "PlanKeyId": "key " + shared.APIKeyID}
	if !reflect.DeepEqual(outs, want) || len(warnings) > 0 {
		t.Errorf("outputs = %v (warnings %q), want %v", outs, warnings, want)
	}

	f.calls = nil
	if p, err = deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := actions(p), "A=unchanged B=unchanged Hello=unchanged ServerlessUsagePlan=unchanged"; got != want || len(f.mutating()) > 0 {
		t.Errorf("redeploy: actions %s, calls %v; want %s and no calls", got, f.mutating(), want)
	}

	// B takes a plan of its own: the shared plan keeps A's stage alone.
	own := strings.Replace(text, "CreateUsagePlan: SHARED\n          UsagePlanName: both\nOutputs", "CreateUsagePlan: PER_API\nOutputs", 1)
	if own == text {
		t.Fatal("the template did not change")
	}
	if _, err = deployText(t, f, dir, "s", own, nil); err != nil {
		t.Fatal(err)
	}
	recs = f.stacks["s"].Resources
	if got := f.planStages[shared.PhysicalID]; !reflect.DeepEqual(got, []APIStage{{a, "prod"}}) {
		t.Errorf("stages of the shared plan = %v, want A's alone", got)
	}
	if recs[SharedUsagePlan].APIKeyID != shared.APIKeyID || recs["B"].UsagePlanID == "" || recs["B"].APIKeyID == "" {
		t.Errorf("shared %+v (key was %s), B %+v", recs[SharedUsagePlan], shared.APIKeyID, recs["B"])
	}

	// No API shares a plan: the shared plan and its key go.
	none := strings.ReplaceAll(own, "CreateUsagePlan: SHARED", "CreateUsagePlan: NONE")
	if _, err = deployText(t, f, dir, "s", strings.Split(none, "Outputs:")[0], nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.stacks["s"].Resources[SharedUsagePlan]; ok || f.plans[shared.PhysicalID] != nil || f.keys[shared.APIKeyID] != "" {
		t.Errorf("the shared plan or its key is left: record %v, plans %v, keys %v", f.stacks["s"].Resources, f.plans, f.keys)
	}

	if _, err = deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	deleteStack(t, f, "s")
	if len(f.keys) != 0 || len(f.plans) != 0 {
		t.Errorf("after deleting the stack: keys %v, plans %v", f.keys, f.plans)
	}
}

// TestGlobalsSharedUsagePlan: CreateUsagePlan SHARED in Globals.Api (refused
// before) reaches the implicit ServerlessRestApi, which gets the shared plan.
func TestGlobalsSharedUsagePlan(t *testing.T) {
	dir := t.TempDir()
	writeCode(t, dir, "hello", "#!/bin/sh\necho hello\n")
	f := newFake()
	if _, err := deployText(t, f, dir, "s", readTestdata(t, "globals-shared-plan.yaml"), nil); err != nil {
		t.Fatal(err)
	}
	shared := f.stacks["s"].Resources[SharedUsagePlan]
	api := f.stacks["s"].Resources[ImplicitRestAPI].PhysicalID
	if shared == nil || !reflect.DeepEqual(f.planStages[shared.PhysicalID], []APIStage{{api, "Prod"}}) || f.keys[shared.APIKeyID] == "" {
		t.Errorf("shared plan %+v, stages %v, keys %v", shared, f.planStages, f.keys)
	}
}

// TestUsagePlanValuesCheckedFirst: Auth.UsagePlan values the gateway's usage
// plan model refuses (a YEAR period, a negative limit, an offset beyond the
// period, a negative throttle) passed the plan and --dry-run and failed in
// Switching, after the functions and APIs had changed; so did an API without
// methods. They are refused before any call, naming the API and property.
func TestUsagePlanValuesCheckedFirst(t *testing.T) {
	plan := func(props string) string {
		return strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        UsagePlan:\n          CreateUsagePlan: PER_API\n"+props, 1)
	}
	noMethods := strings.Replace(twoFunctions, "            RestApiId: !Ref Api\n", "", 1)
	for _, c := range []struct{ text, want string }{
		{plan("          Quota: {Limit: 10, Period: YEAR}\n"), "Api Auth.UsagePlan.Quota: Invalid quota period 'YEAR': must be one of DAY, WEEK or MONTH"},
		{plan("          Quota: {Limit: -5, Period: DAY}\n"), "Api Auth.UsagePlan.Quota: Invalid quota limit -5: it must be from 1 to 2147483647"},
		{plan("          Quota: {Limit: 5, Period: DAY, Offset: 3}\n"), "Api Auth.UsagePlan.Quota: Invalid quota offset 3 for period DAY: a DAY quota takes no offset (0)"},
		{plan("          Throttle: {RateLimit: -1, BurstLimit: -7}\n"), "Api Auth.UsagePlan.Throttle: Invalid throttle of the plan: rateLimit and burstLimit must not be negative"},
		{noMethods, "Api: the API has no methods"},
	} {
		dir := fixture(t)
		f := newFake()
		if _, err := deployText(t, f, dir, "s", c.text, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
		if len(f.calls) != 0 {
			t.Errorf("%s: calls %v: the deploy changed something before refusing", c.want, f.calls)
		}
	}
}
