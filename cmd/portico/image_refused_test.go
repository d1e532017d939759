package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestImageFunctionRefusedOnProcessRuntime: creating an Image function where the
// server runs the process runtime fails at once, saying what to do, instead of at
// the first invoke.
func TestImageFunctionRefusedOnProcessRuntime(t *testing.T) {
	env := apptest.Start(t, apptest.Options{Runtime: "process"})
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"--endpoint", env.AdminURL, "fn", "create", "img", "--image", "portico-samples/hello:latest"})
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--runtime docker") || !strings.Contains(err.Error(), "Zip") {
		t.Fatalf("fn create --image on the process runtime: %v\n%s", err, out.String())
	}
	if got := cli(t, env, "fn", "list"); strings.Contains(got, "img") {
		t.Errorf("the refused function exists:\n%s", got)
	}
}
