package shifts

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/store"
)

// hookEvent is the event a hook function gets, as CodeDeploy sends it.
type hookEvent struct {
	DeploymentID                  string `json:"DeploymentId"`
	LifecycleEventHookExecutionID string `json:"LifecycleEventHookExecutionId"`
}

// newExecution is a hook execution of phase (PreTraffic or PostTraffic) for
// hook, which is function fn's, due to report by now plus the hook timeout.
func (s *Service) newExecution(phase, hook, fn string) *HookExecution {
	return &HookExecution{ID: ids.UUID(), Hook: phase, Function: hook, FunctionName: fn, Deadline: s.clock.Now().UTC().Add(s.cfg.HookTimeout)}
}

// invokeHookLocked invokes the hook sh waits for (recorded with the phase
// that waits for it, so that a restart keeps waiting for its report), and
// arms its deadline.
func (s *Service) invokeHookLocked(ctx context.Context, sh *Shift) *Shift {
	h := sh.HookExecution
	payload, _ := json.Marshal(hookEvent{DeploymentID: sh.DeploymentID, LifecycleEventHookExecutionID: h.ID})
	ref, err := functions.ParseLocalRef(h.Function)
	if err == nil {
		err = s.hooks.InvokeHook(ctx, ref, payload)
	}
	if err != nil {
		out, _ := s.endLocked(ctx, sh, StatusFailed, fmt.Sprintf("invoking the %s hook %s: %v", h.Hook, h.Function, err))
		return out
	}
	s.log.Info("traffic shift hook invoked", "deployment", sh.DeploymentID, "hook", h.Hook, "function", h.Function, "execution", h.ID)
	s.armLocked(sh)
	return sh
}

// Report is CodeDeploy's PutLifecycleEventHookExecutionStatus: the hook
// execution id of deployment reports status (HookSucceeded or HookFailed).
// caller, when not empty, is the function whose credentials signed the
// report: it must be the hook's. A Succeeded PreTraffic hook starts the
// traffic steps, a Succeeded PostTraffic hook ends the shift; Failed rolls
// the alias back.
func (s *Service) Report(ctx context.Context, deployment, execution, status, caller string) error {
	if status != HookSucceeded && status != HookFailed {
		return errdefs.New(errdefs.ErrInvalid, "InvalidLifecycleEventHookExecutionStatusException",
			fmt.Sprintf("Status %q is not valid: a hook reports Succeeded or Failed", status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var sh *Shift
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucketShifts, "", func(_ string, raw []byte) error {
			var x Shift
			if err := json.Unmarshal(raw, &x); err != nil {
				return err
			}
			if x.DeploymentID == deployment {
				sh = &x
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if sh == nil {
		return errdefs.New(errdefs.ErrNotFound, "DeploymentDoesNotExistException", fmt.Sprintf("The deployment %s could not be found", deployment))
	}
	h := sh.HookExecution
	if h == nil || h.ID != execution {
		if sh.Status != StatusInProgress {
			return errdefs.New(errdefs.ErrConflict, "DeploymentAlreadyCompletedException", fmt.Sprintf("The deployment %s has ended (%s)", deployment, sh.Status))
		}
		return errdefs.New(errdefs.ErrInvalid, "InvalidLifecycleEventHookExecutionIdException",
			fmt.Sprintf("The lifecycle event hook execution %s is not the one deployment %s waits for", execution, deployment))
	}
	if caller != "" && caller != h.FunctionName {
		return errdefs.New(errdefs.ErrForbidden, "AccessDeniedException",
			fmt.Sprintf("Function %s may not report the status of hook execution %s: it was addressed to function %s", caller, execution, h.FunctionName))
	}
	s.log.Info("traffic shift hook reported", "deployment", sh.DeploymentID, "hook", h.Hook, "status", status)
	if status == HookFailed {
		_, err := s.endLocked(ctx, sh, StatusFailed, fmt.Sprintf("the %s hook %s reported Failed", h.Hook, h.Function))
		return err
	}
	if h.Hook == PhasePreTraffic {
		s.beginTrafficLocked(ctx, sh)
		return nil
	}
	now := s.clock.Now().UTC()
	next := *sh
	next.Status, next.Phase, next.HookExecution, next.EndedAt, next.UpdatedAt = StatusSucceeded, "", nil, &now, now
	if err := s.st.Update(ctx, s.put(&next)); err != nil {
		return err
	}
	s.armLocked(&next)
	s.notifyLocked()
	return nil
}
