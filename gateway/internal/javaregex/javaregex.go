// Package javaregex compiles the regular expressions API Gateway reads with
// Java's java.util.regex (integration responses' selection patterns, models'
// pattern and patternProperties): with Go's regexp (RE2) when it compiles
// them, so that those cost what they always did and never backtrack, else
// with a backtracking engine (github.com/dlclark/regexp2 in its RE2 mode:
// ASCII \d, \w and \s, as Java's are) for what RE2 lacks, such as lookahead
// (?=...) and (?!...), lookbehind, backreferences and atomic groups, whose
// matches are bounded by MatchTimeout. Java's POSIX classes \p{Alpha},
// \p{Punct}, ... (US-ASCII, as Java's default) are read as RE2's [[:alpha:]],
// [[:punct:]], ... by both engines.
package javaregex

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// MatchTimeout bounds one match of a pattern that only the backtracking
// engine compiles; past it the match fails with ErrTimeout.
const MatchTimeout = 100 * time.Millisecond

// ErrTimeout is the error of a backtracking match that took longer than
// MatchTimeout (or more stack than the engine allows).
var ErrTimeout = errors.New("regular expression match took too long")

// SyntaxError is a pattern neither engine compiles.
type SyntaxError struct {
	// Pattern is the pattern as given.
	Pattern string
	// Reason says what is wrong with it, without the pattern.
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%q is not a regular expression: %s", e.Pattern, e.Reason)
}

// Regexp is a compiled pattern. Safe for concurrent use.
type Regexp struct {
	pattern string
	re2     *regexp.Regexp  // when RE2 compiles it
	bt      *regexp2.Regexp // else
}

// Compile compiles pattern to find a match anywhere in the string (JSON
// Schema's pattern and patternProperties).
func Compile(pattern string) (*Regexp, error) { return compile(pattern, false) }

// CompileWhole compiles pattern to match the whole string, as Java's
// String.matches does (selection patterns).
func CompileWhole(pattern string) (*Regexp, error) { return compile(pattern, true) }

func compile(pattern string, whole bool) (*Regexp, error) {
	src := translate(pattern)
	// The pattern alone first: wrapped, one that is not a regular expression
	// may compile ("a)|(b") and one that is not names the wrapped text in
	// its error.
	if re, err := regexp.Compile(src); err == nil {
		if whole {
			// The group adds a level of nesting, which RE2 bounds: past
			// it, the other engine.
			re, err = regexp.Compile("^(?:" + src + ")$")
		}
		if err == nil {
			return &Regexp{pattern: pattern, re2: re}, nil
		}
	}
	if _, err := regexp2.Compile(src, regexp2.RE2); err != nil {
		return nil, &SyntaxError{Pattern: pattern, Reason: reason(err)}
	}
	if whole {
		src = `^(?:` + src + `)\z`
	}
	bt, err := regexp2.Compile(src, regexp2.RE2)
	if err != nil {
		return nil, &SyntaxError{Pattern: pattern, Reason: reason(err)}
	}
	bt.MatchTimeout = MatchTimeout
	return &Regexp{pattern: pattern, bt: bt}, nil
}

// reason is a compile error without its "error parsing regexp: " prefix
// and the pattern it quotes (the caller names the pattern).
func reason(err error) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
	if !strings.HasSuffix(msg, "`") {
		return msg
	}
	// regexp2's "... in `pattern`", RE2's "...: `text`".
	if i := strings.LastIndex(msg, " in `"); i > 0 {
		return msg[:i]
	}
	if i := strings.Index(msg, ": `"); i > 0 {
		return msg[:i]
	}
	return msg
}

// String returns the pattern as it was given.
func (re *Regexp) String() string { return re.pattern }

// Backtracks reports whether re needs the backtracking engine (RE2 does not
// compile it), whose matches MatchTimeout bounds.
func (re *Regexp) Backtracks() bool { return re.bt != nil }

// MatchString reports whether s matches re. The error, wrapping ErrTimeout,
// is that of a backtracking match that took longer than MatchTimeout (or
// needed more stack than its bound), whose result is unknown.
func (re *Regexp) MatchString(s string) (bool, error) {
	if re.re2 != nil {
		return re.re2.MatchString(s), nil
	}
	ok, err := re.bt.MatchString(s)
	if err != nil {
		// Not regexp2's error, which quotes the input (a request's data).
		why := "more than " + MatchTimeout.String()
		if errors.Is(err, regexp2.ErrBacktrackingStackLimit) {
			why = "more backtracking stack than allowed"
		}
		return false, fmt.Errorf("pattern %q on %d bytes: %w (%s)", re.pattern, len(s), ErrTimeout, why)
	}
	return ok, nil
}

// posixClasses are Java's POSIX character classes (\p{Name}), US-ASCII as
// Java's are by default, by their RE2 names.
var posixClasses = map[string]string{
	"Lower": "lower", "Upper": "upper", "ASCII": "ascii", "Alpha": "alpha", "Digit": "digit",
	"Alnum": "alnum", "Punct": "punct", "Graph": "graph", "Print": "print", "Blank": "blank",
	"Cntrl": "cntrl", "XDigit": "xdigit", "Space": "space",
}

// translate rewrites Java's POSIX classes \p{Alpha} and \P{Alpha} as RE2's
// [[:alpha:]] and [[:^alpha:]] ([:alpha:] inside a character class); the rest
// of the pattern, escapes and \Q...\E quotes included, is left as it is.
func translate(p string) string {
	if !strings.Contains(p, `\p{`) && !strings.Contains(p, `\P{`) {
		return p
	}
	var b strings.Builder
	depth := 0 // nesting of character classes (Java allows [a-z[0-9]])
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p) && p[i+1] == 'Q':
			end := strings.Index(p[i+2:], `\E`)
			if end < 0 {
				b.WriteString(p[i:])
				return b.String()
			}
			b.WriteString(p[i : i+2+end+2])
			i += 2 + end + 1
		case c == '\\' && i+1 < len(p):
			if name, n, ok := posixAt(p[i+1:]); ok {
				neg := ""
				if p[i+1] == 'P' {
					neg = "^"
				}
				if depth > 0 {
					b.WriteString("[:" + neg + name + ":]")
				} else {
					b.WriteString("[[:" + neg + name + ":]]")
				}
				i += n
				continue
			}
			b.WriteString(p[i : i+2])
			i++
		case c == '[':
			depth++
			b.WriteByte(c)
			// A ']' first in a class (after an optional '^') is literal.
			j := i + 1
			if j < len(p) && p[j] == '^' {
				j++
			}
			if j < len(p) && p[j] == ']' {
				b.WriteString(p[i+1 : j+1])
				i = j
			}
		case c == ']' && depth > 0:
			depth--
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// posixAt reads "p{Name}" or "P{Name}" at the start of s for one of Java's
// POSIX classes: its RE2 name and the length read.
func posixAt(s string) (string, int, bool) {
	if len(s) < 3 || (s[0] != 'p' && s[0] != 'P') || s[1] != '{' {
		return "", 0, false
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return "", 0, false
	}
	name, ok := posixClasses[s[2:end]]
	return name, end + 1, ok
}
