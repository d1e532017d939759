package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestCLIDocCoversTheBinary: docs/cli.md names every command of the binary
// (portico GROUP VERB, or GROUP with its verbs listed as `VERB | VERB`),
// every alias of a command, and every flag of every command, so that the
// reference cannot fall behind what the binary does.
func TestCLIDocCoversTheBinary(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	// Verbs listed after a group: "portico api list | get ID | delete ID".
	listed := map[string]bool{}
	word := regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "portico ") {
			continue
		}
		var path []string
		for _, w := range strings.Fields(line) {
			if !word.MatchString(w) {
				break
			}
			path = append(path, w)
		}
		listed[strings.Join(path, " ")] = true
		group := strings.Join(path[:len(path)-1], " ")
		for _, alt := range strings.Split(line, "|")[1:] {
			if f := strings.Fields(alt); len(f) > 0 && word.MatchString(f[0]) {
				listed[group+" "+f[0]] = true
			}
		}
	}
	skip := map[string]bool{"portico completion": true, "portico help": true}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := c.CommandPath()
		if skip[path] || strings.HasPrefix(path, "portico completion") {
			return
		}
		if c.Runnable() && !c.HasSubCommands() && c != c.Root() {
			if !listed[path] && !strings.Contains(doc, "`"+strings.TrimPrefix(path, "portico ")) {
				t.Errorf("docs/cli.md does not show %q", path)
			}
			c.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" {
					return
				}
				if !regexp.MustCompile(`--` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(doc) {
					t.Errorf("docs/cli.md does not mention %s --%s", path, f.Name)
				}
			})
		}
		for _, a := range c.Aliases {
			if !strings.Contains(doc, "`"+a+"`") {
				t.Errorf("docs/cli.md does not mention %s's alias %q", path, a)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
}
