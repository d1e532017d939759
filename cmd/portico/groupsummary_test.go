package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestGroupSummariesNameAllTheirVerbs: a command group whose one-line summary
// (portico --help, portico GROUP --help) lists its verbs lists them all, by
// name or by the word the summary uses for one ("show" for get): a summary
// that names some reads as the whole list.
func TestGroupSummariesNameAllTheirVerbs(t *testing.T) {
	t.Parallel()
	root := newRoot()
	synonyms := map[string][]string{"get": {"show", "inspect"}, "send": {"message"}, "set-var": {"variables"}}
	names := func(short, verb string) bool {
		for _, w := range append([]string{verb}, synonyms[verb]...) {
			if regexp.MustCompile(`(?i)(^|[^a-z-])` + regexp.QuoteMeta(w) + `($|[^a-z-])`).MatchString(short) {
				return true
			}
		}
		return false
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.HasSubCommands() || strings.HasPrefix(c.CommandPath(), "portico completion") {
			return
		}
		var named, missing []string
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if names(c.Short, sub.Name()) {
				named = append(named, sub.Name())
			} else {
				missing = append(missing, sub.Name())
			}
			walk(sub)
		}
		if c != root && len(named) >= 2 && len(missing) > 0 {
			t.Errorf("%s: the summary %q names %v but not %v", c.CommandPath(), c.Short, named, missing)
		}
	}
	walk(root)
}
