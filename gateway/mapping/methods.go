package mapping

import (
	"encoding/base64"
	"errors"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// inputObj is $input; utilObj is $util.
type inputObj struct {
	v *Vars
	// body is $input.body once read (hasBody).
	body    string
	hasBody bool
}

type utilObj struct{}

var utilValue = &utilObj{}

// property resolves $x.name: a map's key, a bean-style getter of the
// internal objects, or isEmpty() for "empty".
func (st *state) property(cur any, name string) (any, bool) {
	switch c := cur.(type) {
	case *Map:
		return st.mapGet(c, name)
	case *foreachInfo:
		switch name {
		case "hasNext":
			return c.hasNext, true
		case "index":
			return int64(c.index), true
		case "count":
			return int64(c.count), true
		case "first":
			return c.index == 0, true
		case "last":
			return !c.hasNext, true
		case "parent":
			if c.parent != nil {
				return c.parent, true
			}
		}
	case *mapEntry:
		switch name {
		case "key":
			return c.key, true
		case "value":
			return c.val, c.val != nil
		}
	case *inputObj:
		if name == "body" {
			return st.inputBody(c, 0)
		}
	case string:
		if name == "empty" {
			return c == "", true
		}
	case *List:
		if name == "empty" {
			return len(c.Items) == 0, true
		}
	}
	return nil, false
}

func (st *state) mapGet(m *Map, k string) (any, bool) {
	v, ok := m.Get(k)
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// argString returns args[i] as a string (false when absent or null).
func (st *state) argString(args []any, i, off int) (string, bool) {
	if i >= len(args) || isNull(args[i]) {
		if i < len(args) {
			if _, ok := args[i].(missingT); ok {
				return "", true
			}
		}
		return "", false
	}
	return st.toString(args[i], off)
}

// argText returns args[i] when it is a string (a missing JSONPath is ""):
// what a Java String method taking a String or CharSequence accepts. A
// number, a boolean, a list or a map is no string, and Velocity 1.7 then
// finds no method (the reference renders as written).
func argText(args []any, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	switch x := args[i].(type) {
	case string:
		return x, true
	case missingT:
		return "", true
	}
	return "", false
}

// argChar returns args[i] as String.indexOf(int ch) reads it: the text of
// character code ch, or "" (found nowhere) for a code that is no character
// of a valid string (negative, a lone surrogate, past U+10FFFF). ok is false
// when args[i] is not an integer.
func argChar(args []any, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	ch, ok := args[i].(int64)
	if !ok {
		return "", false
	}
	if ch < 0 || ch > unicode.MaxRune || ch >= 0xD800 && ch <= 0xDFFF {
		return "", true
	}
	return string(rune(ch)), true
}

func argInt(args []any, i int) (int, bool) {
	if i >= len(args) {
		return 0, false
	}
	switch x := args[i].(type) {
	case int64:
		if x > 1<<31 || x < -(1<<31) {
			return 0, false
		}
		return int(x), true
	case float64:
		return int(x), x == float64(int(x))
	}
	return 0, false
}

func (st *state) checkLen(s string, off int) bool { return st.checkLenOf(len(s), off) }

// checkLenOf is checkLen for a string of n bytes, before it is built.
func (st *state) checkLenOf(n, off int) bool {
	if n > st.lim.MaxOutputBytes {
		st.fail(off, ErrLimit, "string longer than %d bytes", st.lim.MaxOutputBytes)
		return false
	}
	return true
}

// call invokes a Java-style method. ok is false for a method the value does
// not have (the reference is then undefined).
func (st *state) call(cur any, part *refPart, args []any, off int) (any, bool) {
	name := part.name
	switch c := cur.(type) {
	case string:
		return st.stringMethod(c, part, args, off)
	case *List:
		return st.listMethod(c, name, args, off)
	case *Map:
		return st.mapMethod(c, name, args, off)
	case *inputObj:
		return st.inputMethod(c, part, args, off)
	case *utilObj:
		return st.utilMethod(name, args, off)
	case *mapEntry:
		switch name {
		case "getKey":
			return c.key, true
		case "getValue":
			return c.val, c.val != nil
		case "toString":
			return st.toString(c, off)
		}
	case *foreachInfo:
		switch name {
		case "hasNext", "getHasNext", "isHasNext":
			return c.hasNext, true
		case "getIndex":
			return int64(c.index), true
		case "getCount":
			return int64(c.count), true
		case "isFirst", "getFirst":
			return c.index == 0, true
		case "isLast", "getLast":
			return !c.hasNext, true
		}
	case int64, float64, bool, bigNumber:
		switch name {
		case "toString":
			return plainString(c), true
		case "intValue", "longValue":
			i, f, isFloat, ok := toNumber(c)
			if !ok {
				return nil, false
			}
			if isFloat {
				return int64(f), true
			}
			return i, true
		case "doubleValue", "floatValue":
			i, f, isFloat, ok := toNumber(c)
			if !ok {
				return nil, false
			}
			if !isFloat {
				f = float64(i)
			}
			return f, true
		case "equals":
			if len(args) == 1 {
				return valuesEqual(c, args[0]) && sameKind(c, args[0]), true
			}
		case "booleanValue":
			b, ok := c.(bool)
			return b, ok
		case "compareTo":
			// Java's Integer/Long/Double.compareTo (-1, 0 or 1), of a
			// number (Java also refuses a number of another class).
			if len(args) != 1 || !sameKind(c, args[0]) {
				return nil, false
			}
			if _, isBool := c.(bool); isBool {
				return nil, false
			}
			if n, ok := compareValues(c, args[0]); ok {
				return int64(max(-1, min(n, 1))), true
			}
		}
	case missingT:
		// A missing JSONPath behaves as an empty string for methods.
		return st.stringMethod("", part, args, off)
	}
	return nil, false
}

// Strings. Indexes count UTF-16 code units, as Java's do.

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func javaLen(s string) int {
	if isASCII(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// javaSub returns s[from:to] in UTF-16 units.
func javaSub(s string, from, to int) string {
	if isASCII(s) {
		return s[from:to]
	}
	u := utf16.Encode([]rune(s))
	return string(utf16.Decode(u[from:to]))
}

// javaIndex converts a byte offset in s to UTF-16 units.
func javaIndex(s string, byteOff int) int {
	if byteOff < 0 {
		return -1
	}
	return javaLen(s[:byteOff])
}

// byteOffset converts a UTF-16 offset to a byte offset in s.
func byteOffset(s string, units int) int {
	if isASCII(s) {
		return min(max(units, 0), len(s))
	}
	n := 0
	for i, r := range s {
		if n >= units {
			return i
		}
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return len(s)
}

func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

func (st *state) stringMethod(s string, part *refPart, args []any, off int) (any, bool) {
	name := part.name
	switch name {
	case "length":
		return int64(javaLen(s)), true
	case "isEmpty":
		return s == "", true
	case "toString", "intern":
		return s, true
	case "toLowerCase":
		return strings.ToLower(s), true
	case "toUpperCase":
		return strings.ToUpper(s), true
	case "trim", "strip":
		return javaTrim(s), true
	case "equals", "contentEquals":
		if len(args) != 1 {
			return nil, false
		}
		o, ok := args[0].(string)
		return ok && o == s, true
	case "equalsIgnoreCase":
		if len(args) == 1 && args[0] == nil {
			return false, true // a String parameter takes null
		}
		o, ok := argText(args, 0)
		if !ok {
			return nil, false
		}
		return strings.EqualFold(o, s), true
	case "contains":
		o, ok := argText(args, 0)
		if !ok {
			return nil, false
		}
		return strings.Contains(s, o), true
	case "startsWith":
		o, ok := argText(args, 0)
		if !ok {
			return nil, false
		}
		if n, ok := argInt(args, 1); ok {
			b := byteOffset(s, n)
			return strings.HasPrefix(s[b:], o), true
		}
		return strings.HasPrefix(s, o), true
	case "endsWith":
		o, ok := argText(args, 0)
		if !ok {
			return nil, false
		}
		return strings.HasSuffix(s, o), true
	case "indexOf", "lastIndexOf":
		// indexOf(String) or, of an integer, indexOf(int ch): the
		// character of that code.
		o, ok := argText(args, 0)
		if !ok {
			if o, ok = argChar(args, 0); !ok {
				return nil, false
			}
			if o == "" {
				return int64(-1), true
			}
		}
		if name == "indexOf" {
			from := 0
			if n, ok := argInt(args, 1); ok {
				from = byteOffset(s, n)
			}
			i := strings.Index(s[from:], o)
			if i < 0 {
				return int64(-1), true
			}
			return int64(javaIndex(s, from+i)), true
		}
		return int64(javaIndex(s, strings.LastIndex(s, o))), true
	case "charAt":
		n, ok := argInt(args, 0)
		if !ok {
			return nil, false
		}
		if n < 0 || n >= javaLen(s) {
			st.fail(off, ErrEval, "charAt(%d) out of range for a string of length %d", n, javaLen(s))
			return nil, false
		}
		return javaSub(s, n, n+1), true
	case "substring", "subSequence":
		from, ok := argInt(args, 0)
		if !ok {
			return nil, false
		}
		l := javaLen(s)
		to := l
		if len(args) > 1 {
			if to, ok = argInt(args, 1); !ok {
				return nil, false
			}
		}
		if from < 0 || to > l || from > to {
			st.fail(off, ErrEval, "substring(%d, %d) out of range for a string of length %d", from, to, l)
			return nil, false
		}
		return javaSub(s, from, to), true
	case "concat":
		o, ok := argText(args, 0)
		if !ok {
			return nil, false
		}
		if len(s)+len(o) > st.lim.MaxOutputBytes {
			st.fail(off, ErrLimit, "string longer than %d bytes", st.lim.MaxOutputBytes)
			return nil, false
		}
		return s + o, true
	case "replace":
		a, ok1 := argText(args, 0)
		b, ok2 := argText(args, 1)
		if !ok1 || !ok2 {
			return nil, false
		}
		if a == "" {
			// Java inserts the replacement between every character.
			if int64(len(s)+1)*int64(len(b))+int64(len(s)) > int64(st.lim.MaxOutputBytes) {
				st.fail(off, ErrLimit, "string longer than %d bytes", st.lim.MaxOutputBytes)
				return nil, false
			}
		} else if n := strings.Count(s, a); len(b) > len(a) && int64(n)*int64(len(b)-len(a))+int64(len(s)) > int64(st.lim.MaxOutputBytes) {
			st.fail(off, ErrLimit, "string longer than %d bytes", st.lim.MaxOutputBytes)
			return nil, false
		}
		r := strings.ReplaceAll(s, a, b)
		if !st.chargeBytes(off, len(r)) {
			return nil, false
		}
		return r, true
	case "replaceAll", "replaceFirst":
		rc, ok := st.regexpArg(part, args, s, off)
		if !ok {
			return nil, false
		}
		re := rc.re
		repl, ok := argText(args, 1)
		if !ok {
			return nil, false
		}
		tmpl := javaReplacement(repl)
		if name == "replaceFirst" {
			loc := re.FindStringSubmatchIndex(s)
			if loc == nil {
				return s, true
			}
			var b []byte
			b = append(b, s[:loc[0]]...)
			b = re.ExpandString(b, tmpl, s, loc)
			b = append(b, s[loc[1]:]...)
			return string(b), true
		}
		// Find no more matches than the budget pays for, and charge them.
		matches := re.FindAllStringSubmatchIndex(s, st.matchesLeft())
		if !st.charge(off, len(matches)*stepsPerMatch) {
			return nil, false
		}
		var b []byte
		last := 0
		for _, loc := range matches {
			b = append(b, s[last:loc[0]]...)
			b = re.ExpandString(b, tmpl, s, loc)
			last = loc[1]
			if len(b) > st.lim.MaxOutputBytes {
				st.fail(off, ErrLimit, "string longer than %d bytes", st.lim.MaxOutputBytes)
				return nil, false
			}
		}
		b = append(b, s[last:]...)
		return string(b), true
	case "matches":
		rc, ok := st.regexpArg(part, args, s, off)
		if !ok {
			return nil, false
		}
		return rc.full.MatchString(s), true
	case "split":
		rc, ok := st.regexpArg(part, args, s, off)
		if !ok {
			return nil, false
		}
		limit := 0
		if n, ok := argInt(args, 1); ok {
			limit = n
		}
		// Split into no more pieces than the budget pays for.
		l, whole := javaSplit(s, rc.re, limit, st.matchesLeft())
		if !whole {
			st.charge(off, st.stepsLeft()+1) // fails the render
			return nil, false
		}
		if !st.charge(off, len(l.Items)*stepsPerMatch) || !st.hold(off, len(l.Items), 0) {
			return nil, false
		}
		return l, true
	case "hashCode":
		var h int32
		for _, u := range utf16.Encode([]rune(s)) {
			h = 31*h + int32(u)
		}
		return int64(h), true
	}
	return nil, false
}

// javaSplit is String.split: trailing empty strings are dropped when limit
// is 0, and a match at the very start yields no leading empty string when it
// is empty. It splits into at most maxPieces pieces (a limit of its own),
// and reports false when there would be more.
func javaSplit(s string, re *regexp.Regexp, limit, maxPieces int) (*List, bool) {
	n := -1
	if limit > 0 {
		n = limit
	}
	capped := false
	if n < 0 || n > maxPieces {
		n, capped = maxPieces+1, true
	}
	var parts []string
	if s == "" {
		parts = []string{""}
	} else {
		parts = re.Split(s, n)
		// Go splits "" matches around every character ("abc" by "" gives
		// a, b, c) as Java 8 does.
	}
	if capped && len(parts) > maxPieces {
		return nil, false
	}
	if limit == 0 {
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) == 1 && parts[0] == "" && s != "" {
			parts = nil
		}
	}
	l := &List{Items: make([]any, len(parts))}
	for i, p := range parts {
		l.Items[i] = p
	}
	return l, true
}

// javaReplacement turns a Java replacement string ($1, \$) into Go's
// Expand template (${1}, $$).
func javaReplacement(r string) string {
	if !strings.ContainsAny(r, `$\`) {
		return r
	}
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '\\' && i+1 < len(r):
			i++
			if r[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(r[i])
			}
		case c == '$':
			j := i + 1
			for j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("${" + r[i+1:j] + "}")
				i = j - 1
			} else if j < len(r) && r[j] == '{' {
				end := strings.IndexByte(r[j:], '}')
				if end < 0 {
					b.WriteString("$$")
					continue
				}
				b.WriteString("${" + r[j+1:j+end] + "}")
				i = j + end
			} else {
				b.WriteString("$$")
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// regexpCache holds a pattern compiled at parse time.
type regexpCache struct {
	re  *regexp.Regexp
	err error
	// full is re anchored at both ends, for matches.
	full *regexp.Regexp
	// cost is the steps matching re charges per byte of input: Go's
	// matcher is linear in the input, by a factor that grows with the
	// pattern's program.
	cost int
}

func newRegexpCache(pattern string) *regexpCache {
	re, err := compileJava(pattern)
	if err != nil {
		return &regexpCache{err: err}
	}
	full, err := compileJava("^(?:" + pattern + ")$")
	if err != nil {
		return &regexpCache{err: err}
	}
	return &regexpCache{re: re, full: full, cost: regexpCost(pattern)}
}

// instsPerStep is the size of a regular expression's program that costs a
// step per byte of input.
const instsPerStep = 32

// regexpCost is the steps per input byte matching pattern charges: one,
// and one more for every instsPerStep instructions of its program.
func regexpCost(pattern string) int {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 1
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 1
	}
	return 1 + len(prog.Inst)/instsPerStep
}

// runtimeRegexps caches patterns that were not literals in the template.
var runtimeRegexps sync.Map // string -> *regexpCache

var runtimeRegexpCount int64

var runtimeRegexpMu sync.Mutex

const maxRuntimeRegexps = 256

const maxRegexpLen = 4096

func compileJava(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > maxRegexpLen {
		return nil, strconv.ErrRange
	}
	return regexp.Compile(pattern)
}

// regexpArg returns the pattern of a regular-expression method (args[0]),
// compiled, and charges matching it against s for the bytes of s.
func (st *state) regexpArg(part *refPart, args []any, s string, off int) (*regexpCache, bool) {
	rc, ok := st.regexpOf(part, args, off)
	if !ok || !st.charge(off, len(s)*rc.cost) {
		return nil, false
	}
	return rc, true
}

func (st *state) regexpOf(part *refPart, args []any, off int) (*regexpCache, bool) {
	if part.re != nil {
		if part.re.err != nil {
			st.fail(off, ErrEval, "invalid regular expression: %v", part.re.err)
			return nil, false
		}
		return part.re, true
	}
	pattern, ok := argText(args, 0)
	if !ok {
		return nil, false
	}
	if c, ok := runtimeRegexps.Load(pattern); ok {
		rc := c.(*regexpCache)
		if rc.err != nil {
			st.fail(off, ErrEval, "invalid regular expression: %v", rc.err)
			return nil, false
		}
		return rc, true
	}
	// The cache outlives the render: its key and the compiled expression
	// must not share the bytes of the render's text (slabs).
	pattern = strings.Clone(pattern)
	rc := newRegexpCache(pattern)
	runtimeRegexpMu.Lock()
	if runtimeRegexpCount < maxRuntimeRegexps {
		runtimeRegexpCount++
		runtimeRegexps.Store(pattern, rc)
	}
	runtimeRegexpMu.Unlock()
	if rc.err != nil {
		st.fail(off, ErrEval, "invalid regular expression: %v", rc.err)
		return nil, false
	}
	return rc, true
}

// Lists.

func (st *state) listMethod(l *List, name string, args []any, off int) (any, bool) {
	switch name {
	case "size":
		return int64(len(l.Items)), true
	case "isEmpty":
		return len(l.Items) == 0, true
	case "get":
		i, ok := argInt(args, 0)
		if !ok {
			return nil, false
		}
		if i < 0 || i >= len(l.Items) {
			st.fail(off, ErrEval, "get(%d) out of range for a list of %d", i, len(l.Items))
			return nil, false
		}
		return l.Items[i], l.Items[i] != nil
	case "contains":
		if len(args) != 1 {
			return nil, false
		}
		for _, it := range l.Items {
			if valuesEqual(it, args[0]) && sameKind(it, args[0]) {
				return true, true
			}
		}
		return false, true
	case "indexOf":
		if len(args) != 1 {
			return nil, false
		}
		for i, it := range l.Items {
			if valuesEqual(it, args[0]) && sameKind(it, args[0]) {
				return int64(i), true
			}
		}
		return int64(-1), true
	case "lastIndexOf":
		if len(args) != 1 {
			return nil, false
		}
		for i := len(l.Items) - 1; i >= 0; i-- {
			if valuesEqual(l.Items[i], args[0]) && sameKind(l.Items[i], args[0]) {
				return int64(i), true
			}
		}
		return int64(-1), true
	case "add":
		if !st.step(off) || !st.hold(off, 1, 0) {
			return nil, false
		}
		switch len(args) {
		case 1:
			l.Items = append(l.Items, st.keep(args[0]))
			return true, true
		case 2:
			i, ok := argInt(args, 0)
			if !ok || i < 0 || i > len(l.Items) {
				st.fail(off, ErrEval, "add at an index out of range")
				return nil, false
			}
			l.Items = append(l.Items, nil)
			copy(l.Items[i+1:], l.Items[i:])
			l.Items[i] = st.keep(args[1])
			return nil, false // void
		}
	case "addAll":
		st.escaped = true // args may be stored where they outlive the render
		if len(args) == 1 {
			if o, ok := args[0].(*List); ok {
				if !st.step(off) || len(l.Items)+len(o.Items) > st.lim.MaxSteps {
					st.fail(off, ErrLimit, "list too large")
					return nil, false
				}
				if !st.hold(off, len(o.Items), 0) {
					return nil, false
				}
				st.steps += len(o.Items)
				l.Items = append(l.Items, o.Items...)
				return len(o.Items) > 0, true
			}
		}
	case "set":
		i, ok := argInt(args, 0)
		if !ok || len(args) != 2 {
			return nil, false
		}
		if i < 0 || i >= len(l.Items) {
			st.fail(off, ErrEval, "set(%d) out of range for a list of %d", i, len(l.Items))
			return nil, false
		}
		prev := l.Items[i]
		l.Items[i] = st.keep(args[1])
		return prev, prev != nil
	case "remove":
		if len(args) != 1 {
			return nil, false
		}
		if i, ok := argInt(args, 0); ok {
			if i < 0 || i >= len(l.Items) {
				st.fail(off, ErrEval, "remove(%d) out of range for a list of %d", i, len(l.Items))
				return nil, false
			}
			prev := l.Items[i]
			l.Items = append(l.Items[:i], l.Items[i+1:]...)
			return prev, prev != nil
		}
		for i, it := range l.Items {
			if valuesEqual(it, args[0]) && sameKind(it, args[0]) {
				l.Items = append(l.Items[:i], l.Items[i+1:]...)
				return true, true
			}
		}
		return false, true
	case "subList":
		from, ok1 := argInt(args, 0)
		to, ok2 := argInt(args, 1)
		if !ok1 || !ok2 {
			return nil, false
		}
		if from < 0 || to > len(l.Items) || from > to {
			st.fail(off, ErrEval, "subList(%d, %d) out of range for a list of %d", from, to, len(l.Items))
			return nil, false
		}
		return &List{Items: append([]any(nil), l.Items[from:to]...), json: l.json}, true
	case "toString":
		return st.toString(l, off)
	}
	return nil, false
}

// Maps.

func (st *state) mapMethod(m *Map, name string, args []any, off int) (any, bool) {
	switch name {
	case "get":
		k, ok := st.argString(args, 0, off)
		if !ok {
			return nil, false
		}
		return st.mapGet(m, k)
	case "containsKey":
		k, ok := st.argString(args, 0, off)
		if !ok {
			return false, true
		}
		_, has := m.Get(k)
		return has, true
	case "containsValue":
		if len(args) != 1 {
			return nil, false
		}
		for _, v := range m.vals {
			if valuesEqual(v, args[0]) && sameKind(v, args[0]) {
				return true, true
			}
		}
		return false, true
	case "size":
		return int64(m.visibleLen()), true
	case "isEmpty":
		return m.visibleLen() == 0, true
	case "keySet":
		l := st.newList(m.visibleLen())
		j := 0
		for i, k := range m.keys {
			if m.hidden(k) {
				continue
			}
			// A map's keys are never written in place (Set appends,
			// Delete copies), so the list's strings can be the keys.
			l.Items[j] = boxString(&m.keys[i])
			j++
		}
		return l, true
	case "values":
		l := &List{Items: make([]any, 0, len(m.vals))}
		for i, v := range m.vals {
			if m.hidden(m.keys[i]) {
				continue
			}
			l.Items = append(l.Items, v)
		}
		return l, true
	case "entrySet":
		l := &List{Items: make([]any, 0, len(m.keys))}
		for i, k := range m.keys {
			if m.hidden(k) {
				continue
			}
			l.Items = append(l.Items, &mapEntry{key: k, val: m.vals[i]})
		}
		return l, true
	case "put":
		if len(args) != 2 {
			return nil, false
		}
		k, ok := st.argString(args, 0, off)
		if !ok || !st.step(off) || !st.hold(off, 2, len(k)) {
			return nil, false
		}
		prev, _ := m.Get(k)
		if _, target := st.overrideContainer(m, k); target != nil {
			prev = &Map{keys: slices.Clone(target.keys), vals: slices.Clone(target.vals)}
		}
		if st.assignOverrides(m, k, args[1], off) {
			return prev, prev != nil
		}
		if !st.overrideOnce(m, k, args[1], off) { // an override is final, whichever way it is set
			return prev, prev != nil
		}
		st.dropHeaderVariants(m, k)
		st.setKept(m, k, st.keep(args[1]))
		return prev, prev != nil
	case "putAll":
		st.escaped = true // args may be stored where they outlive the render
		if len(args) == 1 {
			if o, ok := args[0].(*Map); ok {
				if !st.hold(off, 2*len(o.keys), 0) {
					return nil, false
				}
				for i, k := range o.keys {
					if st.assignOverrides(m, k, o.vals[i], off) {
						if st.err != nil {
							return nil, false
						}
						continue
					}
					if !st.overrideOnce(m, k, o.vals[i], off) {
						continue
					}
					st.dropHeaderVariants(m, k)
					m.Set(k, o.vals[i])
				}
				return nil, false // void
			}
		}
	case "remove":
		k, ok := st.argString(args, 0, off)
		if !ok {
			return nil, false
		}
		if _, target := st.overrideContainer(m, k); target != nil {
			// The map stays, emptied: overrides set after it apply.
			return st.takeOverrides(target), true
		}
		prev, _ := m.Delete(k)
		return prev, prev != nil
	case "toString":
		return st.toString(m, off)
	}
	return nil, false
}

// hidden reports keys $context.keySet() leaves out, as API Gateway does.
func (m *Map) hidden(k string) bool {
	return m.kind == contextRoot && (k == "authorizer" || k == "isCanaryRequest")
}

func (m *Map) visibleLen() int {
	if m.kind != contextRoot {
		return len(m.keys)
	}
	n := 0
	for _, k := range m.keys {
		if !m.hidden(k) {
			n++
		}
	}
	return n
}

// $input.

func (st *state) inputMethod(in *inputObj, part *refPart, args []any, off int) (any, bool) {
	v := in.v
	switch part.name {
	case "json", "path":
		jp := part.jp
		if jp == nil {
			src := "$"
			if len(args) > 0 {
				s, ok := st.argString(args, 0, off)
				if !ok {
					return nil, false
				}
				src = s
			}
			var err error
			if jp, err = st.jsonPath(src); err != nil {
				st.fail(off, ErrEval, "$input.%s: %v", part.name, err)
				return nil, false
			}
		}
		doc, err := st.document(v)
		if st.err != nil {
			return nil, false
		}
		if err != nil && part.name == "path" && len(jp.segs) == 0 && !validJSON(v.jsonBody()) {
			// $input.path('$') of a body that is not JSON is the body
			// itself, as in API Gateway: the templates that turn a form
			// post into JSON split it ($input.path('$').split('&')). A
			// JSON body too deep to decode (maxJSONDepth) stays an error
			// however deep it is: validJSON has no bound of its own
			// (encoding/json's Valid stops at 10,000 levels).
			return v.bodyString(), true
		}
		if err != nil {
			st.fail(off, ErrBodyNotJSON, "$input.%s(%q): %s", part.name, jp.String(), bodyJSONError(err, v.jsonBody()))
			return nil, false
		}
		res, ok, evalOK := st.evalPath(jp, doc, part.name, off)
		if !evalOK {
			return nil, false
		}
		if part.name == "path" {
			if !ok || res == nil {
				// A missing path and a JSON null read the same.
				return missing, true
			}
			return res, true
		}
		if !ok {
			// API Gateway's $input.json of a path that selects
			// nothing is the JSON text of an empty string.
			return missingJSON, true
		}
		st.scratch = st.scratch[:0]
		var fits bool
		if st.scratch, fits = appendJSON(st.scratch, res, 0, st.lim.MaxOutputBytes); !fits {
			st.fail(off, ErrLimit, "$input.json result larger than %d bytes", st.lim.MaxOutputBytes)
			return nil, false
		}
		if !st.chargeBytes(off, len(st.scratch)) {
			return nil, false
		}
		// The JSON text of a path that is not definite ($..*, [*]) is built
		// from the list of its matches, which the render holds
		// (evalPath), and is as large as they are: the render holds it too.
		// A definite path's text is the size of a part of the body.
		if !jp.definite && !st.hold(off, 0, len(st.scratch)) {
			return nil, false
		}
		return string(st.scratch), true
	case "params":
		if len(args) == 0 {
			if v != st.v {
				// An $input kept from another render.
				return st.slabs.paramsMap(v), true
			}
			if st.params == nil {
				st.params = st.slabs.paramsMap(v)
			}
			return st.params, true
		}
		name, ok := st.argString(args, 0, off)
		if !ok {
			return nil, false
		}
		return st.boxString(v.param(name)), true
	case "getBody":
		return st.inputBody(in, off)
	}
	return nil, false
}

// missingJSON is what $input.json renders for a path that selects nothing:
// `""`, as API Gateway renders it (a live capture: {"val": $input.json('$.pets')}
// of a body without pets gives {"val": ""}).
const missingJSON = `""`

// $util.

func (st *state) utilMethod(name string, args []any, off int) (any, bool) {
	if len(args) != 1 {
		return nil, false
	}
	if name == "parseJson" {
		s, ok := st.argString(args, 0, off)
		// Decoding builds a value every few bytes: a step per
		// bytesPerValue bytes (the call charged for reading them).
		if !ok || !st.charge(off, len(s)/bytesPerValue) {
			return nil, false
		}
		v, err := st.decodeHeld([]byte(s), &st.slabs)
		if errors.Is(err, errDocumentSize) {
			st.fail(off, ErrLimit, "$util.parseJson: lists and maps holding more than %d bytes: %v", st.lim.MaxHeldBytes, err)
			return nil, false
		}
		if err != nil {
			st.fail(off, ErrEval, "$util.parseJson: %v", err)
			return nil, false
		}
		if v == nil {
			return nil, false
		}
		return v, true
	}
	s, ok := st.argString(args, 0, off)
	if !ok {
		return nil, false
	}
	var out string
	switch name {
	case "escapeJavaScript":
		if !st.checkLenOf(escapeJavaScriptLen(s), off) {
			return nil, false
		}
		out = escapeJavaScript(s)
	case "urlEncode":
		if !st.checkLenOf(urlEncodeLen(s), off) {
			return nil, false
		}
		out = urlEncode(s)
	case "urlDecode":
		d, err := urlDecode(s)
		if err != nil {
			st.fail(off, ErrEval, "$util.urlDecode: %v", err)
			return nil, false
		}
		out = d
	case "base64Encode":
		if !st.checkLenOf(base64.StdEncoding.EncodedLen(len(s)), off) {
			return nil, false
		}
		out = base64.StdEncoding.EncodeToString([]byte(s))
	case "base64Decode":
		d, err := base64Decode(s)
		if err != nil {
			st.fail(off, ErrEval, "$util.base64Decode: %v", err)
			return nil, false
		}
		out = d
	default:
		return nil, false
	}
	if !st.checkLen(out, off) {
		return nil, false
	}
	return out, true
}

// escapeJavaScript is Apache Commons Lang 2's StringEscapeUtils
// .escapeJavaScript, which API Gateway uses: quotes, backslash and / are
// escaped with a backslash, control characters as \b \f \n \r \t or \u00XX,
// and every character above 0x7f as \uXXXX (UTF-16, upper-case hex).
func escapeJavaScript(s string) string {
	if !needsJSEscape(s) {
		return s
	}
	return string(appendEscapeJavaScript(make([]byte, 0, len(s)+len(s)/4+8), s))
}

func needsJSEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '\'' || c == '"' || c == '\\' || c == '/' {
			return true
		}
	}
	return false
}

// jsPlain are the bytes escapeJavaScript copies as they are.
var jsPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '\'' && c != '"' && c != '\\' && c != '/'
	}
	return t
}()

func appendEscapeJavaScript(b []byte, s string) []byte {
	const hexUpper = "0123456789ABCDEF"
	u4 := func(b []byte, u uint16) []byte {
		return append(b, '\\', 'u', hexUpper[u>>12], hexUpper[u>>8&0xf], hexUpper[u>>4&0xf], hexUpper[u&0xf])
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsPlain[c] {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		start = i
		switch {
		case r == '\'' || r == '"' || r == '\\' || r == '/':
			b = append(b, '\\', byte(r))
		case r == '\b':
			b = append(b, '\\', 'b')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\f':
			b = append(b, '\\', 'f')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexUpper[r>>4], hexUpper[r&0xf])
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			b = u4(b, uint16(r1))
			b = u4(b, uint16(r2))
		default:
			b = u4(b, uint16(r))
		}
	}
	return append(b, s[start:]...)
}

// escapeJavaScriptLen is len(escapeJavaScript(s)), counted without building
// it (up to six times s).
func escapeJavaScriptLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); {
		c := s[i]
		if jsPlain[c] {
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		i += size
		n -= size
		switch {
		case r == '\'' || r == '"' || r == '\\' || r == '/' || r == '\b' || r == '\n' || r == '\t' || r == '\f' || r == '\r':
			n += 2
		case r > 0xFFFF:
			n += 12
		default:
			n += 6
		}
	}
	return n
}

// urlEncodeLen is len(urlEncode(s)), counted without building it (up to
// three times s).
func urlEncodeLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		plain := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '*' || c == '_' || c == ' '
		if !plain {
			n += 2
		}
	}
	return n
}

// urlEncode is java.net.URLEncoder.encode(s, "UTF-8"): letters, digits and
// . - * _ stay, a space becomes +, every other byte %XX.
func urlEncode(s string) string {
	const hexUpper = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '*' || c == '_':
			if b != nil {
				b = append(b, c)
			}
		default:
			if b == nil {
				b = make([]byte, 0, len(s)*3)
				b = append(b, s[:i]...)
			}
			if c == ' ' {
				b = append(b, '+')
			} else {
				b = append(b, '%', hexUpper[c>>4], hexUpper[c&0xf])
			}
		}
	}
	if b == nil {
		return s
	}
	return string(b)
}

// base64Decode is new String(Base64.getDecoder().decode(s), UTF_8), as
// $util.base64Decode is in Java: padding may be left out ("aGk" is "hi"), and
// bytes that are not UTF-8 become U+FFFD (as urlDecode makes them).
func base64Decode(s string) (string, error) {
	enc := base64.StdEncoding
	if len(s)%4 != 0 && !strings.HasSuffix(s, "=") {
		enc = base64.RawStdEncoding
	}
	d, err := enc.DecodeString(s)
	if err != nil {
		return "", err
	}
	return strings.ToValidUTF8(string(d), "\uFFFD"), nil
}

// urlDecode is java.net.URLDecoder.decode(s, "UTF-8"): + is a space and %XX
// a byte; a malformed escape is an error.
func urlDecode(s string) (string, error) {
	if !strings.ContainsAny(s, "+%") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) {
				return "", errIncompleteEscape
			}
			h, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", errIncompleteEscape
			}
			b = append(b, byte(h))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), nil
}

type decodeError string

func (e decodeError) Error() string { return string(e) }

const errIncompleteEscape = decodeError("incomplete or illegal % escape")
