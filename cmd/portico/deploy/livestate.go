package deploy

import (
	"context"
	"fmt"
	"slices"
)

// observePlan reads, into obs, the API's own usage plan that resource r
// (the API's logical id) recorded, and whether the API key made for it is
// still in it, for the plan to compare them with the template.
func observePlan(ctx context.Context, t Target, logical string, r *Resource, obs *Observed) error {
	st, err := t.SaveUsagePlan(ctx, r.UsagePlanID)
	if err != nil {
		return fmt.Errorf("reading usage plan %s of API %s (%s) to compare it with the template: %w", r.UsagePlanID, r.PhysicalID, logical, err)
	}
	if obs.PlanState == nil {
		obs.PlanState = map[string]*SavedUsagePlan{}
	}
	obs.PlanState[r.UsagePlanID] = st
	if r.APIKeyID == "" || !obs.APIKeys[r.APIKeyID] {
		return nil
	}
	in, err := t.UsagePlanHasKey(ctx, r.UsagePlanID, r.APIKeyID)
	if err != nil {
		return fmt.Errorf("reading whether API key %s is in usage plan %s (%s): %w", r.APIKeyID, r.UsagePlanID, logical, err)
	}
	if obs.PlanKeys == nil {
		obs.PlanKeys = map[string]bool{}
	}
	obs.PlanKeys[r.UsagePlanID+"/"+r.APIKeyID] = in
	return nil
}

// livePlanDrift names what of the API's own usage plan, as the server holds
// it (obs.PlanState), differs from what the template (own) and the stage
// the stack recorded (old) ask for: its name, throttle, quota (each field
// the template sets; a throttle or quota the template has none of) and
// whether it holds the API's stage. An interrupted deploy, or a change by
// hand, left it so; the deploy sets the plan again.
func livePlanDrift(own *UsagePlan, old *Resource, obs Observed) []string {
	live := obs.PlanState[old.UsagePlanID]
	if live == nil {
		return nil
	}
	var drift []string
	if live.Name != own.Name {
		drift = append(drift, "name")
	}
	if limitsDiffer(own.Throttle, live.Throttle) {
		drift = append(drift, "throttle")
	}
	if limitsDiffer(own.Quota, live.Quota) {
		drift = append(drift, "quota")
	}
	want := APIStage{APIID: old.PhysicalID, Stage: old.Stage}
	others := slices.ContainsFunc(live.Stages, func(s APIStage) bool { return s.APIID == old.PhysicalID && s.Stage != old.Stage })
	if old.Stage != "" && (!slices.Contains(live.Stages, want) || others) {
		drift = append(drift, "API stages")
	}
	return drift
}

// limitsDiffer reports whether a usage plan's throttle or quota as the
// server holds it (live) differs from the template's (want): one the
// template has none of is to be none, and each field the template sets is
// to hold its value (numbers compared as numbers).
func limitsDiffer(want, live map[string]any) bool {
	if want == nil {
		return len(live) > 0
	}
	if live == nil {
		return true
	}
	for k, w := range want {
		if w == nil {
			continue
		}
		got, ok := live[k]
		if !ok {
			got = 0.0 // a field the server leaves out is zero
		}
		if !sameValue(got, patchValue(w)) {
			return true
		}
	}
	return false
}

// differ is "differs" or "differ", as n (how many things) says.
func differ(n int) string {
	if n == 1 {
		return "differs"
	}
	return "differ"
}
