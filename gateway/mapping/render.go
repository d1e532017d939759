package mapping

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
)

var (
	// ErrLimit is wrapped by the error of a render stopped at a bound: the
	// output size, the #foreach cap, the step budget, the recursion depth,
	// or the caller's context.
	ErrLimit = errors.New("mapping template limit exceeded")
	// ErrEval is wrapped by the error of a render whose template called a
	// method that failed (invalid JSON for $input.json or $util.parseJson, a
	// bad base64 or URL encoding, an invalid regular expression, an index out
	// of range).
	ErrEval = errors.New("mapping template evaluation failed")
	// ErrBodyNotJSON is wrapped by the error of a render whose template
	// read a body that is not JSON with $input.json or $input.path (API
	// Gateway's "Could not parse request body into json"). It wraps
	// ErrEval.
	ErrBodyNotJSON = fmt.Errorf("%w", ErrEval)
)

// Limits bound one render. Zero fields take the defaults of [DefaultLimits].
type Limits struct {
	// MaxOutputBytes bounds the rendered output and every string built
	// while rendering. Default 10 MiB, API Gateway's payload limit.
	MaxOutputBytes int
	// MaxForeach bounds the iterations of one #foreach. Default 1000, API
	// Gateway's cap; a loop over more items fails the render.
	MaxForeach int
	// MaxSteps bounds the evaluation steps (nodes, expressions, method calls
	// and loop iterations) of a render; a call whose work grows with its
	// operands (bytes scanned or copied, regular-expression matches, JSON
	// nodes visited) charges that work too. Default 5,000,000.
	MaxSteps int
	// MaxDepth bounds macro and #define recursion. Default 64.
	MaxDepth int
	// MaxHeldBytes bounds what the lists and maps a render builds hold, in
	// all: their items (16 bytes each, ranges' included) and the strings
	// stored in them, the match lists of JSONPaths that are not definite
	// ($..*) and the JSON text $input.json makes of them, and the JSON
	// documents the render decodes (the body, $util.parseJson's), as their
	// values take memory (see slotBytes): a body that does not fit fails
	// its $input.json or $input.path with ErrBodyNotJSON. Default 32 MiB.
	MaxHeldBytes int
}

// DefaultLimits returns the limits a template gets from [Parse].
func DefaultLimits() Limits {
	return Limits{MaxOutputBytes: 10 << 20, MaxForeach: 1000, MaxSteps: 5_000_000, MaxDepth: 64, MaxHeldBytes: 32 << 20}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxForeach <= 0 {
		l.MaxForeach = d.MaxForeach
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = d.MaxSteps
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxHeldBytes <= 0 {
		l.MaxHeldBytes = d.MaxHeldBytes
	}
	return l
}

// Template is a parsed template. It is immutable and safe for concurrent
// use; parse it once per deployment and render it per request.
type Template struct {
	name   string
	src    string
	root   []node
	limits Limits
	nslots int
	// context and stageVariables say the template names $context and
	// $stageVariables: a render reads or builds them only then.
	context, stageVariables bool
	// pathErr is CheckPaths's answer.
	pathErr error
}

// CheckPaths returns a *SyntaxError for the first $input.json or
// $input.path in t whose JSONPath is a literal that does not compile
// ($input.json('$.a.length()')), nil when there is none. Parse accepts such a
// template, whose renders that reach the call fail (ErrEval), so that one an
// earlier build stored still renders what it did; a template being saved
// should be refused.
func (t *Template) CheckPaths() error { return t.pathErr }

// Name returns the name given to Parse.
func (t *Template) Name() string { return t.name }

// Limits returns the bounds renders of t run under.
func (t *Template) Limits() Limits { return t.limits }

// WithLimits returns a copy of t that renders under l (zero fields keep
// their defaults).
func (t *Template) WithLimits(l Limits) *Template {
	c := *t
	c.limits = l.withDefaults()
	return &c
}

type ctrl uint8

const (
	ctrlNone ctrl = iota
	ctrlBreak
	ctrlStop
	ctrlErr
)

type foreachInfo struct {
	index   int
	count   int
	hasNext bool
	parent  *foreachInfo
}

type state struct {
	ctx     context.Context
	t       *Template
	lim     Limits
	vars    []any // by slot; nil is undefined
	out     []byte
	scratch []byte
	steps   int
	depth   int
	held    int // bytes the render's lists and maps hold (hold)
	err     error
	v       *Vars
	in      inputObj
	loop    *foreachInfo
	// The body decoded by this render, cut (as $util.parseJson's results
	// are) from slabs, which the next render reuses unless escaped.
	doc    any
	docErr error
	docOK  bool
	// params is this render's $input.params(), cut from the slabs.
	params *Map
	slabs  slabs
	// escaped says a value may have been stored where it outlives the
	// render (a map or list the template did not create, such as
	// $context's): the state and its slabs are then left to the garbage
	// collector rather than reused.
	escaped bool
	// paths are the JSONPaths renders built, compiled (see jsonPath).
	paths map[string]*JSONPath
	// overridden are the $context overrides this render set.
	overridden []string
}

var statePool = sync.Pool{New: func() any { return &state{} }}

// maxPooledBuffer is the largest output buffer kept for reuse.
const maxPooledBuffer = 256 << 10

// Render renders the template for one request and writes the output to w.
// Rendering changes vars.Context when the template sets
// $context.requestOverride.* or $context.responseOverride.*; read them back
// with [Vars.RequestOverride] and [Vars.ResponseOverride]. Nothing is
// written to w when rendering fails.
func (t *Template) Render(ctx context.Context, vars *Vars, w io.Writer) error {
	st, err := t.render(ctx, vars)
	if err == nil {
		_, err = w.Write(st.out)
	}
	t.release(st)
	return err
}

// RenderString renders the template for one request and returns the output.
func (t *Template) RenderString(ctx context.Context, vars *Vars) (string, error) {
	st, err := t.render(ctx, vars)
	var s string
	if err == nil {
		s = string(st.out)
	}
	t.release(st)
	return s, err
}

func (t *Template) release(st *state) {
	if st.escaped {
		return
	}
	st.doc, st.docErr, st.docOK, st.params = nil, nil, false, nil
	st.slabs.reset()
	clear(st.vars)
	st.vars = st.vars[:0]
	st.ctx, st.t, st.v, st.err, st.loop = nil, nil, nil, nil, nil
	st.in = inputObj{}
	if cap(st.out) > maxPooledBuffer {
		st.out = nil
	}
	if cap(st.scratch) > maxPooledBuffer {
		st.scratch = nil
	}
	statePool.Put(st)
}

func (t *Template) render(ctx context.Context, vars *Vars) (*state, error) {
	return t.renderState(ctx, statePool.Get().(*state), vars)
}

// renderState renders into st, a pooled state or (in tests) a new one.
//
// A panic while rendering (an engine bug) fails the render with ErrEval and
// the panic's value, rather than the request: the state, which may be half
// built, is returned marked escaped so that it is not pooled again.
func (t *Template) renderState(ctx context.Context, st *state, vars *Vars) (res *state, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, st.escaped = st, true
			err = fmt.Errorf("template %q: internal error: %v: %w", t.name, r, ErrEval)
		}
	}()
	if ctx == nil {
		ctx = context.Background()
	}
	st.ctx, st.t, st.lim = ctx, t, t.limits.withDefaults()
	st.out, st.steps, st.depth, st.held, st.overridden = st.out[:0], 0, 0, 0, st.overridden[:0]
	if vars == nil {
		vars = &Vars{}
	}
	st.v = vars
	st.in.v = vars
	nslots := max(t.nslots, numBuiltins)
	if cap(st.vars) < nslots {
		st.vars = make([]any, nslots)
	}
	st.vars = st.vars[:nslots]
	st.vars[slotInput] = &st.in
	st.vars[slotUtil] = utilValue
	if t.context {
		st.vars[slotContext] = vars.context()
	}
	if t.stageVariables {
		st.vars[slotStageVariables] = st.slabs.sortedMap(vars.StageVariables)
	}
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("template %q: %w: %w", t.name, ErrLimit, err)
	}
	if st.exec(t.root) == ctrlErr {
		return st, st.err
	}
	return st, nil
}

// document is v's body decoded: once per render for the render's own
// variables, from the state's slabs.
func (st *state) document(v *Vars) (any, error) {
	if v.predecoded != nil {
		return v.predecoded, nil
	}
	if v != st.v {
		// An $input kept from another render.
		return st.decodeHeld(v.jsonBody(), nil)
	}
	if !st.docOK {
		// Decoding is linear in the body: charge it once, when it is done.
		if !st.chargeBytes(0, len(v.jsonBody())) {
			return nil, st.err
		}
		st.doc, st.docErr = st.decodeHeld(v.jsonBody(), &st.slabs)
		st.docOK = true
	}
	return st.doc, st.docErr
}

// decodeHeld decodes the JSON document data, from s (nil: new slabs), as
// one the render holds: what its values take in memory is charged to
// MaxHeldBytes, and a document that would take more than is left of it
// fails to decode (errDocumentSize), whatever its size in bytes.
func (st *state) decodeHeld(data []byte, s *slabs) (any, error) {
	v, used, err := decodeJSONBudget(data, s, max(st.lim.MaxHeldBytes-st.held, 0))
	st.held += used
	return v, err
}

// bodyJSONError is why the body could not be read as JSON, for the error of
// an $input.json or $input.path that failed (ErrBodyNotJSON).
func bodyJSONError(err error, body []byte) string {
	if errors.Is(err, errDocumentSize) {
		return "the body is too large to read as JSON: " + err.Error()
	}
	if bytes.HasPrefix(body, utf8BOM) {
		return "the body is not JSON: it starts with a UTF-8 byte order mark (EF BB BF), which JSON text must not (RFC 8259 8.1): send it without one"
	}
	return "the body is not JSON: " + err.Error()
}

// utf8BOM is the UTF-8 byte order mark.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// evalPath applies jp to doc for $input.json or $input.path (method),
// charging the nodes it visits; ok is false when that failed the render.
func (st *state) evalPath(jp *JSONPath, doc any, method string, off int) (res any, found, ok bool) {
	maxWork := min(DefaultJSONPathWork, st.stepsLeft())
	res, found, work, err := jp.evalWork(doc, maxWork)
	if err != nil {
		if maxWork < DefaultJSONPathWork {
			st.charge(off, st.stepsLeft()+1) // fails the render
			return nil, false, false
		}
		st.fail(off, ErrLimit, "$input.%s: %v", method, err)
		return nil, false, false
	}
	if !st.charge(off, work) {
		return nil, false, false
	}
	// A path that is not definite ($..*, [*], a filter) builds a list of
	// its matches, one item per node: the render holds it (a deep scan of a
	// large body can match every node).
	if l, isList := res.(*List); isList && !jp.definite {
		if !st.hold(off, len(l.Items), 0) {
			return nil, false, false
		}
	}
	return res, found, true
}

// inputBody is $input.body: the body as a string, made once a render.
func (st *state) inputBody(in *inputObj, off int) (string, bool) {
	if in.hasBody {
		return in.body, true
	}
	if !st.chargeBytes(off, len(in.v.Body)) {
		return "", false
	}
	if in != &st.in {
		return in.v.bodyString(), true // an $input kept from another render
	}
	in.body, in.hasBody = in.v.bodyString(), true
	return in.body, true
}

// fail records an error at a source offset and returns ctrlErr.
func (st *state) fail(off int, kind error, format string, args ...any) ctrl {
	if st.err == nil {
		line, col := lineCol(st.t.src, off)
		st.err = fmt.Errorf("template %q: line %d, column %d: %s: %w", st.t.name, line, col, fmt.Sprintf(format, args...), kind)
	}
	return ctrlErr
}

// itemBytes is what hold charges for one item of a list or map.
const itemBytes = 16

// hold charges items list or map items and strBytes bytes of strings that the
// render's lists and maps keep against MaxHeldBytes, and fails the render
// when they go over it.
func (st *state) hold(off, items, strBytes int) bool {
	n := int64(items)*itemBytes + int64(strBytes)
	if int64(st.held)+n > int64(st.lim.MaxHeldBytes) {
		st.fail(off, ErrLimit, "lists and maps holding more than %d bytes", st.lim.MaxHeldBytes)
		return false
	}
	st.held += int(n)
	return true
}

// step charges one evaluation step and checks the budget and, now and then,
// the context.
func (st *state) step(off int) bool {
	st.steps++
	if st.steps > st.lim.MaxSteps {
		st.fail(off, ErrLimit, "more than %d evaluation steps", st.lim.MaxSteps)
		return false
	}
	if st.steps&1023 == 0 {
		if err := st.ctx.Err(); err != nil {
			if st.err == nil {
				st.err = fmt.Errorf("template %q: %w: %w", st.t.name, ErrLimit, err)
			}
			return false
		}
	}
	return true
}

// Work rates: what an operation whose cost grows with its operands charges
// against MaxSteps besides its one step, calibrated so that a step of any
// kind costs about the same CPU time (tens of nanoseconds).
const (
	// bytesPerStep is the bytes a linear string operation (copying,
	// scanning, escaping, decoding) does for one step.
	bytesPerStep = 16
	// stepsPerMatch is what each match of a regular expression costs
	// (replaceAll, split): finding it, recording its position, building its
	// piece.
	stepsPerMatch = 8
	// bytesPerValue is the JSON text $util.parseJson decodes for one step
	// (a dense document builds a value every few bytes).
	bytesPerValue = 2
)

// charge charges n steps of work an operation did or is about to do (bytes
// scanned or copied, items visited) against MaxSteps, and checks the
// context when the charge crosses a multiple of 1024 steps, as step does
// every 1024 steps: an expensive call is cut by the budget and stops at the
// request's end however few steps surround it.
func (st *state) charge(off, n int) bool {
	if st.err != nil {
		return false
	}
	if n <= 0 {
		return true
	}
	before := st.steps
	if n > st.lim.MaxSteps-st.steps {
		st.steps = st.lim.MaxSteps + 1
		st.fail(off, ErrLimit, "more than %d evaluation steps", st.lim.MaxSteps)
		return false
	}
	st.steps += n
	if before>>10 != st.steps>>10 {
		if err := st.ctx.Err(); err != nil {
			st.err = fmt.Errorf("template %q: %w: %w", st.t.name, ErrLimit, err)
			return false
		}
	}
	return true
}

// chargeBytes charges the work of a linear operation over n bytes.
func (st *state) chargeBytes(off, n int) bool {
	return st.charge(off, n/bytesPerStep)
}

// matchesLeft is the regular-expression matches the budget has left to pay
// for, plus one (to tell that there are more).
func (st *state) matchesLeft() int {
	return st.stepsLeft()/stepsPerMatch + 1
}

// stepsLeft is the steps the budget has left.
func (st *state) stepsLeft() int {
	return max(st.lim.MaxSteps-st.steps, 0)
}

func (st *state) checkOut(off int) bool { return st.checkOutLen(len(st.out), off) }

// checkOutLen is checkOut for an output of n bytes, before it is written.
func (st *state) checkOutLen(n, off int) bool {
	if n > st.lim.MaxOutputBytes {
		st.fail(off, ErrLimit, "output larger than %d bytes", st.lim.MaxOutputBytes)
		return false
	}
	return true
}

func (st *state) exec(nodes []node) ctrl {
	for _, n := range nodes {
		if c := st.execOne(n); c != ctrlNone {
			return c
		}
	}
	return ctrlNone
}

func (st *state) execOne(n node) ctrl {
	if st.err != nil {
		return ctrlErr
	}
	switch n := n.(type) {
	case *textNode:
		st.out = append(st.out, n.text...)
		if !st.checkOut(0) {
			return ctrlErr
		}
	case *refNode:
		return st.renderRef(n)
	case *setNode:
		if !st.step(n.off) {
			return ctrlErr
		}
		v := st.eval(n.val)
		if st.err != nil {
			return ctrlErr
		}
		st.assign(n.target, v)
	case *ifNode:
		for i, c := range n.conds {
			t := st.cond(c)
			if st.err != nil {
				return ctrlErr
			}
			if t {
				return st.exec(n.bodies[i])
			}
		}
		if n.hasEls {
			return st.exec(n.els)
		}
	case *foreachNode:
		return st.foreach(n)
	case *breakNode:
		return ctrlBreak
	case *stopNode:
		return ctrlStop
	case *defineNode:
		st.vars[n.slot] = &block{body: n.body}
	case *macroCall:
		return st.callMacro(n)
	}
	if st.err != nil {
		return ctrlErr
	}
	return ctrlNone
}

func (st *state) renderRef(n *refNode) ctrl {
	r := n.ref
	if r.direct != directNone && n.backslashes == 0 && st.renderDirect(r) {
		if st.err != nil || !st.checkOut(r.off) {
			return ctrlErr
		}
		return ctrlNone
	}
	v, ok := st.evalRef(r)
	if st.err != nil {
		return ctrlErr
	}
	if n.backslashes > 0 {
		if !ok {
			st.out = append(st.out, strings.Repeat(`\`, n.backslashes)...)
			st.out = append(st.out, r.raw...)
			return ctrlNone
		}
		st.out = append(st.out, strings.Repeat(`\`, n.backslashes/2)...)
		if n.backslashes%2 == 1 {
			st.out = append(st.out, r.raw...)
			return ctrlNone
		}
	}
	if !ok {
		if !r.quiet {
			st.out = append(st.out, r.raw...)
		}
		return ctrlNone
	}
	return st.writeValue(v, r.off)
}

// renderDirect renders $util.escapeJavaScript(x) and $input.json('path')
// into the output without building the string first. It returns false
// when the general path must render the reference instead.
func (st *state) renderDirect(r *refExpr) bool {
	part := &r.parts[0]
	switch r.direct {
	case directEscapeJS:
		if st.vars[slotUtil] != utilValue {
			return false
		}
		if !st.step(r.off) {
			return true
		}
		arg := st.eval(part.args[0])
		s, ok := arg.(string)
		if !ok || st.err != nil {
			if st.err != nil {
				return true
			}
			if !isScalar(arg) {
				return false
			}
			s = plainString(arg)
		}
		// The output would pass its bound: fail before building it (it
		// can be six times s).
		if st.chargeBytes(r.off, len(s)) && st.checkOutLen(len(st.out)+escapeJavaScriptLen(s), r.off) {
			st.out = appendEscapeJavaScript(st.out, s)
		}
		return true
	case directInputJSON:
		in, ok := st.vars[slotInput].(*inputObj)
		if !ok || in != &st.in {
			return false
		}
		if !st.step(r.off) {
			return true
		}
		jp := part.jp
		if jp == nil {
			// A path built by the render ("$.things.$key"), read as
			// the general path (inputMethod) reads it.
			args := [1]any{st.eval(part.args[0])}
			if st.err != nil {
				return true
			}
			src, ok := st.argString(args[:], 0, r.off)
			if st.err != nil {
				return true
			}
			if !ok {
				if !r.quiet {
					st.out = append(st.out, r.raw...)
				}
				return true
			}
			var err error
			if jp, err = st.jsonPath(src); err != nil {
				st.fail(r.off, ErrEval, "$input.json: %v", err)
				return true
			}
		}
		if len(jp.segs) == 0 && !st.docOK && in.v.predecoded == nil && !noCompactJSON {
			// $input.json('$') before anything decoded the body: its
			// text, compacted, unless it must be decoded after all.
			if !st.chargeBytes(r.off, len(in.v.jsonBody())) {
				return true
			}
			start := len(st.out)
			var ok bool
			if st.out, ok = appendCompactJSON(st.out, in.v.jsonBody(), &st.slabs, st.lim.MaxOutputBytes); ok {
				return true
			}
			st.out = st.out[:start]
		}
		doc, err := st.document(in.v)
		if st.err != nil {
			return true
		}
		if err != nil {
			st.fail(r.off, ErrBodyNotJSON, "$input.json(%q): %s", jp.String(), bodyJSONError(err, in.v.jsonBody()))
			return true
		}
		if st.err != nil {
			return true
		}
		res, found, ok := st.evalPath(jp, doc, "json", r.off)
		if !ok {
			return true
		}
		if !found {
			st.out = append(st.out, missingJSON...)
			return true
		}
		var fits bool
		start := len(st.out)
		if st.out, fits = appendJSON(st.out, res, 0, st.lim.MaxOutputBytes); !fits {
			st.fail(r.off, ErrLimit, "$input.json result larger than %d bytes", st.lim.MaxOutputBytes)
			return true
		}
		st.chargeBytes(r.off, len(st.out)-start)
		return true
	}
	return false
}

// paramsGet evaluates $input.params().header.get(x) (or path, querystring)
// of this render's $input before anything built $input.params(): the value
// the map would hold, read from the request's parameters, for the steps the
// general path charges (the reference and its two calls).
func (st *state) paramsGet(r *refExpr) (any, bool) {
	for range 3 {
		if !st.step(r.off) {
			return nil, false
		}
	}
	args := [1]any{st.eval(r.parts[2].args[0])}
	if st.err != nil {
		return nil, false
	}
	if st.params != nil {
		// The argument built $input.params() (and may have changed it):
		// read that, as the general path does.
		cur, ok := st.property(st.params, r.parts[1].name)
		if !ok {
			return nil, false
		}
		v, ok := st.call(cur, &r.parts[2], args[:], r.off)
		if !ok || v == nil || st.err != nil {
			return nil, false
		}
		return v, true
	}
	k, ok := st.argString(args[:], 0, r.off)
	if !ok || st.err != nil {
		return nil, false
	}
	v, ok := st.v.paramsOf(paramsPart(r.parts[1].name))[k]
	if !ok {
		return nil, false
	}
	return st.boxString(v), true
}

// noCompactJSON turns off $input.json('$')'s reading of the body without
// decoding it: tests compare the two.
var noCompactJSON = false

// newLoop returns a new $foreach object, cut from the slabs: one a loop,
// never reused within the render (a template may keep $foreach in a
// variable), reused by the next render unless escaped.
func (st *state) newLoop() *foreachInfo {
	s := &st.slabs
	s.loops = slab(s.loops, 1, 8)
	s.loops = append(s.loops, foreachInfo{parent: st.loop})
	return &s.loops[len(s.loops)-1]
}

// boxString returns s as a value cut from the slabs (boxing it would
// allocate); the value is reused by the next render unless escaped, as the
// decoded body's strings are.
func (st *state) boxString(v string) any {
	s := &st.slabs
	s.strs = slab(s.strs, 1, smallSlab)
	s.strs = append(s.strs, v)
	return boxString(&s.strs[len(s.strs)-1])
}

// newList returns a list of n values the caller fills, cut from the slabs
// (reused by the next render unless escaped); its items have no spare
// capacity, so appending to them copies.
func (st *state) newList(n int) *List {
	s := &st.slabs
	s.lists = slab(s.lists, 1, slabSize/16)
	s.vals = slab(s.vals, n, slabSize)
	start := len(s.vals)
	s.vals = s.vals[:start+n]
	s.lists = append(s.lists, List{Items: s.vals[start : start+n : start+n]})
	return &s.lists[len(s.lists)-1]
}

// maxCachedPaths bounds the JSONPaths a state keeps compiled.
const maxCachedPaths = 64

// jsonPath compiles src, a JSONPath the render built: a state (pooled, so
// across renders) keeps the last few compiled.
func (st *state) jsonPath(src string) (*JSONPath, error) {
	if jp, ok := st.paths[src]; ok {
		return jp, nil
	}
	src = strings.Clone(src) // it may be in the slabs, which the next render reuses
	jp, err := CompileJSONPath(src)
	if err != nil {
		return nil, err
	}
	if st.paths == nil {
		st.paths = make(map[string]*JSONPath)
	} else if len(st.paths) >= maxCachedPaths {
		clear(st.paths)
	}
	st.paths[src] = jp
	return jp, nil
}

// writeValue appends the text of v to the output.
func (st *state) writeValue(v any, off int) ctrl {
	switch x := v.(type) {
	case string:
		// Checked before it is appended: a string interpolation
		// ("$input.body$input.body") builds in the output, which would
		// otherwise grow past the limit before failing.
		if !st.checkOutLen(len(st.out)+len(x), off) {
			return ctrlErr
		}
		st.out = append(st.out, x...)
	case int64:
		st.out = strconv.AppendInt(st.out, x, 10)
	case float64:
		st.out = appendFloat(st.out, x)
	case *block:
		st.depth++
		if st.depth > st.lim.MaxDepth {
			return st.fail(off, ErrLimit, "#define and macro recursion deeper than %d", st.lim.MaxDepth)
		}
		c := st.exec(x.body)
		st.depth--
		if c == ctrlErr || c == ctrlStop {
			return c
		}
	default:
		var ok bool
		if st.out, ok = appendValue(st.out, v, 0, st.lim.MaxOutputBytes); !ok {
			return st.fail(off, ErrLimit, "value too large or nested too deeply to render")
		}
	}
	if !st.checkOut(off) {
		return ctrlErr
	}
	return ctrlNone
}

// toString renders v as a string, as Velocity does when a value is used
// where text is expected.
func (st *state) toString(v any, off int) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case nil:
		return "", false
	}
	start := len(st.out)
	c := st.writeValue(v, off)
	s := string(st.out[start:])
	st.out = st.out[:start]
	return s, c != ctrlErr && st.chargeBytes(off, len(s))
}

func (st *state) assign(target *refExpr, v any) {
	if v == nil {
		// Velocity 1.7: #set with a null value leaves the reference as it was.
		return
	}
	if len(target.parts) == 0 {
		st.vars[target.slot] = v
		return
	}
	cur := st.vars[target.slot]
	if cur == nil {
		return
	}
	var ok bool
	for i := 0; i < len(target.parts)-1; i++ {
		cur, ok = st.applyPart(cur, &target.parts[i], target.off)
		if !ok || st.err != nil {
			return
		}
	}
	last := &target.parts[len(target.parts)-1]
	v = st.keep(v) // stored in a map or list that may outlive the render
	if st.err != nil || !st.hold(target.off, 2, 0) {
		return
	}
	switch last.kind {
	case partProp:
		if m, ok := cur.(*Map); ok && !st.assignOverrides(m, last.name, v, target.off) && st.overrideOnce(m, last.name, v, target.off) {
			st.dropHeaderVariants(m, last.name)
			m.Set(last.name, v)
		}
	case partIndex:
		key := st.eval(last.args[0])
		switch c := cur.(type) {
		case *Map:
			if s, ok := st.toString(key, target.off); ok && st.hold(target.off, 0, len(s)) &&
				!st.assignOverrides(c, s, v, target.off) && st.overrideOnce(c, s, v, target.off) {
				st.dropHeaderVariants(c, s)
				st.setKept(c, s, v)
			}
		case *List:
			if i, _, isFloat, ok := toNumber(key); ok && !isFloat {
				if i < 0 {
					i += int64(len(c.Items)) // #set($l[-1] = x) sets the last item
				}
				if i >= 0 && i < int64(len(c.Items)) {
					c.Items[i] = v
				}
			}
		}
	}
}

// overridePaths are $context's maps whose keys are overrides: each may be
// set once.
var overridePaths = [...]string{"requestOverride.header", "requestOverride.querystring", "requestOverride.path", "responseOverride.header", "responseOverride"}

// overrideOnce reports whether #set may set key in m. API Gateway applies
// an override once: setting $context.requestOverride.header.X (or
// .querystring.X, .path.X, responseOverride.header.X,
// responseOverride.status) a second time in a template fails the render
// ("Overrides are final ... Trying to override the same parameter multiple
// times will result in 5XX responses"). Header names are case-insensitive:
// X-A and then x-a is the same header set twice. A responseOverride.status
// v that is not an HTTP status (200-599, a number or its text) fails the
// render too: a declared override is applied or refused, never ignored.
func (st *state) overrideOnce(m *Map, key string, v any, off int) bool {
	if m.kind != contextPart || st.v.Context == nil {
		return true
	}
	for _, p := range overridePaths {
		if st.v.overrideMap(p) != m || p == "responseOverride" && key != "status" {
			continue
		}
		name, id := p+"."+key, p+"."+key
		if strings.HasSuffix(p, ".header") {
			id = p + "." + strings.ToLower(key)
		}
		if isNull(v) {
			// A JSONPath that selected nothing is Java's null in API
			// Gateway, and #set with a null value leaves the override as it
			// was (as $undefined does): no override, and none used up.
			return false
		}
		if slices.Contains(st.overridden, id) {
			st.fail(off, ErrEval, "$context.%s is overridden twice: an override may be applied once", name)
			return false
		}
		if p == "responseOverride" {
			if _, ok := overrideStatus(v); !ok {
				st.fail(off, ErrEval, "$context.responseOverride.status %s is not an HTTP status code (200-599)", describeStatus(v))
				return false
			}
		}
		st.overridden = append(st.overridden, id)
		return true
	}
	return true
}

// overrideContainer is the map of overrides that key names in m, and its
// path in $context: requestOverride or responseOverride in $context,
// header, querystring or path in $context.requestOverride, header in
// $context.responseOverride. target is nil when key in m is no such map.
func (st *state) overrideContainer(m *Map, key string) (path string, target *Map) {
	if st.v.Context == nil || m.kind == plainMap {
		return "", nil
	}
	switch {
	case m == st.v.Context:
		if key != "requestOverride" && key != "responseOverride" {
			return "", nil
		}
		path = key
	case m == st.v.overrideMap("requestOverride"):
		if key != "header" && key != "querystring" && key != "path" {
			return "", nil
		}
		path = "requestOverride." + key
	case m == st.v.overrideMap("responseOverride"):
		if key != "header" {
			return "", nil
		}
		path = "responseOverride.header"
	default:
		return "", nil
	}
	return path, st.v.overrideMap(path)
}

// assignOverrides handles a write of v under key in m ('#set', put,
// putAll) when key names a map of overrides (overrideContainer): the map is
// kept, and v's keys are written into it one by one, each as if set on its
// own (overrideOnce: an override set twice, or a status that is not one,
// fails the render). Replacing the map whole
// (#set($context.responseOverride = {...}),
// $context.put("responseOverride", ...)) would skip those checks, and a
// value that is not a map would drop the overrides silently: it fails the
// render. handled is false when key names no map of overrides: the caller
// writes it.
func (st *state) assignOverrides(m *Map, key string, v any, off int) (handled bool) {
	path, target := st.overrideContainer(m, key)
	if target == nil {
		return false
	}
	if isNull(v) {
		return true // as overrideOnce: a null sets nothing
	}
	src, ok := v.(*Map)
	if !ok {
		st.fail(off, ErrEval, "$context.%s is set to %s: it holds overrides, so set a map or its keys ($context.%s.NAME)", path, describeStatus(v), path)
		return true
	}
	if src == target {
		return true
	}
	if !st.hold(off, 2*len(src.keys), 0) {
		return true
	}
	st.escaped = true // src's values are stored where they outlive the render
	keys, vals := slices.Clone(src.keys), slices.Clone(src.vals)
	for i, k := range keys {
		if st.assignOverrides(target, k, vals[i], off) {
			if st.err != nil {
				return true
			}
			continue
		}
		if !st.overrideOnce(target, k, vals[i], off) {
			if st.err != nil {
				return true
			}
			continue
		}
		st.dropHeaderVariants(target, k)
		st.setKept(target, k, st.keep(vals[i]))
	}
	return true
}

// takeOverrides empties the map of overrides m and the maps of overrides
// in it, which stay in place for later writes, and returns a copy of what
// they held: remove() of a map of overrides. The overrides it held stay
// used up (overrideOnce).
func (st *state) takeOverrides(m *Map) *Map {
	out := &Map{}
	for _, k := range slices.Clone(m.keys) {
		if _, sub := st.overrideContainer(m, k); sub != nil {
			out.setValue(k, st.takeOverrides(sub))
			continue
		}
		v, _ := m.Delete(k)
		out.setValue(k, v)
	}
	return out
}

// dropHeaderVariants removes from m, when it is one of the override header
// maps ($context.requestOverride.header, $context.responseOverride.header),
// the names that differ from name only in case: HTTP header names are
// case-insensitive, so the write of name that follows replaces them, and
// the last write wins whatever its spelling (the gateway canonicalises the
// names, and the order of a Go map must not pick the winner).
func (st *state) dropHeaderVariants(m *Map, name string) {
	if m.kind != contextPart || st.v.Context == nil || m.Len() == 0 {
		return
	}
	if m != st.v.overrideMap("requestOverride.header") && m != st.v.overrideMap("responseOverride.header") {
		return
	}
	for i := len(m.keys) - 1; i >= 0; i-- {
		if k := m.keys[i]; k != name && strings.EqualFold(k, name) {
			m.Delete(k)
		}
	}
}

// overrideStatus reads a $context.responseOverride.status value: an integer
// 200-599, or its text (a 1xx would go out as an interim answer without the
// body, so it is not a status here).
func overrideStatus(v any) (int, bool) {
	var n int
	switch x := v.(type) {
	case int64:
		n = int(x)
	case float64:
		if x != float64(int(x)) {
			return 0, false
		}
		n = int(x)
	case string:
		var err error
		if n, err = strconv.Atoi(strings.TrimSpace(x)); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if n < 200 || n > 599 {
		return 0, false
	}
	return n, true
}

// describeStatus is an invalid status value for the log, quoted when text.
func describeStatus(v any) string {
	if s, ok := v.(string); ok {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return strconv.Quote(s)
	}
	var kind string
	switch v.(type) {
	case int64, bigNumber:
		kind = "an integer"
	case float64:
		kind = "a decimal number"
	case bool:
		kind = "a boolean"
	case *List:
		return "(a list)"
	case *Map:
		return "(a map)"
	default:
		return "(a value that is not a number)"
	}
	return fmt.Sprintf("%v (%s)", v, kind)
}

// keep returns v ready to be stored in a map or list, which may outlive the
// render: a string (its bytes may be in the slabs' text) or a number is
// copied out of the slabs; any other value that may point into them marks
// the render escaped.
func (st *state) keep(v any) any {
	switch x := v.(type) {
	case nil, bool, missingT, bigNumber:
		return v
	case string:
		if !st.hold(0, 1, len(x)) {
			return nil
		}
		return strings.Clone(x)
	case int64:
		return copyInt(x)
	case float64:
		return copyFloat(x)
	}
	st.escaped = true
	return v
}

// setKept stores v (already kept) under k in m, which may outlive the
// render ($context's maps, or a map stored in one): a new key is copied out
// of the slabs, as keep copies a value. A key the template computed (from
// the body, $util.parseJson, a #foreach variable, a macro argument) may
// point into the slabs' text, which the next render, another client's
// request, overwrites; the map would then hold that client's text as its
// key. An existing key keeps its own string.
func (st *state) setKept(m *Map, k string, v any) {
	if i := m.find(k); i >= 0 {
		m.vals[i] = v
		return
	}
	m.setValue(strings.Clone(k), v)
}

// copyFloat boxes f anew (the compiler must not hand back the box f came
// from, which may be in a slab).
//
//go:noinline
func copyFloat(f float64) any { return f }

// copyInt boxes n anew.
//
//go:noinline
func copyInt(n int64) any { return n }

func (st *state) foreach(n *foreachNode) ctrl {
	prevVar := st.vars[n.slot]
	prevLoop := st.vars[slotForeach]
	prevCount := st.vars[slotVelocityCount]
	prevHasNext := st.vars[slotVelocityHasNext]
	info := st.newLoop()
	st.loop = info
	st.vars[slotForeach] = info
	defer func() {
		st.loop = info.parent
		st.vars[n.slot] = prevVar
		st.vars[slotForeach] = prevLoop
		st.vars[slotVelocityCount] = prevCount
		st.vars[slotVelocityHasNext] = prevHasNext
	}()
	body := func(i int, item any, hasNext bool) ctrl {
		if i >= st.lim.MaxForeach {
			return st.fail(n.off, ErrLimit, "#foreach over more than %d items", st.lim.MaxForeach)
		}
		if !st.step(n.off) {
			return ctrlErr
		}
		info.index, info.count, info.hasNext = i, i+1, hasNext
		st.vars[n.slot] = item
		st.vars[slotVelocityCount] = int64(i + 1)
		st.vars[slotVelocityHasNext] = hasNext
		return st.exec(n.body)
	}
	finish := func(c ctrl) ctrl {
		if c == ctrlBreak {
			return ctrlNone
		}
		return c
	}
	if r, ok := n.iter.(*rangeExpr); ok {
		lo, hi, ok := st.rangeBounds(r, n.off)
		if !ok {
			if st.err != nil {
				return ctrlErr
			}
			return ctrlNone
		}
		stepBy := int64(1)
		if hi < lo {
			stepBy = -1
		}
		for i, v := 0, lo; ; i, v = i+1, v+stepBy {
			if c := body(i, v, v != hi); c != ctrlNone {
				return finish(c)
			}
			if v == hi {
				return ctrlNone
			}
		}
	}
	it := st.eval(n.iter)
	if st.err != nil {
		return ctrlErr
	}
	switch x := it.(type) {
	case *List:
		for i := 0; i < len(x.Items); i++ {
			if c := body(i, x.Items[i], i+1 < len(x.Items)); c != ctrlNone {
				return finish(c)
			}
		}
	case *Map:
		// Velocity iterates over a map's values.
		for i := 0; i < len(x.vals); i++ {
			if c := body(i, x.vals[i], i+1 < len(x.vals)); c != ctrlNone {
				return finish(c)
			}
		}
	}
	return ctrlNone
}

func (st *state) rangeBounds(r *rangeExpr, off int) (int64, int64, bool) {
	lo, lok := asInt(st.eval(r.lo))
	hi, hok := asInt(st.eval(r.hi))
	if st.err != nil || !lok || !hok {
		return 0, 0, false
	}
	return lo, hi, true
}

// rangeSpan is the distance between a range's bounds, |hi-lo|, computed
// without overflow; ok is false when it is not below limit (the steps left),
// whatever the bounds (MinInt64..MaxInt64 is 2^64-1 apart).
func rangeSpan(lo, hi int64, limit int) (int, bool) {
	var d uint64
	if hi >= lo {
		d = uint64(hi) - uint64(lo)
	} else {
		d = uint64(lo) - uint64(hi)
	}
	if limit <= 0 || d >= uint64(limit) {
		return 0, false
	}
	return int(d), true
}

// asInt is v as an integer: an int64, a string of one, or a float64 with a
// value int64 can hold (truncated, as Java's cast); ok is false otherwise,
// for a float beyond int64 too (Go's conversion of one is undefined).
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		// -2^63 is exact in float64; 2^63 is the first value above MaxInt64.
		if math.IsNaN(x) || x < -(1<<63) || x >= 1<<63 {
			return 0, false
		}
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func (st *state) callMacro(n *macroCall) ctrl {
	st.depth++
	if st.depth > st.lim.MaxDepth {
		return st.fail(n.off, ErrLimit, "macro recursion deeper than %d", st.lim.MaxDepth)
	}
	defer func() { st.depth-- }()
	if !st.step(n.off) {
		return ctrlErr
	}
	var buf [8]any
	prev := buf[:0]
	args := make([]any, len(n.m.slots))
	for i := range n.m.slots {
		if i < len(n.args) {
			args[i] = st.eval(n.args[i])
			if st.err != nil {
				return ctrlErr
			}
		}
	}
	for i, slot := range n.m.slots {
		prev = append(prev, st.vars[slot])
		st.vars[slot] = args[i]
	}
	c := st.exec(n.m.body)
	for i, slot := range n.m.slots {
		st.vars[slot] = prev[i]
	}
	if c == ctrlBreak {
		c = ctrlNone
	}
	return c
}

// Expressions.

func (st *state) eval(e expr) any {
	if st.err != nil {
		return nil
	}
	switch e := e.(type) {
	case *litExpr:
		return e.v
	case *refExpr:
		v, ok := st.evalRef(e)
		if !ok {
			return nil
		}
		if b, isBlock := v.(*block); isBlock {
			s, _ := st.toString(b, e.off)
			return s
		}
		return v
	case *strExpr:
		if !st.step(0) {
			return nil
		}
		start := len(st.out)
		c := st.exec(e.parts)
		if c == ctrlErr {
			st.out = st.out[:start]
			return nil
		}
		s := string(st.out[start:])
		st.out = st.out[:start]
		if !st.chargeBytes(0, len(s)) {
			return nil
		}
		return s
	case *listExpr:
		if !st.hold(0, len(e.items), 0) {
			return nil
		}
		l := &List{Items: make([]any, 0, len(e.items))}
		for _, it := range e.items {
			l.Items = append(l.Items, st.eval(it))
		}
		return l
	case *mapExpr:
		if !st.hold(0, 2*len(e.keys), 0) {
			return nil
		}
		m := &Map{}
		for i := range e.keys {
			k := st.eval(e.keys[i])
			ks, _ := st.toString(k, 0)
			m.Set(ks, st.eval(e.vals[i]))
		}
		return m
	case *rangeExpr:
		lo, hi, ok := st.rangeBounds(e, 0)
		if !ok {
			return nil
		}
		n, ok := rangeSpan(lo, hi, st.stepsLeft())
		if !ok {
			st.fail(0, ErrLimit, "range [%d..%d] too large", lo, hi)
			return nil
		}
		st.steps += n
		if !st.hold(0, n+1, 0) {
			return nil
		}
		l := &List{Items: make([]any, 0, n+1)}
		for v := lo; ; {
			l.Items = append(l.Items, v)
			if v == hi {
				break
			}
			if hi > lo {
				v++
			} else {
				v--
			}
		}
		return l
	case *notExpr:
		return !st.cond(e.x)
	case *binExpr:
		return st.binary(e)
	}
	return nil
}

// cond evaluates e as a condition (of #if, &&, || or !). A literal other
// than true is false, as in Velocity 1.7, whose literals' evaluate() is
// false: #if("a"), #if(1) and #if([1]) are false, where a variable holding
// the same value is true.
func (st *state) cond(e expr) bool {
	switch x := e.(type) {
	case *litExpr:
		b, ok := x.v.(bool)
		return ok && b
	case *strExpr, *listExpr, *mapExpr, *rangeExpr:
		return false
	}
	return truthy(st.eval(e))
}

func (st *state) binary(e *binExpr) any {
	switch e.op {
	case opOr:
		return st.cond(e.l) || st.cond(e.r)
	case opAnd:
		return st.cond(e.l) && st.cond(e.r)
	}
	l := st.eval(e.l)
	r := st.eval(e.r)
	switch e.op {
	case opAdd:
		// Velocity 1.7 (ASTAddNode.handleSpecial): a string plus an
		// undefined reference joins the string with the reference's
		// source text ('a' + $nothing is "a$nothing").
		_, ls := l.(string)
		_, rs := r.(string)
		if l == nil && rs {
			l = literal(e.l)
		} else if r == nil && ls {
			r = literal(e.r)
		}
	case opEq:
		return st.equal(l, r)
	case opNe:
		return !st.equal(l, r)
	case opLt, opLe, opGt, opGe:
		// Velocity 1.7 orders numbers only ("a" < "b" is false).
		_, _, _, lNum := toNumber(l)
		_, _, _, rNum := toNumber(r)
		if !lNum || !rNum {
			return false
		}
		c, ok := compareValues(l, r)
		if !ok {
			return false
		}
		switch e.op {
		case opLt:
			return c < 0
		case opLe:
			return c <= 0
		case opGt:
			return c > 0
		}
		return c >= 0
	}
	return st.arith(e.op, l, r)
}

// equal is ==: a list or a map against a value of another type compares
// their text, as Velocity 1.7 compares values of different classes by
// toString() ([1] == "[1]"); other values compare as valuesEqual does.
func (st *state) equal(l, r any) bool {
	_, lList := l.(*List)
	_, rList := r.(*List)
	_, lMap := l.(*Map)
	_, rMap := r.(*Map)
	collection := lList || lMap || rList || rMap
	sameKind := lList && rList || lMap && rMap
	if collection && !sameKind && l != nil && r != nil && !isMissing(l) && !isMissing(r) {
		a, ok := st.text(l)
		if !ok {
			return false
		}
		b, ok := st.text(r)
		return ok && a == b
	}
	return valuesEqual(l, r)
}

// text is v rendered, for ==: false, without failing the render, when it
// is too large or too deeply nested to render.
func (st *state) text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case *List, *Map:
		start := len(st.out)
		var ok bool
		st.out, ok = appendValue(st.out, v, 0, st.lim.MaxOutputBytes)
		s := string(st.out[start:])
		st.out = st.out[:start]
		return s, ok && st.chargeBytes(0, len(s))
	}
	return st.toString(v, 0)
}

func isMissing(v any) bool {
	_, ok := v.(missingT)
	return ok
}

func (st *state) arith(op opKind, l, r any) any {
	if _, lBig := l.(bigNumber); lBig || isBig(r) {
		if a, ok := bigInt(l); ok {
			if b, ok := bigInt(r); ok {
				return st.bigArith(op, a, b)
			}
		}
	}
	li, lf, lFloat, lNum := toNumber(l)
	ri, rf, rFloat, rNum := toNumber(r)
	if !lNum || !rNum {
		// String concatenation, as Velocity 2 (1.7 gives null).
		if op != opAdd || l == nil || r == nil {
			return nil
		}
		_, ls := l.(string)
		_, rs := r.(string)
		if !ls && !rs {
			return nil
		}
		a, _ := st.toString(l, 0)
		b, _ := st.toString(r, 0)
		if len(a)+len(b) > st.lim.MaxOutputBytes {
			st.fail(0, ErrLimit, "string longer than %d bytes", st.lim.MaxOutputBytes)
			return nil
		}
		if !st.chargeBytes(0, len(a)+len(b)) {
			return nil
		}
		return a + b
	}
	if !lFloat && !rFloat {
		switch op {
		// A result past a long's range goes on as a big integer, as
		// Velocity 1.7's BigInteger does.
		case opAdd:
			s := li + ri
			if (s > li) == (ri > 0) {
				return s
			}
			return st.bigArith(op, big.NewInt(li), big.NewInt(ri))
		case opSub:
			s := li - ri
			if (s < li) == (ri > 0) {
				return s
			}
			return st.bigArith(op, big.NewInt(li), big.NewInt(ri))
		case opMul:
			if li == 0 || ri == 0 {
				return int64(0)
			}
			p := li * ri
			overflow := p/ri != li || li == -1 && ri == math.MinInt64 || ri == -1 && li == math.MinInt64
			if !overflow {
				return p
			}
			return st.bigArith(op, big.NewInt(li), big.NewInt(ri))
		case opDiv:
			if ri == 0 || li == -1<<63 && ri == -1 {
				return nil
			}
			return li / ri
		case opMod:
			if ri == 0 || ri == -1 {
				if ri == -1 {
					return int64(0)
				}
				return nil
			}
			return li % ri
		}
		return nil
	}
	if !lFloat {
		lf = float64(li)
	}
	if !rFloat {
		rf = float64(ri)
	}
	switch op {
	case opAdd:
		return lf + rf
	case opSub:
		return lf - rf
	case opMul:
		return lf * rf
	case opDiv:
		if rf == 0 {
			return nil
		}
		return lf / rf
	case opMod:
		if rf == 0 {
			return nil
		}
		m := lf - rf*float64(int64(lf/rf))
		return m
	}
	return nil
}

func isBig(v any) bool {
	_, ok := v.(bigNumber)
	return ok
}

// maxBigBits bounds a big integer a render computes (some 20,000 digits):
// squaring a number over and over doubles its size each time.
const maxBigBits = 1 << 16

// bigArith is integer arithmetic past a long's range: the result is an
// int64 again when it fits, else a bigNumber of its digits; division by
// zero is null, as for longs.
func (st *state) bigArith(op opKind, a, b *big.Int) any {
	if a.BitLen()+b.BitLen() > maxBigBits {
		st.fail(0, ErrLimit, "integer larger than %d bits", maxBigBits)
		return nil
	}
	z := new(big.Int)
	switch op {
	case opAdd:
		z.Add(a, b)
	case opSub:
		z.Sub(a, b)
	case opMul:
		z.Mul(a, b)
	case opDiv, opMod:
		if b.Sign() == 0 {
			return nil
		}
		if op == opDiv {
			z.Quo(a, b) // truncated, as BigInteger.divide
		} else {
			z.Rem(a, b) // the dividend's sign, as long %
		}
	default:
		return nil
	}
	if !st.charge(0, z.BitLen()/64) {
		return nil
	}
	if z.IsInt64() {
		return z.Int64()
	}
	return bigNumber(z.String())
}

// literal is the source text Velocity joins to a string in place of an
// undefined reference; nil for other expressions (the sum is then null).
func literal(e expr) any {
	if r, ok := e.(*refExpr); ok {
		return r.raw
	}
	return nil
}

// evalRef evaluates a reference; ok is false when it is undefined (null).
func (st *state) evalRef(r *refExpr) (any, bool) {
	if r.direct == directParamsGet && st.params == nil && st.vars[slotInput] == any(&st.in) {
		return st.paramsGet(r)
	}
	if !st.step(r.off) {
		return nil, false
	}
	cur := st.vars[r.slot]
	if cur == nil {
		return nil, false
	}
	var ok bool
	for i := range r.parts {
		prev := cur
		cur, ok = st.applyPart(cur, &r.parts[i], r.off)
		if st.err != nil {
			return nil, false
		}
		if !ok {
			if m, isMap := prev.(*Map); isMap && m.unsetEmpty && r.parts[i].kind == partProp {
				return "", true // an unset $context.identity.* or $context.authorizer.* field
			}
			return nil, false
		}
	}
	if cur == nil {
		return nil, false
	}
	return cur, true
}

func (st *state) applyPart(cur any, part *refPart, off int) (any, bool) {
	switch part.kind {
	case partProp:
		return st.property(cur, part.name)
	case partIndex:
		key := st.eval(part.args[0])
		return st.index(cur, key, off)
	}
	if !st.step(off) {
		return nil, false
	}
	var buf [4]any
	args := buf[:0]
	for _, a := range part.args {
		args = append(args, st.eval(a))
	}
	if st.err != nil {
		return nil, false
	}
	// A method's work grows with what it reads: charge it for its receiver
	// and arguments before it runs (methods whose work grows otherwise,
	// regular expressions and what builds lists, charge that themselves).
	w := 0
	if !constantTime(cur, part.name) {
		w = sizeOf(cur)
	}
	for _, a := range args {
		w += sizeOf(a)
	}
	if w >= bytesPerStep && !st.chargeBytes(off, w) {
		return nil, false
	}
	v, ok := st.call(cur, part, args, off)
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// constantTime reports the methods of lists and maps whose work does not
// grow with their receiver (a list built by add after add is not charged
// for its length at every add).
func constantTime(cur any, name string) bool {
	switch cur.(type) {
	case *List, *Map:
		switch name {
		case "size", "isEmpty", "get", "add", "set", "put", "containsKey", "remove":
			return true
		}
	}
	return false
}

// sizeOf is what a method reading v reads: a string's bytes, or a list's
// or map's items counted as bytesPerStep bytes each (visiting an item costs
// about a step).
func sizeOf(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case *List:
		return len(x.Items) * bytesPerStep
	case *Map:
		return len(x.keys) * bytesPerStep
	}
	return 0
}

func (st *state) index(cur, key any, off int) (any, bool) {
	switch c := cur.(type) {
	case *List:
		i, ok := asInt(key)
		if !ok {
			return nil, false
		}
		at := i
		if at < 0 {
			// Velocity 1.7 counts a negative index from the end: $l[-1]
			// is the last item.
			at += int64(len(c.Items))
		}
		if at < 0 || at >= int64(len(c.Items)) {
			st.fail(off, ErrEval, "index %d out of range for a list of %d", i, len(c.Items))
			return nil, false
		}
		return c.Items[at], c.Items[at] != nil
	case *Map:
		k, ok := st.toString(key, off)
		if !ok {
			return nil, false
		}
		return st.mapGet(c, k)
	}
	return nil, false
}
