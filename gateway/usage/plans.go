package usage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/throttle"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

func getPlan(tx *store.Tx, id string, p *Plan) error {
	return get(tx, bucketPlans, id, p, "Invalid Usage Plan ID specified")
}

// get reads id from bucket into v; a missing one is a NotFoundException that
// says missing.
func get(tx *store.Tx, bucket, id string, v any, missing string) error {
	if err := tx.Get(bucket, id, v); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return notFound(missing)
		}
		return err
	}
	return nil
}

// checkStages checks the API stages of p against the APIs: that each exists
// and is of an API that takes API keys (REST or WebSocket: HTTP APIs have
// none), and that each method with a throttle is a method of the stage's
// current deployment, as API Gateway checks them. Entries of before (the
// plan before an update; nil for a new plan) are not checked again: a stage
// or method that went away since it was added stays removable, and the rest
// of the plan stays editable. A method throttle is checked when it is new or
// changed.
func (s *Service) checkStages(ctx context.Context, p *Plan, before *Plan) error {
	if s.stages == nil {
		return nil
	}
	for _, as := range p.APIStages {
		var old *APIStage
		if before != nil {
			if i := slices.IndexFunc(before.APIStages, func(b APIStage) bool { return b.APIID == as.APIID && b.Stage == as.Stage }); i >= 0 {
				old = &before.APIStages[i]
			}
		}
		var methods []string
		for m, t := range as.Throttle {
			if old == nil || old.Throttle[m] != t {
				methods = append(methods, m)
			}
		}
		if old != nil && len(methods) == 0 {
			continue
		}
		if err := s.checkStage(ctx, as, old == nil, methods); err != nil {
			return err
		}
	}
	return nil
}

// checkStage checks one API stage of a plan (see checkStages): its existence
// and API when isNew, and that methods are methods of its deployment.
func (s *Service) checkStage(ctx context.Context, as APIStage, isNew bool, methods []string) error {
	st, err := s.stages.GetStage(ctx, as.APIID, as.Stage)
	if err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return notFound("Invalid stage identifier specified: " + as.APIID + ":" + as.Stage)
		}
		return err
	}
	if isNew || len(methods) > 0 {
		a, err := s.stages.Get(ctx, as.APIID)
		if err != nil {
			return err
		}
		if a.Protocol == apis.ProtocolHTTP {
			return invalid("Invalid API stage %s:%s: it is an HTTP API's, and HTTP APIs have no API keys or usage plans (only REST and WebSocket APIs do)", as.APIID, as.Stage)
		}
		if a.Protocol == apis.ProtocolWebSocket && len(methods) > 0 {
			slices.Sort(methods)
			return invalid("Invalid method throttle %s for API stage %s:%s: it is a WebSocket API's stage, %s", methods[0], as.APIID, as.Stage, noWebSocketMethodThrottles)
		}
	}
	if len(methods) == 0 {
		return nil
	}
	have := map[string]bool{}
	if st.DeploymentID != "" {
		d, err := s.stages.GetDeployment(ctx, as.APIID, st.DeploymentID)
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
		if d != nil {
			for i := range d.API.Routes {
				have[throttle.MethodKey(d.API.Protocol, &d.API.Routes[i])] = true
			}
		}
	}
	slices.Sort(methods)
	for _, m := range methods {
		if !have[m] {
			return notFound(fmt.Sprintf("Invalid method %s in API stage %s:%s: the stage's deployment has no such method (use /{resourcePath}/{METHOD} of a method it serves)", m, as.APIID, as.Stage))
		}
	}
	return nil
}

// noWebSocketMethodThrottles is the advice for a per-method throttle on a
// WebSocket API's stage in a usage plan.
const noWebSocketMethodThrottles = "which takes no per-method throttles in a usage plan: use the plan's throttle, or the stage's route settings (aws apigatewayv2 update-stage --route-settings)"

// checkOnePlanPerStage refuses when a key of p is in another plan that covers
// one of p's API stages.
func checkOnePlanPerStage(tx *store.Tx, p *Plan, keyIDs []string) error {
	kid, q, as, err := planClash(tx, p, keyIDs)
	if err != nil || q == nil {
		return err
	}
	return conflict("API Key " + kid + " is already in usage plan " + q.ID + " for API stage " + as.APIID + ":" + as.Stage)
}

// planClash finds a key of keyIDs in another plan q than p that covers one of
// p's API stages, as; q is nil when there is none. Each other plan's stages
// are read without its key list, which is read only for a plan that covers
// one of p's stages (few do: a key is in one plan per stage): the check costs
// a pass over the stored plans, not a decode of every membership in them.
func planClash(tx *store.Tx, p *Plan, keyIDs []string) (kid string, q *Plan, as APIStage, err error) {
	if len(keyIDs) == 0 || len(p.APIStages) == 0 {
		return "", nil, APIStage{}, nil
	}
	mine := map[string]bool{}
	for _, as := range p.APIStages {
		mine[as.APIID+"/"+as.Stage] = true
	}
	want := make(map[string]bool, len(keyIDs))
	for _, k := range keyIDs {
		want[k] = true
	}
	err = tx.ForEach(bucketPlans, "", func(id string, raw []byte) error {
		if id == p.ID || q != nil {
			return nil
		}
		var stages struct {
			APIStages []APIStage `json:"apiStages"`
		}
		if err := jsonUnmarshal(raw, &stages); err != nil {
			return err
		}
		i := slices.IndexFunc(stages.APIStages, func(s APIStage) bool { return mine[s.APIID+"/"+s.Stage] })
		if i < 0 {
			return nil
		}
		other := new(Plan)
		if err := jsonUnmarshal(raw, other); err != nil {
			return err
		}
		if j := slices.IndexFunc(other.KeyIDs, func(k string) bool { return want[k] }); j >= 0 {
			kid, q, as = other.KeyIDs[j], other, stages.APIStages[i]
		}
		return nil
	})
	if err != nil {
		return "", nil, APIStage{}, err
	}
	return kid, q, as, nil
}

// CreatePlan creates a usage plan from p (its ID, keys and dates are set here).
func (s *Service) CreatePlan(ctx context.Context, p Plan) (*Plan, error) {
	p.ID, p.KeyIDs = randomString(6, idAlphabet), nil
	if err := p.validate(); err != nil {
		return nil, err
	}
	if err := s.checkStages(ctx, &p, nil); err != nil {
		return nil, err
	}
	p.CreatedAt = s.now()
	p.UpdatedAt = p.CreatedAt
	err := s.update(ctx, func(tx *store.Tx) error {
		if err := s.checkStagesIn(tx, &p, nil); err != nil {
			return err
		}
		return tx.Put(bucketPlans, p.ID, &p)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// GetPlan returns a plan.
func (s *Service) GetPlan(ctx context.Context, id string) (*Plan, error) {
	var p Plan
	if err := s.st.View(ctx, func(tx *store.Tx) error { return getPlan(tx, id, &p) }); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListPlans returns the plans (only those keyID is attached to, when set),
// sorted by name then id.
func (s *Service) ListPlans(ctx context.Context, keyID string) ([]*Plan, error) {
	var out []*Plan
	err := s.st.View(ctx, func(tx *store.Tx) error {
		if keyID != "" {
			var k APIKey
			if err := getKey(tx, keyID, &k); err != nil {
				return err
			}
		}
		return forEach(tx, bucketPlans, func(p *Plan) {
			if keyID == "" || slices.Contains(p.KeyIDs, keyID) {
				out = append(out, p)
			}
		})
	})
	slices.SortFunc(out, func(a, b *Plan) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) })
	return out, err
}

// UpdatePlan changes a plan with fn, which edits a copy of the stored plan;
// the result is validated as a whole and written in one transaction, or
// nothing is. The write happens only if the plan is still the one fn edited:
// when another update landed in between, fn runs again on the new version
// (checks included), so that concurrent updates each apply to the other's
// result rather than overwrite it.
func (s *Service) UpdatePlan(ctx context.Context, id string, fn func(p *Plan) error) (*Plan, error) {
	for attempt := 0; ; attempt++ {
		p, stale, err := s.tryUpdatePlan(ctx, id, fn)
		if !stale {
			return p, err
		}
		if attempt == maxPlanRetries {
			return nil, conflict("Usage Plan " + id + " is being changed by other requests; try again")
		}
	}
}

// maxPlanRetries bounds UpdatePlan's reruns when other updates keep landing
// first; each rerun follows a write that succeeded.
const maxPlanRetries = 100

// tryUpdatePlan is one attempt of UpdatePlan; stale says the plan changed
// after it was read and nothing was written.
func (s *Service) tryUpdatePlan(ctx context.Context, id string, fn func(p *Plan) error) (*Plan, bool, error) {
	// p is what fn edits, before the plan as read (decoded twice: a deep copy).
	p, before := &Plan{}, &Plan{}
	if err := s.st.View(ctx, func(tx *store.Tx) error {
		if err := getPlan(tx, id, p); err != nil {
			return err
		}
		return getPlan(tx, id, before)
	}); err != nil {
		return nil, false, err
	}
	if err := fn(p); err != nil {
		return nil, false, err
	}
	if err := p.validate(); err != nil {
		return nil, false, err
	}
	// Only what the update adds or changes is checked against the APIs: a
	// stage deleted since it was added stays removable (and so does the plan,
	// once its stages are).
	if err := s.checkStages(ctx, p, before); err != nil {
		return nil, false, err
	}
	stale := false
	err := s.update(ctx, func(tx *store.Tx) error {
		var cur Plan
		if err := getPlan(tx, id, &cur); err != nil {
			return err
		}
		if !reflect.DeepEqual(&cur, before) {
			stale = true
			return errStale
		}
		p.ID, p.KeyIDs, p.CreatedAt, p.UpdatedAt = cur.ID, cur.KeyIDs, cur.CreatedAt, s.now()
		if err := s.checkStagesIn(tx, p, before); err != nil {
			return err
		}
		if err := checkOnePlanPerStage(tx, p, p.KeyIDs); err != nil {
			return err
		}
		return tx.Put(bucketPlans, id, p)
	})
	if stale {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return p, false, nil
}

// errStale rolls back a write whose record changed since it was read.
var errStale = errors.New("usage: record changed since read")

// DeletePlan deletes a plan and its usage records. A plan that still has API
// stages is refused, as API Gateway refuses it: remove them first (patch
// "remove /apiStages apiId:stage").
func (s *Service) DeletePlan(ctx context.Context, id string) error {
	err := s.update(ctx, func(tx *store.Tx) error {
		var p Plan
		if err := getPlan(tx, id, &p); err != nil {
			if !isDamaged(err, bucketPlans, id) {
				return err
			}
			// Its record does not decode: it is deleted without reading
			// it (its API stages unknown), with its counts, so that one
			// damaged record can be got rid of without a restore.
			s.log.Warn("deleting a usage plan whose stored record is damaged, without reading it", "plan", id, "err", err)
		}
		if len(p.APIStages) > 0 {
			as := p.APIStages[0]
			return invalid("Cannot delete Usage Plan %s because there are API Stages associated with it, including %s:%s; remove them first (update-usage-plan --patch-operations op=remove,path=/apiStages,value=%s:%s)", id, as.APIID, as.Stage, as.APIID, as.Stage)
		}
		if err := tx.DeletePrefix(bucketCounts, id+"/"); err != nil {
			return err
		}
		if err := tx.DeletePrefix(bucketDays, id+"/"); err != nil {
			return err
		}
		return tx.Delete(bucketPlans, id)
	})
	if err == nil {
		if s.afterDelete != nil {
			s.afterDelete()
		}
		s.counts.forgetPlan(id)
	}
	return err
}

// AddPlanKey attaches a key to a plan. A key is in at most one plan per API
// stage: a second is a ConflictException.
func (s *Service) AddPlanKey(ctx context.Context, planID, keyID string) (*APIKey, error) {
	var k APIKey
	err := s.update(ctx, func(tx *store.Tx) error {
		var p Plan
		if err := getPlan(tx, planID, &p); err != nil {
			return err
		}
		if err := getKey(tx, keyID, &k); err != nil {
			return err
		}
		if slices.Contains(p.KeyIDs, keyID) {
			return conflict("Usage Plan " + planID + " already has API Key " + keyID)
		}
		if err := checkOnePlanPerStage(tx, &p, []string{keyID}); err != nil {
			return err
		}
		p.KeyIDs = append(p.KeyIDs, keyID)
		sort.Strings(p.KeyIDs)
		p.UpdatedAt = s.now()
		return tx.Put(bucketPlans, p.ID, &p)
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// RemovePlanKey detaches a key from a plan.
func (s *Service) RemovePlanKey(ctx context.Context, planID, keyID string) error {
	return s.update(ctx, func(tx *store.Tx) error {
		var p Plan
		if err := getPlan(tx, planID, &p); err != nil {
			return err
		}
		if !slices.Contains(p.KeyIDs, keyID) {
			return notFound("Invalid API Key identifier specified: " + keyID + " is not in usage plan " + planID)
		}
		p.KeyIDs = slices.DeleteFunc(p.KeyIDs, func(x string) bool { return x == keyID })
		p.UpdatedAt = s.now()
		return tx.Put(bucketPlans, p.ID, &p)
	})
}

// PlanKey returns a key attached to a plan.
func (s *Service) PlanKey(ctx context.Context, planID, keyID string) (*APIKey, error) {
	keys, err := s.PlanKeys(ctx, planID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID == keyID {
			return k, nil
		}
	}
	return nil, notFound("Invalid API Key identifier specified: " + keyID + " is not in usage plan " + planID)
}

// PlanKeys returns the keys attached to a plan, sorted by name then id.
func (s *Service) PlanKeys(ctx context.Context, planID string) ([]*APIKey, error) {
	var out []*APIKey
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var p Plan
		if err := getPlan(tx, planID, &p); err != nil {
			return err
		}
		for _, id := range p.KeyIDs {
			var k APIKey
			if err := getKey(tx, id, &k); err != nil {
				return err
			}
			out = append(out, &k)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b *APIKey) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) })
	return out, err
}
