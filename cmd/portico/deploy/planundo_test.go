package deploy

import (
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
