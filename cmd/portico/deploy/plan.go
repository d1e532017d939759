package deploy

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/invoker"
)

// Record is what a stack made, kept by the server (PUT /portico/v1/stacks/{name})
// so that the next deploy knows what it owns.
type Record struct {
	Name string `json:"name"`
	// Revision is the server's count of the record's writes: the deploy
	// writes its record only over the revision it planned against.
	Revision  int64                `json:"revision,omitempty"`
	Template  string               `json:"template,omitempty"`
	Resources map[string]*Resource `json:"resources"`
	// Deploying is the hold of a deploy in progress on the stack, as the
	// server reports it (it is not written with the record).
	Deploying *Hold `json:"deploying,omitempty"`
}

// Hold is a deploy in progress on a stack: while one holds it, another
// deploy (or stack delete) of the stack is refused.
type Hold struct {
	// ID is the hold's token, known only to the run that took it.
	ID      string    `json:"id,omitempty"`
	By      string    `json:"by,omitempty"`
	Started time.Time `json:"started"`
}

// Resource kinds in a record.
const (
	KindFunction = "function"
	KindAPI      = "api"
	// KindUsagePlan is the usage plan REST APIs share (SharedUsagePlan),
	// with its API key.
	KindUsagePlan = "usagePlan"
	// KindCreating is a run's intent to create an API (under the key
	// creatingKey of its logical id), written before the create: its
	// PhysicalID is the API's name, Before the ids of the APIs of that name
	// there were. A run killed between the create and recording the API's
	// id leaves it, and the next deploy takes the API of that name that is
	// not in Before as the stack's (adopts it, or deletes it).
	KindCreating = "creating"
)

// creatingKey is the record's key of the intent to create the API of
// logicalID (KindCreating): a logical id is alphanumeric, so no template
// names it.
func creatingKey(logicalID string) string { return logicalID + " (creating)" }

// Resource is one resource a stack made.
type Resource struct {
	Kind string `json:"kind"`
	// PhysicalID is the function name or the API id.
	PhysicalID string `json:"physicalId"`
	// Fingerprint is the function's (code and configuration) or the API
	// definition's digest when last applied.
	Fingerprint string `json:"fingerprint"`
	// Properties are the digests of the template's top-level properties of
	// the resource when last applied (Desired.Props), so that the next
	// plan names those a change changed.
	Properties map[string]string `json:"properties,omitempty"`
	// Publishing is, for a function, the highest version there was ("0":
	// none) when a run set out to publish one, written before the publish:
	// a run that ends before it records the version it published leaves
	// it, and the next deploy deletes the versions above it that neither
	// the record nor the alias names.
	Publishing string `json:"publishing,omitempty"`
	// Replacing is, for an API, set when a run set out to replace its
	// definition, written before the replace: a stage that deploys
	// automatically serves the new definition at once, and a run that ends
	// before its record (killed) leaves it, so the next deploy replaces the
	// definition again (and deploys it) rather than taking the API for the
	// recorded one.
	Replacing bool `json:"replacing,omitempty"`
	// Before is, for KindCreating, the ids of the APIs of the name
	// (PhysicalID) that there were before the create.
	Before []string `json:"before,omitempty"`
	// adopted: an API an interrupted run made and did not record, which
	// this plan takes as the stack's.
	adopted bool
	// Functions: the version last published, the alias, reserved and
	// provisioned concurrency.
	Version     string `json:"version,omitempty"`
	Alias       string `json:"alias,omitempty"`
	Reserved    *int   `json:"reserved,omitempty"`
	Provisioned int    `json:"provisioned,omitempty"`
	// EventInvoke is the EventInvokeConfig set on the alias (or $LATEST).
	EventInvoke *EventInvoke `json:"eventInvoke,omitempty"`
	// CodeSHA256 is the CodeSha256 of the Zip package last sent, which the
	// next deploy compares with the server's $LATEST.
	CodeSHA256 string `json:"codeSha256,omitempty"`
	// APIs: the stage, its settings' digest, the deployment it serves and the
	// usage plan.
	Stage            string            `json:"stage,omitempty"`
	StageFingerprint string            `json:"stageFingerprint,omitempty"`
	Deployment       string            `json:"deployment,omitempty"`
	Variables        map[string]string `json:"variables,omitempty"`
	// StageOps are the stage settings the template set (API.StageOps), so
	// that the next deploy resets those the template no longer sets.
	StageOps []PatchOp `json:"stageOps,omitempty"`
	// HTTPStage is what the template set on an HTTP API's stage
	// (API.HTTPStage), so that the next deploy takes off what it drops.
	HTTPStage *HTTPStage `json:"httpStage,omitempty"`
	// DeploymentResource is the AWS::ApiGatewayV2::Deployment the stage
	// serves (API.Pinned): the next deploy deploys to the stage when the
	// template names another.
	DeploymentResource string `json:"deploymentResource,omitempty"`
	// Tags are the tags the template set on an HTTP API of
	// AWS::ApiGatewayV2 resources (V2HTTP.Tags), or on a REST API and its
	// stage (API.Tags), so that the next deploy takes off those it drops and
	// no tag added by hand.
	Tags            map[string]string `json:"tags,omitempty"`
	UsagePlanID     string            `json:"usagePlanId,omitempty"`
	PlanFingerprint string            `json:"planFingerprint,omitempty"`
	// APIKeyID is the API key made for the usage plan (SAM's <Api>ApiKey; a
	// shared plan's ServerlessApiKey). It is kept while the plan is, so that
	// its value stays what callers were given.
	APIKeyID string `json:"apiKeyId,omitempty"`
	// Shares are the API stages ("apiId:stage") of a shared usage plan
	// (KindUsagePlan, whose PhysicalID is the plan's id).
	Shares []string `json:"shares,omitempty"`
}

// KeyState is what the plan needs to know of an existing API key: whether it
// is enabled and whether its value is the template's (true when the template
// gives none).
type KeyState struct {
	Enabled, SameValue bool
}

// Observed is what the server holds of a stack's recorded resources and the
// names its new resources would take.
type Observed struct {
	// Functions says for each function name whether it exists.
	Functions map[string]bool
	// APIs says for each recorded API id whether it exists.
	APIs map[string]bool
	// Aliases ("function:alias"), Versions ("function:version"), Stages
	// ("apiId/stage") and UsagePlans (by id) say whether the recorded ones
	// of existing functions and APIs exist; one not named is taken to.
	Aliases, Versions, Stages, UsagePlans map[string]bool
	// APIKeys (by id) says whether the API keys made for usage plans exist.
	APIKeys map[string]bool
	// Keys holds, by id, the state of the existing keys made for raw
	// AWS::ApiGateway::ApiKey resources, compared with the template's.
	Keys map[string]KeyState
	// Images holds, by function name, the existing Image functions whose
	// image reference names another image than the one they run (rebuilt
	// under the same tag).
	Images map[string]ImageState
	// Drift holds, by function name, what of $LATEST of a function the
	// stack recorded differs from the template that the record says was
	// deployed (configuration fields, "code"): an interrupted deploy or a
	// change by hand left it so.
	Drift map[string][]string
	// StageState holds, by "apiId/stage", the settings of the REST stages
	// the stack recorded, as the server holds them, to compare with the
	// template: the record says what the last deploy set, not what an
	// interrupted deploy or a change by hand left.
	StageState map[string]*SavedStage
	// HTTPStageState holds, by "apiId/stage", the HTTP and WebSocket API
	// stages the stack recorded, as apigatewayv2's GetStage answers them,
	// to compare with the template in the same way.
	HTTPStageState map[string]*LiveHTTPStage
	// Access holds, by API id, what of the access control of each recorded
	// API's definition differs from the deployment the stack's record says
	// its stage serves (accessDrift): changed by hand.
	Access map[string][]string
	// Repackaged holds, by function name, the PackageType ("Zip",
	// "Image") of each recorded function whose template gives the other.
	Repackaged map[string]string
	// Serving holds, by function name, what the recorded alias serves
	// when it is not the recorded version alone.
	Serving map[string]AliasRouting
	// Leftover holds, by function name, the versions a run that ended
	// before recording them published (Resource.Publishing), to delete.
	Leftover map[string][]string
	// Held holds, by function name, the versions above the mark of
	// Leftover's run that the alias still names (a killed traffic
	// shift's): deleted once the deploy moves the alias off them, the
	// record's mark kept until then.
	Held map[string][]string
	// Unrecorded holds, by the record's KindCreating key, the ids of the
	// APIs of the intent's name that are not in its Before: made by a run
	// that ended before it recorded them.
	Unrecorded map[string][]string
	// Adopt holds, by function name, the version the recorded alias serves
	// alone, not the record's, when it is what the template asks for.
	Adopt map[string]string
	// KeySources holds, by API id, the API key source the server holds for
	// each recorded WebSocket API the template still defines ("": the
	// x-api-key header; AUTHORIZER).
	KeySources map[string]string
	// Warnings are what could not be observed (an image not resolved).
	Warnings []string
	// notLocal are the image references the server's host does not have
	// (checkImages warned about them).
	notLocal map[string]bool
	// PlanState holds, by id, the API's own usage plans the stack recorded,
	// as the server holds them, to compare with the template: an
	// interrupted deploy, or a change by hand, may have left another quota,
	// throttle or stages than the record says.
	PlanState map[string]*SavedUsagePlan
	// PlanKeys says, by "planId/keyId", whether the API key the stack made
	// for a recorded usage plan is in it.
	PlanKeys map[string]bool
	// Limits holds, by function name, the reserved concurrency, the
	// alias's provisioned concurrency and the event invoke configuration
	// the server holds of each function the stack recorded, to compare
	// with the template (nil: the target cannot tell).
	Limits map[string]*FunctionLimits
	// Concurrency is the account's concurrency, read when the template
	// reserves some (nil: not read).
	Concurrency *AccountConcurrency
}

// AccountConcurrency is the account's concurrency and what of it no function
// reserves.
type AccountConcurrency struct {
	Limit, Unreserved int
}

// wsKeyExpression is the ApiKeySelectionExpression of a WebSocket API whose
// key source is src.
func wsKeyExpression(src string) string {
	if src == usage.SourceAuthorizer {
		return wsKeyAuthorizer
	}
	return wsKeyHeader
}

// gone reports whether m says key does not exist (a key m does not name was
// not looked at).
func gone(m map[string]bool, key string) bool {
	ok, named := m[key]
	return named && !ok
}

// Action is what a deploy does to one resource.
type Action string

// The actions.
const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
	Keep   Action = "unchanged"
)

// Change is one resource's part of a plan.
type Change struct {
	LogicalID string
	Kind      string
	Action    Action
	// PhysicalID is the existing function name or API id ("" for an API to create).
	PhysicalID string
	// Steps say what the change does, in words ("publish a new version", ...).
	Steps []string

	fn  *Function
	api *API
	old *Resource
	// code, config: a function's code or configuration changed; definition,
	// stage, plan: an API's definition, stage settings, usage plan changed.
	publish, definition, stage, plan, reserved, provisioned, eventInvoke bool
	// replacedFunction is the function a renamed function replaces (its old
	// FunctionName), replacedAlias the alias a changed or dropped
	// AutoPublishAlias replaces: deleted once the new ones serve.
	replacedFunction, replacedAlias string
	// replacedStage is the API stage a changed StageName replaces: deleted
	// once the new stage serves.
	replacedStage string
	// replacedAPIKey is the API key a raw ApiKey's changed Value replaces:
	// deleted once the new one is in the plan and the rest is done.
	replacedAPIKey string
	// droppedPlan and droppedKey are the API's own usage plan and its API
	// key, which the template dropped: deleted in the Remove phase, once
	// everything else succeeded, so that a failed deploy leaves them.
	droppedPlan, droppedKey string
	// liveHTTP is the HTTP or WebSocket API stage as the server held it
	// when the plan was made (Observed.HTTPStageState): what the switch
	// takes off besides what the record says the last deploy set.
	liveHTTP *LiveHTTPStage
	// restoreAlias: the alias was deleted by hand; it points at the
	// recorded version again. newStage: the stage was deleted by hand and
	// is made again. planGone: so was the usage plan; keyGone: its API key.
	restoreAlias, newStage, planGone, keyGone bool
	// limits is what the server held of the function's concurrency and
	// event invoke configuration when the plan was made (nil: not read):
	// what a rollback puts back.
	limits *FunctionLimits
	// keepMark: the record keeps the function's Publishing mark, a
	// version above it still named by the alias.
	keepMark bool
	// keyUnlinked: the API's own API key exists and is not in its usage
	// plan (removed by hand): it is added again.
	keyUnlinked bool
	// planKept: the API's own usage plan, as the server holds it, is what
	// the template asks; only its key changes (a raw ApiKey's Value or
	// Enabled), and the plan is not updated.
	planKept bool
	// held: the API's definition is replaced and not deployed, its stage
	// serving the Deployment it served (API.Pinned unchanged).
	held bool
	// serve is the deployment a renamed stage serving an unchanged
	// AWS::ApiGatewayV2::Deployment (API.Pinned) is made on: the one the
	// old stage served, that Deployment's snapshot, as CloudFormation's
	// new stage names it, rather than the API's current definition.
	serve string
	// shared is the shared usage plan (KindUsagePlan) and sharedBy the
	// changes of the APIs that share it.
	shared   *UsagePlan
	sharedBy []*Change
	// latest: $LATEST is put back to the template's (it drifted) without a
	// new version; serving: what the alias served when it is pointed back at
	// the recorded version (restoreAlias).
	latest  bool
	serving AliasRouting
	// liveFrom is the version the alias serves when a new version
	// replaces it and it is not the recorded one (a change by hand): what
	// a traffic shift starts from.
	liveFrom string
	// adopt is the version the alias serves that the record becomes (what
	// the template asks for, published by a run that did not record it).
	adopt string
	// props are the digests of the template's properties of the resource
	// (Desired.Props), for the record.
	props map[string]string
	// leftover are versions a run that ended before recording them
	// published, which this one deletes (Observed.Leftover).
	leftover []string
}

// AliasRouting is what an alias serves: a version, and the versions it shares
// its calls with (by weight, 0..1).
type AliasRouting struct {
	Version string
	Weights map[string]float64
}

// String says which versions the alias serves: "version 2", "version 1 and
// 10% to version 2".
func (r AliasRouting) String() string {
	w := "version " + r.Version
	for _, v := range slices.Sorted(maps.Keys(r.Weights)) {
		w += fmt.Sprintf(" and %.4g%% to version %s", r.Weights[v]*100, v)
	}
	return w
}

// Plan is what a deploy will do. Apply it once; it is not safe for concurrent
// use.
type Plan struct {
	Stack    string
	Template string
	Changes  []*Change
	Warnings []string
	record   *Record
	// deleteStack: the plan deletes the stack (DeletePlan); Apply deletes
	// its record instead of writing it.
	deleteStack bool
}

// NewPlan compares what the template asks for with what the stack made last
// time (record, nil for a new stack) and what the server holds (obs). It fails,
// changing nothing, when a new function's name is taken by a function the
// stack does not own.
func NewPlan(d *Desired, rec *Record, obs Observed) (*Plan, error) {
	if rec == nil {
		rec = &Record{Name: d.Stack, Resources: map[string]*Resource{}}
	}
	if rec.Resources == nil {
		rec.Resources = map[string]*Resource{}
	}
	p := &Plan{Stack: d.Stack, Warnings: slices.Concat(d.Warnings, obs.Warnings), record: rec}
	adoptUnrecorded(d, rec, obs)
	owned := map[string]bool{}
	for _, r := range rec.Resources {
		if r.Kind == KindFunction {
			owned[r.PhysicalID] = true
		}
	}
	var errs []string
	wanted := map[string]bool{}
	for _, f := range d.Functions {
		wanted[f.Name] = true
	}
	for _, id := range slices.Sorted(maps.Keys(d.Functions)) {
		f := d.Functions[id]
		old := rec.Resources[id]
		if old != nil && old.Kind != KindFunction {
			old = nil
		}
		c := &Change{LogicalID: id, Kind: KindFunction, fn: f, old: old, PhysicalID: f.Name}
		switch {
		case old == nil || old.PhysicalID != f.Name || !obs.Functions[old.PhysicalID]:
			if obs.Functions[f.Name] && !owned[f.Name] {
				errs = append(errs, fmt.Sprintf("function %s (%s) already exists and is not part of stack %s: delete it or set FunctionName", f.Name, id, d.Stack))
				continue
			}
			c.Action, c.publish = Create, true
			c.reserved = f.Reserved != nil
			c.provisioned = f.Provisioned > 0
			c.eventInvoke = f.EventInvoke != nil
			c.Steps = append(c.Steps, "create function "+f.Name)
			if f.Alias != "" {
				c.Steps = append(c.Steps, "publish version 1 (or next) and point alias "+f.Alias+" at it")
			}
			if old != nil && old.PhysicalID != f.Name && obs.Functions[old.PhysicalID] && !wanted[old.PhysicalID] {
				// FunctionName is a replacement property: the function under
				// the old name goes once the new one serves.
				c.replacedFunction = old.PhysicalID
				c.Steps = append(c.Steps, "delete function "+old.PhysicalID+" (replaced: its FunctionName changed)")
			}
		case obs.Repackaged[f.Name] != "":
			// CloudFormation replaces a function whose PackageType
			// changes, and refuses to replace one of a custom name; the
			// name of a stack's function is the same either way.
			was, now := obs.Repackaged[f.Name], packageType(f.ImageURI)
			errs = append(errs, fmt.Sprintf("function %s (%s): its PackageType cannot change from %s to %s in place (Lambda refuses it): "+
				"give it another FunctionName to replace it (the new function is made, the old one deleted), or delete the stack (portico stack delete %s) and deploy again",
				f.Name, id, was, now, d.Stack))
			continue
		default:
			c.Action = Keep
			// An alias deleted by hand is made again, at the version it
			// served (or at a new one, the version gone too).
			aliasGone := f.Alias != "" && old.Alias == f.Alias && gone(obs.Aliases, old.PhysicalID+":"+f.Alias)
			versionGone := old.Version == "" || gone(obs.Versions, old.PhysicalID+":"+old.Version)
			img, rebuilt := obs.Images[f.Name]
			if v, ok := obs.Adopt[f.Name]; ok && old.Fingerprint != f.Fingerprint() && old.Alias == f.Alias && !aliasGone && !rebuilt {
				// A deploy of this template published v and shifted the
				// alias to it, and ended before its record: v is what the
				// template asks for, and serves.
				c.Action, c.adopt = Update, v
				c.Steps = append(c.Steps, fmt.Sprintf("record version %s: alias %s serves it, and it is what the template asks for (a deploy that ended before its record published it, not version %s as the stack recorded)",
					v, f.Alias, old.Version))
				if drift := obs.Drift[f.Name]; len(drift) > 0 {
					c.latest = true
					c.Steps = append(c.Steps, correctionWords(f.Name, drift))
				}
			} else if old.Fingerprint != f.Fingerprint() || old.Alias != f.Alias || (aliasGone && versionGone) || rebuilt {
				c.Action, c.publish = Update, true
				if cu := old.Properties["CodeUri"]; f.ImageURI == "" && !rebuilt && old.CodeSHA256 != "" && cu != "" && cu == d.Props[id]["CodeUri"] {
					// The code is the recorded deploy's (its CodeUri digest
					// counts its files): sent only if $LATEST runs other code.
					f.keepCode = old.CodeSHA256
					c.Steps = append(c.Steps, "update the configuration of "+f.Name+" (its code is unchanged)")
				} else {
					c.Steps = append(c.Steps, "update code and configuration of "+f.Name)
				}
				if rebuilt {
					c.Steps = append(c.Steps, fmt.Sprintf("image %s was rebuilt: it names %s now (%s runs %s)", img.ImageURI, shortID(img.Now), f.Name, shortID(img.Was)))
				}
				switch {
				case f.Alias != "" && shifted(c):
					d := f.Deployment
					c.Steps = append(c.Steps, fmt.Sprintf("publish a new version and shift alias %s to it (%s%s), waiting for the shift", f.Alias, d.Type, hookWords(d)))
				case f.Alias != "":
					c.Steps = append(c.Steps, "publish a new version and point alias "+f.Alias+" at it")
				}
			} else if aliasGone {
				c.Action, c.restoreAlias = Update, true
				c.Steps = append(c.Steps, fmt.Sprintf("create alias %s again (it was deleted) at version %s", f.Alias, old.Version))
			}
			serving, moved := obs.Serving[f.Name]
			if drift := obs.Drift[f.Name]; len(drift) > 0 && !c.publish && c.adopt == "" {
				// The record's fingerprint is the template's, the server's
				// $LATEST is not.
				c.Action = Update
				if f.Alias == "" {
					c.publish = true // $LATEST is what is invoked
				} else {
					c.latest = true // the alias's version is the template's
				}
				c.Steps = append(c.Steps, correctionWords(f.Name, drift))
			}
			switch {
			case !moved || aliasGone || c.adopt != "":
			case c.publish:
				c.Steps = append(c.Steps, fmt.Sprintf("alias %s serves %s, not version %s as the stack recorded (an interrupted deploy left it so): the new version replaces it",
					f.Alias, serving, old.Version))
				c.liveFrom = serving.Version
			case !versionGone:
				c.Action, c.restoreAlias, c.serving = Update, true, serving
				c.Steps = append(c.Steps, fmt.Sprintf("correct alias %s: it serves %s, not version %s as the stack recorded (an interrupted deploy or a change by hand left it so): point it back at version %s",
					f.Alias, serving, old.Version, old.Version))
			}
			if old.Alias != "" && old.Alias != f.Alias {
				// As CloudFormation deletes the alias resource of a changed
				// or dropped AutoPublishAlias (its provisioned concurrency
				// with it).
				c.Action, c.replacedAlias = Update, old.Alias
				step := "delete alias " + old.Alias + " (AutoPublishAlias no longer names it)"
				if old.Provisioned > 0 {
					step = "delete alias " + old.Alias + " and its provisioned concurrency (AutoPublishAlias no longer names it)"
				}
				c.Steps = append(c.Steps, step)
			}
			if !sameInt(old.Reserved, f.Reserved) {
				c.Action, c.reserved = Update, true
				c.Steps = append(c.Steps, "set reserved concurrency")
			}
			// Provisioned concurrency is the alias's: a changed or dropped
			// alias takes the old one's with it (replacedAlias), and the new
			// alias, if any, gets the template's.
			oldProvisioned := old.Provisioned
			if old.Alias != f.Alias {
				oldProvisioned = 0
			}
			if f.Alias != "" && (oldProvisioned != f.Provisioned || ((c.publish || aliasGone) && f.Provisioned > 0)) {
				c.Action, c.provisioned = Update, true
				c.Steps = append(c.Steps, fmt.Sprintf("set provisioned concurrency of alias %s to %d", f.Alias, f.Provisioned))
			}
			// The configuration lives on the alias (or $LATEST): it moves
			// with a changed AutoPublishAlias.
			if !sameEventInvoke(old.EventInvoke, f.EventInvoke) || (old.Alias != f.Alias && (old.EventInvoke != nil || f.EventInvoke != nil)) ||
				(aliasGone && f.EventInvoke != nil) {
				c.Action, c.eventInvoke = Update, true
				c.Steps = append(c.Steps, "set the event invoke config of "+f.Name+":"+EventInvokeQualifier(f.Alias))
			}
			limitDrift(c, f, old, obs.Limits[f.Name], aliasGone)
		}
		c.props = d.Props[id]
		namePropsChanged(c)
		vs := obs.Leftover[f.Name]
		if len(vs) > 0 && c.Action != Create {
			c.Steps = append(c.Steps, fmt.Sprintf("delete version %s of %s: a deploy that ended before recording it published it",
				strings.Join(vs, ", "), f.Name))
		}
		if held := obs.Held[f.Name]; len(held) > 0 && c.Action != Create {
			if (c.restoreAlias && c.serving.Version != "") || c.publish {
				// The alias is moved off them in Switching: they go in
				// Removing, after that. A publish that returns one of
				// them (Lambda returns the highest version when $LATEST
				// is the same) re-uses it: it is kept (Apply).
				vs = append(slices.Clone(vs), held...)
				step := fmt.Sprintf("delete version %s of %s once alias %s is off it: a deploy that ended before recording it published it",
					strings.Join(held, ", "), f.Name, f.Alias)
				if c.publish {
					step += " (kept if the new version is it: Lambda returns the highest version when $LATEST is unchanged since)"
				}
				c.Steps = append(c.Steps, step)
			} else {
				c.keepMark = true // for a deploy that moves the alias
			}
		}
		if len(vs) > 0 && c.Action != Create {
			c.leftover = vs
			if c.Action == Keep {
				c.Action = Update
			}
		}
		p.Changes = append(p.Changes, c)
	}
	if e := reservationError(p.Changes, obs.Concurrency); e != "" {
		errs = append(errs, e)
	}
	for _, id := range slices.Sorted(maps.Keys(d.APIs)) {
		a := d.APIs[id]
		old := rec.Resources[id]
		if old != nil && (old.Kind != KindAPI || !obs.APIs[old.PhysicalID]) {
			old = nil
		}
		c := &Change{LogicalID: id, Kind: KindAPI, api: a, old: old}
		if old != nil && old.adopted {
			c.Steps = append(c.Steps, fmt.Sprintf("adopt API %s: a deploy that ended before recording it made it", old.PhysicalID))
		}
		switch old {
		case nil:
			c.Action, c.definition, c.stage = Create, true, true
			c.plan = a.ownPlan() != nil
			c.Steps = append(c.Steps, fmt.Sprintf("create %s API %s and deploy stage %s", a.Protocol, a.Name, a.Stage))
			if c.plan {
				c.Steps = append(c.Steps, fmt.Sprintf("create usage plan %s (%s) and API key %s (%s) in it", a.UsagePlan.Name, a.planLogical(), a.UsagePlan.KeyName, a.keyLogical()))
			}
		default:
			c.PhysicalID, c.Action = old.PhysicalID, Keep
			if old.Stage != a.Stage {
				// A renamed stage is a new API stage; the old one is removed
				// (as CloudFormation replaces an AWS::ApiGateway::Stage) once
				// the API's definition serves under the new name.
				c.definition = true
				if old.Stage != "" && !gone(obs.Stages, old.PhysicalID+"/"+old.Stage) {
					c.replacedStage = old.Stage
				}
			}
			// A stage deleted by hand is deployed again, with its settings,
			// as a new one; so is a usage plan.
			c.newStage = old.Stage == a.Stage && gone(obs.Stages, old.PhysicalID+"/"+old.Stage)
			c.planGone = old.UsagePlanID != "" && gone(obs.UsagePlans, old.UsagePlanID)
			c.keyGone = old.APIKeyID != "" && gone(obs.APIKeys, old.APIKeyID)
			src, observed := obs.KeySources[old.PhysicalID]
			keyDrift := observed && src != a.APIKeySource
			changed := !a.unchangedDefinition(old.Fingerprint) || old.Replacing
			if old.Replacing {
				c.Steps = append(c.Steps, fmt.Sprintf("a deploy that ended before recording it replaced the definition of API %s: "+
					"it may hold and serve another definition than the stack's record says", old.PhysicalID))
			}
			ship := changed || c.definition || c.newStage
			switch {
			case a.Pinned == "":
				// Each change is deployed (AutoDeploy); turning AutoDeploy
				// on deploys at once.
				ship = ship || old.DeploymentResource != ""
			case !c.definition && !c.newStage:
				// The stage serves its Deployment: one of a new logical id
				// ships the definition; a change without one is not served.
				ship = old.DeploymentResource != a.Pinned
				c.held = changed && !ship
			}
			if keyDrift {
				// The server lost the key source the template sets: put it
				// back and serve it, pinned stage or not.
				ship, c.held = true, false
			} else if a.Pinned != "" && old.DeploymentResource == a.Pinned && old.Deployment != "" && old.Stage != a.Stage && !c.newStage {
				c.serve = old.Deployment
			}
			// The stage serves, and the API's definition holds, what the
			// stack deployed, unless changed by hand (which the record
			// does not show): another deployment on the stage, or access
			// control the template sets taken off, is deployed again.
			putBack := false
			if served, access := servedDrift(a, old, c.newStage, obs); !ship && (served != "" || len(access) > 0) {
				if served != "" {
					c.Steps = append(c.Steps, fmt.Sprintf("correct stage %s: it serves deployment %s, not the stack's %s (changed by hand?)", a.Stage, served, old.Deployment))
				}
				if len(access) > 0 {
					c.Steps = append(c.Steps, fmt.Sprintf("correct API %s: its %s %s from what the stack deployed (deployment %s; changed by hand?)",
						old.PhysicalID, strings.Join(access, ", "), differ(access), old.Deployment))
				}
				switch {
				case a.Pinned == "" || old.DeploymentResource != a.Pinned:
					ship, c.held = true, false
				case served != "":
					// The stage serves its Deployment's snapshot again.
					ship, c.held, c.serve = true, false, old.Deployment
				default:
					// Not served (the stage serves its Deployment): the
					// definition is put back, not deployed.
					c.Action, c.definition, c.held, putBack = Update, true, true, true
					c.Steps = append(c.Steps, "replace the definition; stage "+a.Stage+" keeps serving deployment "+old.Deployment)
				}
			}
			if c.held && !putBack {
				c.Action, c.definition = Update, true
				c.Steps = append(c.Steps, fmt.Sprintf("replace the definition; stage %s keeps serving deployment %s "+
					"(no AutoDeploy, and it serves Deployment %s, which is unchanged: give that a new logical id to deploy the change)",
					a.Stage, old.Deployment, a.Pinned))
			}
			if ship {
				c.Action, c.definition = Update, true
				if keyDrift {
					c.Steps = append(c.Steps, fmt.Sprintf("set the API's key selection expression to %s (the server has %s)",
						wsKeyExpression(a.APIKeySource), wsKeyExpression(src)))
				}
				where := "stage " + a.Stage
				switch {
				case c.newStage:
					where += " (created again: it was deleted)"
				case a.Canary != nil && old.Stage == a.Stage:
					where = fmt.Sprintf("the canary of stage %s (%.4g%%)", a.Stage, a.Canary.PercentTraffic)
				}
				if c.serve != "" {
					c.Steps = append(c.Steps, fmt.Sprintf("replace the definition; create stage %s serving deployment %s, the snapshot of Deployment %s "+
						"(unchanged: give it a new logical id to deploy the definition)", a.Stage, c.serve, a.Pinned))
				} else {
					c.Steps = append(c.Steps, "replace the definition and deploy it to "+where)
				}
			}
			if old.Stage == a.Stage && !c.newStage {
				c.liveHTTP = obs.HTTPStageState[old.PhysicalID+"/"+a.Stage]
			}
			drift := stageDrift(a, obs.StageState[old.PhysicalID+"/"+a.Stage])
			if a.Protocol != apis.ProtocolREST {
				drift = httpStageDrift(a, c.liveHTTP)
			}
			if old.StageFingerprint != a.StageFingerprint() || c.definition && old.Stage != a.Stage || c.newStage {
				c.Action, c.stage = Update, true
				c.Steps = append(c.Steps, "update the settings of stage "+a.Stage)
			} else if len(drift) > 0 && old.Stage == a.Stage {
				c.Action, c.stage = Update, true
				c.Steps = append(c.Steps, fmt.Sprintf("correct stage %s: its %s %s from the template and the stack's record (an interrupted deploy or a change by hand left %s so)",
					a.Stage, strings.Join(drift, "; "), differ(drift), them(drift)))
			}
			// A renamed stage moves the usage plan to it: its keys would
			// work, and its throttle apply, on no stage.
			own := a.ownPlan()
			moved := old.UsagePlanID != "" && own != nil && (old.Stage != a.Stage || c.newStage)
			// A plan without its key (recorded before Portico made keys, or
			// the key deleted by hand) gets one.
			keyless := own != nil && (old.APIKeyID == "" || c.keyGone)
			var planDrift, keyFix []string
			if own != nil && !moved && !c.planGone {
				planDrift = livePlanDrift(own, old, obs)
				if old.APIKeyID != "" && !c.keyGone {
					keyFix = rawKeySteps(own, old.APIKeyID, obs)
					if st, ok := obs.Keys[old.APIKeyID]; ok && own.KeyLogical == "" && !st.Enabled {
						keyFix = append(keyFix, fmt.Sprintf("enable API key %s (%s): it was disabled (the template's keys are enabled)", old.APIKeyID, a.keyLogical()))
					}
					if in, ok := obs.PlanKeys[old.UsagePlanID+"/"+old.APIKeyID]; ok && !in {
						c.keyUnlinked = true
						keyFix = append(keyFix, fmt.Sprintf("add API key %s (%s) to usage plan %s again (it was removed from it)", old.APIKeyID, a.keyLogical(), old.UsagePlanID))
					}
				}
			}
			// The plan as the server holds it is the template's (a change of
			// the fingerprint is then its key's: Enabled or Value): only the
			// key is changed, the plan is left as it is.
			c.planKept = own != nil && !moved && !c.planGone && !keyless && old.UsagePlanID != "" &&
				obs.PlanState[old.UsagePlanID] != nil && len(planDrift) == 0
			if old.PlanFingerprint != a.PlanFingerprint() || moved || (c.planGone && own != nil) || keyless || len(planDrift) > 0 || len(keyFix) > 0 {
				c.Action, c.plan = Update, true
				switch {
				case own == nil && old.UsagePlanID == "":
				case own == nil:
					c.Steps = append(c.Steps, "delete usage plan "+old.UsagePlanID)
				case c.planGone:
					c.Steps = append(c.Steps, "create usage plan "+own.Name+" again (it was deleted)")
				case old.UsagePlanID == "":
					c.Steps = append(c.Steps, "create usage plan "+own.Name)
				case moved:
					c.Steps = append(c.Steps, fmt.Sprintf("update usage plan %s and move it from stage %s to %s (its keys stay)", old.UsagePlanID, old.Stage, a.Stage))
				case old.PlanFingerprint != a.PlanFingerprint() && !c.planKept:
					c.Steps = append(c.Steps, "update usage plan "+old.UsagePlanID+" (its keys stay)")
				case len(planDrift) > 0:
					c.Steps = append(c.Steps, fmt.Sprintf("correct usage plan %s: its %s %s from the template and the stack's record (an interrupted deploy or a change by hand left %s so)",
						old.UsagePlanID, strings.Join(planDrift, ", "), differ(planDrift), them(planDrift)))
				}
				switch {
				case own == nil && old.APIKeyID != "":
					c.Steps = append(c.Steps, "delete API key "+old.APIKeyID)
				case own == nil:
				case c.keyGone:
					c.Steps = append(c.Steps, fmt.Sprintf("create API key %s (%s) again (it was deleted) and add it to the usage plan", own.KeyName, a.keyLogical()))
				case old.APIKeyID == "":
					c.Steps = append(c.Steps, fmt.Sprintf("create API key %s (%s) and add it to the usage plan", own.KeyName, a.keyLogical()))
				case c.planGone:
					c.Steps = append(c.Steps, "add API key "+old.APIKeyID+" to the new usage plan")
				}
				c.Steps = append(c.Steps, keyFix...)
			}
			if c.replacedStage != "" {
				c.Steps = append(c.Steps, fmt.Sprintf("delete stage %s (StageName changed to %s)", c.replacedStage, a.Stage))
			}
		}
		c.props = d.Props[id]
		namePropsChanged(c)
		p.Changes = append(p.Changes, c)
	}
	if c := sharedPlanChange(d, rec, obs, p.Changes); c != nil {
		p.Changes = append(p.Changes, c)
	}
	for _, id := range slices.Sorted(maps.Keys(rec.Resources)) {
		r := rec.Resources[id]
		_, fn := d.Functions[id]
		_, api := d.APIs[id]
		if (r.Kind == KindFunction && fn) || (r.Kind == KindAPI && api) || r.Kind == KindUsagePlan {
			continue
		}
		gone := (r.Kind == KindFunction && !obs.Functions[r.PhysicalID]) || (r.Kind == KindAPI && !obs.APIs[r.PhysicalID])
		c := &Change{LogicalID: id, Kind: r.Kind, Action: Delete, PhysicalID: r.PhysicalID, old: r}
		if gone {
			c.Steps = append(c.Steps, fmt.Sprintf("forget %s %s (already gone)", r.Kind, r.PhysicalID))
		} else {
			c.Steps = append(c.Steps, fmt.Sprintf("delete %s %s", r.Kind, r.PhysicalID))
			if r.UsagePlanID != "" {
				c.Steps = append(c.Steps, "delete usage plan "+r.UsagePlanID)
			}
			if r.APIKeyID != "" {
				c.Steps = append(c.Steps, "delete API key "+r.APIKeyID)
			}
		}
		p.Changes = append(p.Changes, c)
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return p, nil
}

// servedDrift is, for API a's stage that the stack recorded (old) and
// still has, the deployment it serves when that is not the one the stack's
// record names (served, "" when it is, when the stage has a canary, whose
// deployment the record names, or deploys automatically), and what of the API's access control
// differs from that deployment's (Observed.Access).
func servedDrift(a *API, old *Resource, newStage bool, obs Observed) (served string, access []string) {
	if old.Stage != a.Stage || newStage || old.Deployment == "" || a.Canary != nil {
		return "", nil
	}
	key := old.PhysicalID + "/" + a.Stage
	if st := obs.StageState[key]; a.Protocol == apis.ProtocolREST && st != nil && st.Canary == nil {
		served = st.DeploymentID
	}
	if st := obs.HTTPStageState[key]; a.Protocol != apis.ProtocolREST && st != nil && !st.AutoDeploy && !a.AutoDeploy {
		// A stage that deploys automatically serves each change of the
		// API, one by hand too (a route added): its access control is
		// compared instead.
		served = st.DeploymentID
	}
	if served == old.Deployment {
		served = ""
	}
	return served, obs.Access[old.PhysicalID]
}

// rawKeySteps are the plan's lines for the changes of API key id, made for
// plan own's raw AWS::ApiGateway::ApiKey: replaced (its Value changed, which
// is never printed) or enabled or disabled; none for another key.
func rawKeySteps(own *UsagePlan, id string, obs Observed) []string {
	st, ok := obs.Keys[id]
	if own.KeyLogical == "" || !ok {
		return nil
	}
	switch on := !own.KeyDisabled; {
	case !st.SameValue:
		how := "enabled"
		if !on {
			how = "disabled"
		}
		return []string{fmt.Sprintf("replace API key %s (%s): its Value changed; a new key with it (%s) is made and put in the usage plan, and %s is deleted once the rest of the deploy is done",
			id, own.KeyLogical, how, id)}
	case on != st.Enabled:
		return []string{fmt.Sprintf("%s API key %s (%s)", enableVerb(on), id, own.KeyLogical)}
	}
	return nil
}

// sharedPlanChange is the change of the stack's shared usage plan
// (SharedUsagePlan, with its API key): made with the first API that shares
// it, its stages set to those of the APIs sharing it (apis: their changes),
// deleted with the last. It returns nil when there is none, before or after.
func sharedPlanChange(d *Desired, rec *Record, obs Observed, apis []*Change) *Change {
	old := rec.Resources[SharedUsagePlan]
	if old != nil && old.Kind != KindUsagePlan {
		old = nil
	}
	if old == nil && d.SharedPlan == nil {
		return nil
	}
	c := &Change{LogicalID: SharedUsagePlan, Kind: KindUsagePlan, Action: Keep, old: old, shared: d.SharedPlan}
	if old != nil {
		c.PhysicalID = old.PhysicalID
		c.planGone = gone(obs.UsagePlans, old.PhysicalID)
		c.keyGone = old.APIKeyID != "" && gone(obs.APIKeys, old.APIKeyID)
	}
	if d.SharedPlan == nil {
		c.Action = Delete
		if c.planGone {
			c.Steps = append(c.Steps, "forget usage plan "+old.PhysicalID+" (already gone)")
		} else {
			c.Steps = append(c.Steps, "delete usage plan "+old.PhysicalID)
		}
		if old.APIKeyID != "" && !c.keyGone {
			c.Steps = append(c.Steps, "delete API key "+old.APIKeyID)
		}
		return c
	}
	// The stages it will have: an API to create has no id yet.
	var shares []string
	for _, a := range apis {
		if a.Kind != KindAPI || a.api.UsagePlan == nil || !a.api.UsagePlan.Shared {
			continue
		}
		c.sharedBy = append(c.sharedBy, a)
		stage := a.api.Stage
		if a.Action == Create {
			shares = append(shares, "(new):"+stage)
			continue
		}
		shares = append(shares, a.PhysicalID+":"+stage)
	}
	sort.Strings(shares)
	p := d.SharedPlan
	switch {
	case old == nil || c.planGone:
		c.Action = Create
		again := ""
		if old != nil {
			again = " again (it was deleted)"
		}
		c.Steps = append(c.Steps, fmt.Sprintf("create usage plan %s%s on the stages of %s", p.Name, again, sharedNames(c.sharedBy)))
	case old.PlanFingerprint != digest(p) || !slices.Equal(old.Shares, shares):
		c.Action = Update
		c.Steps = append(c.Steps, fmt.Sprintf("update usage plan %s and set its stages to those of %s (its keys stay)", old.PhysicalID, sharedNames(c.sharedBy)))
	}
	switch {
	case old == nil || old.APIKeyID == "" || c.keyGone:
		again := ""
		if c.keyGone {
			again = " again (it was deleted)"
		}
		if c.Action == Keep {
			c.Action = Update
		}
		c.Steps = append(c.Steps, fmt.Sprintf("create API key %s (%s)%s and add it to the usage plan", p.KeyName, SharedAPIKey, again))
	case c.planGone:
		c.Steps = append(c.Steps, "add API key "+old.APIKeyID+" to the new usage plan")
	}
	return c
}

// sharedNames names the APIs of changes, for a plan step.
func sharedNames(changes []*Change) string {
	names := make([]string, len(changes))
	for i, c := range changes {
		names[i] = c.LogicalID
	}
	return strings.Join(names, ", ")
}

// reservationError says why the reserved concurrency the function changes
// set cannot be held by the account (""; it can, or acc is nil), as Lambda
// would refuse it in Switching, after the functions changed: the account
// keeps invoker.MinUnreserved of its concurrency unreserved (100 of Lambda's
// 1,000). What a function reserves already is its own to keep.
func reservationError(changes []*Change, acc *AccountConcurrency) string {
	if acc == nil {
		return ""
	}
	raise := 0
	var who []string
	for _, c := range changes {
		if c.Kind != KindFunction || !c.reserved {
			continue
		}
		now, was := 0, 0
		if c.fn.Reserved != nil {
			now = *c.fn.Reserved
		}
		if c.old != nil && c.Action != Create && c.old.Reserved != nil {
			was = *c.old.Reserved
		}
		if now > was {
			who = append(who, fmt.Sprintf("%s %d", c.fn.Name, now))
		}
		raise += now - was
	}
	least := invoker.MinUnreserved(acc.Limit)
	if left := acc.Unreserved - raise; raise > 0 && left < least {
		return fmt.Sprintf("reserved concurrency: the template reserves %d more (%s), which would leave the account's unreserved concurrency at %d, below its minimum of %d (of %d): lower ReservedConcurrentExecutions",
			raise, strings.Join(who, ", "), left, least, acc.Limit)
	}
	return ""
}

func sameInt(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Counts returns how many resources each action touches: a function a
// FunctionName change replaces, and a stage a StageName change replaces,
// count as deletions.
func (p *Plan) Counts() map[Action]int {
	out := map[Action]int{}
	for _, c := range p.Changes {
		out[c.Action]++
		if c.replacedFunction != "" {
			out[Delete]++
		}
		if c.replacedStage != "" {
			out[Delete]++
		}
	}
	return out
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	for _, c := range p.Changes {
		if c.Action != Keep {
			return false
		}
	}
	return true
}

// Print writes the plan for people, its warnings first.
func (p *Plan) Print(w io.Writer) {
	p.PrintWarnings(w)
	p.PrintChanges(w)
}

// PrintWarnings writes the plan's warnings, a "warning: " line each.
func (p *Plan) PrintWarnings(w io.Writer) {
	for _, warn := range p.Warnings {
		_, _ = fmt.Fprintln(w, "warning:", warn)
	}
}

// PrintChanges writes the plan's changes and counts, without its warnings.
func (p *Plan) PrintChanges(w io.Writer) {
	_, _ = fmt.Fprintf(w, "Stack %s:\n", p.Stack)
	for _, c := range p.Changes {
		name := c.PhysicalID
		if name == "" {
			name = "(new)"
		}
		_, _ = fmt.Fprintf(w, "  %-9s %-8s %-28s %s\n", c.Action, c.Kind, c.LogicalID, name)
		for _, s := range c.Steps {
			_, _ = fmt.Fprintf(w, "              - %s\n", s)
		}
	}
	n := p.Counts()
	_, _ = fmt.Fprintf(w, "%d to create, %d to update, %d to delete, %d unchanged\n", n[Create], n[Update], n[Delete], n[Keep])
	if p.deleteStack {
		_, _ = fmt.Fprintf(w, "then the record of stack %s\n", p.Stack)
	}
}

// shortID shortens an image id (sha256:HEX) to its first 12 hex digits, as
// docker images prints it; another string is left as it is.
func shortID(id string) string {
	if hex, ok := strings.CutPrefix(id, "sha256:"); ok && len(hex) > 12 {
		return "sha256:" + hex[:12]
	}
	return id
}

// hookWords names a DeploymentPreference's hooks for a plan step.
func hookWords(d *DeploymentPreference) string {
	var w string
	if d.PreTraffic != "" {
		w += ", PreTraffic hook " + d.PreTraffic
	}
	if d.PostTraffic != "" {
		w += ", PostTraffic hook " + d.PostTraffic
	}
	return w
}

// adoptUnrecorded turns each intent to create an API (KindCreating) in rec
// into what it made: the API of the intent's name an interrupted run made
// and did not record (obs.Unrecorded) is the stack's API of that logical id
// when the record names none and the template still has it; any other is
// recorded for deletion, as a replaced one is. The intent itself goes.
func adoptUnrecorded(d *Desired, rec *Record, obs Observed) {
	for _, key := range slices.Sorted(maps.Keys(rec.Resources)) {
		if r := rec.Resources[key]; r.Publishing != "" && len(obs.Held[r.PhysicalID]) == 0 {
			// Its leftover versions are in obs.Leftover: the intent goes.
			cp := *r
			cp.Publishing = ""
			rec.Resources[key] = &cp
		}
		if rec.Resources[key].Kind != KindCreating {
			continue
		}
		delete(rec.Resources, key)
		logical := strings.TrimSuffix(key, " (creating)")
		for _, id := range obs.Unrecorded[key] {
			obs.APIs[id] = true
			r := &Resource{Kind: KindAPI, PhysicalID: id, adopted: true}
			if _, wanted := d.APIs[logical]; wanted && rec.Resources[logical] == nil {
				rec.Resources[logical] = r
				continue
			}
			rec.Resources[replacedKey(logical, id)] = r
		}
	}
}

// namePropsChanged puts first among an update's steps the template's
// top-level properties of the resource that changed since the last deploy,
// as CloudFormation's change set names them (Details, Scope: Properties).
// A record made before Portico kept them names none.
func namePropsChanged(c *Change) {
	if c.Action != Update || c.old == nil {
		return
	}
	if names := changedProps(c.old.Properties, c.props); len(names) > 0 {
		c.Steps = append([]string{"properties changed: " + strings.Join(names, ", ")}, c.Steps...)
	}
}
