package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeTarget finds where a command writes a file: a shell redirection, or
// the file argument of the commands the pages use to make one.
var writeTarget = regexp.MustCompile(`(?:^|[\s;|&])(?:\d?>>?|-keyout|-out|portico backup|tar -cf|mkdir(?: -p)?|--accepts \S+|raw-in-base64-out)\s+([^\s;|&)'"]+)`)

// TestBlocksWriteUnderScratch: the files the pages' runnable blocks make,
// which a user runs from the repository root, go under ./scratch, which
// .gitignore lists: API key values, IAM secrets, TLS private keys, the IAM
// sealing key and backups were left in the root for `git add -A` to commit.
func TestBlocksWriteUnderScratch(t *testing.T) {
	root := root(t)
	ignore, err := os.ReadFile(filepath.Join(root, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\n"+string(ignore), "\n/scratch/\n") {
		t.Errorf(".gitignore does not list /scratch/, where the pages' examples write their files")
	}
	for _, p := range pages(t, root) {
		for _, b := range p.Blocks {
			for _, c := range b.Commands {
				for _, m := range writeTarget.FindAllStringSubmatch(c.Text, -1) {
					target := m[1]
					switch {
					case strings.HasPrefix(target, "/dev/"), strings.HasPrefix(target, "&"),
						target == "scratch", strings.HasPrefix(target, "scratch/"), strings.HasPrefix(target, "$"):
						continue
					}
					t.Errorf("%s:%d: %s\nwrites %s into the repository root: write it under scratch/ (git-ignored)", p.Name, c.Line, c.Text, target)
				}
			}
		}
	}
}
