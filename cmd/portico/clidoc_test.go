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
	t.Parallel()
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
	if !strings.Contains(doc, "portico completion bash | zsh | fish | powershell") {
		t.Error("docs/cli.md does not show portico completion")
	}
}

// TestCLIDocFlagsByCommand: every flag of a command that docs/cli.md gives a
// synopsis line (portico GROUP VERB ...) is on one of its synopsis lines or
// in a paragraph that names the command (`GROUP VERB`): not merely
// somewhere in the file, under another command of the same flag.
func TestCLIDocFlagsByCommand(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	lines := strings.Split(doc, "\n")
	paragraphs := strings.Split(doc, "\n\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() || c.HasSubCommands() || c == c.Root() {
			return
		}
		path := c.CommandPath()
		var text []string
		in := false // on a synopsis line of path, or a continuation of it
		for _, l := range lines {
			switch t := strings.TrimSpace(l); {
			case t == path || strings.HasPrefix(t, path+" "):
				in = true
			case in && t != "" && strings.HasPrefix(l, " ") && !strings.HasPrefix(t, "portico "):
			default:
				in = false
			}
			if in {
				text = append(text, l)
			}
		}
		if len(text) == 0 {
			return // listed as a verb of its group, or in prose only
		}
		name := "`" + strings.TrimPrefix(path, "portico ")
		for _, p := range paragraphs {
			if strings.Contains(p, name+"`") || strings.Contains(p, name+" ") {
				text = append(text, p)
			}
		}
		all := strings.Join(text, "\n")
		// `portico dev [same flags]` takes serve's, shown with serve.
		same := strings.Contains(all, "[same flags]")
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" || same && newServeCmd().LocalFlags().Lookup(f.Name) != nil {
				return
			}
			if !regexp.MustCompile(`--` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(all) {
				t.Errorf("docs/cli.md shows %s without --%s", path, f.Name)
			}
		})
	}
	walk(newRoot())
}

// TestReadmeConfigurationCoversServe: the README's configuration table has a
// row for every flag of `portico serve` (a row may name two, as
// `--tls-cert`, `--tls-key`), with the environment variable the flag's help
// names, so that a new setting cannot go unlisted.
func TestReadmeConfigurationCoversServe(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	start := strings.Index(readme, "\n## Configuration")
	if start < 0 {
		t.Fatal("README has no Configuration section")
	}
	section := readme[start:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	rows := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`--([a-z0-9-]+)`").FindAllStringSubmatch(first, -1) {
			rows[m[1]] = line
		}
	}
	newServeCmd().LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		row, ok := rows[f.Name]
		if !ok {
			t.Errorf("README's configuration table has no row for portico serve --%s", f.Name)
			return
		}
		// The variable the flag's help names is in its row too.
		if m := regexp.MustCompile(`env (PORTICO_[A-Z_]+)`).FindStringSubmatch(f.Usage); m != nil && !strings.Contains(row, "`"+m[1]+"`") {
			t.Errorf("README's row for --%s does not name %s: %s", f.Name, m[1], row)
		}
	})
}
