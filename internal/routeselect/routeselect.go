// Package routeselect parses and evaluates WebSocket route selection expressions
// ("$request.body.action"). It is a leaf: the API model validates expressions with
// it at definition time and the connection registry routes messages with it.
package routeselect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
)

// Default is the route selection expression of a WebSocket API
// that names none.
const Default = "$request.body.action"

// maxSelectionDepth bounds the dotted path of a selection expression.
const maxSelectionDepth = 32

// Selector is a parsed route selection expression: "$request.body.<dotted.path>"
// (or "${request.body.<dotted.path>}"). It is immutable and safe for concurrent
// use.
type Selector struct {
	expr string
	path []string
}

// Parse parses a route selection expression. The path's
// segments are JSON member names made of letters, digits, "_", "-" and "$"; an
// empty expression is Default. Anything else is
// errdefs.ErrInvalid.
func Parse(expr string) (*Selector, error) {
	if expr == "" {
		expr = Default
	}
	body := expr
	if inner, ok := strings.CutPrefix(body, "${"); ok {
		inner, ok = strings.CutSuffix(inner, "}")
		if !ok {
			return nil, invalidExpr(expr, "an opening ${ without its closing }")
		}
		body = "$" + inner
	}
	rest, ok := strings.CutPrefix(body, "$request.body.")
	if !ok {
		return nil, invalidExpr(expr, "it must start with $request.body.")
	}
	path := strings.Split(rest, ".")
	if len(path) > maxSelectionDepth {
		return nil, invalidExpr(expr, fmt.Sprintf("a path deeper than %d members", maxSelectionDepth))
	}
	for _, seg := range path {
		if seg == "" {
			return nil, invalidExpr(expr, "an empty path member")
		}
		for _, c := range seg {
			if !memberChar(c) {
				return nil, invalidExpr(expr, fmt.Sprintf("member %q has the character %q", seg, c))
			}
		}
	}
	return &Selector{expr: expr, path: path}, nil
}

func invalidExpr(expr, why string) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
		fmt.Sprintf("route selection expression %q: %s (use $request.body.<member>[.<member>...], e.g. %s)", expr, why, Default))
}

// String returns the expression as given.
func (s *Selector) String() string { return s.expr }

// Select evaluates the expression over a message body. It returns the selected
// value as a string (a JSON string's value, a number, boolean or object's JSON
// text; null and a missing member give "") and ok=true, or ok=false when the body
// is not a JSON object (non-JSON, too deeply nested, or another JSON type).
func (s *Selector) Select(body []byte) (value string, ok bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return "", false
	}
	cur := json.RawMessage(body)
	for _, seg := range s.path {
		cur = bytes.TrimSpace(cur)
		if len(cur) == 0 || cur[0] != '{' {
			return "", true
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil {
			return "", true
		}
		next, found := obj[seg]
		if !found {
			return "", true
		}
		cur = next
	}
	return stringify(bytes.TrimSpace(cur)), true
}

// stringify turns a JSON value into the string route keys are compared with.
func stringify(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return ""
		}
		return s
	case 'n':
		return ""
	case '{', '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return string(raw)
		}
		return buf.String()
	default:
		return string(raw) // numbers as written, true, false
	}
}

// memberChar reports whether c may appear in a selection expression's member.
func memberChar(c rune) bool {
	switch {
	case c == '_', c == '-', c == '$':
		return true
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return false
}
