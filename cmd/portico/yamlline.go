package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// badToken is yaml.v3's message for a character no token starts with, most
// often a tab where YAML takes spaces.
const badToken = "found character that cannot start any token"

// syntaxLine adds to a YAML syntax error of raw the line yaml.v3 leaves out
// when it is line 1 (it counts from 0 and writes none for 0), and, when that
// line's trouble is a tab, that YAML indents with spaces. Other errors are
// returned as they are.
func syntaxLine(err error, raw []byte) error {
	msg, ok := strings.CutPrefix(err.Error(), "yaml: ")
	if !ok || strings.HasPrefix(msg, "unmarshal errors:") {
		return err
	}
	line := 0
	if n, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(n, "line ") {
		line, _ = strconv.Atoi(strings.TrimPrefix(n, "line "))
		msg = rest
	} else {
		// Line 1 is the line only when it fails alone the same way: a
		// reader error (bad UTF-8 further on) has no line either.
		first, _, _ := bytes.Cut(raw, []byte("\n"))
		var v any
		if ferr := yaml.Unmarshal(first, &v); ferr == nil || ferr.Error() != err.Error() {
			return err
		}
		line = 1
	}
	if line < 1 {
		return err
	}
	hint := ""
	if lines := bytes.Split(raw, []byte("\n")); msg == badToken && line <= len(lines) && bytes.ContainsRune(lines[line-1], '\t') {
		hint = " (a tab: YAML indents with spaces, not tabs)"
	}
	return fmt.Errorf("yaml: line %d: %s%s", line, msg, hint)
}
