package apis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
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
	err := walkJSON(raw, func(w *jsonWalker, tok json.Token) error {
		if (tok == json.Delim('{') || tok == json.Delim('[')) && len(w.stack) > limit {
			return &depthErr{path: w.path(len(w.stack) - 1), limit: limit}
		}
		return nil
	})
	if err == nil || errors.As(err, new(*depthErr)) {
		return err
	}
	return ErrTooDeep // not JSON: CheckDepth counted past the limit anyway
}

// jsonWalker follows where a walk of a JSON value is.
type jsonWalker struct {
	stack []jsonFrame
}

// jsonFrame is an object or array being read.
type jsonFrame struct {
	object bool
	key    string
	index  int
	inKey  bool // an object's next token is a key
	keys   map[string]bool
}

// path is the JSON pointer of the innermost value of the first n frames
// (n = len(w.stack) names the current container's current member).
func (w *jsonWalker) path(n int) string {
	var b strings.Builder
	for _, f := range w.stack[:n] {
		b.WriteByte('/')
		if f.object {
			b.WriteString(escapePointer(f.key))
		} else {
			b.WriteString(strconv.Itoa(f.index))
		}
	}
	return truncate(b.String(), 300)
}

// walkJSON reads raw token by token, calling visit with each token other
// than an object's keys (the frame's key is set first) after an object or
// array it opens is pushed, until visit or the decoder returns an error.
// Keys are visited as a string token with the frame's inKey still true.
func walkJSON(raw []byte, visit func(w *jsonWalker, tok json.Token) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	w := &jsonWalker{}
	// value records that a value was read in the innermost container.
	value := func() {
		if n := len(w.stack); n > 0 {
			if f := &w.stack[n-1]; f.object {
				f.inKey = true
			} else {
				f.index++
			}
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n := len(w.stack); n > 0 && w.stack[n-1].object && w.stack[n-1].inKey {
			if k, ok := tok.(string); ok {
				if err := visit(w, tok); err != nil {
					return err
				}
				w.stack[n-1].key, w.stack[n-1].inKey = k, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			w.stack = append(w.stack, jsonFrame{object: tok == json.Delim('{'), inKey: true})
			if err := visit(w, tok); err != nil {
				return err
			}
		case json.Delim('}'), json.Delim(']'):
			w.stack = w.stack[:len(w.stack)-1]
			value()
		default:
			if err := visit(w, tok); err != nil {
				return err
			}
			value()
		}
	}
}

// CheckStrictJSON refuses what a lenient JSON parser takes and the document's
// author likely did not mean: invalid UTF-8 (encoding/json puts U+FFFD in its
// place) and a key twice in one object (encoding/json keeps the last value,
// so a reviewer reading the first, such as an operation's security, sees what
// is not applied). YAML's parser refuses both already. raw must be valid
// JSON; the error names the object by JSON pointer.
func CheckStrictJSON(raw []byte) error {
	if !utf8.Valid(raw) {
		i := 0
		for i < len(raw) {
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return fmt.Errorf("JSON is not valid UTF-8 at byte offset %d; save the document as UTF-8", i)
	}
	return walkJSON(raw, func(w *jsonWalker, tok json.Token) error {
		n := len(w.stack)
		if n == 0 || !w.stack[n-1].object || !w.stack[n-1].inKey {
			return nil
		}
		k, ok := tok.(string)
		if !ok {
			// The { or [ that opened this frame, visited with inKey set:
			// no key (it was read as "", so a real "" key was "twice").
			return nil
		}
		f := &w.stack[n-1]
		if f.keys[k] {
			where := w.path(n - 1)
			if where == "" {
				where = "/"
			}
			return fmt.Errorf("JSON object at %s has the key %q twice; a key may appear once in an object (a parser would keep only the last value): remove or merge the other", where, k)
		}
		if f.keys == nil {
			f.keys = map[string]bool{}
		}
		f.keys[k] = true
		return nil
	})
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
