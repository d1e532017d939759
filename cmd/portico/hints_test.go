package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// hintRe finds a back-quoted portico command in an error hint or a document:
// `portico build DIR -t REF`.
var hintRe = regexp.MustCompile("`portico((?: [a-z][a-z0-9-]*)+)")

// TestHintedCommandsExist: every `portico ...` command that the server's
// error messages or the docs tell a user to run names a command of the CLI,
// so that a hint never sends anyone to a command that does not exist.
func TestHintedCommandsExist(t *testing.T) {
	t.Parallel()
	root := newRoot()
	repo := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata", "bin":
				return filepath.SkipDir
			}
			return nil
		}
		source := strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go")
		if !source && !strings.HasSuffix(path, ".md") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range hintRe.FindAllStringSubmatch(string(b), -1) {
			if m[1] == " fn crate" {
				continue // docs/cli.md's example of a mistyped command
			}
			checked++
			words := strings.Fields(m[1])
			if !commandExists(root, words) {
				t.Errorf("%s: `portico%s` names no command of the CLI", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("found no `portico ...` hint at all: is the walk looking in the right place?")
	}
}

// commandExists reports whether words (lower-case words after `portico`) lead
// to a command: the longest run of them that names subcommands must end at a
// command that takes the rest as arguments, not at a group that has no
// subcommand of the next word's name.
func commandExists(root *cobra.Command, words []string) bool {
	c, rest, err := root.Find(words)
	if err != nil {
		return false
	}
	if c == root {
		return false
	}
	// A group (fn, image, ...) given a word that is none of its subcommands:
	// the word was meant as one.
	return len(rest) == 0 || !c.HasSubCommands()
}
