package apis

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// MaxModelDepth bounds how deeply a model's schema may nest JSON objects and
// arrays ({"properties":{"a":{...}}} is two levels per nested property). The
// JSON Schema compiler's work grows much faster than a schema's size with its
// depth, so a few kilobytes nested thousands deep would hold the server for
// minutes; real schemas stay far below this.
const MaxModelDepth = 64

// MaxDocumentDepth bounds how deeply an imported OpenAPI document (a JSON or
// YAML value anywhere in it, x- extensions included) may nest objects and
// arrays: a model's MaxModelDepth levels inline under an operation, with room
// to spare.
const MaxDocumentDepth = 100

// ErrTooDeep is the error of a JSON value nested deeper than its limit; it is
// wrapped with the path of the first value beyond the limit and
// errdefs.ErrInvalid by the callers that name what the value is.
var ErrTooDeep = errors.New("nests objects and arrays too deeply")

// CheckDepth returns an error wrapping ErrTooDeep, naming as a JSON pointer the
// first value of raw (JSON) nested more than limit objects and arrays deep,
// or nil when none is, or raw is not JSON (its parser says so later). It
// counts without building the value, in time linear in len(raw).
func CheckDepth(raw []byte, limit int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > limit {
				return depthError(raw, limit)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// depthError finds the path of the first value of raw deeper than limit.
func depthError(raw []byte, limit int) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		object bool
		key    string
		index  int
		inKey  bool // an object's next token is a key
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack[:len(stack)-1] {
			b.WriteByte('/')
			if f.object {
				b.WriteString(escapePointer(f.key))
			} else {
				b.WriteString(strconv.Itoa(f.index))
			}
		}
		return truncate(b.String(), 300)
	}
	// value records that a value was read in the innermost container.
	value := func() {
		if n := len(stack); n > 0 {
			if f := &stack[n-1]; f.object {
				f.inKey = true
			} else {
				f.index++
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil { // not JSON: CheckDepth counted past the limit anyway
			return ErrTooDeep
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].inKey {
			if k, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].inKey = k, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, frame{object: tok == json.Delim('{'), inKey: true})
			if len(stack) > limit {
				return &depthErr{path: path(), limit: limit}
			}
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			value()
		default:
			value()
		}
	}
}

// depthErr is CheckDepth's error.
type depthErr struct {
	path  string
	limit int
}

func (e *depthErr) Error() string {
	where := e.path
	if where == "" {
		where = "/"
	}
	return "at " + where + ": " + ErrTooDeep.Error() + " (more than " + strconv.Itoa(e.limit) + " levels)"
}

func (e *depthErr) Unwrap() error { return ErrTooDeep }
