package mapping

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Values a template works with are plain Go values: nil, string, int64,
// float64, bool, *List, *Map, and a few internal kinds (the $input, $util and
// $foreach objects, map entries, #define blocks and the "missing" result of a
// JSONPath that matched nothing).

// List is a mutable list value. Lists built from JSON ($input.path,
// $util.parseJson) render as JSON; lists built in a template ([1, 2], ranges,
// split) render Java-style ([1, 2]).
type List struct {
	Items []any
	json  bool
}

// Map is a mutable map with string keys that keeps insertion order, like the
// Java LinkedHashMap that API Gateway's JSON objects are. It renders
// Java-style ({a=1, b=2}). It is not safe for concurrent use.
type Map struct {
	keys  []string
	vals  []any
	index map[string]int // built once the map grows past a few keys
	kind  mapKind
	// unsetEmpty makes a reference to a key the map lacks (and to anything
	// under it) render as "" rather than as its own text: see UnsetAsEmpty.
	unsetEmpty bool
}

// UnsetAsEmpty makes references to keys m lacks, and to their properties,
// evaluate to "" instead of failing (which renders the reference's own text):
// $context.identity and $context.authorizer, whose documented fields API
// Gateway renders as "" when a request has no value for them
// ($context.identity.clientCert.subjectDN without mutual TLS,
// $context.authorizer.claims.sub without a JWT authorizer).
func (m *Map) UnsetAsEmpty() { m.unsetEmpty = true }

type mapKind uint8

const (
	plainMap    mapKind = iota
	contextRoot         // $context: keySet() hides authorizer and isCanaryRequest
	contextPart         // an object inside $context: renders as ""
)

const indexAfter = 8

// contextIndexAfter is the size past which $context's maps (which NewContext
// builds with fewer keys, unindexed) are indexed as plain maps are.
const contextIndexAfter = 64

// NewMap returns an empty map.
func NewMap() *Map { return &Map{} }

// NewMapSize returns an empty map with room for n keys.
func NewMapSize(n int) *Map {
	return &Map{keys: make([]string, 0, n), vals: make([]any, 0, n)}
}

// newMapFrom builds a map of copies of keys and vals; a later duplicate key
// replaces the value of the first, as in a JSON object read by Java.
func newMapFrom(keys []string, vals []any) *Map {
	n := len(keys)
	dup := false
	if n <= indexAfter {
		for i := 1; i < n && !dup; i++ {
			for j := 0; j < i; j++ {
				if keys[i] == keys[j] {
					dup = true
					break
				}
			}
		}
	} else {
		seen := make(map[string]int, n)
		for i, k := range keys {
			if _, ok := seen[k]; ok {
				dup = true
				break
			}
			seen[k] = i
		}
		if !dup {
			m := &Map{keys: append([]string(nil), keys...), vals: append([]any(nil), vals...), index: seen}
			return m
		}
	}
	if dup {
		m := &Map{}
		for i, k := range keys {
			m.Set(k, vals[i])
		}
		return m
	}
	return &Map{keys: append([]string(nil), keys...), vals: append([]any(nil), vals...)}
}

// Len returns the number of keys.
func (m *Map) Len() int { return len(m.keys) }

// Keys returns the keys in insertion order. The slice must not be modified.
func (m *Map) Keys() []string { return m.keys }

func (m *Map) find(k string) int {
	if m.index != nil {
		if i, ok := m.index[k]; ok {
			return i
		}
		return -1
	}
	for i, key := range m.keys {
		if key == k {
			return i
		}
	}
	return -1
}

// Get returns the value stored under k.
func (m *Map) Get(k string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if i := m.find(k); i >= 0 {
		return m.vals[i], true
	}
	return nil, false
}

// Set stores v under k, keeping the position of an existing key. Go values
// of other types are converted: integers to int64, float32 to float64,
// []string and []any to *List, map[string]string and map[string]any to *Map
// (keys sorted); other types render with fmt's %v.
func (m *Map) Set(k string, v any) { m.setValue(k, normalize(v, 0)) }

// setValue stores v, a template value, under k.
func (m *Map) setValue(k string, v any) {
	if i := m.find(k); i >= 0 {
		m.vals[i] = v
		return
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
	if m.index != nil {
		m.index[k] = len(m.keys) - 1
	} else if len(m.keys) > indexAfter && m.kind == plainMap || len(m.keys) > contextIndexAfter {
		// $context's maps, built per request, are searched key by key
		// until a template's writes make them large: each write of a new
		// key searched them all, so n writes cost n² (one step each).
		m.index = make(map[string]int, len(m.keys)*2)
		for i, key := range m.keys {
			m.index[key] = i
		}
	}
}

// SetStrings stores string values, as Set does for each pair: kv holds
// keys and values in turn ("apiId", id, "stage", stage). It costs one
// allocation where Set costs one per value. An odd last key is ignored.
func (m *Map) SetStrings(kv ...string) {
	n := len(kv) / 2
	strs := make([]string, n)
	m.grow(n)
	for i := range n {
		strs[i] = kv[2*i+1]
		m.setValue(kv[2*i], boxString(&strs[i]))
	}
}

// SetStringMap stores under k a new map of string values, keys and values
// in turn in kv, as SetPath does for each pair of a key not yet set, in
// three allocations.
func (m *Map) SetStringMap(k string, kv ...string) {
	n := len(kv) / 2
	strs := make([]string, 2*n) // the keys, then the values
	vals := make([]any, n)
	nm := &Map{keys: strs[:n:n], vals: vals}
	if m.kind != plainMap {
		nm.kind = contextPart
	}
	for i := range n {
		strs[i], strs[n+i] = kv[2*i], kv[2*i+1]
		vals[i] = boxString(&strs[n+i])
	}
	if n > indexAfter && nm.kind == plainMap || hasDuplicate(nm.keys) {
		// Set's rules for a map of many or repeated keys.
		dup := &Map{kind: nm.kind}
		for i := range n {
			dup.setValue(nm.keys[i], vals[i])
		}
		nm = dup
	}
	m.Set(k, nm)
}

// grow makes room for n more keys.
func (m *Map) grow(n int) {
	if len(m.keys)+n > cap(m.keys) {
		m.keys = slices.Grow(m.keys, n)
		m.vals = slices.Grow(m.vals, n)
	}
}

// Delete removes k and returns its value.
func (m *Map) Delete(k string) (any, bool) {
	i := m.find(k)
	if i < 0 {
		return nil, false
	}
	v := m.vals[i]
	// Decoded maps of one shape share their keys: never change them in place.
	m.keys = slices.Concat(m.keys[:i], m.keys[i+1:])
	m.vals = append(m.vals[:i], m.vals[i+1:]...)
	if m.index != nil {
		m.index = make(map[string]int, len(m.keys))
		for j, key := range m.keys {
			m.index[key] = j
		}
	}
	return v, true
}

// SetPath stores v under a dotted path ("identity.sourceIp"), creating the
// intermediate maps. It is how a caller fills $context.
func (m *Map) SetPath(path string, v any) {
	cur := m
	for {
		dot := strings.IndexByte(path, '.')
		if dot < 0 {
			cur.Set(path, v)
			return
		}
		head := path[:dot]
		path = path[dot+1:]
		next, _ := cur.Get(head)
		nm, ok := next.(*Map)
		if !ok {
			nm = &Map{}
			if cur.kind != plainMap {
				nm.kind = contextPart
			}
			cur.Set(head, nm)
		}
		cur = nm
	}
}

func normalize(v any, depth int) any {
	switch x := v.(type) {
	case nil, string, int64, float64, bool, *Map, *List:
		return v
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint:
		return uint64ToValue(uint64(x))
	case uint64:
		return uint64ToValue(x)
	case uint32:
		return int64(x)
	case uint16:
		return int64(x)
	case uint8:
		return int64(x)
	case float32:
		return float64(x)
	case []string:
		l := &List{Items: make([]any, len(x))}
		for i, s := range x {
			l.Items[i] = s
		}
		return l
	case []any:
		l := &List{Items: make([]any, len(x))}
		for i, it := range x {
			if depth < maxValueDepth {
				it = normalize(it, depth+1)
			}
			l.Items[i] = it
		}
		return l
	case map[string]string:
		return sortedMap(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m := &Map{}
		for _, k := range keys {
			it := x[k]
			if depth < maxValueDepth {
				it = normalize(it, depth+1)
			}
			m.Set(k, it)
		}
		return m
	}
	return v
}

func uint64ToValue(u uint64) any {
	if u > math.MaxInt64 {
		return float64(u)
	}
	return int64(u)
}

// GetPath returns the value under a dotted path.
func (m *Map) GetPath(path string) (any, bool) {
	cur := m
	for {
		dot := strings.IndexByte(path, '.')
		if dot < 0 {
			return cur.Get(path)
		}
		next, ok := cur.Get(path[:dot])
		if !ok {
			return nil, false
		}
		nm, ok := next.(*Map)
		if !ok {
			return nil, false
		}
		cur = nm
		path = path[dot+1:]
	}
}

// missing is what a JSONPath that matched nothing yields: it renders as
// nothing and equals both $null and "".
type missingT struct{}

var missing = missingT{}

// mapEntry is an element of $map.entrySet().
type mapEntry struct {
	key string
	val any
}

// block is the value of a #define: rendering it renders its body.
type block struct {
	body []node
}

// Truthiness, Velocity 1.7 style: null, false and a missing JSONPath are
// false; everything else (including "" and 0) is true.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil, missingT:
		return false
	case bool:
		return x
	}
	return true
}

func isNull(v any) bool {
	switch v.(type) {
	case nil, missingT:
		return true
	}
	return false
}

func toNumber(v any) (int64, float64, bool, bool) {
	switch x := v.(type) {
	case int64:
		return x, 0, false, true
	case float64:
		return 0, x, true, true
	case int:
		return int64(x), 0, false, true
	case bigNumber:
		return 0, x.float(), true, true
	}
	return 0, 0, false, false
}

// bigNumber is a JSON number out of float64's range (1e400) or an integer
// out of int64's (99999999999999999999), as the document wrote it: Java's
// JSON parsers read them as BigDecimal and BigInteger, which render their
// digits; arithmetic and comparisons use the nearest float64.
type bigNumber string

// bigInt returns v as a big integer when it is an integer: an int64 or an
// integral bigNumber.
func bigInt(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case int64:
		return big.NewInt(x), true
	case bigNumber:
		if strings.ContainsAny(string(x), ".eE") {
			return nil, false
		}
		return new(big.Int).SetString(string(x), 10)
	}
	return nil, false
}

// bigCompare compares a and b as integers when one is a big integer and
// both are integers (float64 cannot tell 2^63 from 2^63-1).
func bigCompare(a, b any) (int, bool) {
	_, aBig := a.(bigNumber)
	_, bBig := b.(bigNumber)
	if !aBig && !bBig {
		return 0, false
	}
	x, ok := bigInt(a)
	if !ok {
		return 0, false
	}
	y, ok := bigInt(b)
	if !ok {
		return 0, false
	}
	return x.Cmp(y), true
}

func (n bigNumber) float() float64 {
	f, _ := strconv.ParseFloat(string(n), 64) // ±Inf when out of range
	return f
}

// appendFloat appends formatFloat(f), without an allocation in the common
// range.
func appendFloat(b []byte, f float64) []byte {
	if abs := math.Abs(f); abs >= 1e-3 && abs < 1e7 {
		if m, k, ok := shortDecimal(abs); ok {
			if f < 0 {
				b = append(b, '-')
			}
			p := int64(pow10[k])
			b = strconv.AppendInt(b, m/p, 10)
			b = append(b, '.')
			if k == 0 {
				return append(b, '0')
			}
			frac := m % p
			for d := p / 10; d > frac && d > 1; d /= 10 {
				b = append(b, '0')
			}
			return strconv.AppendInt(b, frac, 10)
		}
		start := len(b)
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		for _, c := range b[start:] {
			if c == '.' {
				return b
			}
		}
		return append(b, '.', '0')
	}
	return append(b, formatFloat(f)...)
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6}

// shortDecimal finds the decimal with the fewest (at most 6) fractional
// digits that reads back as abs (1e-3 <= abs < 1e7): abs is m / 10^k. That
// decimal is the shortest text of abs, so it is what strconv's shortest
// formatting prints, found without it. m is exact (below 2^53) and m / 10^k
// a correctly rounded division, so m / 10^k == abs holds exactly when the
// decimal reads back as abs; no shorter decimal was missed, since a decimal
// with k fractional digits that reads back as abs is within half an ulp of
// it and so is the rounding of abs * 10^k.
func shortDecimal(abs float64) (int64, int, bool) {
	for k, p := range pow10 {
		// abs * p < 1e13: adding a half is exact, and the conversion
		// truncates, so m is abs * p rounded half up.
		m := int64(abs*p + 0.5)
		if float64(m)/p == abs {
			return m, k, true
		}
	}
	return 0, 0, false
}

// formatFloat renders a float64 as Java's Double.toString does.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsRune(s, '.') {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1.5E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.ContainsRune(mant, '.') {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// valuesEqual is Velocity 1.7's ==: numbers compare by value, values of the
// same kind by equality, and values of different kinds by their string forms.
// A missing JSONPath equals both null and "".
func valuesEqual(a, b any) bool { return equalDepth(a, b, 0) }

func equalDepth(a, b any, depth int) bool {
	if depth > maxValueDepth {
		return false
	}
	if _, ok := a.(missingT); ok {
		if b == nil {
			return true
		}
		if s, ok := b.(string); ok && s == "" {
			return true
		}
		_, ok := b.(missingT)
		return ok
	}
	if _, ok := b.(missingT); ok {
		return equalDepth(b, a, depth)
	}
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ai, af, aFloat, aNum := toNumber(a)
	bi, bf, bFloat, bNum := toNumber(b)
	if aNum && bNum {
		if c, ok := bigCompare(a, b); ok {
			return c == 0
		}
		if !aFloat && !bFloat {
			return ai == bi
		}
		if !aFloat {
			af = float64(ai)
		}
		if !bFloat {
			bf = float64(bi)
		}
		return af == bf
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return x == y
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y
		}
	case *List:
		if y, ok := b.(*List); ok {
			if x == y {
				return true
			}
			if len(x.Items) != len(y.Items) {
				return false
			}
			for i := range x.Items {
				if !equalDepth(x.Items[i], y.Items[i], depth+1) {
					return false
				}
			}
			return true
		}
	case *Map:
		if y, ok := b.(*Map); ok {
			if x == y {
				return true
			}
			if x.Len() != y.Len() {
				return false
			}
			for i, k := range x.keys {
				yv, ok := y.Get(k)
				if !ok || !equalDepth(x.vals[i], yv, depth+1) {
					return false
				}
			}
			return true
		}
	}
	if aNum || bNum || isScalar(a) && isScalar(b) {
		return plainString(a) == plainString(b)
	}
	return false
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, int64, float64, bool, bigNumber:
		return true
	}
	return false
}

// plainString renders a scalar without a render state (no limits needed).
func plainString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatFloat(x)
	case bool:
		return strconv.FormatBool(x)
	case bigNumber:
		return string(x)
	case nil, missingT:
		return ""
	}
	var b []byte
	b, _ = appendValue(b, v, 0, 1<<20)
	return string(b)
}

// appendValue appends the Java toString() form of v. It returns false when
// the result would exceed max bytes or nest too deeply.
func appendValue(b []byte, v any, depth, max int) ([]byte, bool) {
	if depth > maxValueDepth || len(b) > max {
		return b, false
	}
	var ok bool
	switch x := v.(type) {
	case string:
		b = append(b, x...)
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case float64:
		b = appendFloat(b, x)
	case bool:
		b = strconv.AppendBool(b, x)
	case bigNumber:
		b = append(b, x...)
	case nil:
		b = append(b, "null"...)
	case missingT:
	case *List:
		if x.json {
			return appendJSON(b, x, depth, max)
		}
		b = append(b, '[')
		for i, it := range x.Items {
			if i > 0 {
				b = append(b, ", "...)
			}
			if it == v {
				b = append(b, "(this Collection)"...)
				continue
			}
			if b, ok = appendValue(b, it, depth+1, max); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	case *Map:
		if x.kind == contextPart {
			return b, true
		}
		b = append(b, '{')
		for i, k := range x.keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, k...)
			b = append(b, '=')
			if x.vals[i] == v {
				b = append(b, "(this Map)"...)
				continue
			}
			if b, ok = appendValue(b, x.vals[i], depth+1, max); !ok {
				return b, false
			}
		}
		b = append(b, '}')
	case *mapEntry:
		b = append(b, x.key...)
		b = append(b, '=')
		return appendValue(b, x.val, depth+1, max)
	case *inputObj:
		b = append(b, "{body="...)
		b = append(b, x.v.bodyString()...)
		b = append(b, '}')
	case *utilObj, *foreachInfo, *block:
		// No useful text.
	default:
		b = fmt.Append(b, v)
	}
	return b, len(b) <= max
}

const maxValueDepth = 100

// appendJSON appends v as JSON text.
func appendJSON(b []byte, v any, depth, max int) ([]byte, bool) {
	if depth > maxValueDepth || len(b) > max {
		return b, false
	}
	var ok bool
	switch x := v.(type) {
	case string:
		b = appendJSONString(b, x)
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b = append(b, "null"...)
		} else {
			b = appendFloat(b, x)
		}
	case bigNumber:
		b = append(b, x...)
	case bool:
		b = strconv.AppendBool(b, x)
	case nil, missingT:
		b = append(b, "null"...)
	case *List:
		b = append(b, '[')
		for i, it := range x.Items {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendJSON(b, it, depth+1, max); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	case *Map:
		b = append(b, '{')
		for i, k := range x.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if b, ok = appendJSON(b, x.vals[i], depth+1, max); !ok {
				return b, false
			}
		}
		b = append(b, '}')
	case *mapEntry:
		b = append(b, '{')
		b = appendJSONString(b, x.key)
		b = append(b, ':')
		if b, ok = appendJSON(b, x.val, depth+1, max); !ok {
			return b, false
		}
		b = append(b, '}')
	default:
		b = appendJSONString(b, plainString(v))
	}
	return b, len(b) <= max
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
