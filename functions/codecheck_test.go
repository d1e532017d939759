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
	if err := os.RemoveAll(path); err != nil {
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
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
}
