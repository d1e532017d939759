package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error [Parse] returns.
var ErrSyntax = errors.New("template syntax error")

// SyntaxError is a template that does not parse, with the line and column
// (1-based, columns in bytes) where the parser gave up.
type SyntaxError struct {
	Template string
	Line     int
	Column   int
	Msg      string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("template %q: line %d, column %d: %s", e.Template, e.Line, e.Column, e.Msg)
}

// Unwrap makes errors.Is(err, ErrSyntax) true.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// MaxTemplateBytes is the largest template Parse accepts (API Gateway's own
// limit on a mapping template is 300 KB).
const MaxTemplateBytes = 1 << 20

// maxNesting bounds directive and expression nesting while parsing.
const maxNesting = 200

// Parse parses a template. name identifies it in errors (API Gateway names a
// template by its content type).
func Parse(name, src string) (*Template, error) {
	if len(src) > MaxTemplateBytes {
		return nil, &SyntaxError{Template: name, Line: 1, Column: 1, Msg: fmt.Sprintf("template is larger than %d bytes", MaxTemplateBytes)}
	}
	p := &parser{src: src, name: name, macros: map[string]*macroDef{}, syms: newSymtab(), nest: new(int), pathErr: new(error)}
	nodes, term, err := p.block(0)
	if err != nil {
		return nil, err
	}
	if term != "" {
		return nil, p.errAt(p.termOff, "#%s without a matching #if, #foreach, #define or #macro", term)
	}
	return &Template{name: name, src: src, root: nodes, limits: DefaultLimits(), nslots: len(p.syms.index),
		context: p.syms.used[slotContext], stageVariables: p.syms.used[slotStageVariables], pathErr: *p.pathErr}, nil
}

type parser struct {
	src     string
	pos     int
	name    string
	base    int // offset of src within the template (for string literals)
	full    string
	macros  map[string]*macroDef
	syms    *symtab
	termOff int
	// nest counts the directives and expressions being parsed, across the
	// parsers of string literals, so no input recurses without bound.
	nest *int
	// pathErr is the first $input.json or $input.path whose literal
	// JSONPath does not compile, across the parsers of string literals.
	pathErr *error
}

// enter counts one more level of nesting; leave undoes it.
func (p *parser) enter() error {
	*p.nest++
	if *p.nest > maxNesting {
		return p.errAt(p.pos, "directives and expressions nested more than %d deep", maxNesting)
	}
	return nil
}

func (p *parser) leave() { *p.nest-- }

func (p *parser) errAt(off int, format string, args ...any) error {
	full := p.full
	if full == "" {
		full = p.src
	}
	line, col := lineCol(full, p.base+off)
	return &SyntaxError{Template: p.name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func lineCol(src string, off int) (int, int) {
	off = min(max(off, 0), len(src))
	line := 1 + strings.Count(src[:off], "\n")
	col := off + 1
	if nl := strings.LastIndexByte(src[:off], '\n'); nl >= 0 {
		col = off - nl
	}
	return line, col
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '-'
}

// ident reads a Velocity 1.7 identifier at pos: a letter or _, then letters,
// digits, _ and - (a trailing - is left out).
func (p *parser) ident() string {
	start := p.pos
	if p.pos >= len(p.src) || !isIdentStart(p.src[p.pos]) {
		return ""
	}
	p.pos++
	for p.pos < len(p.src) && isIdentChar(p.src[p.pos]) {
		if p.src[p.pos] == '-' && (p.pos+1 >= len(p.src) || !isIdentStart(p.src[p.pos+1]) && !isDigit(p.src[p.pos+1])) {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

// block parses nodes until #end, #else, #elseif or the end of the source and
// returns the terminator's name ("" at the end).
func (p *parser) block(depth int) ([]node, string, error) {
	if err := p.enter(); err != nil {
		return nil, "", err
	}
	defer p.leave()
	var nodes []node
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			nodes = append(nodes, &textNode{text: text.String()})
			text.Reset()
		}
	}
	// chunkStart is where the last run of plain text (no $, # or \\)
	// began; [loneStart, loneEnd) the last run of $ and # kept as text.
	chunkStart, loneStart, loneEnd := -1, -1, -1
	lone := func() {
		if loneEnd != p.pos-1 {
			loneStart = p.pos - 1
		}
		loneEnd = p.pos
	}
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch c {
		case '\\':
			// Count backslashes; they escape a following reference or directive.
			start := p.pos
			for p.pos < len(p.src) && p.src[p.pos] == '\\' {
				p.pos++
			}
			n := p.pos - start
			if p.pos < len(p.src) && p.src[p.pos] == '$' {
				save := p.pos
				ref, ok, err := p.reference(false)
				if err != nil {
					return nil, "", err
				}
				if ok {
					flush()
					nodes = append(nodes, &refNode{ref: ref, backslashes: n})
					continue
				}
				p.pos = save
			}
			if p.pos < len(p.src) && p.src[p.pos] == '#' && n%2 == 1 {
				// \#if renders "#if" and is not a directive; before a
				// name that is not a directive's or a macro's (\#foo) the
				// backslashes stay, as in Velocity 1.7.
				save := p.pos
				p.pos++
				if name, _ := p.directiveName(); name != "" && (velocityDirectives[name] || p.macros[name] != nil) {
					text.WriteString(p.src[start : start+n/2])
					text.WriteString(p.src[save:p.pos])
					continue
				}
				p.pos = save
			}
			text.WriteString(p.src[start:p.pos])
		case '$':
			save := p.pos
			ref, ok, err := p.reference(false)
			if err != nil {
				return nil, "", err
			}
			if !ok {
				p.pos = save + 1
				text.WriteByte('$')
				lone()
				continue
			}
			flush()
			nodes = append(nodes, &refNode{ref: ref})
		case '#':
			off := p.pos
			if strings.HasPrefix(p.src[p.pos:], "##") {
				nl := strings.IndexAny(p.src[p.pos:], "\n")
				if nl < 0 {
					p.pos = len(p.src)
				} else {
					p.pos += nl + 1
				}
				continue
			}
			if strings.HasPrefix(p.src[p.pos:], "#*") {
				end := strings.Index(p.src[p.pos+2:], "*#")
				if end < 0 {
					return nil, "", p.errAt(off, "unclosed comment #*")
				}
				p.pos += 2 + end + 2
				continue
			}
			if strings.HasPrefix(p.src[p.pos:], "#[[") {
				end := strings.Index(p.src[p.pos+3:], "]]#")
				if end < 0 {
					return nil, "", p.errAt(off, "unclosed #[[ ]]#")
				}
				text.WriteString(p.src[p.pos+3 : p.pos+3+end])
				p.pos += 3 + end + 3
				continue
			}
			p.pos++
			name, formal := p.directiveName()
			if name == "" {
				text.WriteByte('#')
				lone()
				continue
			}
			switch name {
			case "end", "else", "elseif":
				flush()
				p.termOff = off
				if name != "elseif" {
					p.eatLineEnd()
				}
				return nodes, name, nil
			case "set":
				// Velocity 1.7's #set token takes the spaces and tabs
				// before it when they begin a token: they follow a
				// reference, a directive (with the line end it took), a
				// comment, or the start of the template, and not other
				// text ("a #set" keeps its space, as does an indented
				// line). $ and # kept as text just before them go too
				// ("a $ #set(...)" renders "a ").
				j := off
				for j > 0 && (p.src[j-1] == ' ' || p.src[j-1] == '\t') {
					j--
				}
				if j < off && chunkStart == j {
					cut := off - j
					if loneEnd == j {
						cut += loneEnd - loneStart
					}
					s := text.String()
					text.Reset()
					text.WriteString(s[:len(s)-cut])
				}
				flush()
				n, err := p.setDirective(off)
				if err != nil {
					return nil, "", err
				}
				nodes = append(nodes, n)
			case "if":
				flush()
				n, err := p.ifDirective(off, depth)
				if err != nil {
					return nil, "", err
				}
				nodes = append(nodes, n)
			case "foreach":
				flush()
				n, err := p.foreachDirective(off, depth)
				if err != nil {
					return nil, "", err
				}
				nodes = append(nodes, n)
			case "break", "stop":
				flush()
				// An optional argument (#break($foreach)) is accepted and ignored.
				save := p.pos
				p.skipInlineSpace()
				if p.pos < len(p.src) && p.src[p.pos] == '(' {
					p.pos++
					if _, err := p.expression(0); err != nil {
						p.pos = save
					} else if p.skipSpace(); p.pos < len(p.src) && p.src[p.pos] == ')' {
						p.pos++
					} else {
						p.pos = save
					}
				} else {
					p.pos = save
				}
				if name == "break" {
					nodes = append(nodes, &breakNode{})
				} else {
					nodes = append(nodes, &stopNode{})
				}
			case "define":
				flush()
				n, err := p.defineDirective(off, depth)
				if err != nil {
					return nil, "", err
				}
				nodes = append(nodes, n)
			case "macro":
				flush()
				if err := p.macroDirective(off, depth); err != nil {
					return nil, "", err
				}
			case "parse", "include", "evaluate":
				return nil, "", p.errAt(off, "#%s is not supported in mapping templates", name)
			default:
				m, ok := p.macros[name]
				if !ok {
					// Not a directive: the text stays as written.
					text.WriteString(p.src[off:p.pos])
					continue
				}
				_ = formal
				flush()
				n, err := p.macroCall(off, m)
				if err != nil {
					return nil, "", err
				}
				nodes = append(nodes, n)
			}
		default:
			next := strings.IndexAny(p.src[p.pos:], "$#\\")
			if next < 0 {
				next = len(p.src) - p.pos
			}
			text.WriteString(p.src[p.pos : p.pos+next])
			chunkStart = p.pos
			p.pos += next
		}
	}
	flush()
	return nodes, "", nil
}

// velocityDirectives are the names a backslash escapes after it (\#if
// renders #if): Velocity 1.7's directives.
var velocityDirectives = map[string]bool{"if": true, "elseif": true, "else": true, "end": true, "set": true,
	"foreach": true, "include": true, "parse": true, "macro": true, "stop": true, "break": true,
	"evaluate": true, "define": true, "literal": true}

// directiveName reads name or {name} after a '#'. It leaves pos unchanged
// and returns "" when none is there.
func (p *parser) directiveName() (string, bool) {
	save := p.pos
	if p.pos < len(p.src) && p.src[p.pos] == '{' {
		p.pos++
		start := p.pos
		for p.pos < len(p.src) && (isIdentStart(p.src[p.pos]) || p.src[p.pos] >= '0' && p.src[p.pos] <= '9') {
			p.pos++
		}
		if p.pos > start && p.pos < len(p.src) && p.src[p.pos] == '}' && isIdentStart(p.src[start]) {
			name := p.src[start:p.pos]
			p.pos++
			return name, true
		}
		p.pos = save
		return "", false
	}
	start := p.pos
	if p.pos >= len(p.src) || !isLetter(p.src[p.pos]) {
		return "", false
	}
	for p.pos < len(p.src) && (isIdentStart(p.src[p.pos]) || p.src[p.pos] >= '0' && p.src[p.pos] <= '9') {
		p.pos++
	}
	return p.src[start:p.pos], false
}

// eatLineEnd consumes spaces and tabs and one line break after a directive,
// when nothing else follows it on the line (Velocity 1.7).
func (p *parser) eatLineEnd() {
	i := p.pos
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t') {
		i++
	}
	switch {
	case strings.HasPrefix(p.src[i:], "\r\n"):
		p.pos = i + 2
	case i < len(p.src) && (p.src[i] == '\n' || p.src[i] == '\r'):
		p.pos = i + 1
	}
}

func (p *parser) skipInlineSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) expect(c byte, what string) error {
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != c {
		if p.pos >= len(p.src) {
			return p.errAt(p.pos, "expected %s, found the end of the template", what)
		}
		return p.errAt(p.pos, "expected %s, found %q", what, charAt(p.src, p.pos))
	}
	p.pos++
	return nil
}

// openParen expects the '(' of a directive, with optional spaces before it.
func (p *parser) openParen(dir string, off int) error {
	p.skipInlineSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return p.errAt(off, "#%s needs '(' after it", dir)
	}
	p.pos++
	return nil
}

func (p *parser) closeParen(dir string, off int) error {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return p.errAt(off, "unclosed #%s: expected ')'", dir)
	}
	if p.src[p.pos] != ')' {
		return p.errAt(p.pos, "#%s: expected ')', found %q", dir, charAt(p.src, p.pos))
	}
	p.pos++
	p.eatLineEnd()
	return nil
}

func (p *parser) setDirective(off int) (node, error) {
	if err := p.openParen("set", off); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '$' {
		return nil, p.errAt(p.pos, "#set needs a reference to assign to")
	}
	ref, ok, err := p.reference(true)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, p.errAt(p.pos, "#set needs a reference to assign to")
	}
	if last := len(ref.parts) - 1; last >= 0 && ref.parts[last].kind == partMethod {
		return nil, p.errAt(ref.off, "#set cannot assign to a method call")
	}
	if err := p.expect('=', "'=' in #set"); err != nil {
		return nil, err
	}
	val, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if err := p.closeParen("set", off); err != nil {
		return nil, err
	}
	return &setNode{target: ref, val: val, off: off}, nil
}

func (p *parser) ifDirective(off, depth int) (node, error) {
	n := &ifNode{}
	dir := "if"
	for {
		if err := p.openParen(dir, off); err != nil {
			return nil, err
		}
		cond, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		if err := p.closeParen(dir, off); err != nil {
			return nil, err
		}
		body, term, err := p.block(depth + 1)
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch term {
		case "end":
			return n, nil
		case "elseif":
			dir = "elseif"
			off = p.termOff
			continue
		case "else":
			els, term, err := p.block(depth + 1)
			if err != nil {
				return nil, err
			}
			if term != "end" {
				if term == "" {
					return nil, p.errAt(off, "unclosed #if: #else without #end")
				}
				return nil, p.errAt(p.termOff, "#%s after #else", term)
			}
			n.els, n.hasEls = els, true
			return n, nil
		default:
			return nil, p.errAt(off, "unclosed #%s: no #end", dir)
		}
	}
}

func (p *parser) foreachDirective(off, depth int) (node, error) {
	if err := p.openParen("foreach", off); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '$' {
		return nil, p.errAt(p.pos, "#foreach needs a loop variable")
	}
	ref, ok, err := p.reference(true)
	if err != nil {
		return nil, err
	}
	if !ok || len(ref.parts) > 0 {
		return nil, p.errAt(off, "#foreach needs a plain loop variable")
	}
	p.skipSpace()
	if !strings.HasPrefix(p.src[p.pos:], "in") || p.pos+2 < len(p.src) && isIdentChar(p.src[p.pos+2]) {
		return nil, p.errAt(p.pos, "#foreach: expected 'in'")
	}
	p.pos += 2
	iter, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if err := p.closeParen("foreach", off); err != nil {
		return nil, err
	}
	body, term, err := p.block(depth + 1)
	if err != nil {
		return nil, err
	}
	if term != "end" {
		if term == "" {
			return nil, p.errAt(off, "unclosed #foreach: no #end")
		}
		return nil, p.errAt(p.termOff, "#%s inside #foreach without #if", term)
	}
	return &foreachNode{name: ref.name, slot: p.syms.slot(ref.name), iter: iter, body: body, off: off}, nil
}

func (p *parser) defineDirective(off, depth int) (node, error) {
	if err := p.openParen("define", off); err != nil {
		return nil, err
	}
	p.skipSpace()
	ref, ok, err := p.reference(true)
	if err != nil {
		return nil, err
	}
	if !ok || len(ref.parts) > 0 {
		return nil, p.errAt(off, "#define needs a plain reference")
	}
	if err := p.closeParen("define", off); err != nil {
		return nil, err
	}
	body, term, err := p.block(depth + 1)
	if err != nil {
		return nil, err
	}
	if term != "end" {
		return nil, p.errAt(off, "unclosed #define: no #end")
	}
	return &defineNode{name: ref.name, slot: p.syms.slot(ref.name), body: body}, nil
}

var reserved = map[string]bool{"set": true, "if": true, "elseif": true, "else": true, "end": true,
	"foreach": true, "break": true, "stop": true, "define": true, "macro": true,
	"parse": true, "include": true, "evaluate": true}

func (p *parser) macroDirective(off, depth int) error {
	if err := p.openParen("macro", off); err != nil {
		return err
	}
	p.skipSpace()
	name := p.ident()
	if name == "" {
		return p.errAt(p.pos, "#macro needs a name")
	}
	if reserved[name] {
		return p.errAt(off, "#macro cannot be named %q", name)
	}
	m := &macroDef{name: name}
	for {
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos >= len(p.src) || p.src[p.pos] != '$' {
			break
		}
		ref, ok, err := p.reference(true)
		if err != nil {
			return err
		}
		if !ok || len(ref.parts) > 0 {
			return p.errAt(p.pos, "#macro parameters are plain references")
		}
		m.params = append(m.params, ref.name)
		m.slots = append(m.slots, p.syms.slot(ref.name))
	}
	if err := p.closeParen("macro", off); err != nil {
		return err
	}
	// Defined before its body so that it may call itself.
	p.macros[name] = m
	body, term, err := p.block(depth + 1)
	if err != nil {
		return err
	}
	if term != "end" {
		return p.errAt(off, "unclosed #macro: no #end")
	}
	m.body = body
	return nil
}

func (p *parser) macroCall(off int, m *macroDef) (node, error) {
	p.skipInlineSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return nil, p.errAt(off, "macro #%s needs '(' after it", m.name)
	}
	p.pos++
	n := &macroCall{m: m, off: off}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.errAt(off, "unclosed call of macro #%s", m.name)
		}
		if p.src[p.pos] == ')' {
			break
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		e, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, e)
		if len(n.args) > 64 {
			return nil, p.errAt(off, "too many macro arguments")
		}
	}
	if err := p.closeParen(m.name, off); err != nil {
		return nil, err
	}
	return n, nil
}

// reference parses $name, $!name, ${name}, $!{name} with .prop, .method(args)
// and [index] modifiers. ok is false (and pos unchanged) when the text at pos
// is not a reference, in which case the '$' is plain text.
func (p *parser) reference(inExpr bool) (*refExpr, bool, error) {
	start := p.pos
	p.pos++ // $
	ref := &refExpr{off: start}
	if p.pos < len(p.src) && p.src[p.pos] == '!' {
		ref.quiet = true
		p.pos++
	}
	formal := false
	if p.pos < len(p.src) && p.src[p.pos] == '{' {
		formal = true
		p.pos++
	}
	ref.name = p.ident()
	if ref.name == "" {
		p.pos = start
		return nil, false, nil
	}
	ref.slot = p.syms.slot(ref.name)
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '.' && p.pos+1 < len(p.src) && isIdentStart(p.src[p.pos+1]) {
			p.pos++
			name := p.ident()
			if p.pos < len(p.src) && p.src[p.pos] == '(' {
				p.pos++
				args, err := p.args(')')
				if err != nil {
					return nil, false, err
				}
				part := refPart{kind: partMethod, name: name, args: args}
				if err := precompile(&part); err != nil && ref.name == "input" && len(ref.parts) == 0 && *p.pathErr == nil {
					*p.pathErr = p.errAt(start, "$input.%s: %v", name, err)
				}
				ref.parts = append(ref.parts, part)
			} else {
				ref.parts = append(ref.parts, refPart{kind: partProp, name: name})
			}
			continue
		}
		if c == '[' && p.pos+1 < len(p.src) && strings.IndexByte("$'\"-0123456789", p.src[p.pos+1]) >= 0 {
			// An index: $a[0], $a['k'], $a[$i]. "$a[" followed by anything
			// else is the reference and then text.
			p.pos++
			e, err := p.expression(0)
			if err != nil {
				return nil, false, err
			}
			if err := p.expect(']', "']' closing the index"); err != nil {
				return nil, false, err
			}
			ref.parts = append(ref.parts, refPart{kind: partIndex, args: []expr{e}})
			continue
		}
		break
	}
	if formal {
		if p.pos >= len(p.src) || p.src[p.pos] != '}' {
			if inExpr {
				return nil, false, p.errAt(start, "unclosed ${")
			}
			p.pos = start
			return nil, false, nil
		}
		p.pos++
	}
	if len(ref.parts) > 64 {
		return nil, false, p.errAt(start, "reference has too many parts")
	}
	ref.raw = p.src[start:p.pos]
	if len(ref.parts) == 1 && ref.parts[0].kind == partMethod && len(ref.parts[0].args) == 1 {
		switch {
		case ref.name == "util" && ref.parts[0].name == "escapeJavaScript":
			ref.direct = directEscapeJS
		case ref.name == "input" && ref.parts[0].name == "json":
			ref.direct = directInputJSON
		}
	}
	if ref.name == "input" && len(ref.parts) == 3 && ref.parts[0].kind == partMethod && ref.parts[0].name == "params" &&
		len(ref.parts[0].args) == 0 && ref.parts[1].kind == partProp && paramsPart(ref.parts[1].name) >= 0 &&
		ref.parts[2].kind == partMethod && ref.parts[2].name == "get" && len(ref.parts[2].args) == 1 {
		ref.direct = directParamsGet
	}
	return ref, true, nil
}

// args parses a comma-separated argument list up to close.
func (p *parser) args(close byte) ([]expr, error) {
	var args []expr
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == close {
		p.pos++
		return nil, nil
	}
	for {
		e, err := p.expression(0)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
		if len(args) > 64 {
			return nil, p.errAt(p.pos, "too many arguments")
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.errAt(p.pos, "unclosed argument list: expected %q", close)
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.src[p.pos] == close {
			p.pos++
			return args, nil
		}
		return nil, p.errAt(p.pos, "expected ',' or %q in argument list, found %q", close, charAt(p.src, p.pos))
	}
}

// Expressions, lowest precedence first: or, and, equality, relational,
// additive, multiplicative, unary, primary.

func (p *parser) expression(depth int) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.binary(0, depth)
}

type opLevel struct {
	syms  []string
	words []string
	ops   []opKind
}

var levels = []opLevel{
	{[]string{"||"}, []string{"or"}, []opKind{opOr}},
	{[]string{"&&"}, []string{"and"}, []opKind{opAnd}},
	{[]string{"==", "!="}, []string{"eq", "ne"}, []opKind{opEq, opNe}},
	{[]string{"<=", ">=", "<", ">"}, []string{"le", "ge", "lt", "gt"}, []opKind{opLe, opGe, opLt, opGt}},
	{[]string{"+", "-"}, nil, []opKind{opAdd, opSub}},
	{[]string{"*", "/", "%"}, nil, []opKind{opMul, opDiv, opMod}},
}

func (p *parser) matchOp(l *opLevel) (opKind, bool) {
	p.skipSpace()
	rest := p.src[p.pos:]
	for i, s := range l.syms {
		if strings.HasPrefix(rest, s) {
			// "=" alone is not "==", and "!" before "=" only as "!=".
			if s == "<" || s == ">" {
				if strings.HasPrefix(rest, s+"=") {
					continue
				}
			}
			p.pos += len(s)
			return l.ops[i], true
		}
	}
	for i, w := range l.words {
		if strings.HasPrefix(rest, w) && (len(rest) == len(w) || !isIdentChar(rest[len(w)])) {
			p.pos += len(w)
			return l.ops[i+len(l.syms)-len(l.words)], true
		}
	}
	return 0, false
}

func (p *parser) binary(level, depth int) (expr, error) {
	if level == len(levels) {
		return p.unary(depth)
	}
	l, err := p.binary(level+1, depth)
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.matchOp(&levels[level])
		if !ok {
			return l, nil
		}
		r, err := p.binary(level+1, depth)
		if err != nil {
			return nil, err
		}
		l = &binExpr{op: op, l: l, r: r}
	}
}

func (p *parser) unary(depth int) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.skipSpace()
	rest := p.src[p.pos:]
	if strings.HasPrefix(rest, "!") && !strings.HasPrefix(rest, "!=") {
		p.pos++
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notExpr{x: x}, nil
	}
	if strings.HasPrefix(rest, "not") && (len(rest) == 3 || !isIdentChar(rest[3])) {
		p.pos += 3
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notExpr{x: x}, nil
	}
	if strings.HasPrefix(rest, "-") && (len(rest) < 2 || rest[1] < '0' || rest[1] > '9') {
		// Velocity 1.7 has no unary minus: "-" before a digit begins a
		// negative number (primary), and before anything else it refuses
		// the template.
		return nil, p.errAt(p.pos, "a minus sign makes a negative number only before a digit: to negate a value, subtract it from 0 (0 - $x)")
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) (expr, error) {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return nil, p.errAt(p.pos, "expected a value, found the end of the template")
	}
	start := p.pos
	c := p.src[p.pos]
	switch {
	case c == '$':
		ref, ok, err := p.reference(true)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errAt(start, "expected a reference after '$'")
		}
		return ref, nil
	case c == '\'':
		// A doubled quote is a quote in the string ('it''s'), as in
		// Velocity 1.7.
		i := p.pos + 1
		for {
			end := strings.IndexByte(p.src[i:], '\'')
			if end < 0 {
				return nil, p.errAt(start, "unclosed string literal")
			}
			i += end + 1
			if i < len(p.src) && p.src[i] == '\'' {
				i++
				continue
			}
			break
		}
		s := p.src[p.pos+1 : i-1]
		p.pos = i
		return &litExpr{v: strings.ReplaceAll(s, "''", "'")}, nil
	case c == '"':
		return p.doubleQuoted(depth)
	case c >= '0' && c <= '9' || c == '-':
		p.pos++
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		isFloat := false
		if p.pos+1 < len(p.src) && p.src[p.pos] == '.' && p.src[p.pos+1] >= '0' && p.src[p.pos+1] <= '9' {
			isFloat = true
			p.pos++
			for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
				p.pos++
			}
		}
		text := p.src[start:p.pos]
		if !isFloat {
			n, err := strconv.ParseInt(text, 10, 64)
			if err == nil {
				return &litExpr{v: n}, nil
			}
			if errors.Is(err, strconv.ErrRange) {
				return &litExpr{v: bigNumber(text)}, nil // a BigInteger, as in Velocity 1.7
			}
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, p.errAt(start, "invalid number %q", text)
		}
		return &litExpr{v: f}, nil
	case c == '(':
		p.pos++
		e, err := p.expression(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(')', "')'"); err != nil {
			return nil, err
		}
		return e, nil
	case c == '[':
		p.pos++
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			p.pos++
			return &listExpr{}, nil
		}
		first, err := p.expression(depth + 1)
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if strings.HasPrefix(p.src[p.pos:], "..") {
			p.pos += 2
			hi, err := p.expression(depth + 1)
			if err != nil {
				return nil, err
			}
			if err := p.expect(']', "']' closing the range"); err != nil {
				return nil, err
			}
			return &rangeExpr{lo: first, hi: hi}, nil
		}
		l := &listExpr{items: []expr{first}}
		for {
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, p.errAt(start, "unclosed list: expected ']'")
			}
			if p.src[p.pos] == ']' {
				p.pos++
				return l, nil
			}
			if p.src[p.pos] != ',' {
				return nil, p.errAt(p.pos, "expected ',' or ']' in list, found %q", charAt(p.src, p.pos))
			}
			p.pos++
			e, err := p.expression(depth + 1)
			if err != nil {
				return nil, err
			}
			l.items = append(l.items, e)
		}
	case c == '{':
		p.pos++
		m := &mapExpr{}
		for {
			p.skipSpace()
			if p.pos >= len(p.src) {
				return nil, p.errAt(start, "unclosed map: expected '}'")
			}
			if p.src[p.pos] == '}' {
				p.pos++
				return m, nil
			}
			if len(m.keys) > 0 {
				if p.src[p.pos] != ',' {
					return nil, p.errAt(p.pos, "expected ',' or '}' in map, found %q", charAt(p.src, p.pos))
				}
				p.pos++
			}
			k, err := p.expression(depth + 1)
			if err != nil {
				return nil, err
			}
			if err := p.expect(':', "':' in map"); err != nil {
				return nil, err
			}
			v, err := p.expression(depth + 1)
			if err != nil {
				return nil, err
			}
			m.keys = append(m.keys, k)
			m.vals = append(m.vals, v)
		}
	case isIdentStart(c):
		word := p.ident()
		switch word {
		case "true":
			return &litExpr{v: true}, nil
		case "false":
			return &litExpr{v: false}, nil
		case "null":
			return &litExpr{v: nil}, nil
		}
		return nil, p.errAt(start, "unexpected word %q in expression", word)
	}
	return nil, p.errAt(start, "unexpected %q in expression", charAt(p.src, start))
}

// charAt is the character at byte offset i of s, for an error to name: the
// whole UTF-8 sequence there ('é', not its first byte read as 'Ã'), or the
// byte as U+FFFD when it starts none.
func charAt(s string, i int) rune {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

// doubleQuoted parses "..." whose references and directives are rendered
// each time it is evaluated. A doubled quote is a quote in the string ("say
// ""hi"""), as in Velocity 1.7. A backslash is text and escapes nothing, a
// quote included, as in Velocity 1.7: "a\" is a\, and in "a\"b" the string
// ends after the backslash (the b that follows then fails the template).
func (p *parser) doubleQuoted(depth int) (expr, error) {
	start := p.pos
	i := p.pos + 1
	doubled := false
	for ; i < len(p.src); i++ {
		if p.src[i] == '"' {
			if i+1 < len(p.src) && p.src[i+1] == '"' {
				i++
				doubled = true
				continue
			}
			break
		}
	}
	if i >= len(p.src) {
		return nil, p.errAt(start, "unclosed string literal")
	}
	body := p.src[start+1 : i]
	p.pos = i + 1
	if doubled {
		body = strings.ReplaceAll(body, `""`, `"`)
	}
	if !strings.ContainsAny(body, "$#") {
		return &litExpr{v: body}, nil
	}
	full := p.full
	if full == "" {
		full = p.src
	}
	sub := &parser{src: body, name: p.name, base: p.base + start + 1, full: full, macros: p.macros, syms: p.syms, nest: p.nest, pathErr: p.pathErr}
	nodes, term, err := sub.block(depth + 1)
	if err != nil {
		return nil, err
	}
	if term != "" {
		return nil, sub.errAt(sub.termOff, "#%s without a matching directive in a string", term)
	}
	if len(nodes) == 1 {
		if t, ok := nodes[0].(*textNode); ok {
			return &litExpr{v: t.text}, nil
		}
	}
	return &strExpr{parts: nodes}, nil
}

// precompile compiles a literal first argument that is a JSONPath or a
// regular expression, so renders do not compile it again. It returns the
// error of a JSONPath that does not compile.
func precompile(part *refPart) error {
	if len(part.args) == 0 {
		return nil
	}
	lit, ok := part.args[0].(*litExpr)
	if !ok {
		return nil
	}
	s, ok := lit.v.(string)
	if !ok {
		return nil
	}
	switch part.name {
	case "json", "path":
		jp, err := CompileJSONPath(s)
		if err != nil {
			return err
		}
		part.jp = jp
	case "replaceAll", "replaceFirst", "matches", "split":
		part.re = newRegexpCache(s)
	}
	return nil
}
