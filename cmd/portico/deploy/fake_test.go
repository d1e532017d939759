package deploy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// fakeTarget is an in-memory server: functions with versions and aliases, APIs
// with definitions, deployments and stages, usage plans, stack records. failAt
// makes the call with that name (e.g. "Deploy") fail once.
type fakeTarget struct {
	stacks map[string]*Record
	fns    map[string]*fakeFn
	apis   map[string]*fakeAPI
	plans  map[string]*UsagePlan
	// planStages and planKeys are each plan's stages and keys; keys the
	// API keys (id -> name).
	planStages map[string][]APIStage
	planKeys   map[string][]string
	keys       map[string]string
	// keySpecs are the keys as they were made, enabled as last set.
	keySpecs map[string]APIKeySpec
	calls    []string
	failAt   string
	seq      int
	// saved are the $LATEST and API copies SaveFunction and SaveAPI made, by
	// what they returned.
	saved map[any]any
	// images is the fake resolver: the image id each reference names now
	// (a reference it does not hold resolves to itself, as on a server that
	// pins images to their tags); imageErr, when set, is its error.
	images   map[string]string
	imageErr error
	// noImages, when set, is CheckImage's error: a server whose runtime
	// runs Zip functions only.
	noImages error
	// downAt, when set, is the call at which the server goes away: it and
	// every call after it fail, as when the server stops mid-deploy.
	downAt string
	down   bool
	// republish, when set, is the version PublishVersion returns without
	// publishing one, as Lambda's does when $LATEST equals its highest
	// version.
	republish string
	// limit is the account concurrency AccountConcurrency reports (0: 1000).
	limit int
	// badLogs are the access log destinations CheckAccessLog refuses, with
	// the server's message.
	badLogs map[string]string
	// tellState, when set, makes FunctionState answer: $LATEST's
	// configuration (no code digest) and the alias's routing.
	tellState bool
	// onCall, when set, runs at each call, before it fails or not: a
	// change made by hand while a deploy runs.
	onCall func(name string)
}

type fakeFn struct {
	latest   *Function
	versions []string
	aliases  map[string]string
	reserved *int
	// provisioned and eventInvoke are each alias's provisioned
	// concurrency and each qualifier's event invoke configuration.
	provisioned map[string]int
	eventInvoke map[string]*EventInvoke
	// weights are each alias's additional version weights.
	weights map[string]map[string]float64
	// pins are the images $LATEST ("") and each version are pinned to.
	pins map[string]PinnedImage
	// published is the highest version number ever published (a deleted
	// version's number is not given again, as on Lambda).
	published int
	// revisions counts the writes of $LATEST: its RevisionId.
	revisions int
}

// revision is $LATEST's RevisionId.
func (fn *fakeFn) revision() string { return fmt.Sprintf("rev-%d", fn.revisions) }

type fakeAPI struct {
	def         *API
	deployments []string
	stages      map[string]string // stage -> deployment
	auto        map[string]bool   // stage -> autoDeploy
	canary      map[string]string
	stageOps    map[string][]PatchOp
	// live holds each REST stage's settings as PatchStage, a canary
	// Deploy and RestoreStage left them.
	live map[string]*SavedStage
	// httpStage holds, by stage, the old and new HTTPStage of the last
	// SetHTTPStage.
	httpStage map[string][2]*HTTPStage
	// v2 holds each HTTP or WebSocket API stage's route settings and
	// access log as SetHTTPStage left them, as GetHTTPStage answers them
	// (a throttle not configured left out).
	v2 map[string]*HTTPStage
	// tags holds the tags of the API ("") and of its stages (SetRESTTags).
	tags map[string]map[string]string
	// access is what AccessDrift answers (a test sets it as a change by
	// hand of a route's authorization would make it); ReplaceAPI clears it.
	access []string
	// keySource is the API key source the server holds, as CreateAPI and
	// ReplaceAPI set it (a test may change it as a change by hand would).
	keySource string
}

func newFake() *fakeTarget {
	return &fakeTarget{stacks: map[string]*Record{}, fns: map[string]*fakeFn{}, apis: map[string]*fakeAPI{}, plans: map[string]*UsagePlan{},
		planStages: map[string][]APIStage{}, planKeys: map[string][]string{}, keys: map[string]string{}, keySpecs: map[string]APIKeySpec{}, saved: map[any]any{}, images: map[string]string{}}
}

var _ Target = (*fakeTarget)(nil)

func (f *fakeTarget) call(name string, args ...any) error {
	parts := []string{name}
	for _, a := range args {
		parts = append(parts, fmt.Sprint(a))
	}
	f.calls = append(f.calls, strings.Join(parts, " "))
	if f.onCall != nil {
		f.onCall(name)
	}
	if f.downAt != "" && f.downAt == name {
		f.down = true
	}
	if f.down {
		return fmt.Errorf("%s: server unreachable", name)
	}
	if f.failAt == name {
		f.failAt = ""
		return fmt.Errorf("%s: injected failure", name)
	}
	return nil
}

func notFound(what string) error {
	return &client.APIError{Status: http.StatusNotFound, Message: what + " not found"}
}

func (f *fakeTarget) GetStack(_ context.Context, name string) (*Record, error) {
	r, ok := f.stacks[name]
	if !ok {
		return nil, nil
	}
	cp := &Record{Name: r.Name, Template: r.Template, Resources: map[string]*Resource{}}
	for k, v := range r.Resources {
		c := *v
		cp.Resources[k] = &c
	}
	return cp, nil
}

func (f *fakeTarget) PutStack(_ context.Context, rec *Record) error {
	if err := f.call("PutStack", rec.Name); err != nil {
		return err
	}
	f.stacks[rec.Name] = rec
	return nil
}

func (f *fakeTarget) DeleteStack(_ context.Context, name string) error {
	delete(f.stacks, name)
	return f.call("DeleteStack", name)
}

func (f *fakeTarget) FunctionExists(_ context.Context, name string) (bool, error) {
	_, ok := f.fns[name]
	return ok, nil
}

func (f *fakeTarget) APIExists(_ context.Context, id string) (bool, error) {
	_, ok := f.apis[id]
	return ok, nil
}

func (f *fakeTarget) APIKeySource(_ context.Context, id string) (string, error) {
	a, ok := f.apis[id]
	if !ok {
		return "", notFound("api " + id)
	}
	return a.keySource, nil
}

func (f *fakeTarget) AliasExists(_ context.Context, name, alias string) (bool, error) {
	fn, ok := f.fns[name]
	if !ok {
		return false, nil
	}
	_, ok = fn.aliases[alias]
	return ok, nil
}

func (f *fakeTarget) VersionExists(_ context.Context, name, version string) (bool, error) {
	fn, ok := f.fns[name]
	return ok && slices.Contains(fn.versions, version), nil
}

func (f *fakeTarget) StageExists(_ context.Context, id, stage string) (bool, error) {
	a, ok := f.apis[id]
	if !ok {
		return false, nil
	}
	_, ok = a.stages[stage]
	return ok, nil
}

func (f *fakeTarget) UsagePlanExists(_ context.Context, id string) (bool, error) {
	_, ok := f.plans[id]
	return ok, nil
}

func (f *fakeTarget) UsagePlanHasKey(_ context.Context, planID, keyID string) (bool, error) {
	return slices.Contains(f.planKeys[planID], keyID), f.call("UsagePlanHasKey", planID, keyID)
}

func (f *fakeTarget) APIKeyExists(_ context.Context, id string) (bool, error) {
	_, ok := f.keys[id]
	return ok, nil
}

func (f *fakeTarget) PutFunction(_ context.Context, fn *Function, create bool) error {
	if err := f.call("PutFunction", fn.Name); err != nil {
		return err
	}
	if create {
		f.fns[fn.Name] = &fakeFn{aliases: map[string]string{}, pins: map[string]PinnedImage{}}
	}
	cp := *fn
	f.fns[fn.Name].latest = &cp
	f.fns[fn.Name].revisions++
	fn.revision = f.fns[fn.Name].revision()
	f.pin(fn.Name, fn.ImageURI)
	return nil
}

// pin pins $LATEST of function name to what imageURI names now, as the
// server's UpdateFunctionCode does.
func (f *fakeTarget) pin(name, imageURI string) {
	if f.fns[name].pins == nil {
		f.fns[name].pins = map[string]PinnedImage{}
	}
	if imageURI == "" {
		delete(f.fns[name].pins, "")
		return
	}
	f.fns[name].pins[""] = PinnedImage{ImageURI: imageURI, ResolvedImage: cmp.Or(f.images[imageURI], imageURI)}
}

func (f *fakeTarget) ResolveImage(_ context.Context, imageURI string) (string, error) {
	if f.imageErr != nil {
		return "", f.imageErr
	}
	return cmp.Or(f.images[imageURI], imageURI), nil
}

func (f *fakeTarget) CheckImage(context.Context, string) error { return f.noImages }

func (f *fakeTarget) FunctionImage(_ context.Context, name, qualifier string) (PinnedImage, error) {
	fn, ok := f.fns[name]
	if !ok {
		return PinnedImage{}, notFound("function " + name)
	}
	return fn.pins[qualifier], nil
}

func (f *fakeTarget) SaveFunction(_ context.Context, name string) (*SavedFunction, error) {
	s := &SavedFunction{RevisionID: f.fns[name].revision()}
	return s, f.save("SaveFunction "+name, s, *f.fns[name].latest)
}

func (f *fakeTarget) SaveAPI(_ context.Context, id string) (*SavedAPI, error) {
	s := &SavedAPI{}
	return s, f.save("SaveAPI "+id, s, *f.apis[id].def)
}

// save records the call and keeps v under key, for the Restore calls.
func (f *fakeTarget) save(call string, key, v any) error {
	if err := f.call(call); err != nil {
		return err
	}
	f.saved[key] = v
	return nil
}

func (f *fakeTarget) RestoreFunction(_ context.Context, name string, s *SavedFunction, revision string) error {
	if got := f.fns[name].revision(); revision != got {
		_ = f.call("RestoreFunction", name)
		return fmt.Errorf("$LATEST of function %s was %w (its RevisionId is %s, not %s)", name, ErrChangedSince, got, revision)
	}
	fn, _ := f.saved[s].(Function)
	f.fns[name].revisions++
	f.fns[name].latest = &fn
	f.pin(name, fn.ImageURI)
	return f.call("RestoreFunction", name)
}

func (f *fakeTarget) RestoreAPI(_ context.Context, id string, s *SavedAPI) error {
	a, _ := f.saved[s].(API)
	f.apis[id].def = &a
	f.apis[id].autoDeploy()
	return f.call("RestoreAPI", id)
}

func (f *fakeTarget) PublishVersion(_ context.Context, name string) (string, error) {
	if err := f.call("PublishVersion", name); err != nil {
		return "", err
	}
	fn := f.fns[name]
	if f.republish != "" {
		return f.republish, nil
	}
	fn.published = max(fn.published, len(fn.versions)) + 1
	v := fmt.Sprint(fn.published)
	fn.versions = append(fn.versions, v)
	if pin, ok := fn.pins[""]; ok {
		fn.pins[v] = pin
	}
	return v, nil
}

func (f *fakeTarget) SetAlias(_ context.Context, name, alias, version string) error {
	if err := f.call("SetAlias", name+":"+alias+"="+version); err != nil {
		return err
	}
	f.fns[name].aliases[alias] = version
	delete(f.fns[name].weights, alias)
	return nil
}

func (f *fakeTarget) SetAliasRouting(_ context.Context, name, alias, version string, weights map[string]float64) error {
	if err := f.call("SetAliasRouting", name+":"+alias+"="+version, weights); err != nil {
		return err
	}
	fn := f.fns[name]
	fn.aliases[alias] = version
	if fn.weights == nil {
		fn.weights = map[string]map[string]float64{}
	}
	fn.weights[alias] = maps.Clone(weights)
	return nil
}

func (f *fakeTarget) ShiftAlias(_ context.Context, name, alias, version string, d *DeploymentPreference, progress func(string, ...any)) error {
	if err := f.call("ShiftAlias", name+":"+alias+"="+version, d.Type, "pre="+d.PreTraffic, "post="+d.PostTraffic); err != nil {
		return err
	}
	progress("traffic shift of %s:%s: succeeded", name, alias)
	f.fns[name].aliases[alias] = version
	return nil
}

func (f *fakeTarget) SetReserved(_ context.Context, name string, n *int) error {
	f.fns[name].reserved = n
	return f.call("SetReserved", name)
}

func (f *fakeTarget) SetProvisioned(_ context.Context, name, alias string, n int) error {
	if err := f.call("SetProvisioned", name, alias, n); err != nil {
		return err
	}
	fn := f.fns[name]
	if fn.provisioned == nil {
		fn.provisioned = map[string]int{}
	}
	fn.provisioned[alias] = n
	return nil
}

func (f *fakeTarget) SetEventInvoke(_ context.Context, name, qualifier string, c *EventInvoke) error {
	if err := f.call("SetEventInvoke", name, qualifier, c.String()); err != nil {
		return err
	}
	fn := f.fns[name]
	if fn.eventInvoke == nil {
		fn.eventInvoke = map[string]*EventInvoke{}
	}
	fn.eventInvoke[qualifier] = c
	return nil
}

// CheckAccessLog implements Target: a destination in badLogs is refused
// with its message.
func (f *fakeTarget) CheckAccessLog(_ context.Context, dest string) error {
	if msg, bad := f.badLogs[dest]; bad {
		return fmt.Errorf("BadRequestException: %s", msg)
	}
	return nil
}

// FunctionLimits implements Target: a read, not a call.
func (f *fakeTarget) FunctionLimits(_ context.Context, name, alias, qualifier string) (*FunctionLimits, error) {
	if f.down {
		return nil, fmt.Errorf("FunctionLimits: server unreachable")
	}
	fn := f.fns[name]
	lim := &FunctionLimits{Reserved: fn.reserved}
	if alias != "" {
		lim.Provisioned = fn.provisioned[alias]
	}
	if qualifier != "" {
		lim.EventInvoke = fn.eventInvoke[qualifier]
	}
	return lim, nil
}

func (f *fakeTarget) DeleteAlias(_ context.Context, name, alias string) error {
	if err := f.call("DeleteAlias", name+":"+alias); err != nil {
		return err
	}
	if fn := f.fns[name]; fn != nil {
		delete(fn.aliases, alias)
		delete(fn.provisioned, alias)
		delete(fn.eventInvoke, alias)
	}
	return nil
}

// LastVersion implements Target.
func (f *fakeTarget) LastVersion(_ context.Context, name string) (string, error) {
	if fn := f.fns[name]; fn != nil && len(fn.versions) > 0 {
		return fn.versions[len(fn.versions)-1], nil
	}
	return "", nil
}

// DeleteVersion implements Target: a version an alias points at is refused,
// as Lambda refuses it.
func (f *fakeTarget) DeleteVersion(_ context.Context, name, version string) error {
	if err := f.call("DeleteVersion", name+":"+version); err != nil {
		return err
	}
	fn := f.fns[name]
	if fn == nil || !slices.Contains(fn.versions, version) {
		return notFound("version " + version + " of " + name)
	}
	for a, v := range fn.aliases {
		if v == version {
			return fmt.Errorf("version %s of %s: alias %s points at it", version, name, a)
		}
	}
	fn.versions = slices.DeleteFunc(fn.versions, func(v string) bool { return v == version })
	return nil
}

// AccountConcurrency implements Target.
func (f *fakeTarget) AccountConcurrency(context.Context) (int, int, error) {
	limit := cmp.Or(f.limit, 1000)
	unreserved := limit
	for _, fn := range f.fns {
		if fn.reserved != nil {
			unreserved -= *fn.reserved
		}
	}
	return limit, unreserved, nil
}

func (f *fakeTarget) DeleteFunction(_ context.Context, name string) error {
	if err := f.call("DeleteFunction", name); err != nil {
		return err
	}
	if _, ok := f.fns[name]; !ok {
		return notFound("function " + name)
	}
	delete(f.fns, name)
	return nil
}

func (f *fakeTarget) CreateAPI(_ context.Context, a *API) (string, error) {
	if err := f.call("CreateAPI", a.Name); err != nil {
		return "", err
	}
	f.seq++
	id := fmt.Sprintf("api%07d", f.seq)
	f.apis[id] = &fakeAPI{def: a, stages: map[string]string{}, auto: map[string]bool{}, canary: map[string]string{}, stageOps: map[string][]PatchOp{}, live: map[string]*SavedStage{},
		httpStage: map[string][2]*HTTPStage{}, keySource: a.APIKeySource}
	return id, nil
}

func (f *fakeTarget) ReplaceAPI(_ context.Context, id string, a *API) error {
	if err := f.call("ReplaceAPI", id); err != nil {
		return err
	}
	f.apis[id].def, f.apis[id].keySource, f.apis[id].access = a, a.APIKeySource, nil
	f.apis[id].autoDeploy()
	return nil
}

func (f *fakeTarget) Deploy(_ context.Context, id string, a *API, canary bool) (string, Served, error) {
	if err := f.call("Deploy", id, a.Stage); err != nil {
		return "", Served{}, err
	}
	api := f.apis[id]
	prev := Served{Deployment: api.stages[a.Stage], AutoDeploy: api.auto[a.Stage]}
	if a.AutoDeploy && prev.AutoDeploy {
		return prev.Deployment, prev, nil // ReplaceAPI deployed it
	}
	dep := api.deploy()
	if canary {
		api.canary[a.Stage] = dep
		api.stage(a.Stage).Canary = &SavedCanary{PercentTraffic: a.Canary.PercentTraffic, DeploymentID: dep,
			StageVariableOverrides: maps.Clone(a.Canary.StageVariableOverrides), UseStageCache: a.Canary.UseStageCache}
	} else {
		api.stages[a.Stage] = dep
	}
	api.auto[a.Stage] = a.AutoDeploy
	return dep, prev, nil
}

// deploy makes a deployment of the API and returns its id.
func (api *fakeAPI) deploy() string {
	dep := fmt.Sprintf("dep%d", len(api.deployments)+1)
	api.deployments = append(api.deployments, dep)
	return dep
}

// autoDeploy deploys the API to its stages that deploy automatically, as
// the server does on each change of the API.
func (api *fakeAPI) autoDeploy() {
	var dep string
	for _, st := range slices.Sorted(maps.Keys(api.auto)) {
		if api.auto[st] {
			dep = cmp.Or(dep, api.deploy())
			api.stages[st] = dep
		}
	}
}

func (f *fakeTarget) ServeDeployment(_ context.Context, id, stage, dep string, _ map[string]string) (Served, error) {
	if err := f.call("ServeDeployment", id, stage, dep); err != nil {
		return Served{}, err
	}
	api := f.apis[id]
	prev := Served{Deployment: api.stages[stage], AutoDeploy: api.auto[stage]}
	api.stages[stage], api.auto[stage] = dep, false
	return prev, nil
}

func (f *fakeTarget) SetAutoDeploy(_ context.Context, id, stage string, was Served) error {
	if err := f.call("SetAutoDeploy", id, stage, was.AutoDeploy, was.Deployment); err != nil {
		return err
	}
	api := f.apis[id]
	api.auto[stage] = was.AutoDeploy
	if was.AutoDeploy {
		api.autoDeploy()
	} else {
		api.stages[stage] = was.Deployment
	}
	return nil
}

func (f *fakeTarget) PointStage(_ context.Context, id, stage, dep string) error {
	if err := f.call("PointStage", id, stage, dep); err != nil {
		return err
	}
	f.apis[id].stages[stage] = dep
	return nil
}

func (f *fakeTarget) PatchStage(_ context.Context, id, stage string, ops []PatchOp) error {
	if err := f.call("PatchStage", id, stage); err != nil {
		return err
	}
	f.apis[id].stageOps[stage] = ops
	applyFakeOps(f.apis[id].stage(stage), ops)
	return nil
}

// stage is the live settings of a stage, made empty if need be.
func (api *fakeAPI) stage(name string) *SavedStage {
	if api.live[name] == nil {
		api.live[name] = &SavedStage{}
	}
	return api.live[name]
}

// SaveStage is a read: not a call (f.calls lists what changes the server).
func (f *fakeTarget) SaveStage(_ context.Context, id, stage string) (*SavedStage, error) {
	if f.down {
		return nil, fmt.Errorf("SaveStage: server unreachable")
	}
	st := cloneStage(f.apis[id].stage(stage))
	st.DeploymentID = f.apis[id].stages[stage]
	return st, nil
}

// AccessDrift is a read: not a call.
func (f *fakeTarget) AccessDrift(_ context.Context, id, _ string) ([]string, error) {
	if f.down {
		return nil, fmt.Errorf("AccessDrift: server unreachable")
	}
	return f.apis[id].access, nil
}

func (f *fakeTarget) RestoreStage(_ context.Context, id, stage string, s *SavedStage) error {
	if err := f.call("RestoreStage", id, stage); err != nil {
		return err
	}
	applyFakeOps(f.apis[id].stage(stage), restoreStageOps(f.apis[id].stage(stage), s))
	return nil
}

func cloneStage(s *SavedStage) *SavedStage {
	cp := *s
	cp.Variables = maps.Clone(s.Variables)
	cp.MethodSettings = map[string]map[string]any{}
	for k, v := range s.MethodSettings {
		cp.MethodSettings[k] = maps.Clone(v)
	}
	if s.AccessLog != nil {
		al := *s.AccessLog
		cp.AccessLog = &al
	}
	if s.Canary != nil {
		c := *s.Canary
		c.StageVariableOverrides = maps.Clone(c.StageVariableOverrides)
		cp.Canary = &c
	}
	return &cp
}

// applyFakeOps applies the stage patch operations the deploy sends:
// variables, canary, method settings (values kept as the strings sent),
// tracing and the cache cluster.
func applyFakeOps(s *SavedStage, ops []PatchOp) {
	for _, op := range ops {
		segs := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
		switch {
		case segs[0] == "variables" && len(segs) == 2:
			if s.Variables == nil {
				s.Variables = map[string]string{}
			}
			if op.Op == "remove" {
				delete(s.Variables, segs[1])
			} else {
				s.Variables[segs[1]] = op.Value
			}
		case segs[0] == "canarySettings":
			if op.Op == "remove" && len(segs) == 1 {
				s.Canary = nil
				continue
			}
			if s.Canary == nil {
				s.Canary = &SavedCanary{}
			}
			switch segs[1] {
			case "percentTraffic":
				fmt.Sscan(op.Value, &s.Canary.PercentTraffic)
			case "deploymentId":
				s.Canary.DeploymentID = op.Value
			case "useStageCache":
				s.Canary.UseStageCache = op.Value == "true"
			case "stageVariableOverrides":
				if s.Canary.StageVariableOverrides == nil {
					s.Canary.StageVariableOverrides = map[string]string{}
				}
				if op.Op == "remove" {
					delete(s.Canary.StageVariableOverrides, segs[2])
				} else {
					s.Canary.StageVariableOverrides[segs[2]] = op.Value
				}
			}
		case op.Path == "/tracingEnabled":
			s.TracingEnabled = op.Value == "true"
		case op.Path == "/cacheClusterEnabled":
			s.CacheClusterEnabled = op.Value == "true"
		case op.Path == "/cacheClusterSize":
			s.CacheClusterSize = op.Value
		case op.Path == "/accessLogSettings" && op.Op == "remove":
			s.AccessLog = nil
		case segs[0] == "accessLogSettings" && len(segs) == 2:
			if s.AccessLog == nil {
				s.AccessLog = &SavedAccessLog{}
			}
			if segs[1] == "format" {
				s.AccessLog.Format = op.Value
			} else {
				s.AccessLog.DestinationArn = op.Value
			}
		case len(segs) == 2 && op.Op == "remove":
			delete(s.MethodSettings, segs[0]+"/"+segs[1])
		default:
			key, field, ok := methodSettingKey(op.Path)
			if !ok {
				continue
			}
			if s.MethodSettings == nil {
				s.MethodSettings = map[string]map[string]any{}
			}
			if s.MethodSettings[key] == nil {
				s.MethodSettings[key] = map[string]any{}
			}
			for j, p := range methodSettingFields {
				if p == field {
					s.MethodSettings[key][j] = op.Value
				}
			}
		}
	}
}

func (f *fakeTarget) SetHTTPStage(_ context.Context, id, stage string, old, now *HTTPStage) error {
	if err := f.call("SetHTTPStage", id, stage); err != nil {
		return err
	}
	f.apis[id].httpStage[stage] = [2]*HTTPStage{old, now}
	applyFakeHTTPStage(f.apis[id].v2Stage(stage), old, now)
	return nil
}

// v2Stage is the route settings and access log of an HTTP or WebSocket API
// stage, made empty if need be.
func (api *fakeAPI) v2Stage(name string) *HTTPStage {
	if api.v2 == nil {
		api.v2 = map[string]*HTTPStage{}
	}
	if api.v2[name] == nil {
		api.v2[name] = &HTTPStage{}
	}
	return api.v2[name]
}

// storedRoute is template settings rs as the server stores what
// SetHTTPStage sends (v2RouteSettings): -1 is left out.
func storedRoute(rs *RouteSettings) *RouteSettings {
	st := wantedRoute(rs)
	out := &RouteSettings{DetailedMetricsEnabled: &st.metrics}
	if st.burst >= 0 {
		out.ThrottlingBurstLimit = &st.burst
	}
	if st.rate >= 0 {
		out.ThrottlingRateLimit = &st.rate
	}
	return out
}

// applyFakeHTTPStage does to s what HTTPTarget.SetHTTPStage asks of the
// server: the default settings replaced when old or now has them, now's
// route settings set whole, old's others deleted, the access log set or
// deleted.
func applyFakeHTTPStage(s *HTTPStage, old, now *HTTPStage) {
	if old == nil {
		old = &HTTPStage{}
	}
	if now == nil {
		now = &HTTPStage{}
	}
	if now.DefaultRouteSettings != nil || old.DefaultRouteSettings != nil {
		s.DefaultRouteSettings = storedRoute(now.DefaultRouteSettings)
	}
	for k, v := range now.RouteSettings {
		if s.RouteSettings == nil {
			s.RouteSettings = map[string]RouteSettings{}
		}
		s.RouteSettings[k] = *storedRoute(&v)
	}
	for k := range old.RouteSettings {
		if _, ok := now.RouteSettings[k]; !ok {
			delete(s.RouteSettings, k)
		}
	}
	if now.AccessLogSettings != nil {
		al := *now.AccessLogSettings
		s.AccessLogSettings = &al
	} else if old.AccessLogSettings != nil {
		s.AccessLogSettings = nil
	}
}

// GetHTTPStage is a read: not a call. The variables are those PatchStage
// set; the default route settings are always answered, as the server does.
func (f *fakeTarget) GetHTTPStage(_ context.Context, id, stage string) (*LiveHTTPStage, error) {
	if f.down {
		return nil, fmt.Errorf("GetHTTPStage: server unreachable")
	}
	api := f.apis[id]
	s := api.v2Stage(stage)
	out := &LiveHTTPStage{Variables: maps.Clone(api.stage(stage).Variables), DeploymentID: api.stages[stage], AutoDeploy: api.auto[stage], HTTPStage: HTTPStage{DefaultRouteSettings: s.DefaultRouteSettings,
		RouteSettings: maps.Clone(s.RouteSettings), AccessLogSettings: s.AccessLogSettings}}
	if out.DefaultRouteSettings == nil {
		out.DefaultRouteSettings = storedRoute(nil)
	}
	if len(out.Variables) == 0 {
		out.Variables = nil
	}
	return out, nil
}

func (f *fakeTarget) SetRESTTags(_ context.Context, id, stage string, want map[string]string, drop func(string) bool) error {
	if err := f.call("SetRESTTags", id, stage); err != nil {
		return err
	}
	a := f.apis[id]
	if a.tags == nil {
		a.tags = map[string]map[string]string{}
	}
	have := a.tags[stage]
	if have == nil {
		have = map[string]string{}
		a.tags[stage] = have
	}
	for k := range have {
		if _, ok := want[k]; !ok && drop(k) {
			delete(have, k)
		}
	}
	maps.Copy(have, want)
	return nil
}

func (f *fakeTarget) Versions(_ context.Context, name string) ([]string, error) {
	return slices.Clone(f.fns[name].versions), f.call("Versions", name)
}

func (f *fakeTarget) APIsNamed(_ context.Context, name string) ([]string, error) {
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(f.apis)) {
		if f.apis[id].def.Name == name {
			ids = append(ids, id)
		}
	}
	return ids, f.call("APIsNamed", name)
}

func (f *fakeTarget) DeleteStage(_ context.Context, id, stage string) error {
	delete(f.apis[id].stages, stage)
	return f.call("DeleteStage", id, stage)
}

func (f *fakeTarget) DeleteAPI(_ context.Context, id string) error {
	if err := f.call("DeleteAPI", id); err != nil {
		return err
	}
	delete(f.apis, id)
	return nil
}

// stageArgs are a usage plan call's stages as its arguments: apiId stage ...
func stageArgs(stages []APIStage) []any {
	var out []any
	for _, s := range stages {
		out = append(out, s.APIID, s.Stage)
	}
	return out
}

func (f *fakeTarget) CreateUsagePlan(_ context.Context, p *UsagePlan, stages []APIStage) (string, error) {
	if err := f.call("CreateUsagePlan", append([]any{p.Name}, stageArgs(stages)...)...); err != nil {
		return "", err
	}
	f.seq++
	id := fmt.Sprintf("plan%d", f.seq)
	f.plans[id], f.planStages[id] = p, stages
	return id, nil
}

func (f *fakeTarget) UpdateUsagePlan(_ context.Context, id string, p *UsagePlan, stages []APIStage) error {
	if err := f.call("UpdateUsagePlan", append([]any{id}, stageArgs(stages)...)...); err != nil {
		return err
	}
	f.plans[id], f.planStages[id] = p, stages
	return nil
}

func (f *fakeTarget) SaveUsagePlan(_ context.Context, id string) (*SavedUsagePlan, error) {
	if err := f.call("SaveUsagePlan", id); err != nil {
		return nil, err
	}
	p, ok := f.plans[id]
	if !ok {
		return nil, notFound("usage plan " + id)
	}
	return &SavedUsagePlan{Name: p.Name, Throttle: maps.Clone(p.Throttle), Quota: maps.Clone(p.Quota), Stages: slices.Clone(f.planStages[id])}, nil
}

func (f *fakeTarget) RestoreUsagePlan(_ context.Context, id string, s *SavedUsagePlan) error {
	if err := f.call("RestoreUsagePlan", append([]any{id}, stageArgs(s.Stages)...)...); err != nil {
		return err
	}
	f.plans[id] = &UsagePlan{Name: s.Name, Throttle: s.Throttle, Quota: s.Quota}
	f.planStages[id] = s.Stages
	return nil
}

func (f *fakeTarget) DeleteUsagePlan(_ context.Context, id string) error {
	delete(f.plans, id)
	delete(f.planStages, id)
	delete(f.planKeys, id)
	return f.call("DeleteUsagePlan", id)
}

func (f *fakeTarget) CreateAPIKey(_ context.Context, k APIKeySpec) (string, error) {
	if err := f.call("CreateAPIKey", k.Name); err != nil {
		return "", err
	}
	f.seq++
	id := fmt.Sprintf("key%d", f.seq)
	f.keys[id] = k.Name
	f.keySpecs[id] = k
	return id, nil
}

func (f *fakeTarget) EnableAPIKey(_ context.Context, id string, enabled bool) error {
	if err := f.call("EnableAPIKey", id, enabled); err != nil {
		return err
	}
	k, ok := f.keySpecs[id]
	if !ok {
		return notFound("API key " + id)
	}
	k.Enabled = enabled
	f.keySpecs[id] = k
	return nil
}

func (f *fakeTarget) APIKeyState(_ context.Context, id, value string) (KeyState, error) {
	if err := f.call("APIKeyState", id); err != nil {
		return KeyState{}, err
	}
	k := f.keySpecs[id]
	return KeyState{Enabled: k.Enabled, SameValue: value == "" || k.Value == value}, nil
}

func (f *fakeTarget) AddUsagePlanKey(_ context.Context, planID, keyID string) error {
	if err := f.call("AddUsagePlanKey", planID, keyID); err != nil {
		return err
	}
	if _, ok := f.plans[planID]; !ok {
		return notFound("usage plan " + planID)
	}
	f.planKeys[planID] = append(f.planKeys[planID], keyID)
	return nil
}

func (f *fakeTarget) DeleteAPIKey(_ context.Context, id string) error {
	delete(f.keys, id)
	delete(f.keySpecs, id)
	for p, ks := range f.planKeys {
		f.planKeys[p] = slices.DeleteFunc(ks, func(k string) bool { return k == id })
	}
	return f.call("DeleteAPIKey", id)
}

// mutating lists the calls that change something (all but PutStack, the
// Save calls and the reads of API keys).
func (f *fakeTarget) mutating() []string {
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "PutStack") && !strings.HasPrefix(c, "Save") && !strings.HasPrefix(c, "APIKeyState") && !strings.HasPrefix(c, "UsagePlanHasKey") {
			out = append(out, c)
		}
	}
	return out
}

// writeCode writes a directory holding an executable bootstrap with content
// body under dir/name.
func writeCode(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte(body), 0o755); err != nil { //nolint:gosec // an executable test fixture
		t.Fatal(err)
	}
}

// deployText loads, builds, plans and applies a template against f.
func deployText(t *testing.T, f *fakeTarget, dir, stack, text string, params map[string]string) (*Plan, error) {
	t.Helper()
	p, _, err := deployOutput(t, f, dir, stack, text, params)
	return p, err
}

// deployOutput is deployText returning what the deploy printed too.
func deployOutput(t *testing.T, f *fakeTarget, dir, stack, text string, params map[string]string) (*Plan, string, error) {
	t.Helper()
	p, err := planOf(t, f, dir, stack, text, params)
	if err != nil {
		return nil, "", err
	}
	var out strings.Builder
	err = Apply(context.Background(), f, p, &out)
	t.Log(out.String())
	return p, out.String(), err
}

// planOf loads, builds and plans a template against f, without applying it.
func planOf(t *testing.T, f *fakeTarget, dir, stack, text string, params map[string]string) (*Plan, error) {
	t.Helper()
	path := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(path, Options{Stack: stack, Parameters: params})
	if err != nil {
		return nil, err
	}
	d, err := Build(tpl)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	rec, err := f.GetStack(ctx, stack)
	if err != nil {
		return nil, err
	}
	obs, err := Observe(ctx, f, d, rec)
	if err != nil {
		return nil, err
	}
	return NewPlan(d, rec, obs)
}

func actions(p *Plan) string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.LogicalID+"="+string(c.Action))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// FunctionState implements Target: the fake cannot tell, unless tellState.
func (f *fakeTarget) FunctionState(_ context.Context, name, alias string) (*FunctionState, error) {
	fn := f.fns[name]
	if !f.tellState || fn == nil {
		return nil, nil
	}
	st := &FunctionState{Config: functionConfig(fn.latest), ImageURI: fn.latest.ImageURI}
	if alias != "" {
		st.AliasVersion = fn.aliases[alias]
		if w := fn.weights[alias]; len(w) > 0 {
			st.AliasWeights = maps.Clone(w)
		}
	}
	return st, nil
}

// VersionState implements Target: the fake cannot tell.
func (f *fakeTarget) VersionState(context.Context, string, string) (*FunctionState, error) {
	return nil, nil
}
