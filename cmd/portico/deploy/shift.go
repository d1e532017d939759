package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// defaultShiftPoll is how often ShiftAlias reads a traffic shift's status.
const defaultShiftPoll = 2 * time.Second

// defaultShiftRetry is how long ShiftAlias goes on reading a traffic shift's
// status while the server cannot be reached (restarting) before it gives up.
const defaultShiftRetry = 5 * time.Minute

// NoShiftRetry is the HTTPTarget.ShiftRetry that has ShiftAlias give up at
// the first read of a traffic shift's status that finds the server
// unreachable.
const NoShiftRetry time.Duration = -1

// ShiftAlias implements Target: it starts the traffic shift and reads its
// status every ShiftPoll until it ends, as CloudFormation waits for
// CodeDeploy, printing a line whenever the shift moves on. Cancelling ctx
// stops the shift (the server rolls the alias back). While the server cannot
// be reached (it restarts: the shift goes on when it is back) the status is
// read again at each poll, for at most ShiftRetry, saying so.
func (h *HTTPTarget) ShiftAlias(ctx context.Context, name, alias, version string, d *DeploymentPreference, progress func(format string, args ...any)) error {
	in := client.ShiftInput{ToVersion: version, DeploymentType: d.Type, Hooks: client.ShiftHooks{PreTraffic: d.PreTraffic, PostTraffic: d.PostTraffic}}
	sh, _, err := h.C.StartShift(ctx, name, alias, in)
	if client.IsConflict(err) {
		// A shift in progress on an alias of the stack this run holds was
		// left by a run that ended before it did (killed, or its server
		// gone): stopped, it rolls the alias back, and this one starts.
		if old, _, gerr := h.C.GetShift(ctx, name, alias); gerr == nil && !old.Ended() {
			progress("traffic shift %s to version %s, left in progress by a run that ended, is stopped first (the alias goes back to version %s)",
				old.DeploymentID, old.ToVersion, old.FromVersion)
			if _, _, serr := h.C.StopShift(ctx, name, alias); serr != nil && !client.IsConflict(serr) {
				return fmt.Errorf("stopping traffic shift %s: %w", old.DeploymentID, serr)
			}
			sh, _, err = h.C.StartShift(ctx, name, alias, in)
		}
	}
	if err != nil {
		return fmt.Errorf("starting the traffic shift: %w", err)
	}
	poll := h.ShiftPoll
	if poll <= 0 {
		poll = defaultShiftPoll
	}
	retry := h.ShiftRetry
	switch {
	case retry == NoShiftRetry:
		retry = 0
	case retry <= 0:
		retry = defaultShiftRetry
	}
	last := ""
	var down time.Time // when the server stopped answering; zero while it answers
	for {
		if line := shiftLine(sh); line != last {
			progress("%s", line)
			last = line
		}
		if sh.Ended() {
			break
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			// Stop it rather than leave the alias moving under a deploy
			// that has given up on it.
			if _, _, err := h.C.StopShift(context.WithoutCancel(ctx), name, alias); err != nil {
				return fmt.Errorf("traffic shift %s: %w (stopping it: %w)", sh.DeploymentID, interruption(ctx), err)
			}
			return fmt.Errorf("traffic shift %s stopped (the alias is back on version %s): %w", sh.DeploymentID, sh.FromVersion, interruption(ctx))
		case <-t.C:
		}
		next, _, err := h.C.GetShift(ctx, name, alias)
		if err != nil && client.IsUnreachable(err) && ctx.Err() == nil {
			now := time.Now()
			if down.IsZero() && retry > 0 {
				down = now
				progress("traffic shift %s: server unreachable, retrying… (for at most %s): %v", sh.DeploymentID, retry, err)
			}
			if retry > 0 && now.Sub(down) < retry {
				continue
			}
			how := "the server was unreachable for " + retry.String()
			if retry == 0 {
				how = "the server is unreachable (not retried)"
			}
			return fmt.Errorf("reading traffic shift %s: %s: %w (the server goes on with the shift when it is back; the next deploy corrects what the stack's record does not hold)",
				sh.DeploymentID, how, err)
		}
		if err != nil {
			return fmt.Errorf("reading traffic shift %s: %w", sh.DeploymentID, err)
		}
		if !down.IsZero() {
			progress("traffic shift %s: server reachable again", sh.DeploymentID)
			down = time.Time{}
		}
		if next.DeploymentID != sh.DeploymentID {
			return fmt.Errorf("traffic shift %s was replaced by %s, started by someone else", sh.DeploymentID, next.DeploymentID)
		}
		sh = next
	}
	if sh.Status != "Succeeded" {
		return fmt.Errorf("traffic shift %s to version %s %s: %s", sh.DeploymentID, version, failedVerb(sh.Status), sh.Reason)
	}
	return nil
}

func failedVerb(status string) string {
	if status == "Stopped" {
		return "was stopped"
	}
	return "failed"
}

// shiftLine says where a traffic shift is, for a progress line.
func shiftLine(sh *client.Shift) string {
	pre := fmt.Sprintf("traffic shift %s of %s:%s", sh.DeploymentID, sh.FunctionName, sh.Alias)
	switch {
	case sh.Status == "Succeeded":
		return fmt.Sprintf("%s: succeeded: 100%% on version %s", pre, sh.ToVersion)
	case sh.Ended():
		return fmt.Sprintf("%s: %s: %s", pre, sh.Status, sh.Reason)
	case sh.HookExecution != nil:
		return fmt.Sprintf("%s: waiting for the %s hook %s (until %s)", pre, sh.HookExecution.Hook, sh.HookExecution.Function,
			sh.HookExecution.Deadline.UTC().Format(time.RFC3339))
	}
	line := fmt.Sprintf("%s: %.0f%% on version %s (step %d of %d)", pre, sh.Weight*100, sh.ToVersion, sh.Step, sh.Steps)
	if sh.NextStepAt != nil {
		line += ", next step at " + sh.NextStepAt.UTC().Format(time.RFC3339)
	}
	return line
}

// interruptedError is why a deploy's context ended, in words: "the deploy
// was interrupted (interrupt signal received)" rather than Go's "context
// canceled". It wraps the cause, so errors.Is(err, context.Canceled) holds.
type interruptedError struct{ cause error }

func (e interruptedError) Error() string {
	switch {
	case errors.Is(e.cause, context.DeadlineExceeded):
		return "the deploy ran out of time"
	case e.cause != nil && !errors.Is(e.cause, context.Canceled):
		return "the deploy was interrupted (" + e.cause.Error() + ")"
	}
	return "the deploy was interrupted"
}

func (e interruptedError) Unwrap() error { return e.cause }

// interruption is the interruptedError of ctx, which has ended.
func interruption(ctx context.Context) error {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = ctx.Err()
	}
	return interruptedError{cause}
}
