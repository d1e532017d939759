package apis

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/portico-dev/portico/gateway/internal/javaregex"
)

// PatternBudget bounds the time one validation (one request's body) spends
// in the matches of model patterns that only the backtracking engine reads,
// all of them together: javaregex.MatchTimeout bounds each match, but a body
// holds a string per value, and a pattern that passes every string just under
// that bound held the server's CPU for values x 100 ms. Past the budget the
// body fails as a match that took too long does (ErrPatternTimeout). A
// realistic lookahead pattern over 20,000 strings takes a fraction of it.
const PatternBudget = 300 * time.Millisecond

// maxIdleModelSets bounds the copies of an API's models a ModelValidator
// keeps between validations (one is in use per validation running).
const maxIdleModelSets = 8

// ModelValidator validates request bodies against an API's models, each
// validation's backtracking pattern matches bounded together by PatternBudget
// and stopped once the request's context ends. Models without such patterns
// are shared by every validation (CompileModels); with them, each validation
// running uses its own compiled copy, whose patterns charge its meter. Safe
// for concurrent use.
type ModelValidator struct {
	apiID  string
	models map[string]json.RawMessage
	shared map[string]*jsonschema.Schema // nil when a pattern backtracks
	now    func() time.Time

	mu   sync.Mutex
	idle []*modelSet
}

// modelSet is one compiled copy of the models with the meter its patterns
// charge.
type modelSet struct {
	schemas map[string]*jsonschema.Schema
	meter   *patternMeter
}

// NewModelValidator compiles the models of API apiID as CompileModels does,
// with its errors.
func NewModelValidator(apiID string, models map[string]json.RawMessage) (*ModelValidator, error) {
	v := &ModelValidator{apiID: apiID, models: models, now: time.Now}
	shared, err := CompileModels(apiID, models)
	if err != nil {
		return nil, err
	}
	set, err := v.compile()
	if err != nil {
		return nil, err
	}
	if !set.meter.backtracks {
		v.shared = shared
		return v, nil
	}
	v.idle = append(v.idle, set)
	return v, nil
}

// SetClock replaces the clock the pattern budget is charged by (for tests).
// Call it before the first Validate.
func (v *ModelValidator) SetClock(now func() time.Time) { v.now = now }

// Has reports whether the API has model name.
func (v *ModelValidator) Has(name string) bool {
	_, ok := v.models[name]
	return ok
}

// Validate validates inst (as jsonschema.UnmarshalJSON reads it) against
// model name, as ValidateModel does; its backtracking matches stop, with an
// error wrapping ErrPatternTimeout, once they have used PatternBudget or ctx
// has ended (the error then wraps ctx's too).
func (v *ModelValidator) Validate(ctx context.Context, name string, inst any) error {
	if v.shared != nil {
		sch, ok := v.shared[name]
		if !ok {
			return fmt.Errorf("model %q is not defined", name)
		}
		return ValidateModel(sch, inst)
	}
	set, err := v.take()
	if err != nil {
		return err
	}
	defer v.put(set)
	sch, ok := set.schemas[name]
	if !ok {
		return fmt.Errorf("model %q is not defined", name)
	}
	set.meter.ctx, set.meter.left, set.meter.now = ctx, PatternBudget, v.now
	defer func() { set.meter.ctx = nil }()
	return ValidateModel(sch, inst)
}

// take returns an idle copy of the models, or compiles one.
func (v *ModelValidator) take() (*modelSet, error) {
	v.mu.Lock()
	if n := len(v.idle); n > 0 {
		set := v.idle[n-1]
		v.idle = v.idle[:n-1]
		v.mu.Unlock()
		return set, nil
	}
	v.mu.Unlock()
	return v.compile()
}

// put keeps set for a later validation, up to maxIdleModelSets.
func (v *ModelValidator) put(set *modelSet) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.idle) < maxIdleModelSets {
		v.idle = append(v.idle, set)
	}
}

// compile compiles a copy of the models with a meter of its own.
func (v *ModelValidator) compile() (*modelSet, error) {
	m := &patternMeter{}
	schemas, err := compileModels(context.Background(), v.apiID, v.models, m)
	if err != nil {
		return nil, err
	}
	return &modelSet{schemas: schemas, meter: m}, nil
}

// patternMeter charges the backtracking matches of one validation at a time
// against what is left of its budget. Used by one goroutine at a time.
type patternMeter struct {
	backtracks bool // a pattern of its models needs the backtracking engine

	ctx  context.Context
	left time.Duration
	now  func() time.Time
}

// compile is the jsonschema regexp engine of a meter's models.
func (m *patternMeter) compile(pattern string) (jsonschema.Regexp, error) {
	re, err := javaregex.Compile(pattern)
	if err != nil {
		return nil, err
	}
	if !re.Backtracks() {
		return schemaRegexp{re: re}, nil
	}
	m.backtracks = true
	return schemaRegexp{re: re, meter: m}, nil
}

// match matches s against re, a backtracking pattern, within what is left of
// the budget: past it, or once the request has ended, it panics with a
// patternTimeout (see schemaRegexp) without matching.
func (m *patternMeter) match(re *javaregex.Regexp, s string) bool {
	if m.ctx == nil { // outside Validate: one match's bound only
		return schemaRegexp{re: re}.MatchString(s)
	}
	if err := m.ctx.Err(); err != nil {
		panic(patternTimeout{fmt.Errorf("the request ended: %w", err)})
	}
	if m.left <= 0 {
		panic(patternTimeout{fmt.Errorf("pattern %q: the body's matches used their budget of %v: %w", re.String(), PatternBudget, javaregex.ErrTimeout)})
	}
	start := m.now()
	ok, err := re.MatchString(s)
	m.left -= m.now().Sub(start)
	if err != nil {
		panic(patternTimeout{err})
	}
	return ok
}
