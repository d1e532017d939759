package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// TestDeployOfAConfigurationChangeSendsNoCode: a change of Environment alone
// zipped and sent the whole code package again (as "update code and
// configuration"). With CodeUri unchanged, the deploy updates the
// configuration only, as CloudFormation does: nothing is zipped, $LATEST
// keeps its code, the new version runs with the new variable. A change of
// the code is still sent.
func TestDeployOfAConfigurationChangeSendsNoCode(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := filepath.Dir(samTestdata(t, "noecho-stage.yaml"))
	path := filepath.Join(dir, "cfg.yaml")
	write := func(greeting string) {
		writeFile(t, path, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n  G:\n    Type: AWS::Serverless::Function\n"+
			"    Properties: {Runtime: provided.al2023, Handler: bootstrap, CodeUri: hello, AutoPublishAlias: live,\n"+
			"      Environment: {Variables: {GREETING: "+greeting+"}}}\n"), 0o600)
	}
	write("hi")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "cfg")
	ctx := context.Background()
	before, _, err := env.Client().GetFunctionConfiguration(ctx, "cfg-G")
	if err != nil {
		t.Fatal(err)
	}

	write("yo")
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "cfg", "--dry-run"); !strings.Contains(out, "update the configuration of cfg-G (its code is unchanged)") {
		t.Errorf("the plan does not say the configuration alone is updated:\n%s", out)
	}
	zips := 0
	target := &deploy.HTTPTarget{C: env.Client(), Zip: func(dir string) ([]byte, error) {
		zips++
		return client.ZipDir(dir)
	}}
	if out, err := applyTemplate(t, ctx, target, path, "cfg"); err != nil || zips != 0 {
		t.Fatalf("deploy of an Environment change: err %v, %d packages zipped, want none:\n%s", err, zips, out)
	}
	after, _, err := env.Client().GetFunctionConfiguration(ctx, "cfg-G")
	if err != nil {
		t.Fatal(err)
	}
	if after.CodeSha256 != before.CodeSha256 || after.Environment == nil || after.Environment.Variables["GREETING"] != "yo" {
		t.Errorf("$LATEST after the deploy: CodeSha256 %s (was %s), environment %+v; want the same code, GREETING yo", after.CodeSha256, before.CodeSha256, after.Environment)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "cfg"); !strings.Contains(out, "Stack cfg is up to date") {
		t.Errorf("a redeploy:\n%s", out)
	}

	// Other code is sent.
	writeFile(t, filepath.Join(dir, "hello", "extra.txt"), []byte("new"), 0o600)
	if out, err := applyTemplate(t, ctx, target, path, "cfg"); err != nil || zips != 1 {
		t.Fatalf("deploy of changed code: err %v, %d packages zipped, want 1:\n%s", err, zips, out)
	}
}
