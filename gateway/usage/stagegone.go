package usage

import (
	"context"
	"slices"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/store"
)

// StageEvents is what a Stages that keeps the stages in the service's own
// store (*apis.Service) offers besides: a hook in every stage deletion, news
// of every change to an API, and whether a stage exists in a transaction.
// With it, a deleted stage leaves its usage plans in the same transaction, as
// API Gateway takes a deleted stage out of its plans: a stage created later
// under that name is in no plan (its keys, throttles and quotas do not apply
// to it) until a plan is given it.
type StageEvents interface {
	OnDeleteStage(apis.StageDeleteHook)
	Subscribe(func(apiID string))
	HasStage(tx *store.Tx, apiID, name string) bool
}

// dropStage takes API stage apiID:stage out of every plan in tx, the
// transaction that deletes the stage (an apis.StageDeleteHook). A plan record
// that does not decode is left as it is: the index leaves it out.
func (s *Service) dropStage(tx *store.Tx, apiID, stage string) error {
	return s.dropStagesIf(tx, func(_ *Plan, as APIStage) bool { return as.APIID == apiID && as.Stage == stage })
}

// dropStagesIf removes from the plans in tx each API stage gone says is gone,
// and returns after writing the plans it changed.
func (s *Service) dropStagesIf(tx *store.Tx, gone func(p *Plan, as APIStage) bool) error {
	var changed []*Plan
	err := tx.ForEach(bucketPlans, "", func(_ string, raw []byte) error {
		p := new(Plan)
		if jsonUnmarshal(raw, p) != nil {
			return nil
		}
		n := len(p.APIStages)
		p.APIStages = slices.DeleteFunc(p.APIStages, func(as APIStage) bool { return gone(p, as) })
		if len(p.APIStages) != n {
			if len(p.APIStages) == 0 {
				p.APIStages = nil
			}
			p.UpdatedAt = s.now()
			changed = append(changed, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range changed {
		if err := tx.Put(bucketPlans, p.ID, p); err != nil {
			return err
		}
	}
	return nil
}

// apiChanged rebuilds the index after a change to API apiID that may have
// taken stages out of plans (a stage or the API deleted), so that the key
// stage and stageKeys stop naming them before the deletion returns.
func (s *Service) apiChanged(apiID string) {
	if s.index.Load().apiIDs[apiID] == 0 {
		return
	}
	if err := s.reindex(context.Background()); err != nil {
		s.log.Error("usage index rebuild after an API change failed; the key stage reads the previous one", "api", apiID, "err", err)
	}
}

// dropGoneStages takes out of the plans, at start, the API stages that no
// longer exist: builds before this one left a deleted stage in its plans,
// which then covered any stage created later under the same name. Each is
// logged.
func (s *Service) dropGoneStages(ev StageEvents) error {
	ctx := context.Background()
	gone := 0
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return forEachSound(tx, bucketPlans, map[string]bool{}, func(p *Plan) {
			for _, as := range p.APIStages {
				if !ev.HasStage(tx, as.APIID, as.Stage) {
					gone++
				}
			}
		})
	})
	if err != nil || gone == 0 {
		return err
	}
	return s.st.Update(ctx, func(tx *store.Tx) error {
		return s.dropStagesIf(tx, func(p *Plan, as APIStage) bool {
			if ev.HasStage(tx, as.APIID, as.Stage) {
				return false
			}
			s.log.Warn("usage plan names an API stage that was deleted: it is taken out of the plan, so that a stage created under that name later is in no plan until one is given it (update-usage-plan op=add,path=/apiStages)",
				"plan", p.ID, "name", p.Name, "stage", as.APIID+":"+as.Stage)
			return true
		})
	})
}

// checkStagesIn refuses, in tx (the transaction that writes p), an API stage
// p adds (one not in before, nil for a new plan) that was deleted since
// checkStages found it: the deletion's hook ran before p was written, and
// would not take it out.
func (s *Service) checkStagesIn(tx *store.Tx, p, before *Plan) error {
	ev, ok := s.stages.(StageEvents)
	if !ok {
		return nil
	}
	for _, as := range p.APIStages {
		if before != nil && slices.ContainsFunc(before.APIStages, func(b APIStage) bool { return b.APIID == as.APIID && b.Stage == as.Stage }) {
			continue
		}
		if !ev.HasStage(tx, as.APIID, as.Stage) {
			return notFound("Invalid stage identifier specified: " + as.APIID + ":" + as.Stage)
		}
	}
	return nil
}
