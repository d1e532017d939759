package functions

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMissingCodeLooksInsideTheTree is the ops23 restore cut short: a backup's
// tar lists code/HASH/ before its files, so an archive cut short there leaves
// an empty (or partial) code/HASH/, which the check at start took as present,
// and every invoke then failed as the function's own error
// (Runtime.InvalidEntrypoint). The check looks inside: beside a sound archive
// the tree is unpacked again; without one, the code is missing (the invoke's
// 503), and an upload of the same code replaces the short tree.
func TestMissingCodeLooksInsideTheTree(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		damage    func(t *testing.T, dir string)
		dropZip   bool
		wantFixed bool
	}{
		{"empty tree, sound archive", emptyTree, false, true},
		{"missing tree, sound archive", func(t *testing.T, dir string) { mustRemove(t, dir) }, false, true},
		{"truncated bootstrap, sound archive", truncBootstrap, false, true},
		{"empty tree, no archive", emptyTree, true, false},
		{"empty tree, damaged archive", emptyTree, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.create(t, "fn", false)
			dir := filepath.Join(e.svc.codeRoot(), c.CodeHash)
			tc.damage(t, dir)
			zipPath := dir + ".zip"
			if tc.dropZip {
				mustRemove(t, zipPath)
			} else if !tc.wantFixed {
				if err := os.WriteFile(zipPath, []byte("PK cut short"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// Before a sandbox start: the cheap check.
			err := e.svc.RepairCode(ctx, c)
			if tc.wantFixed != (err == nil) || (err != nil && !errors.Is(err, fs.ErrNotExist)) {
				t.Fatalf("RepairCode = %v; want fixed %v, else an error wrapping ErrNotExist", err, tc.wantFixed)
			}
			tc.damage(t, dir) // again, for the check at start
			var logs bytes.Buffer
			e.svc.log = slog.New(slog.NewTextHandler(&logs, nil))
			missing, err := e.svc.MissingCode(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantFixed {
				if len(missing) != 0 {
					t.Fatalf("MissingCode = %+v; want none, the tree unpacked again from its archive", missing)
				}
				body, err := os.ReadFile(filepath.Join(dir, "bootstrap"))
				if err != nil || !strings.Contains(string(body), "fn") {
					t.Fatalf("bootstrap after the repair: %q, %v", body, err)
				}
				if !strings.Contains(logs.String(), "unpacked again from its archive") {
					t.Errorf("the repair is not logged:\n%s", logs.String())
				}
				return
			}
			if len(missing) != 1 || missing[0].Function != "fn" || missing[0].Hash != c.CodeHash {
				t.Fatalf("MissingCode = %+v; want fn's $LATEST", missing)
			}
			// An upload of the same code replaces the short tree.
			if _, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: goodZip(t, "fn")}); err != nil {
				t.Fatal(err)
			}
			if missing, err := e.svc.MissingCode(ctx); err != nil || len(missing) != 0 {
				t.Fatalf("after uploading the code again: MissingCode = %+v, %v; want none", missing, err)
			}
			if err := e.svc.RepairCode(ctx, c); err != nil {
				t.Fatalf("after uploading the code again: RepairCode = %v", err)
			}
		})
	}
}

func mustRemove(t *testing.T, path string) {
	t.Helper()
	if err := removeTree(path); err != nil { // read-only trees too, as a non-root user
		t.Fatal(err)
	}
}

func emptyTree(t *testing.T, dir string) {
	t.Helper()
	mustRemove(t, dir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func truncBootstrap(t *testing.T, dir string) {
	t.Helper()
	writable(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
}

// writable gives dir and its bootstrap their write bits back, as a tree
// unpacked by a build before read-only trees has them.
func writable(t *testing.T, dir string) {
	t.Helper()
	for _, p := range []string{dir, filepath.Join(dir, "bootstrap")} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStartMakesOldTreesReadOnly: a tree unpacked by a build before read-only
// trees (its files and directories writable) is whole, not unpacked again, and
// the check at start makes it read-only.
func TestStartMakesOldTreesReadOnly(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, "fn", false)
	dir := filepath.Join(e.svc.codeRoot(), c.CodeHash)
	writable(t, dir)
	var logs bytes.Buffer
	e.svc.log = slog.New(slog.NewTextHandler(&logs, nil))
	if missing, err := e.svc.MissingCode(context.Background()); err != nil || len(missing) != 0 {
		t.Fatalf("MissingCode = %+v, %v; want none", missing, err)
	}
	if logs.Len() != 0 {
		t.Errorf("a whole tree with write bits is logged:\n%s", logs.String())
	}
	for p, want := range map[string]fs.FileMode{dir: 0o755, filepath.Join(dir, "bootstrap"): 0o555} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", p, fi.Mode(), err, want)
		}
	}
}

// TestRemoveTreeRemovesReadOnlyTrees: a read-only tree (files without write
// bits, directories 0555 as a build for a while left them, one
// of them 0) is removed whole. As root the modes never stood in the way;
// run as another user (see docs/runtimes.md), os.RemoveAll alone fails here.
func TestRemoveTreeRemovesReadOnlyTrees(t *testing.T) {
	root := t.TempDir()
	tree := filepath.Join(root, "tree")
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(tree, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tree, d, "f"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := makeReadOnly(tree); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(tree, "c"), 0); err != nil {
		t.Fatal(err)
	}
	if err := removeTree(tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tree); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the tree is still there: %v", err)
	}
	if err := removeTree(tree); err != nil {
		t.Errorf("removing what is gone: %v", err)
	}
}
