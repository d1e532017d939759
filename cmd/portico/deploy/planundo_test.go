package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestFailedDeployPutsBackTheUsagePlan: a deploy that updated a usage
// plan's name, throttle and quota (UpdateUsagePlan), then failed at a later
// step, left the plan updated while everything else was put back: the
// undo deleted the plans it created and set key switches back, never an
// update. The plan is put back as it was, per-API and shared alike.
func TestFailedDeployPutsBackTheUsagePlan(t *testing.T) {
	perAPI := strings.Replace(perAPIPlan, "CreateUsagePlan: PER_API\n",
		"CreateUsagePlan: PER_API\n          UsagePlanName: before\n          Throttle: {BurstLimit: 5, RateLimit: 2}\n          Quota: {Limit: 100, Period: DAY}\n", 1)
	cases := []struct {
		name, text, changed string
		plan                func(*fakeTarget) string
	}{
		{name: "per API", text: perAPI,
			changed: strings.NewReplacer("UsagePlanName: before", "UsagePlanName: after", "BurstLimit: 5", "BurstLimit: 50",
				"          Quota: {Limit: 100, Period: DAY}\n", "").Replace(perAPI),
			plan: func(f *fakeTarget) string { return f.stacks["s"].Resources["Api"].UsagePlanID }},
		{name: "shared", text: readTestdata(t, "shared-plan-two-apis.yaml"),
			changed: strings.ReplaceAll(readTestdata(t, "shared-plan-two-apis.yaml"), "UsagePlanName: both", "UsagePlanName: changed"),
			plan:    func(f *fakeTarget) string { return f.stacks["s"].Resources[SharedUsagePlan].PhysicalID }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := fixture(t)
			f := newFake()
			if _, err := deployText(t, f, dir, "s", tc.text, nil); err != nil {
				t.Fatal(err)
			}
			id := tc.plan(f)
			before, stages := *f.plans[id], f.planStages[id]
			f.failAt = "PutStack" // the last step: everything else is done
			_, out, err := deployOutput(t, f, dir, "s", tc.changed, nil)
			if err == nil || !strings.Contains(err.Error(), "rolled back") {
				t.Fatalf("err = %v, want the injected failure, rolled back", err)
			}
			if !strings.Contains(out, "rolling back: put back usage plan "+id) {
				t.Errorf("no rollback of usage plan %s:\n%s", id, out)
			}
			got := f.plans[id]
			if got == nil || got.Name != before.Name || !reflect.DeepEqual(got.Throttle, before.Throttle) || !reflect.DeepEqual(got.Quota, before.Quota) {
				t.Errorf("usage plan %s after the rollback: %+v, want %+v", id, got, before)
			}
			if !reflect.DeepEqual(f.planStages[id], stages) {
				t.Errorf("stages of usage plan %s after the rollback: %v, want %v", id, f.planStages[id], stages)
			}
		})
	}
}

// TestPlanNamesChangedProperties: the plan said a resource was updated but
// not which of its properties changed; it names the changed top-level
// properties of the template's resource, as CloudFormation's change set
// does (Scope: Properties): set, changed or removed ones, a function's
// rebuilt code as its CodeUri.
func TestPlanNamesChangedProperties(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(twoFunctions, "      CodeUri: hello\n", "      CodeUri: hello\n      Timeout: 10\n", 1)
	changed = strings.Replace(changed, "      StageName: prod\n", "      StageName: prod\n      TracingEnabled: true\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "other", "extra.txt"), []byte("rebuilt"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := planOf(t, f, dir, "s", changed, map[string]string{"Greeting": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	p.PrintChanges(&out)
	for _, want := range []string{
		"- properties changed: Environment, Timeout\n",
		"- properties changed: CodeUri\n",
		"- properties changed: TracingEnabled\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the plan lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := deployText(t, f, dir, "s", changed, map[string]string{"Greeting": "hi"}); err != nil {
		t.Fatal(err)
	}
	// Removed: named too.
	p, err = planOf(t, f, dir, "s", strings.Replace(changed, "      Timeout: 10\n", "", 1), map[string]string{"Greeting": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	p.PrintChanges(&out)
	if !strings.Contains(out.String(), "- properties changed: Timeout\n") {
		t.Errorf("the plan does not name the removed Timeout:\n%s", out.String())
	}
}
