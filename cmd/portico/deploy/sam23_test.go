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
