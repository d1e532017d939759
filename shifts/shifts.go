// Package shifts moves an alias's traffic from its version to a new one step by
// step, as CodeDeploy does for a SAM function's DeploymentPreference: a shift
// sets the alias's routing weights (which the gateway and the invoker honour)
// on a schedule of its deployment type, can run a PreTraffic hook before any
// traffic moves and a PostTraffic hook once all of it has, and rolls the alias
// back to its old version when it is stopped or a hook fails.
//
// Shifts are kept in the store, so a restart resumes them against the clock:
// the steps that fell due while the server was down are applied at once (the
// latest of them), and the rest keep their schedule.
package shifts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/store"
)

const bucketShifts = "shifts" // function + "\x00" + alias -> Shift: the alias's latest shift

// Statuses of a shift, as CodeDeploy names a deployment's.
const (
	// StatusInProgress is a shift that runs: a hook or a traffic step is due.
	StatusInProgress = "InProgress"
	// StatusSucceeded is a shift that ended with the alias on the new version.
	StatusSucceeded = "Succeeded"
	// StatusFailed is a shift that a hook, or a change it could not make,
	// ended: the alias was rolled back to its old version.
	StatusFailed = "Failed"
	// StatusStopped is a shift stopped by a caller: the alias was rolled back
	// to its old version.
	StatusStopped = "Stopped"
)

// Phases of a shift in progress.
const (
	// PhasePreTraffic waits for the PreTraffic hook's report.
	PhasePreTraffic = "PreTraffic"
	// PhaseTraffic moves the weights step by step.
	PhaseTraffic = "Traffic"
	// PhasePostTraffic waits for the PostTraffic hook's report: the alias is on
	// the new version.
	PhasePostTraffic = "PostTraffic"
)

// Hook statuses, as PutLifecycleEventHookExecutionStatus takes them.
const (
	HookSucceeded = "Succeeded"
	HookFailed    = "Failed"
)

// DefaultHookTimeout is how long a hook has to report its status, as in
// CodeDeploy.
const DefaultHookTimeout = time.Hour

// Hooks name the functions a shift runs before and after moving traffic:
// "fn", "fn:alias" or "fn:version" (or their ARNs). Empty: none.
type Hooks struct {
	PreTraffic  string `json:"PreTraffic,omitempty"`
	PostTraffic string `json:"PostTraffic,omitempty"`
}

// HookExecution is the hook a shift waits for.
type HookExecution struct {
	// ID is the LifecycleEventHookExecutionId the hook reports with.
	ID string `json:"LifecycleEventHookExecutionId"`
	// Hook is PreTraffic or PostTraffic.
	Hook string `json:"Hook"`
	// Function is the hook as it was named; FunctionName its function's name,
	// the only function whose credentials may report on it.
	Function     string    `json:"Function"`
	FunctionName string    `json:"FunctionName"`
	Deadline     time.Time `json:"Deadline"`
}

// Shift is one traffic shift of an alias. JSON names are those of the admin
// API.
type Shift struct {
	DeploymentID   string `json:"DeploymentId"`
	FunctionName   string `json:"FunctionName"`
	Alias          string `json:"Alias"`
	FromVersion    string `json:"FromVersion"`
	ToVersion      string `json:"ToVersion"`
	DeploymentType string `json:"DeploymentType"`
	Status         string `json:"Status"`
	// Phase is the phase of a shift InProgress ("" once it ended).
	Phase string `json:"Phase,omitempty"`
	// Step counts the traffic steps applied; Steps is how many there are.
	Step  int `json:"Step"`
	Steps int `json:"Steps"`
	// Weight is the share of the alias's calls the new version gets.
	Weight float64 `json:"Weight"`
	// NextStepAt is when the next traffic step is due (nil: none is).
	NextStepAt *time.Time `json:"NextStepAt,omitempty"`
	// TrafficStartedAt is when the first traffic step was applied; the steps
	// are timed from it.
	TrafficStartedAt *time.Time     `json:"TrafficStartedAt,omitempty"`
	Hooks            Hooks          `json:"Hooks"`
	HookExecution    *HookExecution `json:"HookExecution,omitempty"`
	CreatedAt        time.Time      `json:"CreatedAt"`
	UpdatedAt        time.Time      `json:"UpdatedAt"`
	EndedAt          *time.Time     `json:"EndedAt,omitempty"`
	// Reason says why a shift failed or was stopped.
	Reason string `json:"Reason,omitempty"`
}

// StartInput starts a shift.
type StartInput struct {
	FunctionName string
	Alias        string
	// ToVersion is the published version the alias moves to.
	ToVersion string
	// Type is a deployment type name (TypeNames).
	Type  string
	Hooks Hooks
}

// HookInvoker runs a hook function with its event, asynchronously: the hook
// reports its outcome through Report. The shifts package declares it;
// cmd/portico provides it from the aliases and the invoker. Optional: without
// it shifts with hooks are refused.
type HookInvoker interface {
	// InvokeHook queues an invocation of hook (a function reference) with
	// payload and returns once it is queued.
	InvokeHook(ctx context.Context, hook functions.Ref, payload []byte) error
}

// Config configures the service.
type Config struct {
	// HookTimeout is how long a hook has to report (DefaultHookTimeout when
	// zero).
	HookTimeout time.Duration
}

// Service runs traffic shifts. Safe for concurrent use.
type Service struct {
	st      *store.Store
	aliases *aliases.Service
	fns     *functions.Service
	log     *slog.Logger
	clock   clock.Clock
	cfg     Config
	hooks   HookInvoker

	// mu serialises the changes to shifts (a start, a step, a report, a stop),
	// so that each reads what the one before wrote.
	mu     sync.Mutex
	timers map[string]func() bool // by store key: the pending wake-up
	// runCtx is the context of the work timers do; cancelled by Close.
	runCtx    context.Context
	cancelRun context.CancelFunc
	closed    bool
	// changed is closed and replaced at every change a shift goes through.
	changed chan struct{}
}

// NewService returns a Service; clk nil is the wall clock. Call Resume once
// the server runs, to pick up the shifts an earlier run left in progress.
func NewService(st *store.Store, fns *functions.Service, al *aliases.Service, log *slog.Logger, clk clock.Clock, cfg Config) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if cfg.HookTimeout <= 0 {
		cfg.HookTimeout = DefaultHookTimeout
	}
	s := &Service{st: st, fns: fns, aliases: al, log: log, clock: clk, cfg: cfg, timers: map[string]func() bool{}, changed: make(chan struct{})}
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	// A deleted function's shifts go with it: one created again under the
	// name starts with none, and a timer that fires finds nothing to do.
	fns.OnDelete(func(name, version string) store.Step {
		return func(tx *store.Tx) error {
			if version != "" {
				return nil
			}
			return tx.DeletePrefix(bucketShifts, key(name, ""))
		}
	})
	return s
}

// SetHookInvoker sets how hooks run; call it before Resume.
func (s *Service) SetHookInvoker(h HookInvoker) { s.hooks = h }

func key(fn, alias string) string { return fn + "\x00" + alias }

func conflictf(format string, args ...any) error {
	return errdefs.New(errdefs.ErrConflict, "ResourceConflictException", fmt.Sprintf(format, args...))
}

// noShift is the error of an alias that has had no shift.
func noShift(fn, alias string) error {
	return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException",
		fmt.Sprintf("Alias %s of function %s has no traffic shift", alias, fn))
}

// Start starts shifting alias in.Alias of in.FunctionName from its version to
// in.ToVersion. A shift of that alias in progress is errdefs.ErrConflict
// (ResourceConflictException); an unknown type, a version that is not
// published or an alias already on in.ToVersion errdefs.ErrInvalid. An
// AllAtOnce shift with no hooks has ended by the time Start returns.
func (s *Service) Start(ctx context.Context, in StartInput) (*Shift, error) {
	t, err := LookupType(in.Type)
	if err != nil {
		return nil, err
	}
	if !functions.ValidName(in.FunctionName) {
		return nil, invalidf("Function name %q is not valid: it must match [A-Za-z0-9_-]{1,64}", in.FunctionName)
	}
	if !functions.ValidAliasName(in.Alias) {
		return nil, invalidf("Alias name %q is not valid", in.Alias)
	}
	to := in.ToVersion
	if to == functions.Latest || !(functions.Ref{Name: in.FunctionName, Qualifier: to}).IsVersion() {
		return nil, invalidf("ToVersion %q must be a published version number: traffic shifts between published versions", to)
	}
	hookFns := map[string]string{}
	for hook, ref := range map[string]string{PhasePreTraffic: in.Hooks.PreTraffic, PhasePostTraffic: in.Hooks.PostTraffic} {
		if ref == "" {
			continue
		}
		if s.hooks == nil {
			return nil, invalidf("%s hook %s: this server runs no hooks", hook, ref)
		}
		r, err := functions.ParseLocalRef(ref)
		if err != nil {
			return nil, invalidf("%s hook %q: %v", hook, ref, err)
		}
		if _, err := s.fns.Get(ctx, r.Name, functions.Latest); err != nil {
			return nil, fmt.Errorf("%s hook %s: %w", hook, ref, err)
		}
		hookFns[hook] = r.Name
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	sh := &Shift{
		DeploymentID: "d-" + ids.FromAlphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 9),
		FunctionName: in.FunctionName, Alias: in.Alias, ToVersion: to, DeploymentType: t.Name,
		Status: StatusInProgress, Steps: len(t.Weights), Hooks: in.Hooks, CreatedAt: now, UpdatedAt: now,
	}
	// The record says from the start what the shift waits for, so that a
	// restart at any point resumes it.
	if in.Hooks.PreTraffic != "" {
		sh.Phase, sh.HookExecution = PhasePreTraffic, s.newExecution(PhasePreTraffic, in.Hooks.PreTraffic, hookFns[PhasePreTraffic])
	} else {
		sh.Phase, sh.TrafficStartedAt = PhaseTraffic, &now
	}
	var cur *aliases.Alias
	var vs functions.Versions
	err = s.st.Together(ctx, s.fns.VersionsOf(in.FunctionName, &vs), s.aliases.Read(in.FunctionName, in.Alias, &cur), func(tx *store.Tx) error {
		var prev Shift
		switch err := tx.Get(bucketShifts, key(in.FunctionName, in.Alias), &prev); {
		case err == nil && prev.Status == StatusInProgress:
			return conflictf("Alias %s of function %s is already shifting traffic to version %s (deployment %s): stop it first",
				in.Alias, in.FunctionName, prev.ToVersion, prev.DeploymentID)
		case err != nil && !errors.Is(err, errdefs.ErrNotFound):
			return err
		}
		canon, err := vs.Published(to)
		if err != nil {
			return err
		}
		sh.ToVersion = canon
		sh.FromVersion = cur.FunctionVersion
		if sh.FromVersion == canon {
			return invalidf("Alias %s of function %s is already on version %s", in.Alias, in.FunctionName, canon)
		}
		if sh.FromVersion == functions.Latest && len(t.Weights) > 1 {
			return invalidf("Alias %s of function %s is on $LATEST, which cannot share its calls with another version: use AllAtOnce, or point it at a published version first", in.Alias, in.FunctionName)
		}
		return tx.Put(bucketShifts, key(in.FunctionName, in.Alias), sh)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("traffic shift started", "deployment", sh.DeploymentID, "function", sh.FunctionName, "alias", sh.Alias,
		"from", sh.FromVersion, "to", sh.ToVersion, "type", sh.DeploymentType)
	s.notifyLocked()
	if sh.HookExecution != nil {
		return s.invokeHookLocked(ctx, sh), nil
	}
	return s.stepLocked(ctx, sh), nil
}

// Get returns the latest shift of an alias (in progress or ended);
// errdefs.ErrNotFound when it has had none. A shift in progress whose alias
// was changed by someone else (or deleted) is failed first, as its next step
// would fail it: its status never says it moves an alias it no longer does.
func (s *Service) Get(ctx context.Context, fn, alias string) (*Shift, error) {
	sh, err := s.get(ctx, fn, alias)
	if err != nil || sh.Status != StatusInProgress || s.outside(ctx, sh) == nil {
		return sh, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Again under the lock: a step may have moved the alias meanwhile.
	if sh, err = s.get(ctx, fn, alias); err != nil || sh.Status != StatusInProgress {
		return sh, err
	}
	why := s.outside(ctx, sh)
	if why == nil {
		return sh, nil
	}
	return s.endLocked(ctx, sh, StatusFailed, why.Error())
}

// outside returns why sh's alias is not as sh left it (changed by someone
// else, or deleted), or nil.
func (s *Service) outside(ctx context.Context, sh *Shift) error {
	a, err := s.aliases.Get(ctx, sh.FunctionName, sh.Alias)
	if errors.Is(err, errdefs.ErrNotFound) {
		return fmt.Errorf("alias %s of function %s was deleted", sh.Alias, sh.FunctionName)
	}
	if err != nil {
		return nil // not known: the next step tells
	}
	return s.unchanged(sh)(a)
}

// get returns the latest shift of an alias, as it is recorded.
func (s *Service) get(ctx context.Context, fn, alias string) (*Shift, error) {
	var sh Shift
	err := s.st.View(ctx, func(tx *store.Tx) error { return tx.Get(bucketShifts, key(fn, alias), &sh) })
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, noShift(fn, alias)
	}
	if err != nil {
		return nil, err
	}
	return &sh, nil
}

// Stop stops the shift of an alias in progress and rolls the alias back to its
// old version (weights cleared). A shift that has ended is
// errdefs.ErrConflict.
func (s *Service) Stop(ctx context.Context, fn, alias string) (*Shift, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, err := s.get(ctx, fn, alias)
	if err != nil {
		return nil, err
	}
	if sh.Status != StatusInProgress {
		return nil, conflictf("The traffic shift %s of alias %s has ended (%s): there is nothing to stop", sh.DeploymentID, alias, sh.Status)
	}
	return s.endLocked(ctx, sh, StatusStopped, "stopped by a caller")
}

// Changed returns a channel that is closed at the next change of any shift.
func (s *Service) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Resume picks up the shifts in progress: due steps are applied, timers armed
// for the rest.
func (s *Service) Resume(ctx context.Context) error {
	var list []*Shift
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucketShifts, "", func(_ string, raw []byte) error {
			var sh Shift
			if err := json.Unmarshal(raw, &sh); err != nil {
				return err
			}
			if sh.Status == StatusInProgress {
				list = append(list, &sh)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("shifts: resume: %w", err)
	}
	for _, sh := range list {
		s.log.Info("traffic shift resumed", "deployment", sh.DeploymentID, "function", sh.FunctionName, "alias", sh.Alias)
		s.wake(sh.FunctionName, sh.Alias, sh.DeploymentID)
	}
	return nil
}

// Close stops the timers; shifts in progress stay so, for the next Resume.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for k, stop := range s.timers {
		stop()
		delete(s.timers, k)
	}
	s.cancelRun()
}

// wake is a timer's call: it brings the shift (if it is still deployment id)
// up to the clock.
func (s *Service) wake(fn, alias, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	ctx := s.runCtx
	sh, err := s.get(ctx, fn, alias)
	if err != nil || sh.DeploymentID != id || sh.Status != StatusInProgress {
		return
	}
	now := s.clock.Now()
	switch sh.Phase {
	case PhaseTraffic:
		s.stepLocked(ctx, sh)
	case PhasePreTraffic, PhasePostTraffic:
		if h := sh.HookExecution; h != nil && !now.Before(h.Deadline) {
			_, _ = s.endLocked(ctx, sh, StatusFailed, fmt.Sprintf("the %s hook %s did not report its status within %s", h.Hook, h.Function, s.cfg.HookTimeout))
			return
		}
		s.armLocked(sh)
	}
}

// beginTrafficLocked enters the traffic phase and applies its first step.
func (s *Service) beginTrafficLocked(ctx context.Context, sh *Shift) *Shift {
	now := s.clock.Now().UTC()
	sh.Phase, sh.HookExecution, sh.TrafficStartedAt = PhaseTraffic, nil, &now
	return s.stepLocked(ctx, sh)
}

// dueSteps is how many traffic steps of sh are due at now.
func dueSteps(sh *Shift, t Type, now time.Time) int {
	if sh.TrafficStartedAt == nil {
		return 0
	}
	if t.Interval <= 0 {
		return len(t.Weights)
	}
	n := int(now.Sub(*sh.TrafficStartedAt)/t.Interval) + 1
	return max(0, min(n, len(t.Weights)))
}

// stepLocked applies the latest traffic step of sh that is due, and arms the
// timer for the next.
func (s *Service) stepLocked(ctx context.Context, sh *Shift) *Shift {
	t, err := LookupType(sh.DeploymentType)
	if err != nil {
		out, _ := s.endLocked(ctx, sh, StatusFailed, err.Error())
		return out
	}
	now := s.clock.Now().UTC()
	due := dueSteps(sh, t, now)
	if due > sh.Step {
		w := t.Weights[due-1]
		version, extra := sh.FromVersion, sh.ToVersion
		if w >= 1 {
			version, extra, w = sh.ToVersion, "", 1
		}
		next := *sh
		next.Step, next.Weight, next.UpdatedAt = due, w, now
		if due < len(t.Weights) {
			// The next step's time goes in the same write as this step, so
			// that no reader sees the step applied with the old time.
			at := next.TrafficStartedAt.Add(time.Duration(due) * t.Interval)
			next.NextStepAt = &at
		}
		if w >= 1 {
			next.NextStepAt = nil
			if hook := sh.Hooks.PostTraffic; hook != "" {
				r, _ := functions.ParseLocalRef(hook)
				next.Phase, next.HookExecution = PhasePostTraffic, s.newExecution(PhasePostTraffic, hook, r.Name)
			} else {
				next.Status, next.Phase, next.EndedAt = StatusSucceeded, "", &now
			}
		}
		err := s.st.Together(ctx, s.aliases.Steer(sh.FunctionName, sh.Alias, version, extra, w, s.unchanged(sh), nil), s.put(&next))
		if err != nil {
			out, _ := s.endLocked(ctx, sh, StatusFailed, fmt.Sprintf("moving %.0f%% of alias %s to version %s: %v", w*100, sh.Alias, sh.ToVersion, err))
			return out
		}
		*sh = next
		s.log.Info("traffic shift step", "deployment", sh.DeploymentID, "function", sh.FunctionName, "alias", sh.Alias,
			"version", sh.ToVersion, "weight", sh.Weight)
		s.notifyLocked()
		if sh.HookExecution != nil {
			return s.invokeHookLocked(ctx, sh)
		}
	}
	if sh.Status == StatusInProgress && sh.Phase == PhaseTraffic && sh.Step < len(t.Weights) {
		at := sh.TrafficStartedAt.Add(time.Duration(sh.Step) * t.Interval)
		if !at.Equal(timeOr(sh.NextStepAt)) {
			sh.NextStepAt = &at
			if err := s.st.Update(ctx, s.put(sh)); err != nil {
				s.log.Error("traffic shift: recording the next step", "deployment", sh.DeploymentID, "err", err)
			}
		}
	}
	s.armLocked(sh)
	return sh
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// unchanged refuses to move an alias that someone else changed since the
// shift last did: it must be on the shift's old version (sharing its calls
// with the new one only), or, after the last step, on the new one.
func (s *Service) unchanged(sh *Shift) func(*aliases.Alias) error {
	return func(a *aliases.Alias) error {
		want := sh.FromVersion
		if sh.Weight >= 1 {
			want = sh.ToVersion
		}
		ok := a.FunctionVersion == want
		if sh.Step > 0 {
			// Before the first step the alias may share its calls as it
			// likes: the first step replaces its weights.
			var w map[string]float64
			if a.RoutingConfig != nil {
				w = a.RoutingConfig.AdditionalVersionWeights
			}
			if sh.Weight >= 1 {
				ok = ok && len(w) == 0
			} else {
				ok = ok && len(w) == 1 && weightsEqual(w[sh.ToVersion], sh.Weight)
			}
		}
		if !ok {
			return conflictf("alias %s was changed outside the shift (it is on version %s%s)", a.Name, a.FunctionVersion, describeRouting(a))
		}
		return nil
	}
}

func describeRouting(a *aliases.Alias) string {
	if a.RoutingConfig == nil {
		return ""
	}
	var parts []string
	for v, w := range a.RoutingConfig.AdditionalVersionWeights {
		parts = append(parts, fmt.Sprintf("%.0f%% to version %s", w*100, v))
	}
	return ", " + strings.Join(parts, ", ")
}

// put returns a step that records sh.
func (s *Service) put(sh *Shift) store.Step {
	return func(tx *store.Tx) error { return tx.Put(bucketShifts, key(sh.FunctionName, sh.Alias), sh) }
}

// endLocked ends sh with status and reason, rolling the alias back to its old
// version unless someone else changed it meanwhile.
func (s *Service) endLocked(ctx context.Context, sh *Shift, status, reason string) (*Shift, error) {
	now := s.clock.Now().UTC()
	out := *sh
	out.Status, out.Phase, out.Reason, out.NextStepAt, out.HookExecution, out.EndedAt, out.UpdatedAt = status, "", reason, nil, nil, &now, now
	out.Weight, out.Step = 0, 0
	// One write: the alias rolled back and the shift ended saying so, or
	// (the alias gone, or moved by someone else) the shift ended leaving
	// the alias be.
	out.Reason = reason + "; the alias was rolled back to version " + sh.FromVersion
	err := s.st.Together(ctx, s.aliases.Steer(sh.FunctionName, sh.Alias, sh.FromVersion, "", 0, s.unchanged(sh), nil), s.put(&out))
	if err != nil {
		out.Reason = reason + fmt.Sprintf("; the alias was not rolled back: %v", err)
		if strings.Contains(reason, err.Error()) {
			// Why the shift ended is why the alias stays: once is enough.
			out.Reason = reason + "; the alias was left as it is"
		}
		if err := s.st.Update(ctx, s.put(&out)); err != nil {
			return nil, err
		}
	}
	s.log.Warn("traffic shift ended", "deployment", out.DeploymentID, "function", out.FunctionName, "alias", out.Alias,
		"status", status, "reason", out.Reason)
	if stop, ok := s.timers[key(sh.FunctionName, sh.Alias)]; ok {
		stop()
		delete(s.timers, key(sh.FunctionName, sh.Alias))
	}
	s.notifyLocked()
	return &out, nil
}

// armLocked arms the timer for sh's next wake-up: its next step, or its hook's
// deadline.
func (s *Service) armLocked(sh *Shift) {
	k := key(sh.FunctionName, sh.Alias)
	if stop, ok := s.timers[k]; ok {
		stop()
		delete(s.timers, k)
	}
	if s.closed || sh.Status != StatusInProgress {
		return
	}
	var at time.Time
	switch {
	case sh.HookExecution != nil:
		at = sh.HookExecution.Deadline
	case sh.NextStepAt != nil:
		at = *sh.NextStepAt
	default:
		return
	}
	fn, alias, id := sh.FunctionName, sh.Alias, sh.DeploymentID
	s.timers[k] = s.clock.AfterFunc(at.Sub(s.clock.Now()), func() { s.wake(fn, alias, id) })
}

func (s *Service) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// weightsEqual reports whether two weights are the same to the precision
// routing keeps.
func weightsEqual(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// Params are the module's dependencies.
type Params struct {
	fx.In

	Store     *store.Store
	Functions *functions.Service
	Aliases   *aliases.Service
	Log       *slog.Logger
	Config    Config      `optional:"true"`
	Clock     clock.Clock `name:"shifts" optional:"true"`
	Hooks     HookInvoker `optional:"true"`
}

// Migration moves a store from schema version 3 to 4, which added the shifts
// bucket (and the trace id of queued Event invocations, which older records
// lack and read as none): nothing stored before needs rewriting.
var Migration = store.Migration{From: 3, Name: "traffic shifts of aliases (a new bucket); queued Event invocations keep a trace id",
	Run: func(*store.Tx) error { return nil }}

func init() { store.Record(bucketShifts, Shift{}) }

// Module provides *Service; it resumes the shifts in progress on start and
// stops their timers on stop.
var Module = fx.Module("shifts",
	fx.Provide(fx.Annotate(func() store.Migration { return Migration }, fx.ResultTags(`group:"`+store.MigrationGroup+`"`))),
	fx.Provide(func(p Params) *Service {
		s := NewService(p.Store, p.Functions, p.Aliases, p.Log.With("component", "shifts"), p.Clock, p.Config)
		if p.Hooks != nil {
			s.SetHookInvoker(p.Hooks)
		}
		return s
	}),
	fx.Invoke(func(lc fx.Lifecycle, s *Service) {
		lc.Append(fx.Hook{OnStart: s.Resume, OnStop: func(context.Context) error { s.Close(); return nil }})
	}),
)
