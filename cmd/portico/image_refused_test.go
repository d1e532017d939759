package main

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestImageFunctionRefusedOnProcessRuntime: creating an Image function where the
// server runs the process runtime fails at once, saying what to do, instead of at
// the first invoke.
func TestImageFunctionRefusedOnProcessRuntime(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{Runtime: "process"})
	out, err := cliErr(env, "fn", "create", "img", "--image", "portico-samples/hello:latest")
	if err == nil || !strings.Contains(err.Error(), "--runtime docker") || !strings.Contains(err.Error(), "Zip") {
		t.Fatalf("fn create --image on the process runtime: %v\n%s", err, out)
	}
	if got := cli(t, env, "fn", "list"); strings.Contains(got, "img") {
		t.Errorf("the refused function exists:\n%s", got)
	}
}
