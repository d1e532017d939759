package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// char is the character at the decoder's position, for an error to name
// whole (see charAt).
func (d *jsonDecoder) char() rune {
	r, _ := utf8.DecodeRune(d.data[d.pos:])
	return r
}

// maxJSONDepth bounds the nesting of decoded JSON documents.
const maxJSONDepth = 512

// decodeJSON decodes a JSON document into template values: objects become
// *Map (keys in document order), arrays *List (rendering as JSON), numbers
// int64 when integral and in range, float64 otherwise.
func decodeJSON(data []byte) (any, error) { return decodeJSONInto(data, nil) }

// errDocumentSize is wrapped by the error of a decoding stopped because the
// document would take more memory than it was given (decodeJSONBudget).
var errDocumentSize = fmt.Errorf("%w: the JSON document takes too much memory", ErrLimit)

// Memory a decoded document's values take, as decodeJSONBudget charges them:
// every value a slot (an interface, in its array or object or on the
// decoder's stack), objects and arrays their header, boxed numbers and
// strings their box (a string's text is not charged: it is never longer
// than the document), keys their header, and the keys of an object with
// more than indexAfter keys their index entry.
const (
	slotBytes  = 16
	mapBytes   = int(unsafe.Sizeof(Map{}))
	listBytes  = int(unsafe.Sizeof(List{}))
	boxBytes   = 16
	keyBytes   = 16
	indexBytes = 48
)

// slabs are the memory a render's decoded documents are cut from: the
// state keeps them and reuses them for the next render (see
// state.escaped), so that decoding a body allocates nothing once they fit.
type slabs struct {
	text  []byte // the documents' strings, unescaped
	maps  []Map
	lists []List
	keys  []string
	vals  []any
	strs  []string
	flts  []float64
	ints  []int64
	loops []foreachInfo // the render's $foreach objects
}

// reset empties s for reuse, keeping the slabs no bigger than
// maxPooledSlab values.
func (s *slabs) reset() {
	s.text = s.text[:0]
	if cap(s.text) > maxPooledText {
		s.text = nil
	}
	s.maps = resetSlab(s.maps)
	s.lists = resetSlab(s.lists)
	s.keys = resetSlab(s.keys)
	s.vals = resetSlab(s.vals)
	s.strs = resetSlab(s.strs)
	s.flts = resetSlab(s.flts)
	s.ints = resetSlab(s.ints)
	s.loops = resetSlab(s.loops)
}

// maxPooledSlab is the most values a slab kept for reuse holds, and
// maxPooledText the most bytes of text.
const (
	maxPooledSlab = 16 << 10
	maxPooledText = 1 << 20
)

func resetSlab[T any](s []T) []T {
	if cap(s) > maxPooledSlab {
		return nil
	}
	// The old values are not cleared: every value is written before it is
	// read again, and what they keep alive (mostly the slabs themselves) is
	// bounded by the slabs' size and dropped with the pooled state.
	return s[:0]
}

// slab returns s when it has room for n more values, else a new slab with
// room for n, for least, and for twice s's values (so that a slab the
// state reuses soon fits the documents it sees).
func slab[T any](s []T, n, least int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	return make([]T, 0, max(n, least, 2*cap(s)))
}

// decodeJSONInto decodes data as decodeJSON does, cutting the values from
// s's slabs (growing them as needed) when s is not nil, else from new ones.
func decodeJSONInto(data []byte, s *slabs) (any, error) {
	v, _, err := decodeJSONBudget(data, s, -1)
	return v, err
}

// decodeJSONBudget decodes data as decodeJSONInto does, failing with an
// error wrapping errDocumentSize (and ErrLimit) as soon as the values built
// take more than budget bytes (see slotBytes), none when budget < 0; used is
// what they take.
func decodeJSONBudget(data []byte, s *slabs, budget int) (v any, used int, err error) {
	d := decoderPool.Get().(*jsonDecoder)
	d.data, d.pos = data, 0
	d.limited, d.left, d.budget = budget >= 0, budget, budget
	if s == nil {
		// New slabs sized for a document of data's length: most documents
		// cost six allocations. The unescaped text of a document's strings
		// is never longer than the document.
		s = &d.own
		n := len(data)
		*s = slabs{text: make([]byte, 0, n), maps: make([]Map, 0, n/64+1), vals: make([]any, 0, n/16+1),
			strs: make([]string, 0, n/32+1), flts: make([]float64, 0, n/64+1)}
	}
	d.s = s
	defer func() {
		if d.s == &d.own {
			d.own = slabs{}
		}
		d.data, d.s = nil, nil
		d.limited, d.keyCost = false, 0
		clear(d.shapes[:min(d.nshape, maxShapes)])
		d.nshape = 0
		clear(d.hints[:])
		// The stacks' members hold no document alive: popped ones were
		// cleared as they were popped, these are left by an error.
		clear(d.kstack)
		clear(d.vstack)
		d.kstack, d.vstack = d.kstack[:0], d.vstack[:0]
		// A pooled decoder keeps no large stack alive.
		if cap(d.vstack) > maxPooledSlab {
			d.vstack = nil
		}
		if cap(d.kstack) > maxPooledSlab {
			d.kstack = nil
		}
		decoderPool.Put(d)
	}()
	d.skipSpace()
	v, err = d.value(0)
	used = d.budget - d.left
	if err != nil {
		return nil, used, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, used, d.errorf("unexpected %q after the value", d.char())
	}
	return v, used, nil
}

// spend charges n bytes of the document's values against the decoder's
// budget; false (and the decoding's error) when it is spent.
func (d *jsonDecoder) spend(n int) error {
	if !d.limited {
		return nil
	}
	if d.left -= n; d.left < 0 {
		return fmt.Errorf("%w: its values take more than %d bytes at offset %d", errDocumentSize, d.budget, d.pos)
	}
	return nil
}

type jsonDecoder struct {
	data []byte
	pos  int
	// Slabs the maps, keys and values of one document are cut from, so a
	// document of many small objects costs few allocations: the render's
	// (pooled) or own. strs holds boxed strings (boxString), flts boxed
	// floats (boxFloat).
	s   *slabs
	own slabs
	// limited says the decoding has a budget of budget bytes (see
	// slotBytes), of which left are left (spend).
	limited      bool
	budget, left int
	// keyCost is what the keys of the object newMap built take.
	keyCost int
	// Members of the objects and arrays being decoded; each object or array
	// is copied out at its end into slices of exactly its size.
	kstack []string
	vstack []any
	// shapes are the key lists of recent objects: objects with the same keys
	// in the same order (an array of records) share one, read-only.
	shapes [maxShapes][]string
	nshape int
	// plain says which shapes' keys are written in JSON as they read
	// (no escapes): hints[depth] is the shape of the last object decoded
	// at that depth when it is plain, the keys the next object there
	// likely has (key).
	plain [maxShapes]bool
	hints [maxHints][]string
}

// maxHints is the depth of the deepest objects key hints are kept for.
const maxHints = 16

// maxShapes is how many recent object shapes a decoder remembers.
const maxShapes = 8

// shapeKeys returns a shared copy of keys: a remembered shape equal to it, or
// a new one cut from the key slab (with no spare capacity, so that appending
// to a map's keys copies them), and whether its keys are plain; nil when
// keys has a duplicate.
func (d *jsonDecoder) shapeKeys(keys []string) ([]string, bool) {
	for i := range min(d.nshape, maxShapes) {
		if slices.Equal(d.shapes[i], keys) {
			return d.shapes[i], d.plain[i]
		}
	}
	if hasDuplicate(keys) {
		return nil, false
	}
	n := len(keys)
	d.keyCost += n * keyBytes // cut from the key slab
	s := d.s
	s.keys = slab(s.keys, n, slabSize/4)
	start := len(s.keys)
	s.keys = append(s.keys, keys...)
	shared := s.keys[start : start+n : start+n]
	plain := true
	for _, k := range keys {
		plain = plain && plainKey(k)
	}
	d.shapes[d.nshape%maxShapes], d.plain[d.nshape%maxShapes] = shared, plain
	d.nshape++
	return shared, plain
}

// plainKey says k is written in JSON as it reads: no quote, backslash or
// control character, which JSON escapes.
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if stringSpecial[k[i]] {
			return false
		}
	}
	return true
}

// stringSpecial are the bytes that end the plain run of a JSON string.
var stringSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

const slabSize = 256

// smallSlab is the least size of a new slab of strings or floats.
const smallSlab = 16

// cutVals copies vals into the value slab; the result has no spare
// capacity, so appending to it copies.
func (d *jsonDecoder) cutVals(vals []any) []any {
	n := len(vals)
	s := d.s
	s.vals = slab(s.vals, n, slabSize)
	start := len(s.vals)
	s.vals = append(s.vals, vals...)
	return s.vals[start : start+n : start+n]
}

// newMap returns a map of keys and vals, an object at depth: its keys are
// the hint for the next object there.
func (d *jsonDecoder) newMap(keys []string, vals []any, depth int) *Map {
	var shared []string
	plain := false
	switch {
	case depth < maxHints && sameStrings(keys, d.hints[depth]):
		// Every key was the hint's (key): the hint's shape, plain.
		shared, plain = d.hints[depth], true
	case len(keys) <= indexAfter:
		shared, plain = d.shapeKeys(keys)
	}
	if depth < maxHints {
		d.hints[depth] = nil
		if plain {
			d.hints[depth] = shared
		}
	}
	if shared == nil {
		d.keyCost += len(keys) * keyBytes
		if len(keys) > indexAfter {
			d.keyCost += len(keys) * indexBytes
		}
		return newMapFrom(keys, vals)
	}
	m := d.newEmptyMap()
	m.keys = shared
	m.vals = d.cutVals(vals)
	return m
}

// newEmptyMap returns a new empty map cut from the map slab.
func (d *jsonDecoder) newEmptyMap() *Map { return d.s.newMap() }

// newMap returns a new empty map cut from the map slab.
func (s *slabs) newMap() *Map {
	s.maps = slab(s.maps, 1, slabSize/4)
	s.maps = append(s.maps, Map{})
	return &s.maps[len(s.maps)-1]
}

// newList returns a JSON list of items cut from the list slab.
func (d *jsonDecoder) newList(items []any) *List {
	s := d.s
	s.lists = slab(s.lists, 1, slabSize/16)
	s.lists = append(s.lists, List{Items: items, json: true})
	return &s.lists[len(s.lists)-1]
}

func hasDuplicate(keys []string) bool {
	for i := 1; i < len(keys); i++ {
		for j := 0; j < i; j++ {
			if keys[i] == keys[j] {
				return true
			}
		}
	}
	return false
}

var decoderPool = sync.Pool{New: func() any { return &jsonDecoder{} }}

func (d *jsonDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *jsonDecoder) skipSpace() {
	i, data := d.pos, d.data
	for i < len(data) && data[i] <= ' ' && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	d.pos = i
}

func (d *jsonDecoder) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, d.errorf("nested too deeply")
	}
	if d.pos >= len(d.data) {
		return nil, d.errorf("unexpected end of input")
	}
	if d.limited {
		if err := d.spend(d.cost()); err != nil {
			return nil, err
		}
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		d.pos++
		kbase, vbase := len(d.kstack), len(d.vstack)
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			return d.newEmptyMap(), nil
		}
		for {
			d.skipSpace()
			if d.pos >= len(d.data) || d.data[d.pos] != '"' {
				return nil, d.errorf("expected a string key")
			}
			k, err := d.key(depth, len(d.kstack)-kbase)
			if err != nil {
				return nil, err
			}
			d.skipSpace()
			if d.pos >= len(d.data) || d.data[d.pos] != ':' {
				return nil, d.errorf("expected ':'")
			}
			d.pos++
			d.skipSpace()
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			d.kstack = push(d.kstack, k)
			d.vstack = push(d.vstack, v)
			if done, err := d.separator('}'); err != nil || !done {
				if err != nil {
					return nil, err
				}
				continue
			}
			m := d.newMap(d.kstack[kbase:], d.vstack[vbase:], depth)
			if d.keyCost > 0 {
				err := d.spend(d.keyCost)
				if d.keyCost = 0; err != nil {
					return nil, err
				}
			}
			clear(d.kstack[kbase:])
			clear(d.vstack[vbase:])
			d.kstack, d.vstack = d.kstack[:kbase], d.vstack[:vbase]
			return m, nil
		}
	case c == '[':
		d.pos++
		base := len(d.vstack)
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			return d.newList(nil), nil
		}
		for {
			d.skipSpace()
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			d.vstack = push(d.vstack, v)
			if done, err := d.separator(']'); err != nil || !done {
				if err != nil {
					return nil, err
				}
				continue
			}
			l := d.newList(d.cutVals(d.vstack[base:]))
			clear(d.vstack[base:])
			d.vstack = d.vstack[:base]
			return l, nil
		}
	case c == '"':
		str, err := d.str()
		if err != nil || str == "" {
			return str, err
		}
		s := d.s
		s.strs = slab(s.strs, 1, smallSlab)
		s.strs = append(s.strs, str)
		return boxString(&s.strs[len(s.strs)-1]), nil
	case c == 't':
		return d.word("true", true)
	case c == 'f':
		return d.word("false", false)
	case c == 'n':
		return d.word("null", nil)
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	default:
		return nil, d.errorf("unexpected %q", d.char())
	}
}

// push appends v to the stack s, doubling it when it is full: a stack grows
// to the members of the largest array or object, and append's slower growth
// past 256 members would allocate several times that on the way.
func push[T any](s []T, v T) []T {
	if len(s) == cap(s) && len(s) >= 256 {
		s = slices.Grow(s, len(s))
	}
	return append(s, v)
}

// cost is what the value at d.pos takes, its keys aside (newMap): its
// slot, and its header or box.
func (d *jsonDecoder) cost() int {
	switch c := d.data[d.pos]; {
	case c == '{':
		return slotBytes + mapBytes
	case c == '[':
		return slotBytes + listBytes
	case c == '"':
		if d.pos+1 < len(d.data) && d.data[d.pos+1] == '"' {
			return slotBytes // "" is not boxed
		}
		return slotBytes + boxBytes
	case c == '-' || c >= '0' && c <= '9':
		return slotBytes + 8
	}
	return slotBytes
}

// separator reads the ',' between members (false) or the closing bracket
// (true) after a member of an object or array.
func (d *jsonDecoder) separator(close byte) (bool, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return false, d.errorf("unexpected end of input")
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		return false, nil
	case close:
		d.pos++
		return true, nil
	}
	return false, d.errorf("expected ',' or %q", close)
}

func (d *jsonDecoder) word(w string, v any) (any, error) {
	if len(d.data)-d.pos >= len(w) && string(d.data[d.pos:d.pos+len(w)]) == w {
		d.pos += len(w)
		return v, nil
	}
	return nil, d.errorf("invalid literal")
}

func (d *jsonDecoder) number() (any, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if digits() == 0 {
		return nil, d.errorf("invalid number")
	}
	isFloat, frac := false, 0
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		isFloat = true
		if frac = digits(); frac == 0 {
			return nil, d.errorf("invalid number")
		}
	}
	exp := false
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		exp = true
		d.pos++
		isFloat = true
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return nil, d.errorf("invalid number")
		}
	}
	text := d.data[start:d.pos]
	if !isFloat {
		if n, ok := parseInt(text); ok {
			if uint64(n) < 256 {
				return n, nil // boxed without an allocation
			}
			return d.boxInt(n), nil
		}
		if len(text) > 18 {
			return bigNumber(text), nil // beyond int64: its digits
		}
	}
	if f, ok := shortFloat(text, frac, exp); ok {
		return d.boxFloat(f), nil
	}
	// The text escapes only into strconv's error, which is dropped.
	f, err := strconv.ParseFloat(unsafe.String(&text[0], len(text)), 64) //nolint:gosec // audited: the string lives only for the call
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, d.errorf("invalid number")
	}
	if math.IsInf(f, 0) {
		return bigNumber(text), nil // beyond float64: its text
	}
	return d.boxFloat(f), nil
}

// sameStrings says a and b hold the very same strings (same bytes in
// memory), as keys taken from a hint do.
func sameStrings(a, b []string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) || unsafe.StringData(a[i]) != unsafe.StringData(b[i]) { //nolint:gosec // audited: compares pointers, reads nothing
			return false
		}
	}
	return true
}

// key reads the key at d.pos, the i-th of an object at depth: the hint's
// i-th key when the document has it there, written plain, else a new string.
func (d *jsonDecoder) key(depth, i int) (string, error) {
	if depth < maxHints {
		if h := d.hints[depth]; i < len(h) {
			k := h[i]
			end := d.pos + 1 + len(k)
			if end < len(d.data) && d.data[end] == '"' && string(d.data[d.pos+1:end]) == k {
				d.pos = end + 1
				return k, nil
			}
		}
	}
	return d.str()
}

// str reads the string at d.pos, its text appended to the slabs' text.
func (d *jsonDecoder) str() (string, error) {
	d.pos++ // opening quote
	start, i, data := d.pos, d.pos, d.data
	for i < len(data) && !stringSpecial[data[i]] {
		i++
	}
	s := d.s
	off := len(s.text)
	if i < len(data) && data[i] == '"' {
		d.pos = i + 1
		s.text = append(s.text, data[start:i]...)
	} else {
		d.pos = i
		t, err := d.unescapeTo(append(s.text, data[start:i]...))
		s.text = t
		if err != nil {
			return "", err
		}
	}
	// Text already handed out is never written again: appending either
	// writes past it or copies the text to a new array, leaving the old one
	// to the strings that point into it.
	if len(s.text) == off {
		return "", nil
	}
	return unsafe.String(&s.text[off], len(s.text)-off), nil //nolint:gosec // audited: see above and state.escaped
}

func (d *jsonDecoder) boxInt(n int64) any {
	s := d.s
	s.ints = slab(s.ints, 1, smallSlab)
	s.ints = append(s.ints, n)
	return boxInt(&s.ints[len(s.ints)-1])
}

func (d *jsonDecoder) boxFloat(f float64) any {
	s := d.s
	s.flts = slab(s.flts, 1, smallSlab)
	s.flts = append(s.flts, f)
	return boxFloat(&s.flts[len(s.flts)-1])
}

// exactPow10 are the powers of ten a float64 holds exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// shortFloat reads a decimal of at most 15 digits with frac fractional
// digits and no exponent the way strconv.ParseFloat does, faster: its
// digits make an exact integer, and dividing that by an exact power of ten
// rounds correctly (Clinger's fast path).
func shortFloat(text []byte, frac int, exp bool) (float64, bool) {
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	if exp || len(text) > 16 {
		return 0, false
	}
	var m int64
	for _, c := range text {
		if c != '.' {
			m = m*10 + int64(c-'0')
		}
	}
	f := float64(m) / exactPow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// parseInt parses an optionally signed decimal integer that fits int64.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return parseIntSlow(neg, b)
	}
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func parseIntSlow(neg bool, b []byte) (int64, bool) {
	s := string(b)
	if neg {
		s = "-" + s
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// unescapeTo appends the rest of the string at d.pos, escapes decoded, to buf
// and leaves d.pos after its closing quote.
func (d *jsonDecoder) unescapeTo(buf []byte) ([]byte, error) {
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return buf, nil
		case c < 0x20:
			return buf, d.errorf("control character in string")
		case c == '\\':
			d.pos++
			if d.pos >= len(d.data) {
				return buf, d.errorf("unexpected end of input")
			}
			var n int
			var ok bool
			if buf, n, ok = AppendJSONEscape(buf, d.data[d.pos:]); !ok {
				if d.data[d.pos] == 'u' {
					return buf, d.errorf("invalid \\u escape")
				}
				return buf, d.errorf("invalid escape")
			}
			d.pos += n
		default:
			// A run of plain bytes at once.
			j := d.pos + 1
			for j < len(d.data) && !stringSpecial[d.data[j]] {
				j++
			}
			buf = append(buf, d.data[d.pos:j]...)
			d.pos = j
		}
	}
	return buf, d.errorf("unterminated string")
}

// appendCompactJSON appends what appendJSON writes for data decoded (the
// output of $input.json('$')) without building the document: scalars are
// read and written by the decoder's and appendJSON's own code, objects and
// arrays member by member. ok is false when data must be decoded instead:
// it is not valid JSON (the decoder reports why), an object repeats a key
// (the later value takes the first one's place), it nests deeper than
// appendJSON writes or the output passes max.
func appendCompactJSON(b, data []byte, s *slabs, max int) (out []byte, ok bool) {
	d := decoderPool.Get().(*jsonDecoder)
	d.data, d.pos, d.s = data, 0, s
	d.limited = false // bounded by max
	defer func() {
		d.data, d.s = nil, nil
		clear(d.kstack)
		d.kstack = d.kstack[:0]
		decoderPool.Put(d)
	}()
	d.skipSpace()
	b, ok = d.compact(b, 0, max)
	d.skipSpace()
	return b, ok && d.pos == len(d.data)
}

// compact is appendCompactJSON for the value at d.pos.
func (d *jsonDecoder) compact(b []byte, depth, max int) ([]byte, bool) {
	if depth > maxValueDepth || len(b) > max || d.pos >= len(d.data) {
		return b, false
	}
	var ok bool
	switch c := d.data[d.pos]; c {
	case '{', '[':
		d.pos++
		close := byte('}')
		if c == '[' {
			close = ']'
		}
		b = append(b, c)
		d.skipSpace()
		if d.pos < len(d.data) && d.data[d.pos] == close {
			d.pos++
			b = append(b, close)
			return b, len(b) <= max
		}
		kbase := len(d.kstack)
		for n := 0; ; n++ {
			d.skipSpace()
			if n > 0 {
				b = append(b, ',')
			}
			if c == '{' {
				if d.pos >= len(d.data) || d.data[d.pos] != '"' || n >= 64 {
					return b, false
				}
				k, err := d.str()
				if err != nil || slices.Contains(d.kstack[kbase:], k) {
					return b, false
				}
				d.kstack = append(d.kstack, k)
				b = appendJSONString(b, k)
				d.skipSpace()
				if d.pos >= len(d.data) || d.data[d.pos] != ':' {
					return b, false
				}
				d.pos++
				d.skipSpace()
				b = append(b, ':')
			}
			if b, ok = d.compact(b, depth+1, max); !ok {
				return b, false
			}
			done, err := d.separator(close)
			if err != nil {
				return b, false
			}
			if done {
				clear(d.kstack[kbase:])
				d.kstack = d.kstack[:kbase]
				b = append(b, close)
				return b, len(b) <= max
			}
		}
	}
	v, err := d.value(depth)
	if err != nil {
		return b, false
	}
	return appendJSON(b, v, depth, max)
}

// validJSON reports whether data is one JSON value, nested to any depth:
// it tells a body the decoder refuses for its depth (maxJSONDepth) from one
// that is not JSON. Scalars are checked by encoding/json; objects and
// arrays by a stack of the open ones, not by recursion.
func validJSON(data []byte) bool {
	var stack []byte // the open '{' and '['
	i := 0
	skip := func() {
		for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
			i++
		}
	}
	// scalar reads the string, number or literal at i.
	scalar := func() bool {
		start := i
		if i < len(data) && data[i] == '"' {
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if i >= len(data) {
				return false
			}
			i++
		} else {
			for i < len(data) && !strings.ContainsRune(",]} \t\n\r", rune(data[i])) {
				i++
			}
		}
		return i > start && json.Valid(data[start:i])
	}
	// key reads an object's "key": at i.
	key := func() bool {
		skip()
		if i >= len(data) || data[i] != '"' || !scalar() {
			return false
		}
		skip()
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i++
		return true
	}
	for {
		// A value.
		skip()
		if i >= len(data) {
			return false
		}
		if c := data[i]; c == '{' || c == '[' {
			i++
			skip()
			if i < len(data) && data[i] == c+2 { // '}' is '{'+2, ']' is '['+2
				i++
			} else {
				stack = append(stack, c)
				if c == '{' && !key() {
					return false
				}
				continue
			}
		} else if !scalar() {
			return false
		}
		// What follows a value: closes, then a comma or the end.
		for {
			skip()
			if len(stack) == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			top := stack[len(stack)-1]
			if data[i] == top+2 {
				i++
				stack = stack[:len(stack)-1]
				continue
			}
			if data[i] != ',' {
				return false
			}
			i++
			if top == '{' && !key() {
				return false
			}
			break
		}
	}
}
