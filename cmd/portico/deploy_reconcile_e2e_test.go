package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

const reconcileTemplate = `Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    CodeUri: fn
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: rc-hello
      AutoPublishAlias: live
      Environment:
        Variables:
          GREETING: one
  PreTrafficHook:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: rc-hook
      Environment:
        Variables:
          HOOK_RESULT: Failed
`

// TestDeployCorrectsWhatTheRecordDoesNotHold: what a deploy that ended before
// its record (killed, or its server restarted) left on the server, a hook's
// $LATEST updated and an alias moved to a version the record does not name, is
// corrected by the next deploy of the template the record holds: it compares
// the server's functions with the record, and its plan says what it corrects.
func TestDeployCorrectsWhatTheRecordDoesNotHold(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	fnTemplate(t, dir, "unused.yaml", "", "X") // the fn/ code directory
	tpl := filepath.Join(dir, "template.yaml")
	writeFile(t, tpl, []byte(reconcileTemplate), 0o600)
	if out, err := cliErr(env, "deploy", "-t", tpl, "--stack", "rc"); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, out)
	}

	// What the interrupted run left: the hook's $LATEST at its
	// environment, Hello's $LATEST at another, published as version 2 and
	// served by the alias (its traffic shift completed on the server).
	ctx := context.Background()
	c := env.Client()
	if _, _, err := c.UpdateFunctionConfiguration(ctx, "rc-hook", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"HOOK_RESULT": "Succeeded"}}}); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "bootstrap"), []byte("#!/bin/sh\necho other\n"), 0o755)
	zip, err := client.ZipDir(other)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunctionCode(ctx, "rc-hook", zip, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunctionConfiguration(ctx, "rc-hello", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"GREETING": "two"}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PublishVersion(ctx, "rc-hello", "interrupted"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SetAlias(ctx, "rc-hello", "live", "2", nil); err != nil {
		t.Fatal(err)
	}

	out, err := cliErr(env, "deploy", "-t", tpl, "--stack", "rc")
	if err != nil {
		t.Fatalf("second deploy: %v\n%s", err, out)
	}
	for _, want := range []string{
		"correct $LATEST of rc-hook: its Environment, code differ",
		"correct $LATEST of rc-hello: its Environment differ",
		"correct alias live: it serves version 2, not version 1 as the stack recorded",
		"alias rc-hello:live -> version 1 (it served version 2)",
		"Stack rc deployed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second deploy lacks %q:\n%s", want, out)
		}
	}
	for fn, want := range map[string]string{"rc-hook": "HOOK_RESULT:Failed", "rc-hello": "GREETING:one"} {
		cfg, _, err := c.GetFunctionConfiguration(ctx, fn)
		if err != nil {
			t.Fatal(err)
		}
		k, v, _ := strings.Cut(want, ":")
		if cfg.Environment == nil || cfg.Environment.Variables[k] != v {
			t.Errorf("$LATEST of %s after the second deploy: %+v", fn, cfg.Environment)
		}
	}
	if v, w := aliasWeights(t, env, "rc-hello", "live"); v != "1" || w != nil {
		t.Fatalf("alias after the second deploy: %s %v", v, w)
	}
	if out, err := cliErr(env, "deploy", "-t", tpl, "--stack", "rc"); err != nil || !strings.Contains(out, "Stack rc is up to date") {
		t.Fatalf("third deploy: %v\n%s", err, out)
	}

	// A run of a new template that published its version and shifted the
	// alias to it, and ended before its record: the next deploy of that
	// template records the version the alias serves, and publishes nothing.
	writeFile(t, tpl, []byte(strings.Replace(reconcileTemplate, "GREETING: one", "GREETING: three", 1)), 0o600)
	if _, _, err := c.UpdateFunctionConfiguration(ctx, "rc-hello", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"GREETING": "three"}}}); err != nil {
		t.Fatal(err)
	}
	v, _, err := c.PublishVersion(ctx, "rc-hello", "interrupted")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SetAlias(ctx, "rc-hello", "live", v.Version, nil); err != nil {
		t.Fatal(err)
	}
	out, err = cliErr(env, "deploy", "-t", tpl, "--stack", "rc")
	if err != nil {
		t.Fatalf("deploy of the new template: %v\n%s", err, out)
	}
	if want := "record version " + v.Version + ": alias live serves it, and it is what the template asks for"; !strings.Contains(out, want) || strings.Contains(out, "published rc-hello version") {
		t.Fatalf("deploy of the new template lacks %q (or published):\n%s", want, out)
	}
	if got := stackRecord(t, env, "rc").Resources["Hello"]; got.Version != v.Version {
		t.Fatalf("record after adopting version %s: %+v", v.Version, got)
	}
	if out, err := cliErr(env, "deploy", "-t", tpl, "--stack", "rc"); err != nil || !strings.Contains(out, "Stack rc is up to date") {
		t.Fatalf("deploy after adopting: %v\n%s", err, out)
	}
}

// TestDeployRollsBackItsCorrections: the corrections a deploy makes of what
// the record does not hold are rolled back with the rest when a later step
// fails, so that what served before the deploy serves still: an alias pointed
// back at the recorded version serves again the versions and weights it served
// (it stayed on the recorded version), and an alias created again (it was
// deleted by hand) is deleted again.
func TestDeployRollsBackItsCorrections(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	fnTemplate(t, dir, "unused.yaml", "", "X") // the fn/ code directory
	tpl := filepath.Join(dir, "template.yaml")
	writeFile(t, tpl, []byte(reconcileTemplate), 0o600)
	if out, err := cliErr(env, "deploy", "-t", tpl, "--stack", "rb"); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, out)
	}
	ctx := context.Background()
	c := env.Client()
	if _, _, err := c.UpdateFunctionConfiguration(ctx, "rc-hello", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"GREETING": "two"}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PublishVersion(ctx, "rc-hello", "by hand"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunctionConfiguration(ctx, "rc-hello", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"GREETING": "one"}}}); err != nil {
		t.Fatal(err)
	}
	// A template whose last step fails: provisioned concurrency on the alias
	// above what the account can hold, which the server refuses after the
	// alias was pointed (a reservation above the account's is refused before
	// anything changes).
	failing := strings.Replace(reconcileTemplate, "      AutoPublishAlias: live\n", "      AutoPublishAlias: live\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 1000000\n", 1)
	writeFile(t, tpl, []byte(failing), 0o600)

	if _, _, err := c.SetAlias(ctx, "rc-hello", "live", "1", map[string]float64{"2": 0.25}); err != nil {
		t.Fatal(err)
	}
	out, err := cliErr(env, "deploy", "-t", tpl, "--stack", "rb")
	if err == nil || !strings.Contains(out+err.Error(), "alias rc-hello:live -> version 1 (it served version 1 and 25% to version 2)") {
		t.Fatalf("deploy with failing provisioned concurrency: %v, want it to fail after pointing the alias back:\n%s", err, out)
	}
	if v, w := aliasWeights(t, env, "rc-hello", "live"); v != "1" || w["2"] != 0.25 {
		t.Errorf("alias after the failed deploy: %s %v, want version 1 and 25%% to version 2 as before it", v, w)
	}

	if _, err := c.Do(ctx, "DELETE", client.FunctionPath("rc-hello", "/aliases/live"), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	out, err = cliErr(env, "deploy", "-t", tpl, "--stack", "rb")
	if err == nil || !strings.Contains(out+err.Error(), "alias rc-hello:live -> version 1 (created again)") {
		t.Fatalf("deploy with failing provisioned concurrency: %v, want it to fail after creating the alias again:\n%s", err, out)
	}
	if _, err := c.Do(ctx, "GET", client.FunctionPath("rc-hello", "/aliases/live"), nil, nil, nil); !client.IsNotFound(err) {
		t.Errorf("alias after the failed deploy: %v, want it gone as before it", err)
	}
}
