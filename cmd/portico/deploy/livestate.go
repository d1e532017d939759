package deploy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
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

// differ is "differ", or "differs" after one thing named in the singular
// ("Timeout", "access log (off)"; not "variables", "method settings */*").
func differ(items []string) string {
	if len(items) != 1 {
		return "differ"
	}
	head, _, _ := strings.Cut(items[0], " (")
	if strings.HasSuffix(head, "s") || strings.Contains(head, "settings") {
		return "differ"
	}
	return "differs"
}

// them is "them", or "it" after one thing named in the singular.
func them(items []string) string {
	if differ(items) == "differs" {
		return "it"
	}
	return "them"
}

// plural is n and noun, with an s when n is not 1 ("1 resource",
// "2 resources").
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// FunctionLimits is what the server holds of a function's concurrency and
// asynchronous invocation settings.
type FunctionLimits struct {
	// Reserved is its reserved concurrency (nil: none).
	Reserved *int
	// Provisioned is the provisioned concurrency of its alias (0: none).
	Provisioned int
	// EventInvoke is the event invoke configuration of its alias, or of
	// $LATEST (nil: none).
	EventInvoke *EventInvoke
}

// observeLimits reads, into obs.Limits, function f's reserved concurrency,
// and, when the alias and the event invoke configuration's qualifier are
// the ones the stack recorded (old), the alias's provisioned concurrency and
// that configuration.
func observeLimits(ctx context.Context, t Target, f *Function, old *Resource, obs *Observed) error {
	alias, q := "", ""
	if old.Alias == f.Alias {
		alias, q = f.Alias, EventInvokeQualifier(f.Alias)
	}
	lim, err := t.FunctionLimits(ctx, f.Name, alias, q)
	if err != nil || lim == nil {
		return err
	}
	if obs.Limits == nil {
		obs.Limits = map[string]*FunctionLimits{}
	}
	obs.Limits[f.Name] = lim
	return nil
}

// limitDrift plans, on change c of function f (the stack recorded old),
// the corrections of what the server holds (lim) that differs from the
// template and that c does not already set: reserved concurrency, the
// alias's provisioned concurrency, the event invoke configuration. An
// interrupted deploy, or a change by hand, left them so.
func limitDrift(c *Change, f *Function, old *Resource, lim *FunctionLimits, aliasGone bool) {
	if lim == nil {
		return
	}
	c.limits = lim
	const why = "(an interrupted deploy or a change by hand left it so)"
	if !c.reserved && !sameInt(lim.Reserved, f.Reserved) {
		c.Action, c.reserved = Update, true
		c.Steps = append(c.Steps, fmt.Sprintf("correct reserved concurrency of %s: the server has %s, the template %s %s", f.Name, intOrNone(lim.Reserved), intOrNone(f.Reserved), why))
	}
	if !c.provisioned && f.Alias != "" && old.Alias == f.Alias && !aliasGone && lim.Provisioned != f.Provisioned {
		c.Action, c.provisioned = Update, true
		c.Steps = append(c.Steps, fmt.Sprintf("correct provisioned concurrency of alias %s: the server has %d, the template %d %s", f.Alias, lim.Provisioned, f.Provisioned, why))
	}
	if !c.eventInvoke && old.Alias == f.Alias && !aliasGone && !sameEventInvoke(lim.EventInvoke, f.EventInvoke) {
		c.Action, c.eventInvoke = Update, true
		c.Steps = append(c.Steps, fmt.Sprintf("correct the event invoke config of %s:%s: the server has %s, the template %s %s",
			f.Name, EventInvokeQualifier(f.Alias), lim.EventInvoke, f.EventInvoke, why))
	}
}

// checkAccessLogs refuses a plan whose stages would log to a destination the
// server refuses (outside the directories it allows, a function's log
// file) before anything changes, and under a dry run too, rather than in
// Switching once stages are patched.
func checkAccessLogs(ctx context.Context, t Target, d *Desired) error {
	checked := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(d.APIs)) {
		a := d.APIs[id]
		dest, _ := stageOpValue(a, "/accessLogSettings/destinationArn")
		if a.HTTPStage != nil && a.HTTPStage.AccessLogSettings != nil {
			dest = a.HTTPStage.AccessLogSettings.DestinationArn
		}
		if dest == "" || checked[dest] {
			continue
		}
		checked[dest] = true
		if err := t.CheckAccessLog(ctx, dest); err != nil {
			return fmt.Errorf("%s: the access log of stage %s: %w", id, a.Stage, err)
		}
	}
	return nil
}
