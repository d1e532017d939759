package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxJSONDepth bounds the nesting of decoded JSON documents.
const maxJSONDepth = 512

// decodeJSON decodes a JSON document into template values: objects become
// *Map (keys in document order), arrays *List (rendering as JSON), numbers
// int64 when integral and in range, float64 otherwise.
func decodeJSON(data []byte) (any, error) { return decodeJSONInto(data, nil) }

// slabs are the memory a render's decoded documents are cut from: the
// state keeps them and reuses them for the next render (see
// state.escaped), so that decoding a body allocates only its text.
type slabs struct {
	text  []byte // the documents' strings (prescan)
	maps  []Map
	lists []List
	keys  []string
	vals  []any
	strs  []string
	flts  []float64
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
	// Drop the old values' references, so that a pooled state keeps no
	// document alive.
	clear(s)
	return s[:0]
}

// slab returns s when it has room for n more values, else a new slab of
// room for n (at least least).
func slab[T any](s []T, n, least int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	return make([]T, 0, max(n, least))
}

// decodeJSONInto decodes data as decodeJSON does, cutting the values from
// s's slabs (growing them as needed) when s is not nil.
func decodeJSONInto(data []byte, s *slabs) (any, error) {
	d := decoderPool.Get().(*jsonDecoder)
	d.data, d.pos = data, 0
	d.shapes, d.nshape = [maxShapes][]string{}, 0
	d.text, d.refs, d.nextRef = "", d.refs[:0], 0
	// Slabs of the sizes prescan counted (an overestimate when the document
	// is not valid JSON): most documents cost six allocations, or one (the
	// text) with s.
	var n counts
	if s == nil {
		var text []byte
		n, text = d.prescan(d.arena[:0])
		d.text, d.arena = string(text), text[:0]
		s = &d.own
		*s = slabs{}
	} else {
		// The text is appended to the render's: bytes handed out are never
		// written again in the render (a text that grows is copied).
		n, s.text = d.prescan(s.text)
		d.text = unsafe.String(unsafe.SliceData(s.text), len(s.text)) //nolint:gosec // audited: see above and state.escaped
	}
	s.maps = slab(s.maps, n.objects, 0)
	s.keys = slab(s.keys, min(n.keys, slabSize/8), 0) // shared by objects of one shape
	s.vals = slab(s.vals, n.values, 0)
	s.strs = slab(s.strs, n.strings, 0)
	s.flts = slab(s.flts, n.floats, 0)
	d.s = s
	defer func() {
		d.data, d.s, d.own = nil, nil, slabs{}
		d.shapes, d.nshape = [maxShapes][]string{}, 0
		d.text, d.refs = "", d.refs[:0]
		clear(d.recent[:])
		clear(d.vstack)
		d.kstack, d.vstack = d.kstack[:0], d.vstack[:0]
		decoderPool.Put(d)
	}()
	d.skipSpace()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, d.errorf("unexpected %q after the value", d.data[d.pos])
	}
	return v, nil
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
	// Members of the objects and arrays being decoded; each object or array
	// is copied out at its end into slices of exactly its size.
	kstack []string
	vstack []any
	buf    []byte // unescaped string being built
	// shapes are the key lists of recent objects: objects with the same keys
	// in the same order (an array of records) share one, read-only.
	shapes [maxShapes][]string
	nshape int
	// text holds the document's strings, unescaped, and each distinct
	// recent key once (prescan); refs locates them, nextRef is the next one
	// str meets.
	text    string
	refs    []strRef
	nextRef int
	arena   []byte
	recent  [recentKeys]strRef // keys written to arena lately (recentKey)
}

// maxShapes is how many recent object shapes a decoder remembers.
const maxShapes = 8

// shapeKeys returns a shared copy of keys: a remembered shape equal to it, or
// a new one cut from the key slab (with no spare capacity, so that appending
// to a map's keys copies them); nil when keys has a duplicate.
func (d *jsonDecoder) shapeKeys(keys []string) []string {
	for i := range min(d.nshape, maxShapes) {
		if slices.Equal(d.shapes[i], keys) {
			return d.shapes[i]
		}
	}
	if hasDuplicate(keys) {
		return nil
	}
	n := len(keys)
	s := d.s
	s.keys = slab(s.keys, n, slabSize)
	start := len(s.keys)
	s.keys = append(s.keys, keys...)
	shared := s.keys[start : start+n : start+n]
	d.shapes[d.nshape%maxShapes] = shared
	d.nshape++
	return shared
}

const slabSize = 256

// smallSlab is the size of the slabs of strings and floats when prescan did
// not count them (a small or invalid document).
const smallSlab = 16

// cutVals copies vals into the value slab; the result has no spare
// capacity, so appending to it copies.
func (d *jsonDecoder) cutVals(vals []any) []any {
	n := len(vals)
	s := d.s
	if len(s.vals)+n > cap(s.vals) {
		if n > slabSize/4 {
			return append([]any(nil), vals...)
		}
		s.vals = make([]any, 0, slabSize)
	}
	start := len(s.vals)
	s.vals = append(s.vals, vals...)
	return s.vals[start : start+n : start+n]
}

func (d *jsonDecoder) newMap(keys []string, vals []any) *Map {
	if len(keys) > indexAfter {
		return newMapFrom(keys, vals)
	}
	shared := d.shapeKeys(keys)
	if shared == nil {
		return newMapFrom(keys, vals)
	}
	m := d.newEmptyMap()
	m.keys = shared
	m.vals = d.cutVals(vals)
	return m
}

// newEmptyMap returns a new empty map cut from the map slab.
func (d *jsonDecoder) newEmptyMap() *Map {
	s := d.s
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
			k, err := d.str()
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
			d.kstack = append(d.kstack, k)
			d.vstack = append(d.vstack, v)
			if done, err := d.separator('}'); err != nil || !done {
				if err != nil {
					return nil, err
				}
				continue
			}
			m := d.newMap(d.kstack[kbase:], d.vstack[vbase:])
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
			d.vstack = append(d.vstack, v)
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
		return nil, d.errorf("unexpected %q", c)
	}
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
			return n, nil
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
	return d.boxFloat(f), nil
}

func (d *jsonDecoder) str() (string, error) {
	d.pos++ // opening quote
	start := d.pos
	for d.nextRef < len(d.refs) && d.refs[d.nextRef].start < start {
		d.nextRef++ // a string of an invalid document the decoder skipped
	}
	if d.nextRef < len(d.refs) && d.refs[d.nextRef].start == start {
		// Unescaped by prescan, with the document's other strings, into
		// one string.
		r := d.refs[d.nextRef]
		d.nextRef++
		d.pos = r.end
		return d.text[r.off : r.off+r.n], nil
	}
	buf, err := d.unescapeTo(d.buf[:0])
	d.buf = buf[:0]
	if err != nil {
		return "", err
	}
	return string(buf), nil
}

// strRef locates one string read ahead of decoding: the string whose
// content starts at start ends (after its closing quote) at end, and its
// unescaped text is text[off:off+n].
type strRef struct {
	start, end, off, n int
}

// recentKeys is how many recent distinct keys prescan writes once.
const recentKeys = 32

// counts are what prescan counts to size the slabs.
type counts struct {
	objects, keys, values, strings, floats int
}

// prescan appends every string of the document, unescaped, to text,
// writing a key that equals a recent one once, so that decoding the
// document's strings costs at most one allocation of about the size of their
// distinct text; and it counts the objects, keys and values. It stops at
// the first malformed string: str decodes the rest itself and reports the
// error. The refs it records locate strings in the text returned.
func (d *jsonDecoder) prescan(text []byte) (counts, []byte) {
	var n counts
	arena := text
	data := d.data
	n.values = 1
	for i := 0; i < len(data); i++ {
		if !prescanned[data[i]] {
			continue
		}
		switch data[i] {
		case '{':
			n.objects++
			n.values++
			continue
		case '[':
			n.values++
			continue
		case ',':
			n.values++
			continue
		case ':':
			n.keys++
			continue
		case '.', 'e', 'E':
			n.floats++
			continue
		case '"':
		default:
			continue
		}
		start, j, escaped := i+1, i+1, false
		for j < len(data) && data[j] != '"' {
			if data[j] == '\\' {
				escaped = true
				j++
			}
			j++
		}
		if j >= len(data) {
			break
		}
		isKey := false
		for k := j + 1; k < len(data); k++ {
			if c := data[k]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				isKey = c == ':'
				break
			}
		}
		if !isKey {
			n.strings++
		}
		off := len(arena)
		if !escaped {
			raw := data[start:j]
			if isKey {
				if r, ok := d.recentKey(arena, raw); ok {
					d.refs = append(d.refs, strRef{start: start, end: j + 1, off: r.off, n: r.n})
					i = j
					continue
				}
			}
			arena = append(arena, raw...)
			d.pos = j + 1
		} else {
			d.pos = start
			var err error
			if arena, err = d.unescapeTo(arena); err != nil {
				break
			}
		}
		r := strRef{start: start, end: d.pos, off: off, n: len(arena) - off}
		d.refs = append(d.refs, r)
		if isKey && !escaped {
			d.recent[keySlot(data[start:j])] = r
		}
		i = d.pos - 1
	}
	d.pos = 0
	return n, arena
}

// prescanned are the bytes prescan looks at.
var prescanned = [256]bool{'{': true, '[': true, ',': true, ':': true, '.': true, 'e': true, 'E': true, '"': true}

// recentKey finds a key equal to raw among the recent keys in arena: a
// small cache indexed by the key's length and first and last bytes.
func (d *jsonDecoder) recentKey(arena, raw []byte) (strRef, bool) {
	r := d.recent[keySlot(raw)]
	if r.n == len(raw) && r.end != 0 && string(arena[r.off:r.off+r.n]) == string(raw) {
		return r, true
	}
	return strRef{}, false
}

func keySlot(raw []byte) int {
	h := len(raw)
	if len(raw) > 0 {
		h = h*31 + int(raw[0])*7 + int(raw[len(raw)-1])
	}
	return h % recentKeys
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
			e := d.data[d.pos]
			d.pos++
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return buf, d.errorf("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
						save := d.pos
						d.pos += 2
						r2, ok := d.hex4()
						if ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								buf = utf8.AppendRune(buf, dec)
								continue
							}
						}
						d.pos = save
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return buf, d.errorf("invalid escape")
			}
		default:
			buf = append(buf, c)
			d.pos++
		}
	}
	return buf, d.errorf("unterminated string")
}

func (d *jsonDecoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}
