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

// Selector is a parsed route selection expression: a template of static text
// and variables $request.body.<dotted.path> (or ${request.body.<dotted.path>}),
// as API Gateway evaluates them: "$request.body.action",
// "${request.body.service}/${request.body.action}", or a static value such as
// "\$default" (\$ is a literal $). It is immutable and safe for concurrent use.
type Selector struct {
	expr  string
	parts []part
}

// part is a piece of an expression: static text, or (path != nil) a variable.
type part struct {
	text string
	path []string
}

// Parse parses a route selection expression: static text and variables
// $request.body.<member>[.<member>...] or ${request.body.<member>...}, whose
// members are JSON member names made of letters, digits, "_", "-" and "$";
// "\$" is a literal "$". An empty expression is Default. Anything else
// (other variables, JSONPath brackets, braces or spaces outside a variable) is
// errdefs.ErrInvalid.
func Parse(expr string) (*Selector, error) {
	if expr == "" {
		expr = Default
	}
	var parts []part
	text := func(s string) {
		if n := len(parts); n > 0 && parts[n-1].path == nil {
			parts[n-1].text += s
			return
		}
		parts = append(parts, part{text: s})
	}
	for rest := expr; rest != ""; {
		switch c := rest[0]; {
		case c == '\\' && strings.HasPrefix(rest, "\\$"):
			text("$")
			rest = rest[2:]
		case c == '$':
			var body string
			if inner, ok := strings.CutPrefix(rest, "${"); ok {
				end := strings.IndexByte(inner, '}')
				if end < 0 {
					return nil, invalidExpr(expr, "an opening ${ without its closing }")
				}
				body, rest = inner[:end], inner[end+1:]
			} else {
				end := 1
				for end < len(rest) && (rest[end] == '.' || memberChar(rune(rest[end]))) {
					end++
				}
				body, rest = rest[1:end], rest[end:]
			}
			path, err := parsePath(expr, body)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part{path: path})
		case c == '{', c == '}', c == '[', c == ']', c == ' ', c == '\t', c == '\n', c == '\r':
			return nil, invalidExpr(expr, fmt.Sprintf("the character %q outside a variable", c))
		default:
			end := 1 + strings.IndexAny(rest[1:], "\\${}[] \t\n\r")
			if end == 0 {
				end = len(rest)
			}
			text(rest[:end])
			rest = rest[end:]
		}
	}
	return &Selector{expr: expr, parts: parts}, nil
}

// parsePath parses a variable's name, "request.body.<member>[.<member>...]".
func parsePath(expr, name string) ([]string, error) {
	rest, ok := strings.CutPrefix(name, "request.body.")
	if !ok {
		return nil, invalidExpr(expr, fmt.Sprintf("variable $%s is not $request.body.<member>", name))
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
	return path, nil
}

func invalidExpr(expr, why string) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
		fmt.Sprintf("route selection expression %q: %s (use $request.body.<member>[.<member>...], e.g. %s, or ${...} variables among static text)", expr, why, Default))
}

// Static returns the value of an expression without variables ("\$default"
// is "$default"), whatever the body, and ok=false for one with variables.
func (s *Selector) Static() (value string, ok bool) {
	if len(s.parts) == 1 && s.parts[0].path == nil {
		return s.parts[0].text, true
	}
	return "", false
}

// String returns the expression as given.
func (s *Selector) String() string { return s.expr }

// Select evaluates the expression over a message body. It returns the selected
// value as a string (static text and each variable's value: a JSON string's
// value, a number, boolean or object's JSON text; null and a missing member
// give "") and ok=true, or ok=false when the body is not a JSON object
// (non-JSON, too deeply nested, or another JSON type).
func (s *Selector) Select(body []byte) (value string, ok bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !json.Valid(body) {
		return "", false
	}
	if len(s.parts) == 1 {
		if p := s.parts[0]; p.path != nil {
			return lookup(body, p.path), true
		}
	}
	var b strings.Builder
	for _, p := range s.parts {
		if p.path == nil {
			b.WriteString(p.text)
			continue
		}
		b.WriteString(lookup(body, p.path))
	}
	return b.String(), true
}

// lookup returns the string value at path in a valid JSON object.
func lookup(body json.RawMessage, path []string) string {
	cur := body
	for _, seg := range path {
		cur = bytes.TrimSpace(cur)
		if len(cur) == 0 || cur[0] != '{' {
			return ""
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil {
			return ""
		}
		next, found := obj[seg]
		if !found {
			return ""
		}
		cur = next
	}
	return stringify(bytes.TrimSpace(cur))
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
