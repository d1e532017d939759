package deploy

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/accesslog"
)

// SavedStage is a REST API stage's settings as the server holds them (API
// Gateway's Stage shape, as GetStage answers it): what SaveStage reads before
// a deploy changes the stage, for RestoreStage to put back, and what the plan
// compares with the template (an interrupted deploy, or a change by hand, may
// have left the stage otherwise than the stack's record says).
type SavedStage struct {
	Variables map[string]string `json:"variables,omitempty"`
	// MethodSettings holds each method-settings key ("*/*", "~1pets/GET")
	// with its fields by their JSON names (throttlingRateLimit, ...).
	MethodSettings      map[string]map[string]any `json:"methodSettings,omitempty"`
	Canary              *SavedCanary              `json:"canarySettings,omitempty"`
	TracingEnabled      bool                      `json:"tracingEnabled"`
	CacheClusterEnabled bool                      `json:"cacheClusterEnabled"`
	CacheClusterSize    string                    `json:"cacheClusterSize,omitempty"`
	AccessLog           *SavedAccessLog           `json:"accessLogSettings,omitempty"`
	// DeploymentID is the deployment the stage serves (read, never put
	// back by RestoreStage: a deploy points the stage itself).
	DeploymentID string `json:"deploymentId,omitempty"`
}

// SavedCanary is a stage's canarySettings.
type SavedCanary struct {
	PercentTraffic         float64           `json:"percentTraffic"`
	DeploymentID           string            `json:"deploymentId,omitempty"`
	StageVariableOverrides map[string]string `json:"stageVariableOverrides,omitempty"`
	UseStageCache          bool              `json:"useStageCache"`
}

// SavedAccessLog is a stage's accessLogSettings.
type SavedAccessLog struct {
	DestinationArn string `json:"destinationArn,omitempty"`
	Format         string `json:"format,omitempty"`
}

// methodSettingFields maps a MethodSetting's JSON field to its patch path
// ("/{key}/{group}/{field}").
var methodSettingFields = map[string]string{
	"metricsEnabled": "metrics/enabled", "loggingLevel": "logging/loglevel", "dataTraceEnabled": "logging/dataTrace",
	"throttlingBurstLimit": "throttling/burstLimit", "throttlingRateLimit": "throttling/rateLimit",
	"cachingEnabled": "caching/enabled", "cacheTtlInSeconds": "caching/ttlInSeconds", "cacheDataEncrypted": "caching/dataEncrypted",
	"requireAuthorizationForCacheControl":    "caching/requireAuthorizationForCacheControl",
	"unauthorizedCacheControlHeaderStrategy": "caching/unauthorizedCacheControlHeaderStrategy",
}

// patchValue is v as a patch operation's value.
func patchValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// restoreStageOps are the patch operations that make stage cur what saved
// was: its variables, method settings, canary, tracing, cache cluster and
// access log.
func restoreStageOps(cur, saved *SavedStage) []PatchOp {
	var ops []PatchOp
	for _, k := range slices.Sorted(maps.Keys(cur.Variables)) {
		if _, ok := saved.Variables[k]; !ok {
			ops = append(ops, PatchOp{Op: "remove", Path: "/variables/" + k})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(saved.Variables)) {
		if v, ok := cur.Variables[k]; !ok || v != saved.Variables[k] {
			ops = append(ops, PatchOp{Op: "replace", Path: "/variables/" + k, Value: saved.Variables[k]})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(cur.MethodSettings)) {
		if _, ok := saved.MethodSettings[k]; !ok {
			ops = append(ops, PatchOp{Op: "remove", Path: "/" + k})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(saved.MethodSettings)) {
		was, now := saved.MethodSettings[k], cur.MethodSettings[k]
		for _, f := range slices.Sorted(maps.Keys(was)) {
			p, ok := methodSettingFields[f]
			if !ok || was[f] == nil || now != nil && reflect.DeepEqual(now[f], was[f]) {
				continue
			}
			ops = append(ops, PatchOp{Op: "replace", Path: "/" + k + "/" + p, Value: patchValue(was[f])})
		}
	}
	switch c, s := cur.Canary, saved.Canary; {
	case s == nil && c != nil:
		ops = append(ops, PatchOp{Op: "remove", Path: "/canarySettings"})
	case s != nil:
		if c == nil {
			c = &SavedCanary{PercentTraffic: -1}
		}
		if c.PercentTraffic != s.PercentTraffic {
			ops = append(ops, PatchOp{Op: "replace", Path: "/canarySettings/percentTraffic", Value: patchValue(s.PercentTraffic)})
		}
		if s.DeploymentID != "" && c.DeploymentID != s.DeploymentID {
			ops = append(ops, PatchOp{Op: "replace", Path: "/canarySettings/deploymentId", Value: s.DeploymentID})
		}
		if c.UseStageCache != s.UseStageCache {
			ops = append(ops, PatchOp{Op: "replace", Path: "/canarySettings/useStageCache", Value: strconv.FormatBool(s.UseStageCache)})
		}
		for _, k := range slices.Sorted(maps.Keys(c.StageVariableOverrides)) {
			if _, ok := s.StageVariableOverrides[k]; !ok {
				ops = append(ops, PatchOp{Op: "remove", Path: "/canarySettings/stageVariableOverrides/" + k})
			}
		}
		for _, k := range slices.Sorted(maps.Keys(s.StageVariableOverrides)) {
			if v, ok := c.StageVariableOverrides[k]; !ok || v != s.StageVariableOverrides[k] {
				ops = append(ops, PatchOp{Op: "replace", Path: "/canarySettings/stageVariableOverrides/" + k, Value: s.StageVariableOverrides[k]})
			}
		}
	}
	if cur.TracingEnabled != saved.TracingEnabled {
		ops = append(ops, PatchOp{Op: "replace", Path: "/tracingEnabled", Value: strconv.FormatBool(saved.TracingEnabled)})
	}
	if saved.CacheClusterSize != "" && cur.CacheClusterSize != saved.CacheClusterSize {
		ops = append(ops, PatchOp{Op: "replace", Path: "/cacheClusterSize", Value: saved.CacheClusterSize})
	}
	if cur.CacheClusterEnabled != saved.CacheClusterEnabled {
		ops = append(ops, PatchOp{Op: "replace", Path: "/cacheClusterEnabled", Value: strconv.FormatBool(saved.CacheClusterEnabled)})
	}
	switch c, s := cur.AccessLog, saved.AccessLog; {
	case s == nil && c != nil:
		ops = append(ops, PatchOp{Op: "remove", Path: "/accessLogSettings"})
	case s != nil && (c == nil || *c != *s):
		ops = append(ops, PatchOp{Op: "replace", Path: "/accessLogSettings/destinationArn", Value: s.DestinationArn},
			PatchOp{Op: "replace", Path: "/accessLogSettings/format", Value: s.Format})
	}
	return ops
}

// methodSettingKey splits a method-setting patch path
// ("/~1pets/GET/throttling/rateLimit") into its key ("~1pets/GET") and
// field ("throttling/rateLimit"); ok is false for another path.
func methodSettingKey(path string) (key, field string, ok bool) {
	segs := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	if len(segs) < 3 || segs[0] == "variables" || segs[0] == "canarySettings" || segs[0] == "accessLogSettings" {
		return "", "", false
	}
	// The method as the server keys it: upper case ("get" is GET).
	return segs[0] + "/" + strings.ToUpper(segs[1]), segs[2], true
}

// stageDrift names what of REST stage live differs from what API a's
// template sets on it: its variables, its canary (one the template does not
// have, or another percentage), its method settings (a key the template does
// not set, a value it sets otherwise), its tracing, cache cluster and access
// log (each off when the template does not set it). An interrupted deploy, or a change by
// hand, left it so; the deploy sets the stage again.
func stageDrift(a *API, live *SavedStage) []string {
	if live == nil {
		return nil
	}
	var drift []string
	if !sameJSON(live.Variables, a.Variables) {
		drift = append(drift, "variables")
	}
	switch {
	case a.Canary == nil && live.Canary != nil:
		drift = append(drift, fmt.Sprintf("canary (%.4g%% of requests to deployment %s; the template has none)", live.Canary.PercentTraffic, live.Canary.DeploymentID))
	case a.Canary != nil && live.Canary != nil && (a.Canary.PercentTraffic != live.Canary.PercentTraffic || a.Canary.UseStageCache != live.Canary.UseStageCache ||
		!sameJSON(a.Canary.StageVariableOverrides, live.Canary.StageVariableOverrides)):
		drift = append(drift, "canary settings")
	}
	want := map[string]map[string]string{}
	for _, op := range a.StageOps {
		if key, field, ok := methodSettingKey(op.Path); ok {
			if want[key] == nil {
				want[key] = map[string]string{}
			}
			want[key][field] = op.Value
		}
	}
	var keys []string
	have := map[string]bool{}
	for _, lk := range slices.Sorted(maps.Keys(live.MethodSettings)) {
		k := normalKey(lk)
		have[k] = true
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
			continue
		}
		for f, p := range methodSettingFields {
			w, set := want[k][p]
			if set && !sameValue(live.MethodSettings[lk][f], w) {
				keys = append(keys, k)
				break
			}
		}
	}
	for k := range want {
		if !have[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		slices.Sort(keys)
		drift = append(drift, "method settings "+strings.Join(keys, ", "))
	}
	if want, _ := stageOpValue(a, "/tracingEnabled"); live.TracingEnabled != (want == "true") {
		drift = append(drift, fmt.Sprintf("tracing (%s)", onOff(live.TracingEnabled)))
	}
	if want, _ := stageOpValue(a, "/cacheClusterEnabled"); live.CacheClusterEnabled != (want == "true") {
		drift = append(drift, fmt.Sprintf("cache cluster (%s)", onOff(live.CacheClusterEnabled)))
	}
	if want, ok := stageOpValue(a, "/cacheClusterSize"); ok && live.CacheClusterSize != want {
		drift = append(drift, "cache cluster size ("+live.CacheClusterSize+")")
	}
	dest, ok := stageOpValue(a, "/accessLogSettings/destinationArn")
	format, _ := stageOpValue(a, "/accessLogSettings/format")
	switch l := live.AccessLog; {
	case !ok && l != nil:
		drift = append(drift, "access log (to "+l.DestinationArn+"; the template has none)")
	case ok && l == nil:
		drift = append(drift, "access log (off)")
	case ok && (l.DestinationArn != dest || storedFormat(l.Format) != storedFormat(format)):
		drift = append(drift, "access log")
	}
	return drift
}

// stageOpValue is the value API a's template sets at stage path (a patch
// operation's path, "/tracingEnabled"), and whether it sets one.
func stageOpValue(a *API, path string) (string, bool) {
	for _, op := range slices.Backward(a.StageOps) {
		if op.Path == path && op.Op == "replace" {
			return op.Value, true
		}
	}
	return "", false
}

// onOff is "on" or "off", as on says.
func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// liveResetOps are the patch operations that take off of REST stage live
// what the template of API a does not set and resetOps does not already
// take off: a canary, method-setting keys, variables, tracing, a cache
// cluster and an access log a deploy that ended before its record (or a
// change by hand) left.
func liveResetOps(a *API, live *SavedStage, done []PatchOp) []PatchOp {
	if live == nil {
		return nil
	}
	removed := map[string]bool{}
	for _, op := range done {
		if op.Op == "remove" {
			removed[op.Path] = true
		}
	}
	want := map[string]bool{}
	for _, op := range a.StageOps {
		if key, _, ok := methodSettingKey(op.Path); ok {
			want[key] = true
		}
	}
	var ops []PatchOp
	for _, k := range slices.Sorted(maps.Keys(live.MethodSettings)) {
		if !want[normalKey(k)] && !removed["/"+k] {
			ops = append(ops, PatchOp{Op: "remove", Path: "/" + k})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(live.Variables)) {
		if _, ok := a.Variables[k]; !ok && !removed["/variables/"+k] {
			ops = append(ops, PatchOp{Op: "remove", Path: "/variables/" + k})
		}
	}
	if a.Canary == nil && live.Canary != nil {
		ops = append(ops, PatchOp{Op: "remove", Path: "/canarySettings"})
	}
	// Tracing, the cache cluster and the access log the template does not
	// set are off (what it sets, a.StageOps sets after these).
	for _, p := range []string{"/tracingEnabled", "/cacheClusterEnabled"} {
		on := live.TracingEnabled
		if p == "/cacheClusterEnabled" {
			on = live.CacheClusterEnabled
		}
		if _, set := stageOpValue(a, p); on && !set && !slices.Contains(done, PatchOp{Op: "replace", Path: p, Value: "false"}) {
			ops = append(ops, PatchOp{Op: "replace", Path: p, Value: "false"})
		}
	}
	if _, set := stageOpValue(a, "/accessLogSettings/destinationArn"); live.AccessLog != nil && !set && !removed["/accessLogSettings"] {
		ops = append(ops, PatchOp{Op: "remove", Path: "/accessLogSettings"})
	}
	return ops
}

// canaryOps are the patch operations that set the existing canary of stage
// live to API a's, when this deploy does not make a new canary deployment.
func canaryOps(a *API, live *SavedStage) []PatchOp {
	if a.Canary == nil || live == nil || live.Canary == nil {
		return nil
	}
	cur := &SavedStage{Canary: live.Canary}
	want := &SavedStage{Canary: &SavedCanary{PercentTraffic: a.Canary.PercentTraffic, StageVariableOverrides: a.Canary.StageVariableOverrides,
		UseStageCache: a.Canary.UseStageCache}}
	return restoreStageOps(cur, want)
}

// sameValue reports whether a stage's value v (as GetStage answers it) is
// the patch value w: numbers compared as numbers ("100" is 100.0).
func sameValue(v any, w string) bool {
	got := patchValue(v)
	if got == w {
		return true
	}
	a, err1 := strconv.ParseFloat(got, 64)
	b, err2 := strconv.ParseFloat(w, 64)
	return err1 == nil && err2 == nil && a == b
}

// normalKey is a method-settings key with its method in upper case, as
// methodSettingKey gives it: the server keeps a key as it was written.
func normalKey(k string) string {
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return k
	}
	return k[:i+1] + strings.ToUpper(k[i+1:])
}

// LiveHTTPStage is an HTTP or WebSocket API stage as apigatewayv2's GetStage
// answers it: its variables, default and per-route settings (a throttle not
// configured left out) and access log. The plan compares it with the
// template, as it compares a REST stage (SavedStage): an interrupted deploy,
// or a change by hand, may have left it otherwise than the record says.
type LiveHTTPStage struct {
	Variables map[string]string `json:"stageVariables,omitempty"`
	// DeploymentID is the deployment the stage serves; AutoDeploy says
	// whether the stage deploys each change of the API.
	DeploymentID string `json:"deploymentId,omitempty"`
	AutoDeploy   bool   `json:"autoDeploy,omitempty"`
	HTTPStage
}

// routeState is a route's (or a stage default's) settings as the stage
// holds them: a throttle half not configured is -1.
type routeState struct {
	burst   int
	rate    float64
	metrics bool
}

// wantedRoute is the state SetHTTPStage leaves of template settings rs (nil:
// none): a throttle not set is -1, or 0 when the template sets the other
// half of it, as API Gateway stores it; metrics are off unless set.
func wantedRoute(rs *RouteSettings) routeState {
	st := routeState{burst: -1, rate: -1}
	if rs == nil {
		return st
	}
	if rs.ThrottlingBurstLimit != nil || rs.ThrottlingRateLimit != nil {
		st.burst, st.rate = 0, 0
	}
	if rs.ThrottlingBurstLimit != nil {
		st.burst = *rs.ThrottlingBurstLimit
	}
	if rs.ThrottlingRateLimit != nil {
		st.rate = *rs.ThrottlingRateLimit
	}
	if rs.DetailedMetricsEnabled != nil {
		st.metrics = *rs.DetailedMetricsEnabled
	}
	return st
}

// liveRoute is the state of route settings rs as GetStage answers them: a
// field left out is not configured (-1, metrics off).
func liveRoute(rs *RouteSettings) routeState {
	st := routeState{burst: -1, rate: -1}
	if rs == nil {
		return st
	}
	if rs.ThrottlingBurstLimit != nil {
		st.burst = *rs.ThrottlingBurstLimit
	}
	if rs.ThrottlingRateLimit != nil {
		st.rate = *rs.ThrottlingRateLimit
	}
	if rs.DetailedMetricsEnabled != nil {
		st.metrics = *rs.DetailedMetricsEnabled
	}
	return st
}

// storedFormat is an access log format as the server stores it: a preset
// name ("clf", "json") is its format.
func storedFormat(f string) string {
	if preset, ok := accesslog.Presets[strings.ToLower(f)]; ok {
		return preset
	}
	return f
}

// httpStageDrift names what of HTTP or WebSocket API stage live differs from
// what API a's template sets on it: its variables, its default route
// settings, a route's settings (a route key the template does not set,
// with a throttle or metrics on, or one it sets otherwise), its access log.
// An interrupted deploy, or a change by hand, left it so; the deploy sets
// the stage again.
func httpStageDrift(a *API, live *LiveHTTPStage) []string {
	if live == nil {
		return nil
	}
	want := a.HTTPStage
	if want == nil {
		want = &HTTPStage{}
	}
	var drift []string
	if !maps.Equal(live.Variables, a.Variables) {
		drift = append(drift, "variables")
	}
	if wantedRoute(want.DefaultRouteSettings) != liveRoute(live.DefaultRouteSettings) {
		drift = append(drift, "default route settings")
	}
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(live.RouteSettings)) {
		rs := live.RouteSettings[k]
		w, ok := want.RouteSettings[k]
		if ok && wantedRoute(&w) != liveRoute(&rs) || !ok && liveRoute(&rs) != liveRoute(nil) {
			keys = append(keys, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want.RouteSettings)) {
		w := want.RouteSettings[k]
		if _, ok := live.RouteSettings[k]; !ok && wantedRoute(&w) != liveRoute(nil) {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		drift = append(drift, "route settings "+strings.Join(keys, ", "))
	}
	switch w, l := want.AccessLogSettings, live.AccessLogSettings; {
	case w == nil && l != nil:
		drift = append(drift, "access log (to "+l.DestinationArn+"; the template has none)")
	case w != nil && (l == nil || l.DestinationArn != w.DestinationArn || storedFormat(l.Format) != storedFormat(w.Format)):
		drift = append(drift, "access log")
	}
	return drift
}

// liveTakeOff is what SetHTTPStage is to take off the stage besides the
// record's old: the route settings and access log that live holds and the
// template (now) does not set, and its default route settings when they
// differ from now's (they are then set whole again).
func liveTakeOff(old, now *HTTPStage, live *LiveHTTPStage) *HTTPStage {
	if live == nil {
		return old
	}
	if now == nil {
		now = &HTTPStage{}
	}
	out := &HTTPStage{}
	if old != nil {
		out.DefaultRouteSettings, out.AccessLogSettings = old.DefaultRouteSettings, old.AccessLogSettings
		out.RouteSettings = maps.Clone(old.RouteSettings)
	}
	if out.DefaultRouteSettings == nil && wantedRoute(now.DefaultRouteSettings) != liveRoute(live.DefaultRouteSettings) {
		out.DefaultRouteSettings = live.DefaultRouteSettings
	}
	for k, rs := range live.RouteSettings {
		if _, ok := now.RouteSettings[k]; !ok {
			if out.RouteSettings == nil {
				out.RouteSettings = map[string]RouteSettings{}
			}
			if _, ok := out.RouteSettings[k]; !ok {
				out.RouteSettings[k] = rs
			}
		}
	}
	if out.AccessLogSettings == nil {
		out.AccessLogSettings = live.AccessLogSettings
	}
	if out.DefaultRouteSettings == nil && out.RouteSettings == nil && out.AccessLogSettings == nil {
		return nil
	}
	return out
}
