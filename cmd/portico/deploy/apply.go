package deploy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/usage"
)

// Target is the server a plan is applied to. HTTPTarget is the admin API's;
// tests use a fake. Implementations need not be safe for concurrent use.
type Target interface {
	// GetStack returns the stack's record, or nil when there is none.
	GetStack(ctx context.Context, name string) (*Record, error)
	// PutStack writes the record over rec.Revision and sets rec.Revision
	// to the revision written (a run writes its record more than once).
	PutStack(ctx context.Context, rec *Record) error
	// DeleteStack deletes the stack's record (not its resources); a record
	// that is not there is no error.
	DeleteStack(ctx context.Context, name string) error
	FunctionExists(ctx context.Context, name string) (bool, error)
	APIExists(ctx context.Context, id string) (bool, error)
	// APIKeySource returns the API key source the server holds for an API
	// (HEADER or "": the x-api-key header; AUTHORIZER), which a WebSocket
	// API's definition fingerprint cannot vouch for: deploys before the
	// source was sent recorded it and made the API without it.
	APIKeySource(ctx context.Context, id string) (string, error)
	// AliasExists, VersionExists, StageExists and UsagePlanExists say
	// whether what a stack recorded is still there: what was deleted by
	// hand is made again.
	AliasExists(ctx context.Context, name, alias string) (bool, error)
	VersionExists(ctx context.Context, name, version string) (bool, error)
	StageExists(ctx context.Context, id, stage string) (bool, error)
	UsagePlanExists(ctx context.Context, id string) (bool, error)
	APIKeyExists(ctx context.Context, id string) (bool, error)
	// UsagePlanHasKey says whether API key keyID is in usage plan planID.
	UsagePlanHasKey(ctx context.Context, planID, keyID string) (bool, error)
	// ResolveImage returns the image id the server's runtime resolves
	// imageURI to now, changing nothing ("" when the server pins images to
	// their tags). FunctionImage returns the image a function's qualifier
	// ("": $LATEST) is pinned to (zero for a Zip function). Together they
	// tell an image rebuilt under the same tag, which the template does not.
	ResolveImage(ctx context.Context, imageURI string) (string, error)
	FunctionImage(ctx context.Context, name, qualifier string) (PinnedImage, error)
	// CheckImage says whether the server could make a function of imageURI,
	// pulling nothing and changing nothing: an error when it could not (its
	// runtime runs Zip functions only, or the reference is not one),
	// ErrWouldPull when the server's host does not have the image (only a
	// pull would tell), nil otherwise (nil too when only the runtime would
	// tell).
	CheckImage(ctx context.Context, imageURI string) error

	// PutFunction creates the function (create) or updates its code and
	// configuration ($LATEST).
	PutFunction(ctx context.Context, f *Function, create bool) error
	// SaveFunction returns the function's $LATEST as it is now (code and the
	// configuration PutFunction sets), for RestoreFunction.
	SaveFunction(ctx context.Context, name string) (*SavedFunction, error)
	// RestoreFunction puts back the $LATEST that SaveFunction returned,
	// only while $LATEST's RevisionId is revision (Lambda's RevisionId
	// precondition): when it is not, it was changed since, and
	// RestoreFunction changes nothing and returns an error for which
	// errors.Is(err, ErrChangedSince) is true.
	RestoreFunction(ctx context.Context, name string, s *SavedFunction, revision string) error
	// FunctionState returns what the server runs of function name: its
	// $LATEST's configuration and code, and (alias != "") the alias's
	// routing. nil is a target that cannot tell.
	FunctionState(ctx context.Context, name, alias string) (*FunctionState, error)
	// VersionState returns what FunctionState does of a published version
	// (its configuration and code; no alias).
	VersionState(ctx context.Context, name, version string) (*FunctionState, error)
	// PublishVersion publishes $LATEST as a new version, or returns the
	// highest version when $LATEST equals it (as Lambda's does).
	PublishVersion(ctx context.Context, name string) (string, error)
	// LastVersion returns the highest published version of the function
	// ("": none), to tell a version PublishVersion published from one it
	// returned.
	LastVersion(ctx context.Context, name string) (string, error)
	// Versions returns the function's published versions.
	Versions(ctx context.Context, name string) ([]string, error)
	// DeleteVersion deletes a published version (one an alias points at is
	// refused).
	DeleteVersion(ctx context.Context, name, version string) error
	SetAlias(ctx context.Context, name, alias, version string) error
	// SetAliasRouting points the alias at version, sharing its calls with
	// the versions of weights (0..1 each), creating it if need be.
	SetAliasRouting(ctx context.Context, name, alias, version string, weights map[string]float64) error
	// ShiftAlias shifts the alias's traffic to version by a traffic shift of
	// d and waits for it to end, reporting each step through progress. A
	// shift that fails or is stopped is an error saying why; the server has
	// then rolled the alias back to its old version.
	ShiftAlias(ctx context.Context, name, alias, version string, d *DeploymentPreference, progress func(format string, args ...any)) error
	// FunctionLimits returns the function's reserved concurrency, the
	// provisioned concurrency of alias ("": not read) and the event invoke
	// configuration of qualifier ("": not read); nil is a target that
	// cannot tell.
	FunctionLimits(ctx context.Context, name, alias, qualifier string) (*FunctionLimits, error)
	// CheckAccessLog says whether a stage's access log may have destination
	// dest on the server (the directories it allows, not a function's log
	// file), changing nothing: an error saying why not, nil otherwise (nil
	// too for a server that cannot tell).
	CheckAccessLog(ctx context.Context, dest string) error
	// SetReserved sets (n != nil) or removes the reserved concurrency.
	SetReserved(ctx context.Context, name string, n *int) error
	// SetProvisioned sets (n > 0) or removes the alias's provisioned concurrency.
	SetProvisioned(ctx context.Context, name, alias string, n int) error
	// SetEventInvoke sets (c != nil) or removes the event invoke
	// configuration of the function's qualifier (its alias or $LATEST).
	SetEventInvoke(ctx context.Context, name, qualifier string, c *EventInvoke) error
	// DeleteAlias deletes the alias with its provisioned concurrency; an
	// alias that is not there is no error.
	DeleteAlias(ctx context.Context, name, alias string) error
	DeleteFunction(ctx context.Context, name string) error
	// AccountConcurrency returns the account's concurrency and what of it
	// no function reserves (Lambda's GetAccountSettings).
	AccountConcurrency(ctx context.Context) (limit, unreserved int, err error)

	// CreateAPI creates the API (not deployed) and returns its id.
	CreateAPI(ctx context.Context, a *API) (string, error)
	// APIsNamed returns the ids of the APIs named name.
	APIsNamed(ctx context.Context, name string) ([]string, error)
	// ReplaceAPI replaces the API's definition; stages keep serving their
	// deployments until Deploy.
	ReplaceAPI(ctx context.Context, id string, a *API) error
	// SaveAPI returns the API's definition as it is now, for RestoreAPI.
	SaveAPI(ctx context.Context, id string) (*SavedAPI, error)
	// RestoreAPI puts back the definition that SaveAPI returned.
	RestoreAPI(ctx context.Context, id string, s *SavedAPI) error
	// Deploy snapshots the API and points the stage (or, with canary, the
	// stage's canary) at it; it returns the deployment id and what the stage
	// served before (a zero Served for a new stage). A stage of a.AutoDeploy
	// is made, or turned, to deploy automatically (which deploys it), and
	// one without it is turned not to before the deployment.
	Deploy(ctx context.Context, id string, a *API, canary bool) (dep string, previous Served, err error)
	// PointStage points an existing stage at a deployment (undoing Deploy).
	PointStage(ctx context.Context, id, stage, deployment string) error
	// ServeDeployment points stage at deployment, making the stage (with
	// variables) if need be, and turning its autoDeploy off; it returns what
	// the stage served before (a zero Served for a new stage).
	ServeDeployment(ctx context.Context, id, stage, deployment string, variables map[string]string) (Served, error)
	// SetAutoDeploy undoes Deploy's turning a stage's autoDeploy on or off:
	// it turns it back on (was.AutoDeploy: the stage follows the API
	// again), or off with the stage pointed at was.Deployment.
	SetAutoDeploy(ctx context.Context, id, stage string, was Served) error
	PatchStage(ctx context.Context, id, stage string, ops []PatchOp) error
	// SaveStage returns a REST API stage's settings as they are now
	// (variables, method settings, canary, tracing, cache cluster, access
	// log), for RestoreStage and for the plan to compare with the template.
	SaveStage(ctx context.Context, id, stage string) (*SavedStage, error)
	// AccessDrift names what of the access control of API id's definition
	// (routes' API key requirement and authorization, authorizers, key
	// source, resource policy, execute-api endpoint) differs from the
	// snapshot of deployment dep (accessDrift); none when that deployment
	// is gone.
	AccessDrift(ctx context.Context, id, dep string) ([]string, error)
	// RestoreStage puts back the stage settings SaveStage returned.
	RestoreStage(ctx context.Context, id, stage string, s *SavedStage) error
	// GetHTTPStage returns an HTTP or WebSocket API stage as it is now
	// (variables, route settings, access log), for the plan to compare
	// with the template.
	GetHTTPStage(ctx context.Context, id, stage string) (*LiveHTTPStage, error)
	// SetHTTPStage sets an HTTP or WebSocket API stage's default and
	// per-route settings and its access log to now's through the
	// apigatewayv2 stage, and takes off what old (what the last deploy set;
	// nil: nothing) set and now (nil: nothing) does not.
	SetHTTPStage(ctx context.Context, id, stage string, old, now *HTTPStage) error
	// SetRESTTags makes the tags of REST API id (stage "") or of its stage
	// want, and takes off those want does not have that drop names (the
	// tags the last deploy set: one added by hand stays).
	SetRESTTags(ctx context.Context, id, stage string, want map[string]string, drop func(key string) bool) error
	DeleteStage(ctx context.Context, id, stage string) error
	DeleteAPI(ctx context.Context, id string) error
	// CreateUsagePlan creates a usage plan on stages and returns its id.
	CreateUsagePlan(ctx context.Context, p *UsagePlan, stages []APIStage) (string, error)
	// UpdateUsagePlan sets the plan's name, throttle and quota, and makes
	// its stages of the APIs stages names those (the deploy may have
	// renamed one); a shared plan's (p.Shared) stages become stages
	// exactly. Its keys stay.
	UpdateUsagePlan(ctx context.Context, id string, p *UsagePlan, stages []APIStage) error
	// SaveUsagePlan returns the usage plan as it is now (name, description,
	// throttle, quota, stages), for RestoreUsagePlan.
	SaveUsagePlan(ctx context.Context, id string) (*SavedUsagePlan, error)
	// RestoreUsagePlan puts back the plan SaveUsagePlan returned: its name,
	// description, throttle, quota and stages. Its keys stay.
	RestoreUsagePlan(ctx context.Context, id string, s *SavedUsagePlan) error
	DeleteUsagePlan(ctx context.Context, id string) error
	// CreateAPIKey creates API key k (its value made by the server unless k
	// gives one) and returns its id; the key's value is never returned, so
	// never logged.
	CreateAPIKey(ctx context.Context, k APIKeySpec) (string, error)
	// EnableAPIKey enables or disables API key id.
	EnableAPIKey(ctx context.Context, id string, enabled bool) error
	// APIKeyState reads API key id: whether it is enabled and whether its
	// value is value ("": not compared; the value is compared where it is
	// read, never returned).
	APIKeyState(ctx context.Context, id, value string) (KeyState, error)
	// AddUsagePlanKey adds API key keyID to usage plan planID.
	AddUsagePlanKey(ctx context.Context, planID, keyID string) error
	// DeleteAPIKey deletes the API key; a key that is not there is no error.
	DeleteAPIKey(ctx context.Context, id string) error
}

// APIKeySpec is an API key to make: SAM's are enabled with a value the
// server makes; a raw AWS::ApiGateway::ApiKey may be disabled or give its
// value.
type APIKeySpec struct {
	Name    string
	Enabled bool
	Value   string
}

// APIStage is a stage of an API, as a usage plan names it.
type APIStage struct {
	APIID string `json:"apiId"`
	Stage string `json:"stage"`
}

// String is the stage as API Gateway's patch operations name it: apiId:stage.
func (s APIStage) String() string { return s.APIID + ":" + s.Stage }

// SavedFunction is a function's $LATEST as SaveFunction found it.
type SavedFunction struct {
	// Config is the configuration document: the fields PutFunction sets.
	Config map[string]any
	// Zip is a Zip function's code archive.
	Zip []byte
	// ImageURI is an Image function's image, by the digest it was pinned to
	// (REPOSITORY@sha256:..., GetFunction's ResolvedImageUri) where the
	// server pins images, so that a rollback puts back the image $LATEST ran
	// even when its tag names another one since.
	ImageURI string
	// imageGiven is the ImageUri as the function was given it (GetFunction's
	// ImageUri, a tag where one was given): what a template names.
	imageGiven string
	// RevisionID is $LATEST's RevisionId as it was read: what it still is
	// when the deploy's update of it wrote nothing.
	RevisionID string
}

// ErrChangedSince is RestoreFunction's error for a $LATEST changed since
// the deploy updated it: a rollback leaves it as it is.
var ErrChangedSince = errors.New("changed since this deploy updated it")

// FunctionState is what the server holds of a function, to compare with what
// its stack recorded: an interrupted deploy, or a change by hand, may have
// left it otherwise.
type FunctionState struct {
	// Config is $LATEST's configuration: the fields PutFunction sets, as
	// SavedFunction.Config holds them.
	Config map[string]any
	// CodeSHA256 is $LATEST's Lambda CodeSha256 (a Zip function's: the
	// base64 SHA-256 of its archive); ImageURI an Image function's image
	// as it was given (GetFunction's ImageUri, not the digest it resolved to).
	CodeSHA256, ImageURI string
	// AliasVersion is the version the alias points at ("": no alias),
	// AliasWeights the versions it shares its calls with.
	AliasVersion string
	AliasWeights map[string]float64
}

// ErrWouldPull is ResolveImage's error, under a dry run, for an image the
// server's host does not have: resolving it would pull it, which a dry run
// does not do.
var ErrWouldPull = errors.New("the image is not on the server's host: resolving it would pull it")

// Served is what an API stage served: a deployment, and whether the stage
// deployed automatically (apigatewayv2's autoDeploy).
type Served struct {
	Deployment string
	AutoDeploy bool
}

// SavedUsagePlan is a usage plan as SaveUsagePlan found it.
type SavedUsagePlan struct {
	Name, Description string
	// Throttle and Quota are as the server answers them (nil: none), their
	// numbers as json.Number so that they are sent back as they were read.
	Throttle map[string]any
	Quota    map[string]any
	Stages   []APIStage
}

// SavedAPI is an API as SaveAPI found it: the admin API's document of it.
type SavedAPI struct {
	Doc json.RawMessage
}

// Observe asks the target which of the plan's functions and the record's
// resources exist: functions and APIs, and the aliases, versions, stages and
// usage plans of those that do.
func Observe(ctx context.Context, t Target, d *Desired, rec *Record) (Observed, error) {
	obs := Observed{Functions: map[string]bool{}, APIs: map[string]bool{}, Aliases: map[string]bool{}, Versions: map[string]bool{},
		Stages: map[string]bool{}, UsagePlans: map[string]bool{}, APIKeys: map[string]bool{}, Images: map[string]ImageState{},
		Drift: map[string][]string{}, Serving: map[string]AliasRouting{}, Repackaged: map[string]string{}, Adopt: map[string]string{}, KeySources: map[string]string{},
		Unrecorded: map[string][]string{}, Leftover: map[string][]string{}}
	names := map[string]bool{}
	for _, f := range d.Functions {
		names[f.Name] = true
	}
	if rec != nil {
		recorded := map[string]bool{}
		for _, r := range rec.Resources {
			if r.Kind == KindAPI {
				recorded[r.PhysicalID] = true
			}
		}
		for key, r := range rec.Resources {
			switch r.Kind {
			case KindCreating:
				ids, err := t.APIsNamed(ctx, r.PhysicalID)
				if err != nil {
					return obs, err
				}
				for _, id := range ids {
					if !slices.Contains(r.Before, id) && !recorded[id] {
						obs.Unrecorded[key] = append(obs.Unrecorded[key], id)
					}
				}
			case KindFunction:
				names[r.PhysicalID] = true
			case KindAPI:
				ok, err := t.APIExists(ctx, r.PhysicalID)
				if err != nil {
					return obs, err
				}
				obs.APIs[r.PhysicalID] = ok
			}
		}
	}
	for n := range names {
		ok, err := t.FunctionExists(ctx, n)
		if err != nil {
			return obs, err
		}
		obs.Functions[n] = ok
	}
	for _, f := range d.Functions {
		if f.Reserved != nil {
			limit, unreserved, err := t.AccountConcurrency(ctx)
			if err != nil {
				return obs, fmt.Errorf("reading the account's concurrency: %w", err)
			}
			obs.Concurrency = &AccountConcurrency{Limit: limit, Unreserved: unreserved}
			break
		}
	}
	if err := checkImages(ctx, t, d, &obs); err != nil {
		return obs, err
	}
	if err := checkAccessLogs(ctx, t, d); err != nil {
		return obs, err
	}
	if rec == nil {
		return obs, nil
	}
	check := func(m map[string]bool, key string, exists func() (bool, error)) error {
		ok, err := exists()
		m[key] = ok
		return err
	}
	for _, r := range rec.Resources {
		if r.Kind == KindFunction && r.Publishing != "" && obs.Functions[r.PhysicalID] {
			left, held, err := leftoverVersions(ctx, t, r)
			if err != nil {
				return obs, err
			}
			obs.Leftover[r.PhysicalID] = left
			if len(held) > 0 {
				if obs.Held == nil {
					obs.Held = map[string][]string{}
				}
				obs.Held[r.PhysicalID] = held
			}
		}
	}
	for logical, r := range rec.Resources {
		var err error
		switch {
		case r.Kind == KindFunction && obs.Functions[r.PhysicalID]:
			if r.Alias != "" {
				err = check(obs.Aliases, r.PhysicalID+":"+r.Alias, func() (bool, error) { return t.AliasExists(ctx, r.PhysicalID, r.Alias) })
			}
			if err == nil && r.Version != "" {
				err = check(obs.Versions, r.PhysicalID+":"+r.Version, func() (bool, error) { return t.VersionExists(ctx, r.PhysicalID, r.Version) })
			}
		case r.Kind == KindAPI && obs.APIs[r.PhysicalID]:
			if r.Stage != "" {
				err = check(obs.Stages, r.PhysicalID+"/"+r.Stage, func() (bool, error) { return t.StageExists(ctx, r.PhysicalID, r.Stage) })
			}
			if a := d.APIs[logical]; err == nil && r.Stage != "" && obs.Stages[r.PhysicalID+"/"+r.Stage] && a != nil && a.Protocol == apis.ProtocolREST && a.Stage == r.Stage {
				var st *SavedStage
				if st, err = t.SaveStage(ctx, r.PhysicalID, r.Stage); err != nil {
					err = fmt.Errorf("reading stage %s of API %s (%s) to compare it with the template: %w", r.Stage, r.PhysicalID, logical, err)
				}
				if obs.StageState == nil {
					obs.StageState = map[string]*SavedStage{}
				}
				obs.StageState[r.PhysicalID+"/"+r.Stage] = st
			}
			if a := d.APIs[logical]; err == nil && r.Stage != "" && obs.Stages[r.PhysicalID+"/"+r.Stage] && a != nil && a.Protocol != apis.ProtocolREST && a.Stage == r.Stage {
				var st *LiveHTTPStage
				if st, err = t.GetHTTPStage(ctx, r.PhysicalID, r.Stage); err != nil {
					err = fmt.Errorf("reading stage %s of API %s (%s) to compare it with the template: %w", r.Stage, r.PhysicalID, logical, err)
				}
				if obs.HTTPStageState == nil {
					obs.HTTPStageState = map[string]*LiveHTTPStage{}
				}
				obs.HTTPStageState[r.PhysicalID+"/"+r.Stage] = st
			}
			if a := d.APIs[logical]; err == nil && r.Stage != "" && r.Deployment != "" && obs.Stages[r.PhysicalID+"/"+r.Stage] && a != nil && a.Stage == r.Stage && a.Canary == nil {
				var drift []string
				if drift, err = t.AccessDrift(ctx, r.PhysicalID, r.Deployment); err != nil {
					err = fmt.Errorf("reading API %s (%s) to compare its access control with the stack's deployment %s: %w", r.PhysicalID, logical, r.Deployment, err)
				}
				if len(drift) > 0 {
					if obs.Access == nil {
						obs.Access = map[string][]string{}
					}
					obs.Access[r.PhysicalID] = drift
				}
			}
			if err == nil && r.UsagePlanID != "" {
				err = check(obs.UsagePlans, r.UsagePlanID, func() (bool, error) { return t.UsagePlanExists(ctx, r.UsagePlanID) })
			}
			if err == nil && r.APIKeyID != "" {
				err = check(obs.APIKeys, r.APIKeyID, func() (bool, error) { return t.APIKeyExists(ctx, r.APIKeyID) })
			}
			if err == nil && obs.APIKeys[r.APIKeyID] {
				err = observeRawKey(ctx, t, d.APIs[logical], r.APIKeyID, &obs)
			}
			if a := d.APIs[logical]; err == nil && a != nil && a.ownPlan() != nil && r.UsagePlanID != "" && obs.UsagePlans[r.UsagePlanID] {
				err = observePlan(ctx, t, logical, r, &obs)
			}
			if a := d.APIs[logical]; err == nil && a != nil && a.Protocol == apis.ProtocolWebSocket {
				var src string
				if src, err = t.APIKeySource(ctx, r.PhysicalID); src == usage.SourceHeader {
					src = ""
				}
				obs.KeySources[r.PhysicalID] = src
			}
		case r.Kind == KindUsagePlan:
			err = check(obs.UsagePlans, r.PhysicalID, func() (bool, error) { return t.UsagePlanExists(ctx, r.PhysicalID) })
			if err == nil && r.APIKeyID != "" {
				err = check(obs.APIKeys, r.APIKeyID, func() (bool, error) { return t.APIKeyExists(ctx, r.APIKeyID) })
			}
		}
		if err != nil {
			return obs, err
		}
	}
	observeImages(ctx, t, d, rec, &obs)
	if err := observeServed(ctx, t, d, rec, &obs); err != nil {
		return obs, err
	}
	return obs, nil
}

// observeRawKey reads, into obs.Keys, the state of API key id that the stack
// made for API a's raw AWS::ApiGateway::ApiKey (none for SAM's keys, which
// have no Enabled or Value), so that the plan can say what changes of it.
func observeRawKey(ctx context.Context, t Target, a *API, id string, obs *Observed) error {
	if a == nil || a.ownPlan() == nil {
		return nil
	}
	st, err := t.APIKeyState(ctx, id, a.ownPlan().keyValue)
	if err != nil {
		return fmt.Errorf("API key %s (%s): %w", id, a.keyLogical(), err)
	}
	if obs.Keys == nil {
		obs.Keys = map[string]KeyState{}
	}
	obs.Keys[id] = st
	return nil
}

// checkImages refuses a plan with an Image function the server cannot make
// (a server on the process runtime, which runs Zip functions only) before
// anything changes, rather than in Building, and under a dry run too.
func checkImages(ctx context.Context, t Target, d *Desired, obs *Observed) error {
	checked := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(d.Functions)) {
		uri := d.Functions[id].ImageURI
		if uri == "" || checked[uri] {
			continue
		}
		checked[uri] = true
		switch err := t.CheckImage(ctx, uri); {
		case errors.Is(err, ErrWouldPull):
			// Not refused: the server pulls an image it does not have
			// (where its runtime pulls), which only the deploy tries.
			if obs.notLocal == nil {
				obs.notLocal = map[string]bool{}
			}
			obs.notLocal[uri] = true
			obs.Warnings = append(obs.Warnings, fmt.Sprintf("%s: image %s is not on the server's host (looked up without pulling): "+
				"the deploy tries to pull it and, if it cannot, stops and rolls back; to make it there: portico build DIR -t %s", id, uri, uri))
		case err != nil:
			return fmt.Errorf("%s: ImageUri %s: %w", id, uri, err)
		}
	}
	return nil
}

// PinnedImage is the image a function's $LATEST or version is pinned to.
type PinnedImage struct {
	// ImageURI is the reference the function was given, ResolvedImage the
	// image id it runs.
	ImageURI, ResolvedImage string
}

// ImageState is what an existing Image function's image reference names now
// and the image id the stack's function runs.
type ImageState struct {
	ImageURI string
	// Now is the id ImageURI names now; Was the id the function (its
	// $LATEST, or the version its alias serves) is pinned to, when another.
	Now, Was string
}

// observeImages resolves the image reference of each of d's Image functions
// that the stack made and that still exists, and compares the id it names now
// with those the function's $LATEST and recorded version are pinned to, as
// CloudFormation with an ImageUri by tag resolves it to a digest at each
// deploy: an image rebuilt under the same tag changes no property of the
// template, yet is new code. What cannot be resolved is a warning: the
// function's update, if any, reports the error itself.
func observeImages(ctx context.Context, t Target, d *Desired, rec *Record, obs *Observed) {
	if rec == nil {
		return
	}
	resolved := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(d.Functions)) {
		f := d.Functions[id]
		old := rec.Resources[id]
		if f.ImageURI == "" || old == nil || old.Kind != KindFunction || old.PhysicalID != f.Name || !obs.Functions[f.Name] {
			continue
		}
		now, ok := resolved[f.ImageURI]
		if !ok {
			var err error
			switch now, err = t.ResolveImage(ctx, f.ImageURI); {
			case errors.Is(err, ErrWouldPull) && obs.notLocal[f.ImageURI]:
				// checkImages said so.
			case errors.Is(err, ErrWouldPull):
				obs.Warnings = append(obs.Warnings, fmt.Sprintf("%s: would pull image %s to resolve its tag (it is not on the server's host; a dry run pulls nothing), so whether it was rebuilt is not known", id, f.ImageURI))
			case err != nil:
				obs.Warnings = append(obs.Warnings, fmt.Sprintf("%s: could not resolve image %s, so a rebuild under its tag is not noticed: %v", id, f.ImageURI, err))
			}
			resolved[f.ImageURI] = now
		}
		if now == "" {
			continue
		}
		qualifiers := []string{""}
		if old.Alias != "" && old.Version != "" && !gone(obs.Versions, f.Name+":"+old.Version) {
			qualifiers = append(qualifiers, old.Version) // what the alias serves
		}
		for _, q := range qualifiers {
			pin, err := t.FunctionImage(ctx, f.Name, q)
			if err != nil {
				obs.Warnings = append(obs.Warnings, fmt.Sprintf("%s: could not read the image function %s runs: %v", id, f.Name, err))
				break
			}
			if pin.ImageURI != f.ImageURI && !digestOf(pin.ImageURI, f.ImageURI) {
				break // another reference: the template's change updates it
			}
			if pin.ResolvedImage != "" && pin.ResolvedImage != now {
				obs.Images[f.Name] = ImageState{ImageURI: f.ImageURI, Now: now, Was: pin.ResolvedImage}
				break
			}
		}
	}
}

// digestOf reports whether pinned, an image reference by digest
// (REPOSITORY@sha256:..., what a rollback puts back), names tagged's
// repository: the function runs an image of the template's repository, which
// the tag may name or not.
func digestOf(pinned, tagged string) bool {
	repo, _, ok := strings.Cut(pinned, "@")
	if !ok || strings.Contains(tagged, "@") {
		return false
	}
	if i := strings.LastIndex(tagged, ":"); i > strings.LastIndex(tagged, "/") {
		tagged = tagged[:i]
	}
	return repo == tagged
}

// applier runs a plan.
type applier struct {
	t   Target
	out io.Writer
	rec *Record
	// held is the record as the server holds it while the run goes on: the
	// last deploy's, with what this run created added as it is created
	// (recordCreated), so that a run that ends without undoing what it
	// made (the server unreachable, the run killed) leaves it in the stack.
	held *Record
	// wrote: held was written.
	wrote bool
	undo  []undoStep
	steps int
	// phase is the heading of the current phase, printed before its first step.
	phase, printed string
}

type undoStep struct {
	what string
	do   func(context.Context) error
}

// progress prints one step as it is taken, under its phase's heading.
func (a *applier) progress(format string, args ...any) {
	if a.printed != a.phase {
		_, _ = fmt.Fprintln(a.out, a.phase)
		a.printed = a.phase
	}
	_, _ = fmt.Fprintf(a.out, "  - %s\n", fmt.Sprintf(format, args...))
}

// shifted reports whether c's function takes its new version by a traffic
// shift: it has an enabled DeploymentPreference and its alias was on a
// version before. A first deploy points the alias at once, as SAM does; so
// does an AllAtOnce preference without hooks.
func shifted(c *Change) bool {
	d := c.fn.Deployment
	if d == nil || c.old == nil || c.old.Version == "" || c.old.Alias != c.fn.Alias {
		return false
	}
	return d.Type != "AllAtOnce" || d.PreTraffic != "" || d.PostTraffic != ""
}

// pointBackOnFailure points c's alias back at its old version should a later
// step fail.
func (a *applier) pointBackOnFailure(c *Change) {
	f := c.fn
	if c.old != nil && c.old.Version != "" && c.old.Alias == f.Alias {
		prev := c.old.Version
		a.onFailure(fmt.Sprintf("point alias %s:%s back at version %s", f.Name, f.Alias, prev),
			func(ctx context.Context) error { return a.t.SetAlias(ctx, f.Name, f.Alias, prev) })
	}
}

// aliasUndo reads what c's alias serves before the run points it at its new
// version, and returns what registers the undo of that switch: pointing the
// alias back at the version the stack recorded (or at what it served, when
// the stack does not record it), or deleting it when the run creates it, as
// CloudFormation's rollback deletes the AWS::Lambda::Alias it created. A
// function the run created goes with its alias.
func (a *applier) aliasUndo(ctx context.Context, c *Change) (func(), error) {
	f := c.fn
	if c.Action == Create {
		return func() {}, nil
	}
	exists, err := a.t.AliasExists(ctx, f.Name, f.Alias)
	if err != nil {
		return nil, fmt.Errorf("alias %s of %s: %w", f.Alias, f.Name, err)
	}
	name, alias := f.Name, f.Alias
	switch {
	case !exists:
		return func() {
			a.onFailure(fmt.Sprintf("delete alias %s:%s (the deploy created it)", name, alias),
				func(ctx context.Context) error { return a.t.DeleteAlias(ctx, name, alias) })
		}, nil
	case c.old != nil && c.old.Version != "" && c.old.Alias == f.Alias:
		return func() { a.pointBackOnFailure(c) }, nil
	}
	st, err := a.t.FunctionState(ctx, name, alias)
	if err != nil {
		return nil, fmt.Errorf("alias %s of %s: %w", alias, name, err)
	}
	if st == nil || st.AliasVersion == "" {
		return func() {}, nil // a target that cannot tell
	}
	was := AliasRouting{Version: st.AliasVersion, Weights: st.AliasWeights}
	return func() {
		a.onFailure(fmt.Sprintf("point alias %s:%s back at %s", name, alias, was),
			func(ctx context.Context) error {
				return a.t.SetAliasRouting(ctx, name, alias, was.Version, was.Weights)
			})
	}, nil
}

// recordCreated writes the stack's record with a resource this run has just
// created under a logical id the record does not hold, before anything else
// happens: a run that ends before its own record (the server restarting, the
// run killed) and cannot delete it leaves it in the stack, for stack delete to
// delete and the next deploy to update, rather than in no stack. Its empty
// fingerprint makes the next deploy update it. A function created under a new
// FunctionName takes its logical id, and the function it replaces, which
// serves until phase 3 deletes it, moves to a key of its own (replacedKey)
// that no template holds: the next deploy deletes it as a resource the
// template dropped, and stack delete deletes both.
func (a *applier) recordCreated(ctx context.Context, logicalID string, r *Resource) error {
	if old, ok := a.held.Resources[logicalID]; ok {
		if old.Kind != r.Kind || old.PhysicalID == r.PhysicalID {
			return nil
		}
		a.held.Resources[replacedKey(logicalID, old.PhysicalID)] = old
	}
	a.held.Resources[logicalID] = r
	if err := a.writeHeld(ctx); err != nil {
		return fmt.Errorf("recording %s %s (%s): %w", r.Kind, r.PhysicalID, logicalID, err)
	}
	return nil
}

// markReplacing records, before any API definition is replaced, the intent
// to replace each one p replaces (Resource.Replacing): an API whose stage
// deploys automatically serves its new definition from the replace on, so a
// run that ends before its own record (killed, its server gone) must leave
// the next deploy what to put right, not a record that says the API holds
// the last deploy's definition.
func (a *applier) markReplacing(ctx context.Context, p *Plan) error {
	marked := false
	for _, c := range p.Changes {
		if c.Kind != KindAPI || !c.definition || c.Action == Create {
			continue
		}
		r := a.held.Resources[c.LogicalID]
		if r == nil || r.Kind != KindAPI || r.PhysicalID != c.PhysicalID || r.Replacing {
			continue
		}
		cp := *r
		cp.Replacing = true
		a.held.Resources[c.LogicalID] = &cp
		marked = true
	}
	if !marked {
		return nil
	}
	return a.writeHeld(ctx)
}

// writeHeld writes the record as the server holds it during the run
// (a.held), the last deploy's with what this run made or set out to make.
func (a *applier) writeHeld(ctx context.Context) error {
	if err := a.t.PutStack(ctx, a.held); err != nil {
		return fmt.Errorf("writing the record of stack %s: %w", a.held.Name, err)
	}
	a.wrote = true
	a.rec.Revision = a.held.Revision
	return nil
}

// leftoverVersions are the versions of recorded function r above
// r.Publishing that neither the record nor the alias names: published by
// a run that ended before recording them.
func leftoverVersions(ctx context.Context, t Target, r *Resource) (left, held []string, err error) {
	vs, err := t.Versions(ctx, r.PhysicalID)
	if err != nil {
		return nil, nil, err
	}
	var serving FunctionState
	if r.Alias != "" {
		st, err := t.FunctionState(ctx, r.PhysicalID, r.Alias)
		if err != nil {
			return nil, nil, err
		}
		if st != nil {
			serving = *st
		}
	}
	floor, _ := strconv.Atoi(r.Publishing)
	for _, v := range vs {
		n, err := strconv.Atoi(v)
		if err != nil || n <= floor || v == r.Version {
			continue
		}
		if _, shared := serving.AliasWeights[v]; shared || v == serving.AliasVersion {
			held = append(held, v)
			continue
		}
		left = append(left, v)
	}
	return left, held, nil
}

// aliasNamed is the set of c's leftover versions that must stay: the one the
// record names now, and those the function's alias serves (by weight too), as
// the server says. Empty when c has no leftover versions.
func (a *applier) aliasNamed(ctx context.Context, c *Change) (map[string]bool, error) {
	if len(c.leftover) == 0 {
		return nil, nil
	}
	keep := map[string]bool{}
	if r := a.rec.Resources[c.LogicalID]; r != nil && r.Version != "" {
		keep[r.Version] = true
	}
	if c.fn == nil || c.fn.Alias == "" {
		return keep, nil
	}
	st, err := a.t.FunctionState(ctx, c.PhysicalID, c.fn.Alias)
	if err != nil {
		return nil, fmt.Errorf("reading alias %s of function %s before deleting versions: %w", c.fn.Alias, c.PhysicalID, err)
	}
	if st != nil {
		keep[st.AliasVersion] = true
		for v := range st.AliasWeights {
			keep[v] = true
		}
	}
	return keep, nil
}

// replacedKey is the record's key of the resource physicalID that a
// replacement under logicalID left to delete: a logical id of a template is
// alphanumeric, so no template names it.
func replacedKey(logicalID, physicalID string) string {
	return logicalID + " (replaced: " + physicalID + ")"
}

func (a *applier) onFailure(what string, do func(context.Context) error) {
	a.undo = append(a.undo, undoStep{what, do})
}

// Apply makes the target match the plan, printing progress to out. It works in
// three phases: first what serves nothing yet (new functions, new versions,
// new API definitions), then the switches (aliases, stage deployments, stage
// settings, usage plans), then deletions. When a step fails, what it created
// is deleted, what it replaced (a function's $LATEST, an API's definition) is
// put back as it was, and what it switched is switched back, so that what
// served before serves still, and the stack's record is left as it was.
func Apply(ctx context.Context, t Target, p *Plan, out io.Writer) error {
	rec := &Record{Name: p.Stack, Revision: p.record.Revision, Template: p.Template, Resources: map[string]*Resource{}}
	for k, v := range p.record.Resources {
		cp := *v
		rec.Resources[k] = &cp
	}
	held := &Record{Name: p.Stack, Revision: p.record.Revision, Template: p.record.Template, Resources: map[string]*Resource{}}
	for k, v := range p.record.Resources {
		cp := *v
		held.Resources[k] = &cp
	}
	a := &applier{t: t, out: out, rec: rec, held: held}
	for _, c := range p.Changes {
		if c.Action != Keep {
			a.steps++
		}
	}
	if a.steps == 0 && !p.deleteStack {
		_, _ = fmt.Fprintf(out, "Stack %s is up to date: nothing to change.\n", p.Stack)
		return nil
	}
	err := a.run(ctx, p)
	if err == nil && !p.deleteStack {
		// The record is the last step: when the server refuses it (another
		// run wrote the stack since this one read it), what this run made is
		// undone, so that nothing it made is left belonging to no stack.
		if perr := t.PutStack(ctx, rec); perr != nil {
			err = fmt.Errorf("recording stack %s: %w", p.Stack, perr)
		}
	}
	if err != nil {
		// Undo with a context of its own: the deploy's may be what failed.
		uctx := context.WithoutCancel(ctx)
		var undoErrs []error
		var left []string // what was changed since this run changed it, left as it is
		for i := len(a.undo) - 1; i >= 0; i-- {
			u := a.undo[i]
			_, _ = fmt.Fprintf(out, "rolling back: %s\n", u.what)
			uerr := u.do(uctx)
			switch {
			case errors.Is(uerr, ErrChangedSince):
				_, _ = fmt.Fprintf(out, "  left as it is: %v; putting back what was there before this deploy would undo that change\n", uerr)
				left = append(left, uerr.Error())
			case uerr != nil:
				undoErrs = append(undoErrs, fmt.Errorf("rolling back (%s): %w", u.what, uerr))
			}
		}
		if len(undoErrs) > 0 {
			return errors.Join(append([]error{err}, undoErrs...)...)
		}
		if len(left) > 0 {
			err = fmt.Errorf("%w (left as it is, not rolled back: %s)", err, strings.Join(left, "; "))
		}
		if a.wrote && p.record.Revision == 0 && len(p.record.Resources) == 0 {
			// A new stack's first deploy: the rollback left it nothing,
			// so it has no record (as before the run), not an empty one.
			if perr := t.DeleteStack(uctx, p.Stack); perr != nil && !isNotFound(perr) {
				return fmt.Errorf("%w (rolled back: nothing this deploy made is left; deleting the stack's record failed, portico stack delete %s deletes it: %w)", err, p.Stack, perr)
			}
			return fmt.Errorf("%w (rolled back: nothing this deploy made is left, and stack %s has no record)", err, p.Stack)
		}
		if a.wrote {
			// What recordCreated added is deleted: the record goes back
			// to the last deploy's.
			back := &Record{Name: p.Stack, Revision: a.held.Revision, Template: p.record.Template, Resources: p.record.Resources}
			if perr := t.PutStack(uctx, back); perr != nil {
				return fmt.Errorf("%w (rolled back: what served before serves still; the stack's record still names what was deleted, which the next deploy forgets: %w)", err, perr)
			}
		}
		return fmt.Errorf("%w (rolled back: what served before serves still)", err)
	}
	if p.deleteStack {
		if err := t.DeleteStack(ctx, p.Stack); err != nil {
			return fmt.Errorf("deleting the record of stack %s: %w", p.Stack, err)
		}
		_, _ = fmt.Fprintf(out, "Stack %s deleted: %s deleted.\n", p.Stack, plural(p.Counts()[Delete], "resource"))
		return nil
	}
	n := p.Counts()
	_, _ = fmt.Fprintf(out, "Stack %s deployed: %d created, %d updated, %d deleted, %d unchanged.\n", p.Stack, n[Create], n[Update], n[Delete], n[Keep])
	return nil
}

func (a *applier) run(ctx context.Context, p *Plan) error {
	// Phase 1: build what serves nothing yet.
	a.phase = "Building (aliases, and stages without AutoDeploy, serve what they served):"
	pending := map[*Change]string{} // function change -> version to point the alias at
	for _, c := range p.Changes {
		if c.Kind != KindFunction || c.Action == Keep || c.Action == Delete {
			continue
		}
		f := c.fn
		if c.publish || c.latest {
			create := c.Action == Create
			verb := "updating"
			if create {
				verb = "creating"
			}
			a.progress("%s function %s (%s)", verb, f.Name, c.LogicalID)
			if !create {
				// Keep what $LATEST is before replacing it; undone even when
				// the update itself fails halfway (code replaced, configuration not).
				saved, err := a.t.SaveFunction(ctx, f.Name)
				if err != nil {
					return fmt.Errorf("function %s (%s): reading $LATEST before the update: %w", f.Name, c.LogicalID, err)
				}
				name := f.Name
				a.onFailure("put back $LATEST of function "+name, func(ctx context.Context) error {
					// Only over what this run wrote (or, when it wrote
					// nothing, what it read): a change made since, by
					// hand or by another run, stays.
					return a.t.RestoreFunction(ctx, name, saved, cmp.Or(f.revision, saved.RevisionID))
				})
			}
			if create {
				// Recorded before it is made, its name known: a run that
				// ends between the two (killed) leaves the next deploy a
				// function of the stack to update, or a recorded one that
				// is not there to create, never one it refuses as not part
				// of the stack.
				if err := a.recordCreated(ctx, c.LogicalID, &Resource{Kind: KindFunction, PhysicalID: f.Name}); err != nil {
					return err
				}
			}
			if err := a.t.PutFunction(ctx, f, create); err != nil {
				return fmt.Errorf("function %s (%s): %w", f.Name, c.LogicalID, err)
			}
			if create {
				// Only once made by this run: a create refused because the
				// name was taken leaves the other's function alone.
				a.onFailure("delete function "+f.Name, func(ctx context.Context) error { return a.t.DeleteFunction(ctx, f.Name) })
			}
		}
		r := &Resource{Kind: KindFunction, PhysicalID: f.Name, Fingerprint: f.Fingerprint(), Alias: f.Alias, Reserved: f.Reserved, Provisioned: f.Provisioned,
			EventInvoke: f.EventInvoke, Properties: c.props}
		if c.old != nil {
			r.Version, r.CodeSHA256 = c.old.Version, c.old.CodeSHA256
			if c.keepMark {
				r.Publishing = c.old.Publishing
			}
		}
		if f.sentSHA != "" {
			r.CodeSHA256 = f.sentSHA
		}
		if c.adopt != "" {
			r.Version = c.adopt
			a.progress("%s:%s serves version %s, which the record now names", f.Name, f.Alias, c.adopt)
		}
		if c.publish && f.Alias != "" {
			// A function this run created goes with its versions; an
			// existing one's new version is deleted on failure. One that
			// PublishVersion only returned (it was there) stays.
			last := ""
			if c.Action != Create {
				var err error
				if last, err = a.t.LastVersion(ctx, f.Name); err != nil {
					return fmt.Errorf("publishing function %s: reading its versions: %w", f.Name, err)
				}
			}
			if c.Action != Create && a.held.Resources[c.LogicalID] != nil {
				// The intent first: a run that ends before recording the
				// version it publishes leaves the next deploy what to delete.
				cp := *a.held.Resources[c.LogicalID]
				cp.Publishing = cmp.Or(last, "0")
				a.held.Resources[c.LogicalID] = &cp
				if err := a.writeHeld(ctx); err != nil {
					return err
				}
			}
			v, err := a.t.PublishVersion(ctx, f.Name)
			if err != nil {
				return fmt.Errorf("publishing function %s: %w", f.Name, err)
			}
			a.progress("published %s version %s", f.Name, v)
			if i := slices.Index(c.leftover, v); i >= 0 {
				// A version a run that ended before recording it
				// published, returned again ($LATEST is what it holds):
				// this run's now, and never deleted as a leftover.
				c.leftover = slices.Delete(slices.Clone(c.leftover), i, i+1)
				a.progress("re-using version %s of %s, published by a deploy that ended before recording it", v, f.Name)
			}
			if c.Action != Create && v != last {
				name := f.Name
				a.onFailure(fmt.Sprintf("delete version %s of function %s", v, name),
					func(ctx context.Context) error { return a.t.DeleteVersion(ctx, name, v) })
			}
			r.Version = v
			pending[c] = v
		}
		a.rec.Resources[c.LogicalID] = r
	}
	if err := a.markReplacing(ctx, p); err != nil {
		return err
	}
	newAPIs := map[*Change]bool{}
	for _, c := range p.Changes {
		if c.Kind != KindAPI || !c.definition {
			continue
		}
		api := c.api
		switch c.Action {
		case Create:
			a.progress("creating %s API %s (%s)", api.Protocol, api.Name, c.LogicalID)
			// The intent first: a run that ends between the create and
			// recording the API's id (killed, its server gone) leaves the
			// next deploy the API to adopt, not one in no stack.
			before, err := a.t.APIsNamed(ctx, api.Name)
			if err != nil {
				return fmt.Errorf("API %s (%s): %w", api.Name, c.LogicalID, err)
			}
			if err := a.recordCreated(ctx, creatingKey(c.LogicalID), &Resource{Kind: KindCreating, PhysicalID: api.Name, Before: before}); err != nil {
				return err
			}
			id, err := a.t.CreateAPI(ctx, api)
			if err != nil {
				return fmt.Errorf("API %s (%s): %w", api.Name, c.LogicalID, err)
			}
			delete(a.held.Resources, creatingKey(c.LogicalID)) // written with the API's id, next
			c.PhysicalID = id
			newAPIs[c] = true
			a.onFailure("delete API "+id, func(ctx context.Context) error { return a.t.DeleteAPI(ctx, id) })
			if err := a.recordCreated(ctx, c.LogicalID, &Resource{Kind: KindAPI, PhysicalID: id}); err != nil {
				return err
			}
		default:
			a.progress("replacing the definition of API %s (%s)", c.PhysicalID, c.LogicalID)
			saved, err := a.t.SaveAPI(ctx, c.PhysicalID)
			if err != nil {
				return fmt.Errorf("API %s (%s): reading the definition before replacing it: %w", c.PhysicalID, c.LogicalID, err)
			}
			id := c.PhysicalID
			a.onFailure("put back the definition of API "+id, func(ctx context.Context) error { return a.t.RestoreAPI(ctx, id, saved) })
			if api.V2 != nil && c.old != nil {
				api.V2.was = c.old.Tags
			}
			if err := a.t.ReplaceAPI(ctx, c.PhysicalID, api); err != nil {
				return fmt.Errorf("API %s (%s): %w", c.PhysicalID, c.LogicalID, err)
			}
		}
	}
	// Phase 2: switch aliases and stages to what phase 1 built.
	a.phase = "Switching:"
	var shifts []*Change // functions whose alias takes the new version by a traffic shift
	for _, c := range p.Changes {
		if c.Kind != KindFunction || c.Action == Keep || c.Action == Delete {
			continue
		}
		f := c.fn
		if c.restoreAlias {
			if err := a.t.SetAlias(ctx, f.Name, f.Alias, c.old.Version); err != nil {
				return fmt.Errorf("alias %s of %s: %w", f.Alias, f.Name, err)
			}
			// A correction is undone with the rest: what served before
			// the deploy serves again.
			name, alias, was := f.Name, f.Alias, c.serving
			if was.Version != "" {
				a.progress("alias %s:%s -> version %s (it served %s)", name, alias, c.old.Version, was)
				a.onFailure(fmt.Sprintf("point alias %s:%s back at %s", name, alias, was),
					func(ctx context.Context) error {
						return a.t.SetAliasRouting(ctx, name, alias, was.Version, was.Weights)
					})
			} else {
				a.progress("alias %s:%s -> version %s (created again)", name, alias, c.old.Version)
				a.onFailure(fmt.Sprintf("delete alias %s:%s again (it was deleted before the deploy)", name, alias),
					func(ctx context.Context) error { return a.t.DeleteAlias(ctx, name, alias) })
			}
		}
		if v, ok := pending[c]; ok {
			if shifted(c) {
				// After the other functions' switches: a hook may be one
				// of them.
				shifts = append(shifts, c)
			} else {
				undo, err := a.aliasUndo(ctx, c)
				if err != nil {
					return err
				}
				if err := a.t.SetAlias(ctx, f.Name, f.Alias, v); err != nil {
					return fmt.Errorf("alias %s of %s: %w", f.Alias, f.Name, err)
				}
				a.progress("alias %s:%s -> version %s", f.Name, f.Alias, v)
				undo()
			}
		}
		if c.reserved {
			a.progress("reserved concurrency of %s: %s", f.Name, intOrNone(f.Reserved))
			if err := a.t.SetReserved(ctx, f.Name, f.Reserved); err != nil {
				return fmt.Errorf("reserved concurrency of %s: %w", f.Name, err)
			}
			if c.old != nil {
				name, prev := f.Name, c.old.Reserved
				if c.limits != nil {
					prev = c.limits.Reserved // what the server held
				}
				a.onFailure(fmt.Sprintf("set the reserved concurrency of %s back to %s", name, intOrNone(prev)),
					func(ctx context.Context) error { return a.t.SetReserved(ctx, name, prev) })
			}
		}
		if c.provisioned {
			a.progress("provisioned concurrency of %s:%s: %d", f.Name, f.Alias, f.Provisioned)
			if err := a.t.SetProvisioned(ctx, f.Name, f.Alias, f.Provisioned); err != nil {
				return fmt.Errorf("provisioned concurrency of %s:%s: %w", f.Name, f.Alias, err)
			}
			if c.old != nil && c.old.Alias == f.Alias {
				name, alias, prev := f.Name, f.Alias, c.old.Provisioned
				if c.limits != nil {
					prev = c.limits.Provisioned // what the server held
				}
				a.onFailure(fmt.Sprintf("set the provisioned concurrency of %s:%s back to %d", name, alias, prev),
					func(ctx context.Context) error { return a.t.SetProvisioned(ctx, name, alias, prev) })
			}
		}
		if c.eventInvoke {
			if err := a.setEventInvoke(ctx, c); err != nil {
				return err
			}
		}
	}
	for _, c := range shifts {
		f, v := c.fn, pending[c]
		d := f.Deployment
		from := "version " + c.old.Version
		if c.liveFrom != "" && c.liveFrom != c.old.Version {
			// The shift starts from what the alias serves.
			from = fmt.Sprintf("version %s (not the recorded %s)", c.liveFrom, c.old.Version)
		}
		a.progress("alias %s:%s: shifting traffic from %s to version %s (%s)", f.Name, f.Alias, from, v, d.Type)
		if err := a.t.ShiftAlias(ctx, f.Name, f.Alias, v, d, a.progress); err != nil {
			return fmt.Errorf("alias %s of %s: %w", f.Alias, f.Name, err)
		}
		a.progress("alias %s:%s -> version %s", f.Name, f.Alias, v)
		a.pointBackOnFailure(c)
	}
	for _, c := range p.Changes {
		if c.Kind != KindAPI || c.Action == Keep || c.Action == Delete {
			continue
		}
		api := c.api
		r := &Resource{Kind: KindAPI, PhysicalID: c.PhysicalID, Fingerprint: api.DefinitionFingerprint(), Stage: api.Stage,
			StageFingerprint: api.StageFingerprint(), PlanFingerprint: api.PlanFingerprint(), Properties: c.props}
		if c.old != nil {
			r.Deployment, r.UsagePlanID, r.APIKeyID = c.old.Deployment, c.old.UsagePlanID, c.old.APIKeyID
		}
		r.DeploymentResource = api.Pinned
		canary := api.Canary != nil && c.old != nil && c.old.Stage == api.Stage && !c.newStage
		live, err := a.saveStage(ctx, c, newAPIs[c])
		if err != nil {
			return err
		}
		if live == nil && c.liveHTTP != nil && !newAPIs[c] {
			// Its variables, for liveResetOps to take off those the
			// template does not set.
			live = &SavedStage{Variables: c.liveHTTP.Variables}
		}
		if c.definition && !c.held {
			var dep string
			var prev Served
			if c.serve != "" {
				dep = c.serve
				if prev, err = a.t.ServeDeployment(ctx, c.PhysicalID, api.Stage, dep, api.Variables); err != nil {
					err = fmt.Errorf("serving deployment %s of Deployment %s (give the Deployment a new logical id to deploy the API's definition instead): %w",
						dep, api.Pinned, err)
				}
			} else {
				dep, prev, err = a.t.Deploy(ctx, c.PhysicalID, api, canary)
			}
			if err != nil {
				return fmt.Errorf("deploying API %s (%s) to stage %s: %w", c.PhysicalID, c.LogicalID, api.Stage, err)
			}
			where := "stage " + api.Stage
			if canary {
				where = "the canary of stage " + api.Stage
			}
			a.progress("API %s (%s): deployment %s -> %s", c.PhysicalID, c.LogicalID, dep, where)
			r.Deployment = dep
			id, stage := c.PhysicalID, api.Stage
			switch {
			case prev.Deployment != "" && !canary && !newAPIs[c] && prev.AutoDeploy && api.AutoDeploy:
				// The stage follows the API: the undo that puts its
				// definition back deploys it again.
			case prev.Deployment != "" && !canary && !newAPIs[c] && (prev.AutoDeploy || api.AutoDeploy):
				what := fmt.Sprintf("turn autoDeploy of stage %s of API %s back off, on deployment %s", stage, id, prev.Deployment)
				if prev.AutoDeploy {
					what = fmt.Sprintf("turn autoDeploy of stage %s of API %s back on", stage, id)
				}
				a.onFailure(what, func(ctx context.Context) error { return a.t.SetAutoDeploy(ctx, id, stage, prev) })
			case prev.Deployment != "" && !canary && !newAPIs[c]:
				a.onFailure(fmt.Sprintf("point stage %s of API %s back at deployment %s", stage, id, prev.Deployment),
					func(ctx context.Context) error { return a.t.PointStage(ctx, id, stage, prev.Deployment) })
			case prev.Deployment == "" && !newAPIs[c] && (c.old == nil || c.old.Stage != stage || c.newStage):
				// A stage this run made on an API it keeps (a StageName
				// change, a stage deleted by hand) goes with the rollback,
				// as CloudFormation's deletes the Stage it created.
				a.onFailure(fmt.Sprintf("delete stage %s of API %s, made by this deploy", stage, id),
					func(ctx context.Context) error { return a.t.DeleteStage(ctx, id, stage) })
			}
		} else if c.held {
			a.progress("API %s (%s): stage %s keeps serving deployment %s (Deployment %s unchanged)", c.PhysicalID, c.LogicalID, api.Stage, r.Deployment, api.Pinned)
		}
		if c.stage {
			var reset []PatchOp
			if c.old != nil && c.old.Stage == api.Stage && !newAPIs[c] && !c.newStage {
				reset = resetOps(c.old, api) // a new stage has none to reset
			}
			vars := variableOps(c.old, api)
			reset = append(reset, liveResetOps(api, live, append(slices.Clone(reset), vars...))...)
			if !canary || !c.definition || c.held {
				reset = append(reset, canaryOps(api, live)...)
			}
			ops := append(append(reset, api.StageOps...), vars...)
			if len(ops) > 0 {
				a.progress("stage %s of API %s: %s (settings, variables)", api.Stage, c.PhysicalID, plural(len(ops), "patch operation"))
				if err := a.t.PatchStage(ctx, c.PhysicalID, api.Stage, ops); err != nil {
					return fmt.Errorf("stage %s of API %s (%s): %w", api.Stage, c.PhysicalID, c.LogicalID, err)
				}
				if api.Protocol != apis.ProtocolREST && c.liveHTTP != nil && !newAPIs[c] {
					// An HTTP or WebSocket stage's variables (a REST
					// stage's are put back by saveStage's undo).
					undo := restoreStageOps(&SavedStage{Variables: api.Variables}, &SavedStage{Variables: c.liveHTTP.Variables})
					id, stage := c.PhysicalID, api.Stage
					if len(undo) > 0 {
						a.onFailure(fmt.Sprintf("put back the variables of stage %s of API %s", stage, id),
							func(ctx context.Context) error { return a.t.PatchStage(ctx, id, stage, undo) })
					}
				}
			}
		}
		if c.stage && !c.definition && api.Canary == nil && live != nil && live.Canary != nil && live.DeploymentID != "" {
			// The canary (whose deployment the record named) is taken
			// off: the stage serves its own, which the record names now,
			// for the next plan to compare with what the stage serves.
			r.Deployment = live.DeploymentID
		}
		if c.stage && api.Protocol == apis.ProtocolREST && (len(api.Tags) > 0 || c.old != nil && len(c.old.Tags) > 0) {
			if err := a.restTags(ctx, c, api); err != nil {
				return err
			}
		}
		if c.stage && api.Protocol != apis.ProtocolREST {
			var old *HTTPStage
			kept := c.old != nil && c.old.Stage == api.Stage && !newAPIs[c] && !c.newStage
			if kept {
				old = c.old.HTTPStage
			}
			// What the stage holds and the template does not set (a
			// killed deploy's, or a change by hand) is taken off too.
			var off *HTTPStage
			if !newAPIs[c] {
				off = liveTakeOff(old, api.HTTPStage, c.liveHTTP)
			}
			if off != nil || api.HTTPStage != nil {
				a.progress("stage %s of API %s: route settings and access log", api.Stage, c.PhysicalID)
				if err := a.t.SetHTTPStage(ctx, c.PhysicalID, api.Stage, off, api.HTTPStage); err != nil {
					return fmt.Errorf("stage %s of API %s (%s): %w", api.Stage, c.PhysicalID, c.LogicalID, err)
				}
				if kept && (old != nil || api.HTTPStage != nil) {
					// Undone as the deploy's other switches are: the last
					// deploy's settings (its record's; none when it set
					// none) are set again.
					id, stage, now := c.PhysicalID, api.Stage, api.HTTPStage
					a.onFailure(fmt.Sprintf("put back the route settings and access log of stage %s of API %s", stage, id),
						func(ctx context.Context) error { return a.t.SetHTTPStage(ctx, id, stage, now, old) })
				}
			}
		}
		r.Variables = api.Variables
		r.StageOps = api.StageOps
		if api.V2 != nil {
			r.Tags = api.V2.Tags
		} else {
			r.Tags = api.Tags
		}
		r.HTTPStage = api.HTTPStage
		if c.plan {
			if err := a.usagePlan(ctx, c, r); err != nil {
				return err
			}
		}
		a.rec.Resources[c.LogicalID] = r
	}
	for _, c := range p.Changes {
		if c.Kind == KindUsagePlan && (c.Action == Create || c.Action == Update) {
			if err := a.sharedPlan(ctx, c); err != nil {
				return err
			}
		}
	}
	// Phase 3: remove what the template no longer has.
	a.phase = "Removing:"
	for _, c := range p.Changes {
		keep, kerr := a.aliasNamed(ctx, c)
		if kerr != nil {
			return kerr
		}
		for _, v := range c.leftover {
			if keep[v] {
				// Never a version the stack's alias serves (or the record
				// names): Lambda refuses to delete it, and it serves.
				a.progress("keeping version %s of function %s, published by a deploy that ended before recording it: alias %s serves it", v, c.PhysicalID, c.fn.Alias)
				continue
			}
			a.progress("deleting version %s of function %s, published by a deploy that ended before recording it", v, c.PhysicalID)
			if err := a.t.DeleteVersion(ctx, c.PhysicalID, v); err != nil {
				return fmt.Errorf("deleting version %s of function %s: %w", v, c.PhysicalID, err)
			}
		}
		// What a change replaced, as CloudFormation deletes a replaced
		// resource once its replacement serves: the function under its old
		// FunctionName, the alias under its old AutoPublishAlias.
		if c.replacedFunction != "" {
			a.progress("deleting function %s (%s), replaced by %s", c.replacedFunction, c.LogicalID, c.fn.Name)
			if err := a.t.DeleteFunction(ctx, c.replacedFunction); err != nil && !isNotFound(err) {
				return fmt.Errorf("deleting function %s (%s), replaced by %s: %w", c.replacedFunction, c.LogicalID, c.fn.Name, err)
			}
		}
		if c.replacedStage != "" {
			a.progress("deleting stage %s of API %s (%s), replaced by stage %s", c.replacedStage, c.PhysicalID, c.LogicalID, c.api.Stage)
			if err := a.t.DeleteStage(ctx, c.PhysicalID, c.replacedStage); err != nil && !isNotFound(err) {
				return fmt.Errorf("deleting stage %s of API %s (%s), replaced by stage %s: %w", c.replacedStage, c.PhysicalID, c.LogicalID, c.api.Stage, err)
			}
		}
		if c.replacedAPIKey != "" {
			a.progress("deleting API key %s (%s), replaced: its Value changed", c.replacedAPIKey, c.api.keyLogical())
			if err := a.t.DeleteAPIKey(ctx, c.replacedAPIKey); err != nil {
				return fmt.Errorf("deleting API key %s (%s), replaced: %w", c.replacedAPIKey, c.api.keyLogical(), err)
			}
		}
		if c.replacedAlias != "" {
			a.progress("deleting alias %s:%s (%s) and its provisioned concurrency", c.fn.Name, c.replacedAlias, c.LogicalID)
			if err := a.t.DeleteAlias(ctx, c.fn.Name, c.replacedAlias); err != nil {
				return fmt.Errorf("deleting alias %s:%s (%s): %w", c.fn.Name, c.replacedAlias, c.LogicalID, err)
			}
		}
		if c.Action != Delete {
			continue
		}
		a.progress("deleting %s %s (%s)", c.Kind, c.PhysicalID, c.LogicalID)
		var err error
		switch c.Kind {
		case KindFunction:
			err = a.t.DeleteFunction(ctx, c.PhysicalID)
		case KindAPI:
			if c.old.UsagePlanID != "" {
				a.progress("deleting usage plan %s of API %s (%s)", c.old.UsagePlanID, c.PhysicalID, c.LogicalID)
				err = a.t.DeleteUsagePlan(ctx, c.old.UsagePlanID)
			}
			if err == nil && c.old.APIKeyID != "" {
				a.progress("deleting API key %s of API %s (%s)", c.old.APIKeyID, c.PhysicalID, c.LogicalID)
				err = a.t.DeleteAPIKey(ctx, c.old.APIKeyID)
			}
			if err == nil {
				err = a.t.DeleteAPI(ctx, c.PhysicalID)
			}
		case KindUsagePlan:
			err = a.t.DeleteUsagePlan(ctx, c.PhysicalID)
			if err == nil && c.old.APIKeyID != "" {
				a.progress("deleting API key %s of usage plan %s (%s)", c.old.APIKeyID, c.PhysicalID, c.LogicalID)
				err = a.t.DeleteAPIKey(ctx, c.old.APIKeyID)
			}
		}
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("deleting %s %s (%s): %w", c.Kind, c.PhysicalID, c.LogicalID, err)
		}
		delete(a.rec.Resources, c.LogicalID)
	}
	return a.droppedPlans(ctx, p)
}

// droppedPlans deletes, last, the usage plans and API keys of the APIs the
// template keeps whose Auth.UsagePlan it dropped: as other removals, only
// once everything else succeeded (a deleted plan and key cannot be made
// again with the key's value).
func (a *applier) droppedPlans(ctx context.Context, p *Plan) error {
	for _, c := range p.Changes {
		if c.droppedPlan != "" {
			a.progress("deleting usage plan %s of API %s (%s): the template dropped it", c.droppedPlan, c.PhysicalID, c.LogicalID)
			if err := a.t.DeleteUsagePlan(ctx, c.droppedPlan); err != nil && !isNotFound(err) {
				return fmt.Errorf("deleting usage plan %s of API %s (%s): %w", c.droppedPlan, c.PhysicalID, c.LogicalID, err)
			}
		}
		if c.droppedKey != "" {
			a.progress("deleting API key %s of API %s (%s): the template dropped its usage plan", c.droppedKey, c.PhysicalID, c.LogicalID)
			if err := a.t.DeleteAPIKey(ctx, c.droppedKey); err != nil && !isNotFound(err) {
				return fmt.Errorf("deleting API key %s of API %s (%s): %w", c.droppedKey, c.PhysicalID, c.LogicalID, err)
			}
		}
	}
	return nil
}

// DeletePlan is the plan of deleting stack name: every resource its record
// holds (functions with their versions and aliases, APIs with their stages
// and usage plans), then the record. A stack without a record is an error
// saying it does not exist.
func DeletePlan(ctx context.Context, t Target, name string) (*Plan, error) {
	rec, err := t.GetStack(ctx, name)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("stack %s does not exist: the server holds no record of it (portico deploy makes one)", name)
	}
	d := &Desired{Stack: name, Functions: map[string]*Function{}, APIs: map[string]*API{}}
	obs, err := Observe(ctx, t, d, rec)
	if err != nil {
		return nil, err
	}
	p, err := NewPlan(d, rec, obs)
	if err != nil {
		return nil, err
	}
	p.Template, p.deleteStack = rec.Template, true
	return p, nil
}

// usagePlan creates, updates (keeping its keys) or deletes the API's own
// usage plan and the API key made for it: the key is made once, and kept
// while the plan is.
func (a *applier) usagePlan(ctx context.Context, c *Change, r *Resource) error {
	api := c.api
	own := api.ownPlan()
	old, oldKey := "", ""
	if c.old != nil && !c.planGone {
		old = c.old.UsagePlanID // a plan deleted by hand is made again
	}
	if c.old != nil && !c.keyGone {
		oldKey = c.old.APIKeyID // so is a key
	}
	stages := []APIStage{{APIID: c.PhysicalID, Stage: api.Stage}}
	switch {
	case own == nil:
		// Deleted in the Remove phase (droppedPlans), after everything
		// else: a deploy that fails before then leaves them.
		c.droppedPlan, c.droppedKey = old, oldKey
		r.UsagePlanID, r.APIKeyID = "", ""
		return nil
	case old != "" && c.planKept:
		// Only its key changes (rawKeyChange).
	case old != "":
		a.progress("updating usage plan %s (%s)", old, own.Name)
		if err := a.updatePlan(ctx, old, own, stages); err != nil {
			return fmt.Errorf("usage plan %s: %w", old, err)
		}
	default:
		id, err := a.t.CreateUsagePlan(ctx, own, stages)
		if err != nil {
			return fmt.Errorf("usage plan %s: %w", own.Name, err)
		}
		r.UsagePlanID = id
		a.progress("usage plan %s (%s) on stage %s of API %s", id, own.Name, api.Stage, c.PhysicalID)
		a.onFailure("delete usage plan "+id, func(ctx context.Context) error { return a.t.DeleteUsagePlan(ctx, id) })
	}
	if oldKey != "" {
		key, err := a.rawKeyChange(ctx, c, r.UsagePlanID, oldKey, own)
		if err != nil || key != oldKey {
			r.APIKeyID = key
			return err
		}
	}
	key, err := a.planKey(ctx, r.UsagePlanID, old == "" || c.keyUnlinked, oldKey, own.keySpec(), api.keyLogical())
	r.APIKeyID = key
	return err
}

// updatePlan updates usage plan id to p on stages, and puts it back as it
// was (name, description, throttle, quota, stages) when a later step fails,
// as the deploy's other switches are set back: the plan read before the
// update is restored, undone even when the update fails halfway.
func (a *applier) updatePlan(ctx context.Context, id string, p *UsagePlan, stages []APIStage) error {
	saved, err := a.t.SaveUsagePlan(ctx, id)
	if err != nil {
		return fmt.Errorf("reading the plan before the update: %w", err)
	}
	a.onFailure(fmt.Sprintf("put back usage plan %s (%s)", id, saved.Name),
		func(ctx context.Context) error { return a.t.RestoreUsagePlan(ctx, id, saved) })
	return a.t.UpdateUsagePlan(ctx, id, p, stages)
}

// rawKeyChange carries a raw API key's Enabled and Value to the key the
// stack made (oldKey) and returns the key the plan holds: a changed Value
// replaces the key, as CloudFormation replaces an ApiKey whose Value
// changes: the new one is made and put in plan planID, and the old one is
// deleted once the deploy has done the rest (c.replacedAPIKey), so that a
// failed deploy leaves the old key as it was.
//
// An Enabled change is set back when a later step fails, as the deploy's
// other switches are.
func (a *applier) rawKeyChange(ctx context.Context, c *Change, planID, oldKey string, own *UsagePlan) (string, error) {
	was, err := a.t.APIKeyState(ctx, oldKey, own.keyValue)
	if err != nil {
		return oldKey, fmt.Errorf("API key %s (%s): %w", oldKey, c.api.keyLogical(), err)
	}
	if !was.SameValue {
		key, err := a.planKey(ctx, planID, true, "", own.keySpec(), c.api.keyLogical())
		if err != nil {
			return oldKey, err
		}
		c.replacedAPIKey = oldKey
		return key, nil
	}
	if on := !own.KeyDisabled; on != was.Enabled {
		a.progress("%s API key %s (%s)", enableVerb(on), oldKey, c.api.keyLogical())
		if err := a.t.EnableAPIKey(ctx, oldKey, on); err != nil {
			return oldKey, fmt.Errorf("API key %s (%s): %w", oldKey, c.api.keyLogical(), err)
		}
		a.onFailure(fmt.Sprintf("%s API key %s (%s)", enableVerb(was.Enabled), oldKey, c.api.keyLogical()),
			func(ctx context.Context) error { return a.t.EnableAPIKey(ctx, oldKey, was.Enabled) })
	}
	return oldKey, nil
}

// enableVerb is "enable" or "disable", as on says.
func enableVerb(on bool) string {
	if on {
		return "enable"
	}
	return "disable"
}

// planKey puts the plan's API key (logical: SAM's logical id of it) in usage
// plan planID and returns its id: the key the stack made (oldKey), added
// again when the plan is new (newPlan), or a new enabled key named name.
func (a *applier) planKey(ctx context.Context, planID string, newPlan bool, oldKey string, spec APIKeySpec, logical string) (string, error) {
	key := oldKey
	if key == "" {
		id, err := a.t.CreateAPIKey(ctx, spec)
		if err != nil {
			return "", fmt.Errorf("API key %s (%s): %w", spec.Name, logical, err)
		}
		key = id
		a.progress("API key %s (%s, %s): read its value with portico key get %s --show-value", id, spec.Name, logical, id)
		a.onFailure("delete API key "+id, func(ctx context.Context) error { return a.t.DeleteAPIKey(ctx, id) })
	} else if !newPlan {
		return key, nil // in the plan since it was made
	}
	if err := a.t.AddUsagePlanKey(ctx, planID, key); err != nil {
		return key, fmt.Errorf("adding API key %s to usage plan %s: %w", key, planID, err)
	}
	if oldKey != "" {
		a.progress("API key %s (%s) added to usage plan %s", key, logical, planID)
	}
	return key, nil
}

// sharedPlan creates or updates the usage plan the stack's APIs share
// (SharedUsagePlan) on the stages of the APIs sharing it, with its API key
// (SharedAPIKey), and records it.
func (a *applier) sharedPlan(ctx context.Context, c *Change) error {
	var stages []APIStage
	var shares []string
	for _, s := range c.sharedBy {
		r := a.rec.Resources[s.LogicalID]
		if r == nil {
			continue
		}
		st := APIStage{APIID: r.PhysicalID, Stage: s.api.Stage}
		stages = append(stages, st)
		shares = append(shares, st.String())
	}
	sort.Strings(shares)
	r := &Resource{Kind: KindUsagePlan, PlanFingerprint: digest(c.shared), Shares: shares}
	old, oldKey := "", ""
	if c.old != nil && !c.planGone {
		old = c.old.PhysicalID
	}
	if c.old != nil && !c.keyGone {
		oldKey = c.old.APIKeyID
	}
	p := c.shared
	if old != "" {
		a.progress("updating usage plan %s (%s, %s) on %d stages", old, p.Name, SharedUsagePlan, len(stages))
		if err := a.updatePlan(ctx, old, p, stages); err != nil {
			return fmt.Errorf("usage plan %s (%s): %w", old, SharedUsagePlan, err)
		}
		r.PhysicalID = old
	} else {
		id, err := a.t.CreateUsagePlan(ctx, p, stages)
		if err != nil {
			return fmt.Errorf("usage plan %s (%s): %w", p.Name, SharedUsagePlan, err)
		}
		r.PhysicalID = id
		a.progress("usage plan %s (%s, %s) on %d stages", id, p.Name, SharedUsagePlan, len(stages))
		a.onFailure("delete usage plan "+id, func(ctx context.Context) error { return a.t.DeleteUsagePlan(ctx, id) })
	}
	key, err := a.planKey(ctx, r.PhysicalID, old == "", oldKey, p.keySpec(), SharedAPIKey)
	r.APIKeyID = key
	a.rec.Resources[SharedUsagePlan] = r
	return err
}

// saveStage reads, before the run changes it, the REST stage of API change
// c that the stack had (none of a new API or stage), and registers its
// undo: a failed run puts back its variables, settings and canary, which
// the stack's record (left as it was) says it holds.
func (a *applier) saveStage(ctx context.Context, c *Change, newAPI bool) (*SavedStage, error) {
	api := c.api
	if api.Protocol != apis.ProtocolREST || newAPI || c.old == nil || c.old.Stage != api.Stage || c.newStage || !c.stage && (!c.definition || c.held) {
		return nil, nil
	}
	live, err := a.t.SaveStage(ctx, c.PhysicalID, api.Stage)
	if err != nil {
		return nil, fmt.Errorf("stage %s of API %s (%s): reading it before the deploy changes it: %w", api.Stage, c.PhysicalID, c.LogicalID, err)
	}
	id, stage := c.PhysicalID, api.Stage
	a.onFailure(fmt.Sprintf("put back the settings, variables and canary of stage %s of API %s", stage, id),
		func(ctx context.Context) error { return a.t.RestoreStage(ctx, id, stage, live) })
	return live, nil
}

// variableOps sets the stage's variables to the template's, removing the ones
// the stack set before and the template no longer has.
// resetOps are the patch operations that undo the stage settings the last
// deploy's template set and this one no longer does, as CloudFormation
// resets a stage property a template drops: tracing and the cache cluster
// off, the access log off, and each per-method setting key the template set
// removed (the template's own settings are set again after them, from their
// defaults).
func resetOps(old *Resource, api *API) []PatchOp {
	if old == nil {
		return nil
	}
	now := map[string]bool{}
	for _, op := range api.StageOps {
		now[op.Path] = true
	}
	var ops []PatchOp
	removed := map[string]bool{}
	for _, op := range old.StageOps {
		switch op.Path {
		case "/tracingEnabled", "/cacheClusterEnabled":
			if !now[op.Path] {
				ops = append(ops, PatchOp{Op: "replace", Path: op.Path, Value: "false"})
			}
		case "/cacheClusterSize":
		case "/accessLogSettings/destinationArn", "/accessLogSettings/format":
			if !now[op.Path] && !removed["/accessLogSettings"] {
				removed["/accessLogSettings"] = true
				ops = append(ops, PatchOp{Op: "remove", Path: "/accessLogSettings"})
			}
		default:
			// /{resource}/{method}/{setting}/{field}: the key is the
			// first two segments.
			segs := strings.SplitN(strings.TrimPrefix(op.Path, "/"), "/", 3)
			if len(segs) < 3 {
				continue
			}
			key := "/" + segs[0] + "/" + segs[1]
			if !removed[key] {
				removed[key] = true
				ops = append(ops, PatchOp{Op: "remove", Path: key})
			}
		}
	}
	return ops
}

func variableOps(old *Resource, api *API) []PatchOp {
	var ops []PatchOp
	if old != nil {
		var gone []string
		for k := range old.Variables {
			if _, ok := api.Variables[k]; !ok {
				gone = append(gone, k)
			}
		}
		sort.Strings(gone)
		for _, k := range gone {
			ops = append(ops, PatchOp{Op: "remove", Path: "/variables/" + k})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(api.Variables)) {
		ops = append(ops, PatchOp{Op: "replace", Path: "/variables/" + k, Value: api.Variables[k]})
	}
	return ops
}

func isNotFound(err error) bool { return client.IsNotFound(err) }

func intOrNone(n *int) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}

// setEventInvoke sets the function's EventInvokeConfig on its qualifier (its
// alias, or $LATEST), or takes it off when the template no longer has one;
// when the qualifier changed it takes the last deploy's off the old one. On a
// later failure it puts back what the last deploy set.
func (a *applier) setEventInvoke(ctx context.Context, c *Change) error {
	f := c.fn
	q := EventInvokeQualifier(f.Alias)
	a.progress("event invoke config of %s:%s: %s", f.Name, q, f.EventInvoke)
	if err := a.t.SetEventInvoke(ctx, f.Name, q, f.EventInvoke); err != nil {
		return fmt.Errorf("event invoke config of %s:%s: %w", f.Name, q, err)
	}
	if c.old == nil {
		return nil
	}
	name, oldQ, prev := f.Name, EventInvokeQualifier(c.old.Alias), c.old.EventInvoke
	if oldQ == q {
		if c.limits != nil {
			prev = c.limits.EventInvoke // what the server held
		}
		a.onFailure(fmt.Sprintf("set the event invoke config of %s:%s back to %s", name, q, prev),
			func(ctx context.Context) error { return a.t.SetEventInvoke(ctx, name, q, prev) })
		return nil
	}
	a.onFailure(fmt.Sprintf("take the event invoke config off %s:%s", name, q),
		func(ctx context.Context) error { return a.t.SetEventInvoke(ctx, name, q, nil) })
	if prev == nil {
		return nil
	}
	a.progress("event invoke config of %s:%s: none", name, oldQ)
	if err := a.t.SetEventInvoke(ctx, name, oldQ, nil); err != nil {
		return fmt.Errorf("event invoke config of %s:%s: %w", name, oldQ, err)
	}
	a.onFailure(fmt.Sprintf("set the event invoke config of %s:%s back to %s", name, oldQ, prev),
		func(ctx context.Context) error { return a.t.SetEventInvoke(ctx, name, oldQ, prev) })
	return nil
}

// restTags sets a REST API's Tags on the API and on its stage, as
// CloudFormation sets those of the AWS::ApiGateway::RestApi and Stage SAM
// makes, and takes off the tags the last deploy set (c.old.Tags) that the
// template dropped; a tag added by hand stays. A stage the last deploy did
// not tag (new, or renamed) has no tags of the stack's to take off.
func (a *applier) restTags(ctx context.Context, c *Change, api *API) error {
	var was map[string]string
	if c.old != nil {
		was = c.old.Tags
	}
	drop := func(k string) bool { _, set := was[k]; return set }
	a.progress("API %s (%s): tags of the API and of stage %s", c.PhysicalID, c.LogicalID, api.Stage)
	if err := a.t.SetRESTTags(ctx, c.PhysicalID, "", api.Tags, drop); err != nil {
		return fmt.Errorf("tags of API %s (%s): %w", c.PhysicalID, c.LogicalID, err)
	}
	if err := a.t.SetRESTTags(ctx, c.PhysicalID, api.Stage, api.Tags, drop); err != nil {
		return fmt.Errorf("tags of stage %s of API %s (%s): %w", api.Stage, c.PhysicalID, c.LogicalID, err)
	}
	return nil
}
