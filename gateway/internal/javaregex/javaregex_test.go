package javaregex

import (
	"errors"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	for _, tc := range []struct {
		name, pattern string
		whole         bool
		backtracks    bool
		match, miss   []string
	}{
		{"RE2", `Not Found:.*`, true, false, []string{"Not Found: x"}, []string{"x Not Found: x", "Not Found"}},
		{"negative lookahead", `^(?!Internal).+`, true, true, []string{"Bad thing"}, []string{"Internal error", ""}},
		{"lookahead", `^(?=.*[A-Z]).{8,}$`, false, true, []string{"abcdefgH"}, []string{"abcdefgh", "abcH"}},
		{"whole, not up to a newline", `(?!x)a`, true, true, []string{"a"}, []string{"a\n", "ba"}},
		{"POSIX class", `^x-\p{Alpha}+$`, false, false, []string{"x-abc"}, []string{"x-ab1", "x-é", "x-"}},
		{"POSIX class in a class", `^[\p{Digit}_]+$`, false, false, []string{"1_2"}, []string{"a"}},
		{"negated POSIX class", `^\P{Alnum}+$`, false, false, []string{"-_"}, []string{"a-"}},
		{"POSIX class with lookahead", `^(?!y)\p{Lower}+$`, false, true, []string{"abc"}, []string{"yes", "ABC"}},
		{"escaped backslash", `^\\p{Alpha}$`, false, false, []string{`\p{Alpha}`}, []string{"a"}},
		{"quoted", `^\Q\p{Alpha}\E$`, false, false, []string{`\p{Alpha}`}, []string{"a"}},
		{"ASCII \\d as Java's", `^(?=1)\d+$`, false, true, []string{"12"}, []string{"1٢"}},
		{"backreference", `^(a|b)\1$`, false, true, []string{"aa"}, []string{"ab"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compile := Compile
			if tc.whole {
				compile = CompileWhole
			}
			re, err := compile(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if re.Backtracks() != tc.backtracks || re.String() != tc.pattern {
				t.Errorf("backtracks %v, string %q", re.Backtracks(), re.String())
			}
			for _, s := range tc.match {
				if ok, err := re.MatchString(s); !ok || err != nil {
					t.Errorf("%q does not match: %v", s, err)
				}
			}
			for _, s := range tc.miss {
				if ok, err := re.MatchString(s); ok || err != nil {
					t.Errorf("%q matches: %v", s, err)
				}
			}
		})
	}
}

// TestCompileErrorNamesThePattern: the error names the pattern as given,
// never the text wrapped around it for a whole match, and a pattern that is
// not one alone is refused even where its wrapped text would compile.
func TestCompileErrorNamesThePattern(t *testing.T) {
	// RE2's nesting bound, reached once anchored: the other engine takes it.
	if _, err := CompileWhole(strings.Repeat("(", 999) + "a" + strings.Repeat(")", 999)); err != nil {
		t.Errorf("deep pattern: %.200v", err)
	}
	for _, p := range []string{"[", "a)|(b", `\p{Nope}`, "a{2,1}"} {
		_, err := CompileWhole(p)
		if err == nil {
			t.Errorf("%.20q compiled", p)
			continue
		}
		var se *SyntaxError
		if msg := err.Error(); !errors.As(err, &se) || se.Pattern != p || se.Reason == "" || strings.Contains(se.Reason, "`") ||
			!strings.HasPrefix(msg, strconvQuote(p)+" is not a regular expression: ") || strings.Contains(msg, "(?:") {
			t.Errorf("%.20q: %.200v", p, err)
		}
	}
}

func strconvQuote(s string) string { return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"` }

// TestBacktrackingIsBounded: a pattern that backtracks without end fails
// with ErrTimeout instead of holding the caller.
func TestBacktrackingIsBounded(t *testing.T) {
	re, err := CompileWhole(`(?=a)(a+)+b`)
	if err != nil || !re.Backtracks() {
		t.Fatal(err)
	}
	ok, err := re.MatchString(strings.Repeat("a", 40) + "c")
	if ok || !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v %v, want ErrTimeout", ok, err)
	}
}
