package functions

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "hello", false)
	if c.Version != Latest || c.CodeHash == "" || c.RevisionID == "" {
		t.Fatalf("%+v", c)
	}
	fi, err := os.Stat(filepath.Join(e.svc.CodeDir(c), "bootstrap"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatal(fi, err)
	}
	v1, err := e.svc.Publish(ctx, "hello", "", "")
	if err != nil || v1.Version != "1" {
		t.Fatal(v1, err)
	}
	v1b, err := e.svc.Publish(ctx, "hello", "", "")
	if err != nil || v1b.Version != "1" {
		t.Fatal(v1b, err)
	}
	e.reopen(t)
	g, err := e.svc.Get(ctx, "hello", "1")
	if err != nil || g.CodeHash != c.CodeHash {
		t.Fatal(g, err)
	}
}
