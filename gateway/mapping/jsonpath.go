package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ErrJSONPath is wrapped by the errors of [CompileJSONPath].
var ErrJSONPath = errors.New("invalid JSONPath")

// JSONPath is a compiled JSONPath expression of the subset API Gateway's
// $input.json and $input.path use: $ (the root; a path without it, such as
// "name.x", starts from the root as Jayway JsonPath reads it), .name and
// ['name'] (also
// "name"), [n] (negative counts from the end), [*] and .*, ..name (deep
// scan), unions [0,1] and ['a','b'], slices [start:end], and simple filters
// [?(@.a == 'x')] comparing a relative path with a literal (==, !=, <, <=,
// >, >=) or testing that it exists, combined with && and ||.
//
// A path without wildcards, deep scans, unions, slices or filters is
// definite: it selects one value or nothing. Any other path selects a list.
// A JSONPath is immutable and safe for concurrent use.
type JSONPath struct {
	src      string
	segs     []jpSeg
	definite bool
}

type jpKind uint8

const (
	jpName jpKind = iota
	jpIndex
	jpWild
	jpNames
	jpIndexes
	jpSlice
	jpFilter
)

type jpSeg struct {
	kind    jpKind
	deep    bool
	name    string
	names   []string
	index   int
	indexes []int
	lo, hi  int
	hasLo   bool
	hasHi   bool
	filter  *jpFilterExpr
}

// String returns the source of the path.
func (p *JSONPath) String() string { return p.src }

// DeepScan reports whether the path has a recursive descent ($..name).
func (p *JSONPath) DeepScan() bool {
	return slices.ContainsFunc(p.segs, func(s jpSeg) bool { return s.deep })
}

// Filtered reports whether the path has a filter expression ([?(...)]).
func (p *JSONPath) Filtered() bool {
	return slices.ContainsFunc(p.segs, func(s jpSeg) bool { return s.kind == jpFilter })
}

const maxJSONPathLen = 4096

// CompileJSONPath compiles a JSONPath expression.
func CompileJSONPath(src string) (*JSONPath, error) {
	if len(src) > maxJSONPathLen {
		return nil, fmt.Errorf("%w %q: longer than %d bytes", ErrJSONPath, src[:32]+"...", maxJSONPathLen)
	}
	p := &jpParser{src: strings.TrimSpace(src)}
	segs, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("%w %q: %s", ErrJSONPath, src, err.Error())
	}
	jp := &JSONPath{src: src, segs: segs, definite: true}
	for _, s := range segs {
		if s.deep || s.kind >= jpWild {
			jp.definite = false
		}
	}
	return jp, nil
}

type jpParser struct {
	src string
	pos int
}

func (p *jpParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jpParser) parse() ([]jpSeg, error) {
	if p.src == "" {
		return nil, nil // API Gateway treats an empty path as "$"
	}
	switch p.src[0] {
	case '$':
	case '@':
		return nil, p.errorf("a path starts with $")
	default:
		// As Jayway JsonPath (API Gateway's) compiles it: a path that
		// does not start with $ is read from the root, "name.x" as
		// "$.name.x".
		p.src = "$." + p.src
	}
	p.pos = 1
	return p.segments(false)
}

// segments parses segments until the end of the source, or (inFilter) until
// a character that cannot continue a path.
func (p *jpParser) segments(inFilter bool) ([]jpSeg, error) {
	var segs []jpSeg
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '.':
			deep := false
			p.pos++
			if p.pos < len(p.src) && p.src[p.pos] == '.' {
				deep = true
				p.pos++
			}
			if p.pos >= len(p.src) {
				return nil, p.errorf("path ends after '.'")
			}
			if p.src[p.pos] == '[' {
				if !deep {
					return nil, p.errorf("'.' followed by '['")
				}
				seg, err := p.bracket()
				if err != nil {
					return nil, err
				}
				seg.deep = true
				segs = append(segs, seg)
				continue
			}
			if p.src[p.pos] == '*' {
				p.pos++
				segs = append(segs, jpSeg{kind: jpWild, deep: deep})
				continue
			}
			start := p.pos
			for p.pos < len(p.src) && !strings.ContainsRune(".[ ()=!<>&|'\"", rune(p.src[p.pos])) {
				p.pos++
			}
			if p.pos == start {
				return nil, p.errorf("missing property name")
			}
			segs = append(segs, jpSeg{kind: jpName, deep: deep, name: p.src[start:p.pos]})
		case '[':
			seg, err := p.bracket()
			if err != nil {
				return nil, err
			}
			segs = append(segs, seg)
		default:
			if inFilter {
				return segs, nil
			}
			return nil, p.errorf("unexpected %q", charAt(p.src, p.pos))
		}
		if len(segs) > 256 {
			return nil, p.errorf("too many segments")
		}
	}
	return segs, nil
}

func (p *jpParser) skipSpace() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *jpParser) bracket() (jpSeg, error) {
	p.pos++ // [
	p.skipSpace()
	if p.pos >= len(p.src) {
		return jpSeg{}, p.errorf("unclosed '['")
	}
	var seg jpSeg
	switch c := p.src[p.pos]; {
	case c == '*':
		p.pos++
		seg.kind = jpWild
	case c == '\'' || c == '"':
		var names []string
		for {
			s, err := p.quoted()
			if err != nil {
				return seg, err
			}
			names = append(names, s)
			p.skipSpace()
			if p.pos < len(p.src) && p.src[p.pos] == ',' {
				p.pos++
				p.skipSpace()
				continue
			}
			break
		}
		if len(names) == 1 {
			seg.kind, seg.name = jpName, names[0]
		} else {
			seg.kind, seg.names = jpNames, names
		}
	case c == '?':
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '(' {
			return seg, p.errorf("expected '(' after '?'")
		}
		p.pos++
		f, err := p.filterOr(0)
		if err != nil {
			return seg, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return seg, p.errorf("unclosed filter")
		}
		p.pos++
		seg.kind, seg.filter = jpFilter, f
	case c == '-' || c == ':' || c >= '0' && c <= '9':
		var idx []int
		lo, hasLo, err := p.optInt()
		if err != nil {
			return seg, err
		}
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ':' {
			p.pos++
			p.skipSpace()
			hi, hasHi, err := p.optInt()
			if err != nil {
				return seg, err
			}
			seg = jpSeg{kind: jpSlice, lo: lo, hasLo: hasLo, hi: hi, hasHi: hasHi}
			break
		}
		if !hasLo {
			return seg, p.errorf("expected an index")
		}
		idx = append(idx, lo)
		for p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			p.skipSpace()
			n, ok, err := p.optInt()
			if err != nil {
				return seg, err
			}
			if !ok {
				return seg, p.errorf("expected an index")
			}
			idx = append(idx, n)
			p.skipSpace()
		}
		if len(idx) == 1 {
			seg.kind, seg.index = jpIndex, idx[0]
		} else {
			seg.kind, seg.indexes = jpIndexes, idx
		}
	default:
		return seg, p.errorf("unexpected %q in brackets", charAt(p.src, p.pos))
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != ']' {
		return seg, p.errorf("expected ']'")
	}
	p.pos++
	return seg, nil
}

func (p *jpParser) optInt() (int, bool, error) {
	start := p.pos
	if p.pos < len(p.src) && p.src[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		return 0, false, nil
	}
	n, err := strconv.Atoi(p.src[start:p.pos])
	if err != nil || n > 1<<30 || n < -(1<<30) {
		return 0, false, p.errorf("invalid index %q", p.src[start:p.pos])
	}
	return n, true, nil
}

func (p *jpParser) quoted() (string, error) {
	q := p.src[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), nil
		case c == '\\' && p.pos+1 < len(p.src):
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errorf("unclosed quote")
}

// Filters.

type jpFilterExpr struct {
	op    string // "&&", "||", "exists", or a comparison
	l, r  *jpFilterExpr
	path  []jpSeg // relative to @
	value any     // literal compared against
}

const maxFilterDepth = 32

func (p *jpParser) filterOr(depth int) (*jpFilterExpr, error) {
	l, err := p.filterAnd(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.src[p.pos:], "||") {
			return l, nil
		}
		p.pos += 2
		r, err := p.filterAnd(depth)
		if err != nil {
			return nil, err
		}
		l = &jpFilterExpr{op: "||", l: l, r: r}
	}
}

func (p *jpParser) filterAnd(depth int) (*jpFilterExpr, error) {
	l, err := p.filterAtom(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.src[p.pos:], "&&") {
			return l, nil
		}
		p.pos += 2
		r, err := p.filterAtom(depth)
		if err != nil {
			return nil, err
		}
		l = &jpFilterExpr{op: "&&", l: l, r: r}
	}
}

func (p *jpParser) filterAtom(depth int) (*jpFilterExpr, error) {
	if depth > maxFilterDepth {
		return nil, p.errorf("filter nested too deeply")
	}
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errorf("unclosed filter")
	}
	if p.src[p.pos] == '(' {
		p.pos++
		f, err := p.filterOr(depth + 1)
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, p.errorf("expected ')'")
		}
		p.pos++
		return f, nil
	}
	if p.src[p.pos] != '@' {
		return nil, p.errorf("a filter compares @ paths")
	}
	p.pos++
	path, err := p.segments(true)
	if err != nil {
		return nil, err
	}
	for _, s := range path {
		if s.deep || s.kind >= jpWild {
			return nil, p.errorf("a filter path must be definite")
		}
	}
	p.skipSpace()
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if strings.HasPrefix(p.src[p.pos:], op) {
			p.pos += len(op)
			p.skipSpace()
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			return &jpFilterExpr{op: op, path: path, value: v}, nil
		}
	}
	return &jpFilterExpr{op: "exists", path: path}, nil
}

func (p *jpParser) literal() (any, error) {
	if p.pos >= len(p.src) {
		return nil, p.errorf("expected a value")
	}
	switch c := p.src[p.pos]; {
	case c == '\'' || c == '"':
		return p.quoted()
	case strings.HasPrefix(p.src[p.pos:], "true"):
		p.pos += 4
		return true, nil
	case strings.HasPrefix(p.src[p.pos:], "false"):
		p.pos += 5
		return false, nil
	case strings.HasPrefix(p.src[p.pos:], "null"):
		p.pos += 4
		return nil, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
		text := p.src[start:p.pos]
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, p.errorf("invalid number %q", text)
		}
		return f, nil
	}
	return nil, p.errorf("expected a value")
}

// Evaluation.

// DefaultJSONPathWork bounds the nodes one evaluation may visit (deep scans
// and wildcards over a large document multiply).
const DefaultJSONPathWork = 1 << 20

// Eval applies the path to a decoded document, visiting at most
// DefaultJSONPathWork nodes. See EvalLimit.
func (p *JSONPath) Eval(root any) (any, bool, error) {
	return p.EvalLimit(root, DefaultJSONPathWork)
}

// EvalLimit applies the path to a decoded document. A definite path returns
// the value it selects and true, or false when nothing matches. Any other
// path returns a *List (rendering as JSON) of every match, and true. An
// evaluation that would visit more than maxWork nodes returns an error
// wrapping ErrLimit.
func (p *JSONPath) EvalLimit(root any, maxWork int) (any, bool, error) {
	v, ok, _, err := p.evalWork(root, maxWork)
	return v, ok, err
}

// evalWork is EvalLimit, and also returns the nodes the evaluation visited.
func (p *JSONPath) evalWork(root any, maxWork int) (any, bool, int, error) {
	if p.definite {
		v, ok := p.evalDefinite(root)
		return v, ok, len(p.segs), nil
	}
	work := maxWork
	nodes := []any{root}
	var next []any
	for i := range p.segs {
		s := &p.segs[i]
		next = next[:0]
		for _, n := range nodes {
			if s.deep {
				next = deepApply(s, n, next, 0, &work)
			} else {
				before := len(next)
				next = applySeg(s, n, next)
				work -= 1 + len(next) - before
				if s.kind == jpFilter {
					work -= childCount(n) // each tested
				}
			}
			if work < 0 {
				return nil, false, maxWork - work, fmt.Errorf("JSONPath %q: %w: visits more than %d nodes", p.src, ErrLimit, maxWork)
			}
		}
		nodes, next = next, nodes
	}
	return &List{Items: append([]any(nil), nodes...), json: true}, true, maxWork - work, nil
}

// childCount is the items of a list or the values of a map.
func childCount(n any) int {
	switch x := n.(type) {
	case *Map:
		return len(x.vals)
	case *List:
		return len(x.Items)
	}
	return 0
}

func (p *JSONPath) evalDefinite(root any) (any, bool) {
	cur := root
	for i := range p.segs {
		s := &p.segs[i]
		var ok bool
		switch s.kind {
		case jpName:
			m, isMap := cur.(*Map)
			if !isMap {
				return nil, false
			}
			cur, ok = m.Get(s.name)
		case jpIndex:
			l, isList := cur.(*List)
			if !isList {
				return nil, false
			}
			n := s.index
			if n < 0 {
				n += len(l.Items)
			}
			if n < 0 || n >= len(l.Items) {
				return nil, false
			}
			cur, ok = l.Items[n], true
		}
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func deepApply(s *jpSeg, n any, out []any, depth int, work *int) []any {
	if depth > maxJSONDepth || *work < 0 {
		return out
	}
	before := len(out)
	if _, isList := n.(*List); !isList || s.kind != jpFilter || s.filter.match(n) {
		// A deep filter ($..[?(@.k)]) selects each object that passes, in
		// document order, as Jayway's scan does; a list's items are tested
		// only when the list itself passes (they are visited as objects
		// below), so that an object is not selected twice.
		out = applySeg(s, n, out)
	}
	*work -= 1 + len(out) - before
	if s.kind == jpFilter {
		*work -= childCount(n)
	}
	switch x := n.(type) {
	case *Map:
		for _, v := range x.vals {
			out = deepApply(s, v, out, depth+1, work)
		}
	case *List:
		for _, v := range x.Items {
			out = deepApply(s, v, out, depth+1, work)
		}
	}
	return out
}

func applySeg(s *jpSeg, n any, out []any) []any {
	switch s.kind {
	case jpName:
		if m, ok := n.(*Map); ok {
			if v, ok := m.Get(s.name); ok {
				out = append(out, v)
			}
		}
	case jpNames:
		if m, ok := n.(*Map); ok {
			for _, name := range s.names {
				if v, ok := m.Get(name); ok {
					out = append(out, v)
				}
			}
		}
	case jpIndex, jpIndexes:
		l, ok := n.(*List)
		if !ok {
			return out
		}
		idx := s.indexes
		if s.kind == jpIndex {
			idx = []int{s.index}
		}
		for _, i := range idx {
			if i < 0 {
				i += len(l.Items)
			}
			if i >= 0 && i < len(l.Items) {
				out = append(out, l.Items[i])
			}
		}
	case jpWild:
		switch x := n.(type) {
		case *Map:
			out = append(out, x.vals...)
		case *List:
			out = append(out, x.Items...)
		}
	case jpSlice:
		l, ok := n.(*List)
		if !ok {
			return out
		}
		size := len(l.Items)
		lo, hi := 0, size
		if s.hasLo {
			lo = s.lo
		}
		if s.hasHi {
			hi = s.hi
		}
		if lo < 0 {
			lo = max(0, lo+size)
		}
		if hi < 0 {
			hi = max(0, hi+size)
		}
		lo, hi = min(lo, size), min(hi, size)
		if lo < hi {
			out = append(out, l.Items[lo:hi]...)
		}
	case jpFilter:
		switch x := n.(type) {
		case *List:
			for _, it := range x.Items {
				if s.filter.match(it) {
					out = append(out, it)
				}
			}
		case *Map:
			// As Jayway JsonPath (API Gateway's engine) applies a filter to
			// an object: the object itself is tested, and selected when it
			// passes ($.o[?(@.k)] of {"o":{"k":"v"}} is [{"k":"v"}]).
			if s.filter.match(x) {
				out = append(out, x)
			}
		}
	}
	return out
}

func (f *jpFilterExpr) match(n any) bool {
	switch f.op {
	case "&&":
		return f.l.match(n) && f.r.match(n)
	case "||":
		return f.l.match(n) || f.r.match(n)
	}
	v, ok := (&JSONPath{segs: f.path, definite: true}).evalDefinite(n)
	if f.op == "exists" {
		return ok
	}
	if !ok {
		return false
	}
	switch f.op {
	case "==":
		return valuesEqual(v, f.value) && sameKind(v, f.value)
	case "!=":
		return !valuesEqual(v, f.value) || !sameKind(v, f.value)
	}
	c, ok := compareValues(v, f.value)
	if !ok {
		return false
	}
	switch f.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

func sameKind(a, b any) bool {
	_, an, _, aNum := toNumber(a)
	_, bn, _, bNum := toNumber(b)
	_, _ = an, bn
	if aNum || bNum {
		return aNum && bNum
	}
	switch a.(type) {
	case string:
		_, ok := b.(string)
		return ok
	case bool:
		_, ok := b.(bool)
		return ok
	case nil:
		return b == nil
	}
	return true
}

// compareValues orders two numbers or two strings.
func compareValues(a, b any) (int, bool) {
	if c, ok := bigCompare(a, b); ok {
		return c, true
	}
	ai, af, aFloat, aNum := toNumber(a)
	bi, bf, bFloat, bNum := toNumber(b)
	if aNum && bNum {
		if !aFloat && !bFloat {
			switch {
			case ai < bi:
				return -1, true
			case ai > bi:
				return 1, true
			}
			return 0, true
		}
		if !aFloat {
			af = float64(ai)
		}
		if !bFloat {
			bf = float64(bi)
		}
		switch {
		case af < bf:
			return -1, true
		case af > bf:
			return 1, true
		case af == bf:
			return 0, true
		}
		return 0, false // NaN
	}
	as, aStr := a.(string)
	bs, bStr := b.(string)
	if aStr && bStr {
		return strings.Compare(as, bs), true
	}
	return 0, false
}

// slabsPool holds the slabs of SelectJSON's documents.
var slabsPool = sync.Pool{New: func() any { return new(slabs) }}

// SelectJSON evaluates p against the JSON document data and returns what it
// selects as text: a string as it is, anything else as its JSON. ok is false
// when data is not JSON, its values would take more memory than a render's
// lists and maps may hold (Limits.MaxHeldBytes's default), or p selects
// nothing (or null).
func SelectJSON(data []byte, p *JSONPath) (string, bool) {
	// The document lives only for the call: its slabs are reused.
	s := slabsPool.Get().(*slabs)
	defer func() {
		s.reset()
		slabsPool.Put(s)
	}()
	// A document that would take more memory than a render may hold
	// selects nothing.
	doc, _, err := decodeJSONBudget(data, s, DefaultLimits().MaxHeldBytes)
	if err != nil {
		return "", false
	}
	v, ok, err := p.Eval(doc)
	if err != nil || !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return strings.Clone(x), true // out of the slabs' text
	case nil, missingT:
		return "", false
	}
	b, ok := appendJSON(nil, v, 0, 2*len(data)+64)
	return string(b), ok
}
