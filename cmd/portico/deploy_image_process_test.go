package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestDeployImageOnProcessRuntimeRefusedAtPlan is the ops11 tester's: a
// template with an Image function, deployed to a server on the process
// runtime (Zip functions only), passed the plan (a dry run said nothing was
// wrong) and failed in Building. The plan now asks the server, and both the
// dry run and the real one refuse before anything changes, saying what to do.
func TestDeployImageOnProcessRuntimeRefusedAtPlan(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	writeFile(t, tpl, []byte(`Transform: AWS::Serverless-2016-10-31
Resources:
  ImgFn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: portico-samples/hello:latest
`), 0o600)
	for _, args := range [][]string{
		{"deploy", "-t", tpl, "--stack", "img", "--dry-run"},
		{"deploy", "-t", tpl, "--stack", "img"},
	} {
		out, err := cliErr(env, args...)
		if err == nil {
			t.Fatalf("portico %s succeeded on a process-runtime server:\n%s", strings.Join(args, " "), out)
		}
		for _, want := range []string{"ImgFn: ImageUri portico-samples/hello:latest", "runs Zip functions only", "--runtime docker"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("portico %s: error lacks %q: %v", strings.Join(args, " "), want, err)
			}
		}
		if strings.Contains(out, "Building") || strings.Contains(out, "Dry run: nothing changed") {
			t.Errorf("portico %s got past the plan:\n%s", strings.Join(args, " "), out)
		}
	}
	if out := cli(t, env, "fn", "list"); strings.Contains(out, "ImgFn") {
		t.Errorf("a function was made:\n%s", out)
	}
	if out := cli(t, env, "stack", "list"); strings.Contains(out, "img") {
		t.Errorf("a stack was recorded:\n%s", out)
	}
}
