package apis

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// Store buckets owned by this package.
const (
	bucketAPIs        = "gw_apis"        // api id -> API
	bucketDeployments = "gw_deployments" // api id + "/" + deployment id -> Deployment
	bucketStages      = "gw_stages"      // api id + "/" + stage name -> Stage
)

// Service manages APIs, deployments and stages. Every change is one store
// transaction, validated before anything is written. Safe for concurrent use.
type Service struct {
	st  *store.Store
	log *slog.Logger
	now func() time.Time

	// own are Portico's own listeners, which no integration may target
	// (SetOwnListeners; nil: not checked).
	own OwnListeners

	mu         sync.RWMutex
	subs       []func(apiID string)
	guards     []DeleteGuard
	stageHooks []StageDeleteHook
}

// StageDeleteHook runs inside the transaction that deletes stage of API apiID
// (DeleteStage, and Delete for each stage of the API), so that what other
// packages keep of the stage goes with it or, when it returns an error,
// nothing is deleted.
type StageDeleteHook func(tx *store.Tx, apiID, stage string) error

// OnDeleteStage registers h to run in every deletion of a stage.
func (s *Service) OnDeleteStage(h StageDeleteHook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stageHooks = append(s.stageHooks, h)
}

// HasStage reports whether API apiID has a stage named name in tx (whether
// its stored record decodes or not).
func (s *Service) HasStage(tx *store.Tx, apiID, name string) bool {
	return tx.Has(bucketStages, apiID+"/"+name)
}

// runStageHooks runs hooks for each of the stages of API apiID in tx (all of
// them when names is nil).
func runStageHooks(tx *store.Tx, hooks []StageDeleteHook, apiID string, names []string) error {
	if len(hooks) == 0 {
		return nil
	}
	if names == nil {
		err := tx.ForEach(bucketStages, apiID+"/", func(key string, _ []byte) error {
			names = append(names, key[len(apiID)+1:])
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, n := range names {
		for _, h := range hooks {
			if err := h(tx, apiID, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteGuard may refuse to let an API be deleted (an error says why). It runs
// inside the deleting transaction, so what it reads of tx stays true until the
// API is gone.
type DeleteGuard func(tx *store.Tx, a *API) error

// GuardDelete registers g to be asked before every deletion of an API.
func (s *Service) GuardDelete(g DeleteGuard) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guards = append(s.guards, g)
}

// NewService returns a Service over st.
func NewService(st *store.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, log: log, now: func() time.Time { return time.Now().UTC() }}
}

// SetClock replaces the service's clock (for tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Subscribe registers fn to be called, synchronously after commit, whenever an API,
// one of its deployments or one of its stages changes or is deleted.
func (s *Service) Subscribe(fn func(apiID string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, fn)
}

func (s *Service) notify(apiID string) {
	s.mu.RLock()
	subs := s.subs
	s.mu.RUnlock()
	for _, fn := range subs {
		fn(apiID)
	}
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// notFound is the error of an unknown resource (what: "api", "stage", ...):
// its text, less the kind's ": not found" that the admin API's errors drop,
// says what was not found, e.g. `API "x" not found`.
func notFound(what, id string) error {
	if what == "api" {
		what = "API"
	}
	return fmt.Errorf("%s %q not found: %w", what, truncate(id, 200), errdefs.ErrNotFound)
}

// Create stores a new API. The id is generated unless a.ID is set (and free).
func (s *Service) Create(ctx context.Context, a *API) (*API, error) {
	if a == nil {
		return nil, invalid("no api given")
	}
	cp := cloneAPI(a)
	cp.Normalize()
	if err := cp.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkTargets(cp); err != nil {
		return nil, err
	}
	now := s.now()
	cp.CreatedAt, cp.UpdatedAt = now, now
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		if cp.ID == "" {
			for i := 0; ; i++ {
				cp.ID = randomID(10)
				if !tx.Has(bucketAPIs, cp.ID) {
					break
				}
				if i > 10 {
					return errors.New("apis: could not find a free api id")
				}
			}
		} else if tx.Has(bucketAPIs, cp.ID) {
			return fmt.Errorf("api %q exists: %w", cp.ID, errdefs.ErrConflict)
		}
		return tx.Put(bucketAPIs, cp.ID, cp)
	})
	if err != nil {
		return nil, err
	}
	s.notify(cp.ID)
	return cp, nil
}

// Get returns one API.
func (s *Service) Get(ctx context.Context, id string) (*API, error) {
	var a API
	err := s.st.View(ctx, func(tx *store.Tx) error { return s.getAPI(tx, id, &a) })
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func (s *Service) getAPI(tx *store.Tx, id string, a *API) error {
	if !ValidAPIID(id) {
		return notFound("api", id)
	}
	if err := tx.Get(bucketAPIs, id, a); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return notFound("api", id)
		}
		return err
	}
	storedDefaults(a)
	return nil
}

// List returns every API, by name then id.
func (s *Service) List(ctx context.Context) ([]*API, error) {
	var out []*API
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucketAPIs, "", func(_ string, raw []byte) error {
			var a API
			if err := json.Unmarshal(raw, &a); err != nil {
				return err
			}
			storedDefaults(&a)
			out = append(out, &a)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b *API) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) })
	return out, err
}

// Delete deletes an API with its deployments and stages.
func (s *Service) Delete(ctx context.Context, id string) error {
	s.mu.RLock()
	guards, hooks := slices.Clone(s.guards), slices.Clone(s.stageHooks)
	s.mu.RUnlock()
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		var a API
		if err := s.getAPI(tx, id, &a); err != nil {
			if !IsDamagedAPI(err, id) {
				return err
			}
			// Its record does not decode: it is deleted as it is, with
			// what hangs off it, so that one damaged record can be got
			// rid of without a restore. The guards see its id alone.
			s.log.Warn("deleting an API whose stored record is damaged, without reading it", "api", id, "err", err)
			a = API{ID: id}
		}
		for _, g := range guards {
			if err := g(tx, &a); err != nil {
				return err
			}
		}
		if err := runStageHooks(tx, hooks, id, nil); err != nil {
			return err
		}
		if err := tx.DeletePrefix(bucketStages, id+"/"); err != nil {
			return err
		}
		if err := tx.DeletePrefix(bucketDeployments, id+"/"); err != nil {
			return err
		}
		return tx.Delete(bucketAPIs, id)
	})
	if err == nil {
		s.notify(id)
	}
	return err
}

// IsDamagedAPI reports whether err is the read of API id's own stored record
// that does not decode (a *store.RecordError naming it): Delete removes such
// an API, and the admin API lets its DELETE routes through to it.
func IsDamagedAPI(err error, id string) bool { return isDamaged(err, bucketAPIs, id) }

// isDamaged reports whether err is the read of bucket/key's own stored record
// that does not decode.
func isDamaged(err error, bucket, key string) bool {
	var d *store.RecordError
	return errors.As(err, &d) && d.Bucket == bucket && d.Key == key
}

// Kinds of stored record DamagedRecord names.
const (
	RecordAPI        = "api"
	RecordStage      = "stage"
	RecordDeployment = "deployment"
)

// DamagedRecord reports which of an API's stored records the
// *store.RecordError in err names: kind RecordAPI (name ""), RecordStage (name
// is the stage's) or RecordDeployment (name is its id), each of which its
// delete removes without reading it; ok is false for any other error.
func DamagedRecord(err error) (kind, apiID, name string, ok bool) {
	var d *store.RecordError
	if !errors.As(err, &d) {
		return "", "", "", false
	}
	switch d.Bucket {
	case bucketAPIs:
		return RecordAPI, d.Key, "", true
	case bucketStages:
		kind = RecordStage
	case bucketDeployments:
		kind = RecordDeployment
	default:
		return "", "", "", false
	}
	apiID, name, ok = strings.Cut(d.Key, "/")
	return kind, apiID, name, ok
}

// Modify applies fn to API id and stores the result if it validates, all in one
// transaction: a failing fn or an invalid result leaves the API unchanged.
func (s *Service) Modify(ctx context.Context, id string, fn func(a *API) error) (*API, error) {
	var out *API
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		var a API
		if err := s.getAPI(tx, id, &a); err != nil {
			return err
		}
		created := a.CreatedAt
		keys := routeKeys(&a)
		if err := fn(&a); err != nil {
			return err
		}
		a.ID, a.CreatedAt = id, created
		a.Normalize()
		if err := a.Validate(); err != nil {
			var stored API // read again: fn changed a
			if s.getAPI(tx, id, &stored) == nil {
				stored.Normalize()
				err = storedRefusals(&stored, err)
			}
			return err
		}
		if err := s.checkTargets(&a); err != nil {
			return err
		}
		a.UpdatedAt = s.now()
		out = &a
		if err := tx.Put(bucketAPIs, id, &a); err != nil {
			return err
		}
		if err := s.renameRouteSettings(tx, &a, keys); err != nil {
			return err
		}
		return s.autoDeploy(tx, &a, "")
	})
	if err != nil {
		return nil, err
	}
	s.notify(id)
	return out, nil
}

// storedRefusals is err, a changed API's validation error, with each problem
// that the API had as stored (stored.Validate finds it too: an older build
// accepted what this one refuses) said to be the stored API's, with what to
// do: otherwise a change that has nothing to do with it (a new route) would be
// refused in words that seem to be about the change.
func storedRefusals(stored *API, err error) error {
	before := stored.Validate()
	if before == nil {
		return err
	}
	had := map[string]bool{}
	for _, e := range joinedErrors(before) {
		had[e.Error()] = true
	}
	var out []error
	for _, e := range joinedErrors(err) {
		if !had[e.Error()] {
			out = append(out, e)
			continue
		}
		out = append(out, invalid("API %s as stored: %s; an older build accepted it and this build refuses it: delete or change it first, then retry this change",
			stored.ID, strings.TrimSuffix(e.Error(), ": "+errdefs.ErrInvalid.Error())))
	}
	return errors.Join(out...)
}

// joinedErrors is the errors errors.Join joined into err, or err alone.
func joinedErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // the joined list itself, not a wrapped one
		return j.Unwrap()
	}
	return []error{err}
}

// Replace overwrites API id's definition (and name and description when set in
// def) with def's, as put-rest-api in overwrite mode does. The protocol cannot
// change. Stages keep serving their deployments until redeployed.
func (s *Service) Replace(ctx context.Context, id string, def *API) (*API, error) {
	return s.Modify(ctx, id, func(a *API) error {
		if def.Protocol != "" && def.Protocol != a.Protocol {
			return invalid("api %s is %s; an overwrite cannot change it to %s", id, a.Protocol, def.Protocol)
		}
		if def.Name != "" {
			a.Name = def.Name
		}
		if def.Description != "" {
			a.Description = def.Description
		}
		a.Definition = cloneAPI(def).Definition
		return nil
	})
}

// PutRoute adds r to API id, or replaces the route with the same route key.
func (s *Service) PutRoute(ctx context.Context, id string, r Route) (*API, *Route, error) {
	var key string
	a, err := s.Modify(ctx, id, func(a *API) error {
		cp := Route{}
		if err := deepCopy(&r, &cp); err != nil {
			return err
		}
		key = cp.routeKey(a.Protocol)
		if a.Protocol != ProtocolWebSocket && cp.Path == RouteDefault {
			key = RouteDefault
		}
		for i := range a.Routes {
			if a.Routes[i].routeKey(a.Protocol) == key {
				cp.ID = a.Routes[i].ID
				a.Routes[i] = cp
				return nil
			}
		}
		cp.ID = ""
		a.Routes = append(a.Routes, cp)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	rt := a.RouteByKey(key)
	return a, rt, nil
}

// Key returns the route's key for an API of the given protocol: "METHOD PATH",
// "$default", or the WebSocket route key.
func (r *Route) Key(protocol string) string {
	if protocol != ProtocolWebSocket && r.Path == RouteDefault {
		return RouteDefault
	}
	return r.routeKey(protocol)
}

// AddRoute adds a new route; a route with the same key is errdefs.ErrConflict.
func (s *Service) AddRoute(ctx context.Context, id string, r Route) (*Route, error) {
	var key string
	a, err := s.Modify(ctx, id, func(a *API) error {
		key = r.Key(a.Protocol)
		for i := range a.Routes {
			if a.Routes[i].Key(a.Protocol) == key {
				return fmt.Errorf("route %q exists in api %s: %w", key, id, errdefs.ErrConflict)
			}
		}
		r.ID = ""
		a.Routes = append(a.Routes, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a.RouteByKey(key), nil
}

// ReplaceRoute replaces the route routeID with r (whose key may differ; the id
// follows the key). Taking the key of another route is errdefs.ErrConflict.
func (s *Service) ReplaceRoute(ctx context.Context, id, routeID string, r Route) (*Route, error) {
	var key string
	a, err := s.Modify(ctx, id, func(a *API) error {
		key = r.Key(a.Protocol)
		found := -1
		for i := range a.Routes {
			if a.Routes[i].ID == routeID {
				found = i
			} else if a.Routes[i].Key(a.Protocol) == key {
				return fmt.Errorf("route %q exists in api %s: %w", key, id, errdefs.ErrConflict)
			}
		}
		if found < 0 {
			return notFound("route", routeID)
		}
		r.ID = "" // derived from the new key
		if a.Routes[found].Key(a.Protocol) == key {
			r.ID = routeID
		}
		a.Routes[found] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a.RouteByKey(key), nil
}

// DeleteRoute removes a route by id.
func (s *Service) DeleteRoute(ctx context.Context, id, routeID string) error {
	_, err := s.Modify(ctx, id, func(a *API) error {
		for i := range a.Routes {
			if a.Routes[i].ID == routeID {
				a.Routes = append(a.Routes[:i], a.Routes[i+1:]...)
				return nil
			}
		}
		return notFound("route", routeID)
	})
	return err
}

// SetIntegration sets (or with nil removes) a route's integration.
func (s *Service) SetIntegration(ctx context.Context, id, routeID string, in *Integration) (*Route, error) {
	a, err := s.Modify(ctx, id, func(a *API) error {
		r := a.Route(routeID)
		if r == nil {
			return notFound("route", routeID)
		}
		if in == nil {
			r.Integration = nil
			return nil
		}
		cp := *in
		r.Integration, r.IntegrationID = &cp, ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a.Route(routeID), nil
}

// Route returns the route with the given id, or nil.
func (a *API) Route(id string) *Route {
	for i := range a.Routes {
		if a.Routes[i].ID == id {
			return &a.Routes[i]
		}
	}
	return nil
}

// RouteByKey returns the route with route key key ("GET /pets", "$default",
// a WebSocket route key), or nil.
func (a *API) RouteByKey(key string) *Route {
	for i := range a.Routes {
		if a.Routes[i].RouteKey == key {
			return &a.Routes[i]
		}
	}
	return nil
}

// DeployInput creates a deployment and, with a stage name, points that stage at it
// (creating the stage if it does not exist).
type DeployInput struct {
	Description string
	// StageName, when set, is moved to the new deployment (or created).
	StageName string
	// StageDescription and Variables apply only when the stage is created,
	// unless MergeVariables is set: then Variables are also set on an
	// existing stage (API Gateway's create-deployment), canary deployments
	// included (Variables on a canary deployment without MergeVariables are
	// refused rather than dropped).
	StageDescription string
	Variables        map[string]string
	MergeVariables   bool
	// Canary, with StageName, deploys into the stage's canary instead: the new
	// deployment becomes the canary's (with these percentTraffic, overrides and
	// useStageCache) and the stage keeps serving its own deployment. The stage
	// must exist and the API be a REST API.
	Canary *CanarySettings
	// CacheClusterEnabled and CacheClusterSize, with StageName, set the stage's
	// cache.
	CacheClusterEnabled *bool
	CacheClusterSize    *string
	// TracingEnabled, with StageName, sets the stage's tracing.
	TracingEnabled *bool
}

// Deploy snapshots API id as a new deployment. Routes without an integration make
// the API undeployable, as in API Gateway.
func (s *Service) Deploy(ctx context.Context, id string, in DeployInput) (*Deployment, *Stage, error) {
	if len(in.Description) > MaxDescription {
		return nil, nil, invalid("deployment description is longer than %d characters", MaxDescription)
	}
	if in.StageName != "" {
		if err := validStageNameFor(in.StageName, ""); err != nil {
			return nil, nil, err
		}
		if err := errors.Join(ValidateVariables(in.Variables), ValidateVariableValues(in.Variables)); err != nil {
			return nil, nil, err
		}
	} else if in.Canary != nil || in.CacheClusterEnabled != nil || in.CacheClusterSize != nil || in.TracingEnabled != nil {
		return nil, nil, invalid("canarySettings and cache settings need a stageName")
	}
	if c := in.Canary; c != nil {
		if err := ValidPercentTraffic(c.PercentTraffic); err != nil {
			return nil, nil, err
		}
		if err := errors.Join(ValidateVariables(c.StageVariableOverrides), ValidateVariableValues(c.StageVariableOverrides)); err != nil {
			return nil, nil, fmt.Errorf("canary stage variable overrides: %w", err)
		}
	}
	if in.CacheClusterSize != nil {
		if err := ValidateCacheClusterSize(*in.CacheClusterSize); err != nil {
			return nil, nil, err
		}
	}
	var dep Deployment
	var stage *Stage
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		var a API
		if err := s.getAPI(tx, id, &a); err != nil {
			return err
		}
		if in.StageName == RouteDefault && a.Protocol != ProtocolHTTP {
			return invalid("stage name $default is for HTTP APIs only")
		}
		if err := a.deployable(); err != nil {
			return err
		}
		if in.StageName != "" && in.Canary == nil {
			var st Stage
			if tx.Get(bucketStages, id+"/"+in.StageName, &st) == nil && st.AutoDeploy {
				return invalid("stage %q deploys automatically (autoDeploy); a deployment cannot name it: its changes are served already, with nothing to deploy; "+
					"to deploy it by hand, turn autoDeploy off first (aws apigatewayv2 update-stage --no-auto-deploy)", in.StageName)
			}
		}
		now := s.now()
		dep = Deployment{APIID: id, Description: in.Description, CreatedAt: now, API: a}
		for {
			dep.ID = randomID(6)
			if !tx.Has(bucketDeployments, id+"/"+dep.ID) {
				break
			}
		}
		if err := tx.Put(bucketDeployments, id+"/"+dep.ID, &dep); err != nil {
			return err
		}
		if in.StageName == "" {
			return nil
		}
		var st Stage
		err := tx.Get(bucketStages, id+"/"+in.StageName, &st)
		if in.Canary != nil {
			if a.Protocol != ProtocolREST {
				return invalid("canary releases are for REST APIs; api %s is %s", id, a.Protocol)
			}
			if errors.Is(err, errdefs.ErrNotFound) {
				return notFound("stage", in.StageName)
			}
		}
		switch {
		case in.Canary != nil && err == nil:
			c := *in.Canary
			c.DeploymentID, c.StageVariableOverrides = dep.ID, nilIfEmpty(c.StageVariableOverrides)
			st.CanarySettings = &c
			if len(in.Variables) > 0 {
				// API Gateway's variables are the stage's, canary or not; the
				// canary sees them under its overrides.
				if !in.MergeVariables {
					return invalid("variables apply to a new stage only; this deployment goes to the canary of stage %q, which exists", in.StageName)
				}
				if err := mergeVariables(&st, in.Variables); err != nil {
					return err
				}
			}
			st.UpdatedAt = now
			applyCacheAndTracing(&st, in.CacheClusterSize, in.CacheClusterEnabled, in.TracingEnabled)
			stage = &st
			return tx.Put(bucketStages, id+"/"+st.Name, &st)
		case errors.Is(err, errdefs.ErrNotFound):
			st = Stage{APIID: id, Name: in.StageName, Description: in.StageDescription, Variables: in.Variables, CreatedAt: now}
			st.History = []HistoryEntry{{DeploymentID: dep.ID, Action: ActionCreate, At: now, Description: in.Description}}
		case err != nil:
			return err
		default:
			st.History = appendHistory(st.History, HistoryEntry{DeploymentID: dep.ID, Action: ActionDeploy, At: now, Description: in.Description})
			if in.MergeVariables && len(in.Variables) > 0 {
				if err := mergeVariables(&st, in.Variables); err != nil {
					return err
				}
			}
		}
		st.DeploymentID, st.UpdatedAt = dep.ID, now
		applyCacheAndTracing(&st, in.CacheClusterSize, in.CacheClusterEnabled, in.TracingEnabled)
		stage = &st
		return tx.Put(bucketStages, id+"/"+st.Name, &st)
	})
	if err != nil {
		return nil, nil, err
	}
	s.notify(id)
	return &dep, stage, nil
}

// applyCacheAndTracing applies the cache and tracing settings that are set (a
// deployment's or a stage patch's) to a stage; a cache turned on without a size
// gets the default size.
func applyCacheAndTracing(st *Stage, size *string, enabled, tracing *bool) {
	if tracing != nil {
		st.TracingEnabled = *tracing
	}
	if size != nil {
		st.CacheClusterSize = *size
	}
	if enabled != nil {
		st.CacheClusterEnabled = *enabled
		if st.CacheClusterEnabled && st.CacheClusterSize == "" {
			st.CacheClusterSize = DefaultCacheClusterSize
		}
	}
}

// mergeVariables sets the variables of add on st, keeping the others, and
// checks the result against the limits.
func mergeVariables(st *Stage, add map[string]string) error {
	vars := maps.Clone(st.Variables)
	if vars == nil {
		vars = map[string]string{}
	}
	maps.Copy(vars, add)
	if err := errors.Join(ValidateVariables(vars), ValidateVariableValues(add)); err != nil {
		return err
	}
	st.Variables = vars
	return nil
}

func appendHistory(h []HistoryEntry, e HistoryEntry) []HistoryEntry {
	h = append(h, e)
	if len(h) > MaxHistory {
		h = h[len(h)-MaxHistory:]
	}
	return h
}

// GetDeployment returns one deployment with its snapshot.
func (s *Service) GetDeployment(ctx context.Context, apiID, depID string) (*Deployment, error) {
	var d Deployment
	err := s.st.View(ctx, func(tx *store.Tx) error { return getDeployment(tx, apiID, depID, &d) })
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func getDeployment(tx *store.Tx, apiID, depID string, d *Deployment) error {
	if !deploymentIDRe.MatchString(depID) {
		return deploymentNotFound(apiID, depID)
	}
	if err := tx.Get(bucketDeployments, apiID+"/"+depID, d); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return deploymentNotFound(apiID, depID)
		}
		return err
	}
	storedDefaults(&d.API)
	return nil
}

// DeploymentNotFoundError is the error of an unknown deployment of an API;
// it is errdefs.ErrNotFound, and its text names both ("no deployment x in API
// y"), as a deployment id means nothing without its API.
type DeploymentNotFoundError struct{ APIID, ID string }

func (e *DeploymentNotFoundError) Error() string {
	return fmt.Sprintf("no deployment %s in API %s: %v", truncate(e.ID, 200), truncate(e.APIID, 200), errdefs.ErrNotFound)
}

// Unwrap makes the error errdefs.ErrNotFound.
func (e *DeploymentNotFoundError) Unwrap() error { return errdefs.ErrNotFound }

func deploymentNotFound(apiID, depID string) error {
	return &DeploymentNotFoundError{APIID: apiID, ID: depID}
}

// ListDeployments returns an API's deployments, oldest first, without snapshots.
func (s *Service) ListDeployments(ctx context.Context, apiID string) ([]DeploymentSummary, error) {
	var out []DeploymentSummary
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var a API
		if err := s.getAPI(tx, apiID, &a); err != nil {
			return err
		}
		return tx.ForEach(bucketDeployments, apiID+"/", func(_ string, raw []byte) error {
			var d Deployment
			if err := json.Unmarshal(raw, &d); err != nil {
				return err
			}
			out = append(out, d.Summary())
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, err
}

// SetDeploymentDescription changes a deployment's description, the one part of
// a deployment that is not its snapshot.
func (s *Service) SetDeploymentDescription(ctx context.Context, apiID, depID, description string) (*Deployment, error) {
	if len(description) > MaxDescription {
		return nil, invalid("deployment description is longer than %d characters", MaxDescription)
	}
	var d Deployment
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		if err := getDeployment(tx, apiID, depID, &d); err != nil {
			return err
		}
		d.Description = description
		return tx.Put(bucketDeployments, apiID+"/"+depID, &d)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// deploymentInUse is API Gateway's message for deleting a deployment a stage
// points at.
const deploymentInUse = "Active stages pointing to this deployment must be moved or deleted"

// ErrDeploymentInUse is the kind of DeleteDeployment's error for a deployment
// a stage points at: an errdefs.ErrInvalid, answered 400 BadRequestException
// as API Gateway answers it (not 409).
var ErrDeploymentInUse = fmt.Errorf("%s: %w", deploymentInUse, errdefs.ErrInvalid)

// DeleteDeployment deletes a deployment no stage points at; one whose stored
// record is damaged too. A deployment a stage (or its canary) points at is
// refused with ErrDeploymentInUse.
func (s *Service) DeleteDeployment(ctx context.Context, apiID, depID string) error {
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		var d Deployment
		if err := getDeployment(tx, apiID, depID, &d); err != nil {
			if !isDamaged(err, bucketDeployments, apiID+"/"+depID) {
				return err
			}
			// Its record does not decode: deleted as it is, once no stage
			// (each of which must decode) points at it.
			s.log.Warn("deleting a deployment whose stored record is damaged, without reading it", "api", apiID, "deployment", depID, "err", err)
			if err := s.getAPI(tx, apiID, new(API)); err != nil {
				return err
			}
		}
		var inUse []string
		err := tx.ForEach(bucketStages, apiID+"/", func(_ string, raw []byte) error {
			var st Stage
			if err := json.Unmarshal(raw, &st); err != nil {
				return err
			}
			if st.DeploymentID == depID || (st.CanarySettings != nil && st.CanarySettings.DeploymentID == depID) {
				inUse = append(inUse, st.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(inUse) > 0 {
			return &errdefs.Kinded{Kind: ErrDeploymentInUse, Type: "BadRequestException",
				Message: fmt.Sprintf("%s: stage(s) %s point at deployment %s", deploymentInUse, strings.Join(inUse, ", "), depID)}
		}
		return tx.Delete(bucketDeployments, apiID+"/"+depID)
	})
	if err == nil {
		s.notify(apiID)
	}
	return err
}

func validStageNameFor(name, protocol string) error {
	if name == RouteDefault && (protocol == "" || protocol == ProtocolHTTP) {
		return nil
	}
	if !ValidStageName(name) {
		return invalid("stage name %q must match [A-Za-z0-9_-]{1,128}", truncate(name, 140))
	}
	return nil
}

// StageInput creates a stage.
type StageInput struct {
	Name         string
	DeploymentID string
	Description  string
	Variables    map[string]string
	// Settings are applied to the new stage in the same transaction (cache,
	// tracing, canary, access log, method settings); its Description,
	// DeploymentID and variable fields are ignored.
	Settings StagePatch
	// AutoDeploy (HTTP and WebSocket APIs) deploys every change of the API to
	// the stage, starting now when the API is deployable.
	AutoDeploy bool
	// MethodSettings and AccessLogSettings are the stage's settings from the
	// start (validated by the caller as for UpdateStage).
	MethodSettings    map[string]MethodSetting
	AccessLogSettings *AccessLogSettings
	// Tags are the stage's resource tags.
	Tags map[string]string
}

// CreateStage creates a stage pointing at an existing deployment.
func (s *Service) CreateStage(ctx context.Context, apiID string, in StageInput) (*Stage, error) {
	if err := validStageNameFor(in.Name, ""); err != nil {
		return nil, err
	}
	if len(in.Description) > MaxDescription {
		return nil, invalid("stage description is longer than %d characters", MaxDescription)
	}
	if err := errors.Join(ValidateVariables(in.Variables), ValidateVariableValues(in.Variables)); err != nil {
		return nil, err
	}
	var st Stage
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		var a API
		if err := s.getAPI(tx, apiID, &a); err != nil {
			return err
		}
		if err := validStageNameFor(in.Name, a.Protocol); err != nil {
			return err
		}
		if in.AutoDeploy && a.Protocol == ProtocolREST {
			return invalid("autoDeploy is for HTTP and WEBSOCKET APIs")
		}
		switch {
		case in.DeploymentID != "":
			var d Deployment
			if err := getDeployment(tx, apiID, in.DeploymentID, &d); err != nil {
				return err
			}
		case a.Protocol == ProtocolREST:
			// An HTTP or WebSocket API's stage may wait for its first deployment.
			return invalid("a stage needs a deploymentId")
		}
		if tx.Has(bucketStages, apiID+"/"+in.Name) {
			return fmt.Errorf("stage %q of api %s exists: %w", in.Name, apiID, errdefs.ErrConflict)
		}
		now := s.now()
		st = Stage{APIID: apiID, Name: in.Name, Description: in.Description, DeploymentID: in.DeploymentID,
			Variables: nilIfEmpty(in.Variables), CreatedAt: now, UpdatedAt: now, AutoDeploy: in.AutoDeploy,
			MethodSettings: in.MethodSettings, AccessLogSettings: in.AccessLogSettings}
		if len(st.MethodSettings) == 0 {
			st.MethodSettings = nil
		}
		if err := checkMethodSettingsCount(st.MethodSettings, 0); err != nil {
			return err
		}
		if in.DeploymentID != "" {
			st.History = []HistoryEntry{{DeploymentID: in.DeploymentID, Action: ActionCreate, At: now}}
		}
		if err := ValidateTags(in.Tags); err != nil {
			return err
		}
		st.Tags = nilIfEmpty(in.Tags)
		set := in.Settings
		set.Description, set.DeploymentID, set.SetVariables, set.UnsetVariables = nil, nil, nil, nil
		if err := s.applySettings(tx, &st, set, now); err != nil {
			return err
		}
		if err := tx.Put(bucketStages, apiID+"/"+in.Name, &st); err != nil {
			return err
		}
		if in.AutoDeploy && in.DeploymentID == "" {
			if err := s.autoDeploy(tx, &a, in.Name); err != nil {
				return err
			}
			return tx.Get(bucketStages, apiID+"/"+in.Name, &st)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notify(apiID)
	return &st, nil
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// GetStage returns one stage.
func (s *Service) GetStage(ctx context.Context, apiID, name string) (*Stage, error) {
	var st Stage
	err := s.st.View(ctx, func(tx *store.Tx) error { return s.getStage(tx, apiID, name, &st) })
	if err != nil {
		return nil, err
	}
	return &st, nil
}

func (s *Service) getStage(tx *store.Tx, apiID, name string, st *Stage) error {
	var a API
	if err := s.getAPI(tx, apiID, &a); err != nil {
		return err
	}
	if validStageNameFor(name, "") != nil {
		return notFound("stage", name)
	}
	if err := tx.Get(bucketStages, apiID+"/"+name, st); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return notFound("stage", name)
		}
		return err
	}
	return nil
}

// updateStage reads a stage, lets change edit it and writes it back, in one
// transaction; with notify, the API's watchers hear of the change.
func (s *Service) updateStage(ctx context.Context, apiID, name string, notify bool, change func(tx *store.Tx, st *Stage) error) (*Stage, error) {
	var st Stage
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		if err := s.getStage(tx, apiID, name, &st); err != nil {
			return err
		}
		if err := change(tx, &st); err != nil {
			return err
		}
		return tx.Put(bucketStages, apiID+"/"+name, &st)
	})
	if err != nil {
		return nil, err
	}
	if notify {
		s.notify(apiID)
	}
	return &st, nil
}

// ListStages returns an API's stages by name.
func (s *Service) ListStages(ctx context.Context, apiID string) ([]*Stage, error) {
	var out []*Stage
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var a API
		if err := s.getAPI(tx, apiID, &a); err != nil {
			return err
		}
		return tx.ForEach(bucketStages, apiID+"/", func(_ string, raw []byte) error {
			var st Stage
			if err := json.Unmarshal(raw, &st); err != nil {
				return err
			}
			out = append(out, &st)
			return nil
		})
	})
	return out, err
}

// StagePatch changes a stage; nil fields are left as they are.
type StagePatch struct {
	Description *string
	// DeploymentID moves the stage to another deployment of the API (a deploy).
	DeploymentID *string
	// SetVariables adds or changes variables; UnsetVariables removes them.
	SetVariables   map[string]string
	UnsetVariables []string

	// PromoteDeployment moves the stage to its canary's deployment and
	// PromoteVariables merges the canary's overrides into the stage's variables
	// (API Gateway's copy operations from /canarySettings/...); both leave the
	// canary in place. They apply before the other fields.
	PromoteDeployment bool
	PromoteVariables  bool
	// ExpectCanaryDeployment, when set, is the deployment the caller expects
	// the stage's canary to serve (a JSON Patch test of
	// /canarySettings/deploymentId): a stage whose canary serves another, or
	// that has none, refuses the whole patch (ErrConflict), so that a
	// promotion takes the canary the caller confirmed, not one set since.
	ExpectCanaryDeployment *string
	// ExpectCanaryOverrides, when not nil, are the variable overrides the
	// caller expects the stage's canary to have, all of them (a JSON Patch
	// test of /canarySettings/stageVariableOverrides; empty for none): a
	// canary with others, or no canary, refuses the whole patch
	// (ErrConflict), so that a promotion merges the overrides the caller
	// confirmed, not ones set since.
	ExpectCanaryOverrides map[string]string
	// Canary changes the canary (REST APIs only).
	Canary *CanaryPatch
	// CacheClusterEnabled and CacheClusterSize (one of CacheClusterSizes)
	// change the stage's cache; enabling it without a size takes
	// DefaultCacheClusterSize.
	CacheClusterEnabled *bool
	CacheClusterSize    *string
	TracingEnabled      *bool
	// AccessLogFormat and AccessLogDestination change the access log's format
	// and destination (validated by the caller: gateway/accesslog);
	// AccessLogRemove clears both first.
	AccessLogFormat, AccessLogDestination *string
	AccessLogRemove                       bool
	// MethodSettings change method-settings entries, in order.
	MethodSettings []MethodSettingPatch
	// SetMethodSettings replaces whole entries (apigatewayv2's
	// defaultRouteSettings as "*/*" and routeSettings by route key);
	// UnsetMethodSettings removes entries.
	SetMethodSettings   map[string]MethodSetting
	UnsetMethodSettings []string
	// MergeMethodSettings, when set, returns more entries to set (after
	// SetMethodSettings) from the stage's entries as they are in the
	// transaction that writes: for a caller that changes some fields of an
	// entry and keeps the rest, so that a concurrent update's fields stay.
	MergeMethodSettings func(cur map[string]MethodSetting) (map[string]MethodSetting, error)
	// AutoDeploy turns automatic deployment on or off (HTTP and WebSocket
	// APIs); turning it on deploys the API now when it is deployable.
	AutoDeploy *bool
	// DeploymentFollowsAutoDeploy refuses DeploymentID (ErrInvalid) when the
	// stage, as stored in the transaction that writes, deploys automatically
	// and AutoDeploy does not turn that off: apigatewayv2's update-stage, so
	// that an update racing one that turns autoDeploy on, or the deployment
	// that follows, cannot leave an autoDeploy stage on another deployment.
	DeploymentFollowsAutoDeploy bool
}

// UpdateStage applies p to a stage in one transaction; the new state is validated
// (variable limits included) before it is written.
func (s *Service) UpdateStage(ctx context.Context, apiID, name string, p StagePatch) (*Stage, error) {
	var st Stage
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		if err := s.getStage(tx, apiID, name, &st); err != nil {
			return err
		}
		now := s.now()
		before := len(st.MethodSettings)
		if err := s.applySettings(tx, &st, p, now); err != nil {
			return err
		}
		if p.Description != nil {
			if len(*p.Description) > MaxDescription {
				return invalid("stage description is longer than %d characters", MaxDescription)
			}
			st.Description = *p.Description
		}
		if p.DeploymentFollowsAutoDeploy && p.DeploymentID != nil && st.AutoDeploy && (p.AutoDeploy == nil || *p.AutoDeploy) {
			return invalid("Stage %s deploys automatically (autoDeploy): its deploymentId cannot be set", name)
		}
		if p.DeploymentID != nil && *p.DeploymentID != st.DeploymentID {
			var d Deployment
			if err := getDeployment(tx, apiID, *p.DeploymentID, &d); err != nil {
				return err
			}
			st.DeploymentID = d.ID
			st.History = appendHistory(st.History, HistoryEntry{DeploymentID: d.ID, Action: ActionDeploy, At: now})
		}
		if len(p.SetVariables) > 0 || len(p.UnsetVariables) > 0 {
			vars := make(map[string]string, len(st.Variables)+len(p.SetVariables))
			for k, v := range st.Variables {
				vars[k] = v
			}
			for _, k := range p.UnsetVariables {
				delete(vars, k)
			}
			for k, v := range p.SetVariables {
				vars[k] = v
			}
			if err := errors.Join(ValidateVariables(vars), ValidateVariableValues(p.SetVariables)); err != nil {
				return err
			}
			st.Variables = nilIfEmpty(vars)
		}
		if len(p.SetMethodSettings) > 0 || len(p.UnsetMethodSettings) > 0 || p.MergeMethodSettings != nil {
			settings := maps.Clone(st.MethodSettings)
			if settings == nil {
				settings = map[string]MethodSetting{}
			}
			for _, k := range p.UnsetMethodSettings {
				delete(settings, k)
			}
			maps.Copy(settings, p.SetMethodSettings)
			if p.MergeMethodSettings != nil {
				merged, err := p.MergeMethodSettings(maps.Clone(settings))
				if err != nil {
					return err
				}
				maps.Copy(settings, merged)
			}
			if len(settings) == 0 {
				settings = nil
			}
			st.MethodSettings = settings
		}
		deployNow := false
		if p.AutoDeploy != nil {
			var a API
			if err := s.getAPI(tx, apiID, &a); err != nil {
				return err
			}
			if *p.AutoDeploy && a.Protocol == ProtocolREST {
				return invalid("autoDeploy is for HTTP and WEBSOCKET APIs")
			}
			deployNow = *p.AutoDeploy && !st.AutoDeploy
			st.AutoDeploy = *p.AutoDeploy
			if !st.AutoDeploy {
				st.LastDeploymentStatusMessage = ""
			}
		}
		if err := checkMethodSettingsCount(st.MethodSettings, before); err != nil {
			return err
		}
		st.UpdatedAt = now
		if err := tx.Put(bucketStages, apiID+"/"+name, &st); err != nil {
			return err
		}
		if deployNow {
			var a API
			if err := s.getAPI(tx, apiID, &a); err != nil {
				return err
			}
			if err := s.autoDeploy(tx, &a, name); err != nil {
				return err
			}
			return tx.Get(bucketStages, apiID+"/"+name, &st)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notify(apiID)
	return &st, nil
}

// AutoDeployDescription is the description of the deployments autoDeploy makes.
const AutoDeployDescription = "Automatic deployment triggered by changes to the Api configuration"

// deployable reports why a cannot be deployed, or nil.
func (a *API) deployable() error {
	if why := a.undeployable(); why != "" {
		return invalid("%s", why)
	}
	return nil
}

// undeployable says why a cannot be deployed, or "".
func (a *API) undeployable() string {
	if len(a.Routes) == 0 {
		if a.Protocol == ProtocolREST {
			return "The REST API doesn't contain any methods" // API Gateway's words
		}
		if a.Protocol == ProtocolWebSocket {
			return "At least one route is required before deploying the Api" // API Gateway's words
		}
		return "Unable to deploy API because no routes exist in this API" // API Gateway's words
	}
	for _, r := range a.Routes {
		if r.Integration == nil {
			if a.Protocol == ProtocolREST {
				return fmt.Sprintf("No integration defined for method (%s)", r.RouteKey)
			}
			return fmt.Sprintf("no integration defined for route %q of api %s: give it one (update-route --target integrations/ID) or delete it", r.RouteKey, a.ID)
		}
	}
	return ""
}

// autoDeploy deploys a, inside tx, to its stages with AutoDeploy (only the one
// named only, when set). An API that cannot be deployed leaves the stages
// where they are, with the reason in LastDeploymentStatusMessage.
func (s *Service) autoDeploy(tx *store.Tx, a *API, only string) error {
	var stages []Stage
	err := tx.ForEach(bucketStages, a.ID+"/", func(_ string, raw []byte) error {
		var st Stage
		if err := json.Unmarshal(raw, &st); err != nil {
			return err
		}
		if st.AutoDeploy && (only == "" || st.Name == only) {
			stages = append(stages, st)
		}
		return nil
	})
	if err != nil || len(stages) == 0 {
		return err
	}
	now := s.now()
	why := a.undeployable()
	var dep Deployment
	if why == "" {
		dep = Deployment{APIID: a.ID, Description: AutoDeployDescription, CreatedAt: now, AutoDeployed: true, API: *a}
		for {
			dep.ID = randomID(6)
			if !tx.Has(bucketDeployments, a.ID+"/"+dep.ID) {
				break
			}
		}
		if err := tx.Put(bucketDeployments, a.ID+"/"+dep.ID, &dep); err != nil {
			return err
		}
	}
	for i := range stages {
		st := &stages[i]
		if why != "" {
			st.LastDeploymentStatusMessage = "Deployment attempt failed: " + why
			// The change that triggered this succeeded and its answer has
			// no field for this (nor has API Gateway's): say it here too,
			// as the stage keeps serving its older deployment.
			s.log.Warn("automatic deployment failed: the stage keeps serving its current deployment, without this change",
				"api", a.ID, "stage", st.Name, "deployment", st.DeploymentID, "reason", why)
		} else {
			st.LastDeploymentStatusMessage = ""
			action := ActionDeploy
			if st.DeploymentID == "" {
				action = ActionCreate
			}
			st.DeploymentID = dep.ID
			st.History = appendHistory(st.History, HistoryEntry{DeploymentID: dep.ID, Action: action, At: now, Description: AutoDeployDescription})
		}
		st.UpdatedAt = now
		if err := tx.Put(bucketStages, a.ID+"/"+st.Name, st); err != nil {
			return err
		}
	}
	return nil
}

// applySettings applies the promotion, canary, cache, tracing and method
// settings parts of p to st, inside an update transaction.
func (s *Service) applySettings(tx *store.Tx, st *Stage, p StagePatch, now time.Time) error {
	if want := p.ExpectCanaryDeployment; want != nil {
		if c := st.CanarySettings; c == nil {
			return fmt.Errorf("stage %q has no canary now, not one on deployment %s: it changed since it was read; read the stage again and decide on what it is now: %w",
				st.Name, truncate(*want, 50), errdefs.ErrConflict)
		} else if c.DeploymentID != *want {
			return fmt.Errorf("the canary of stage %q serves deployment %s now, not %s: it changed since it was read; read the stage again and decide on what it is now: %w",
				st.Name, c.DeploymentID, truncate(*want, 50), errdefs.ErrConflict)
		}
	}
	if want := p.ExpectCanaryOverrides; want != nil {
		if c := st.CanarySettings; c == nil {
			return fmt.Errorf("stage %q has no canary now: it changed since it was read; read the stage again and decide on what it is now: %w",
				st.Name, errdefs.ErrConflict)
		} else if !maps.Equal(c.StageVariableOverrides, want) {
			return fmt.Errorf("the variable overrides of the canary of stage %q are %s now, not %s: they changed since they were read; read the stage again and decide on what it is now: %w",
				st.Name, truncate(overridesText(c.StageVariableOverrides), 200), truncate(overridesText(want), 200), errdefs.ErrConflict)
		}
	}
	if p.PromoteDeployment || p.PromoteVariables {
		c := st.CanarySettings
		if c == nil {
			return invalid("stage %q has no canary to promote", st.Name)
		}
		if p.PromoteDeployment && c.DeploymentID != "" && c.DeploymentID != st.DeploymentID {
			var d Deployment
			if err := getDeployment(tx, st.APIID, c.DeploymentID, &d); err != nil {
				return err
			}
			st.DeploymentID = d.ID
			st.History = appendHistory(st.History, HistoryEntry{DeploymentID: d.ID, Action: ActionPromote, At: now})
		}
		if p.PromoteVariables && len(c.StageVariableOverrides) > 0 {
			if err := mergeVariables(st, c.StageVariableOverrides); err != nil {
				return err
			}
		}
	}
	if p.Canary != nil {
		var a API
		if err := s.getAPI(tx, st.APIID, &a); err != nil {
			return err
		}
		exists := func(id string) error {
			var d Deployment
			return getDeployment(tx, st.APIID, id, &d)
		}
		if err := applyCanary(st, a.Protocol, p.Canary, exists); err != nil {
			return err
		}
	}
	if p.CacheClusterSize != nil {
		if err := ValidateCacheClusterSize(*p.CacheClusterSize); err != nil {
			return err
		}
	}
	applyCacheAndTracing(st, p.CacheClusterSize, p.CacheClusterEnabled, p.TracingEnabled)
	if p.AccessLogFormat != nil || p.AccessLogDestination != nil || p.AccessLogRemove {
		set := AccessLogSettings{}
		if st.AccessLogSettings != nil && !p.AccessLogRemove {
			set = *st.AccessLogSettings
		}
		if p.AccessLogFormat != nil {
			set.Format = *p.AccessLogFormat
		}
		if p.AccessLogDestination != nil {
			set.DestinationARN = *p.AccessLogDestination
		}
		// An access log writes only with both (gateway/accesslog), as
		// Portico's own access-log route and apigatewayv2 require them: a
		// patch that leaves one alone is refused, not stored inert.
		switch {
		case set.Format != "" && set.DestinationARN == "":
			return invalid("access log format without a destination writes nothing: replace /accessLogSettings/destinationArn in the same patch (stdout, an absolute file path, a file:///path URL or syslog://host:port), or remove /accessLogSettings")
		case set.Format == "" && set.DestinationARN != "":
			return invalid("access log destination without a format writes nothing: replace /accessLogSettings/format in the same patch (clf, json, xml, csv or $context variables), or remove /accessLogSettings")
		}
		st.AccessLogSettings = &set
		if set == (AccessLogSettings{}) {
			st.AccessLogSettings = nil
		}
	}
	if len(p.MethodSettings) > 0 {
		settings := maps.Clone(st.MethodSettings)
		if settings == nil {
			settings = map[string]MethodSetting{}
		}
		for _, mp := range p.MethodSettings {
			if err := applyMethodSetting(settings, mp, st.CacheClusterEnabled); err != nil {
				return err
			}
		}
		if len(settings) == 0 {
			settings = nil
		}
		st.MethodSettings = settings
	}
	return nil
}

// checkMethodSettingsCount refuses method settings over MaxMethodSettings
// entries, unless they hold no more than the before entries a stage had (one
// stored over the bound by an older version can still lose entries).
func checkMethodSettingsCount(settings map[string]MethodSetting, before int) error {
	if n := len(settings); n > MaxMethodSettings && n > before {
		return invalid("a stage holds at most %d method settings (one per route an API may have, and */*); this change would leave %d: remove the entries of methods you no longer set (op remove, path /{resourcePath}/{METHOD})",
			MaxMethodSettings, n)
	}
	return nil
}

// Rollback points a stage back at an earlier deployment of its history: to, or
// when empty the deployment before the current one. A stage that deploys
// automatically is refused (ErrInvalid), as apigatewayv2 refuses a
// deploymentId on it: the API's next change would deploy over the rollback.
func (s *Service) Rollback(ctx context.Context, apiID, name, to string) (*Stage, error) {
	return s.RollbackIf(ctx, apiID, name, to, "")
}

// RollbackIf is Rollback conditional on the deployment the stage serves:
// unless serving is empty, a stage that serves another deployment (one
// deployed since the caller read it) is refused with ErrConflict and left as
// it is, so that a rollback undoes the deployment the caller confirmed
// undoing, not one made since.
func (s *Service) RollbackIf(ctx context.Context, apiID, name, to, serving string) (*Stage, error) {
	return s.updateStage(ctx, apiID, name, true, func(tx *store.Tx, st *Stage) error {
		if serving != "" && st.DeploymentID != serving {
			now := "no deployment"
			if st.DeploymentID != "" {
				now = "deployment " + st.DeploymentID
			}
			return fmt.Errorf("stage %q serves %s now, not %s: it changed since it was read; reload, and decide on what it serves now: %w",
				name, now, truncate(serving, 50), errdefs.ErrConflict)
		}
		if st.AutoDeploy {
			return invalid("Deployment ID cannot be set on stage %s because AutoDeploy is enabled "+
				"(its next automatic deployment would replace the rollback): turn autoDeploy off first "+
				"(aws apigatewayv2 update-stage --no-auto-deploy), then roll back", name)
		}
		target := to
		if target == "" {
			// The newest deployment of the history other than the current
			// one that still exists: one deleted since is passed over.
			gone := false
			for i := len(st.History) - 1; i >= 0 && target == ""; i-- {
				id := st.History[i].DeploymentID
				if id == st.DeploymentID {
					continue
				}
				var d Deployment
				if getDeployment(tx, apiID, id, &d) != nil {
					gone = true
					continue
				}
				target = id
			}
			if target == "" && gone {
				return fmt.Errorf("stage %q has no earlier deployment to roll back to: those of its history have been deleted; deploy again instead: %w", name, errdefs.ErrConflict)
			}
			if target == "" {
				return fmt.Errorf("stage %q has no earlier deployment to roll back to: %w", name, errdefs.ErrConflict)
			}
		}
		inHistory := false
		for _, h := range st.History {
			inHistory = inHistory || h.DeploymentID == target
		}
		if !inHistory {
			return invalid("deployment %q is not in the history of stage %q", truncate(target, 50), name)
		}
		if target == st.DeploymentID {
			return fmt.Errorf("stage %q already serves deployment %s: %w", name, target, errdefs.ErrConflict)
		}
		var d Deployment
		if err := getDeployment(tx, apiID, target, &d); err != nil {
			return fmt.Errorf("deployment %s of the history has been deleted: roll back to another deployment of the stage history, or name none to take the newest one left: %w", target, err)
		}
		now := s.now()
		st.DeploymentID, st.UpdatedAt = target, now
		st.History = appendHistory(st.History, HistoryEntry{DeploymentID: target, Action: ActionRollback, At: now})
		return nil
	})
}

// overridesText writes variable overrides as "{a=1, b=2}" (by name), "none"
// for none.
func overridesText(vars map[string]string) string {
	if len(vars) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		parts = append(parts, k+"="+vars[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// DeleteStage deletes a stage; one whose stored record is damaged too.
func (s *Service) DeleteStage(ctx context.Context, apiID, name string) error {
	s.mu.RLock()
	hooks := slices.Clone(s.stageHooks)
	s.mu.RUnlock()
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		var st Stage
		if err := s.getStage(tx, apiID, name, &st); err != nil {
			if !isDamaged(err, bucketStages, apiID+"/"+name) {
				return err
			}
			// Its record does not decode (the API's does: getStage reads
			// it first): deleted as it is.
			s.log.Warn("deleting a stage whose stored record is damaged, without reading it", "api", apiID, "stage", name, "err", err)
		}
		if err := runStageHooks(tx, hooks, apiID, []string{name}); err != nil {
			return err
		}
		return tx.Delete(bucketStages, apiID+"/"+name)
	})
	if err == nil {
		s.notify(apiID)
	}
	return err
}

// Resolve returns a stage and the deployment it serves, read in one transaction.
// An unknown API, stage or deployment is errdefs.ErrNotFound.
func (s *Service) Resolve(ctx context.Context, apiID, stage string) (*Stage, *Deployment, error) {
	var st Stage
	var d Deployment
	err := s.st.View(ctx, func(tx *store.Tx) error {
		if err := s.getStage(tx, apiID, stage, &st); err != nil {
			return err
		}
		return getDeployment(tx, apiID, st.DeploymentID, &d)
	})
	if err != nil {
		return nil, nil, err
	}
	return &st, &d, nil
}

// StageNames returns the names of an API's stages and its protocol; an unknown API
// is errdefs.ErrNotFound.
func (s *Service) StageNames(ctx context.Context, apiID string) (protocol string, names []string, err error) {
	err = s.st.View(ctx, func(tx *store.Tx) error {
		var a API
		if err := s.getAPI(tx, apiID, &a); err != nil {
			return err
		}
		protocol = a.Protocol
		return tx.ForEach(bucketStages, apiID+"/", func(key string, _ []byte) error {
			names = append(names, key[len(apiID)+1:])
			return nil
		})
	})
	return protocol, names, err
}

func cloneAPI(a *API) *API {
	var cp API
	if err := deepCopy(a, &cp); err != nil {
		// Marshaling our own types cannot fail; keep a shallow copy if it did.
		cp = *a
	}
	return &cp
}

func deepCopy(src, dst any) error {
	raw, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, dst)
}

// SetMethodSettings replaces a stage's method settings (keys "*/*",
// "/{resourcePath}/{METHOD}" or a route key) in one transaction; nil or empty
// removes them all. Requests see the new settings from the next request on.
func (s *Service) SetMethodSettings(ctx context.Context, apiID, name string, settings map[string]MethodSetting) (*Stage, error) {
	for k := range settings {
		if k == "" || len(k) > MaxName {
			return nil, invalid("method settings key %q must be \"*/*\", \"{resourcePath}/{METHOD}\" or a route key", truncate(k, 200))
		}
	}
	return s.updateStage(ctx, apiID, name, true, func(_ *store.Tx, st *Stage) error {
		st.MethodSettings = nil
		if len(settings) > 0 {
			st.MethodSettings = make(map[string]MethodSetting, len(settings))
			for k, v := range settings {
				st.MethodSettings[k] = v
			}
		}
		st.UpdatedAt = s.now()
		return nil
	})
}

func init() {
	store.Record(bucketAPIs, API{})
	store.Record(bucketDeployments, Deployment{})
	store.Record(bucketStages, Stage{})
}
