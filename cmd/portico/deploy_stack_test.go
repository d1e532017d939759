package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// fnTemplate writes a template of one function per logical id (each
// CodeUri fn, a shell bootstrap, with Runtime provided.al2023, Handler
// bootstrap unless extra sets it, and the properties extra holds) into dir
// under name, and returns its path.
func fnTemplate(t *testing.T, dir, name string, extra string, ids ...string) string {
	t.Helper()
	if !strings.Contains(extra, "Handler:") {
		extra = "      Handler: bootstrap\n" + extra
	}
	var b strings.Builder
	b.WriteString("Transform: AWS::Serverless-2016-10-31\nResources:\n")
	for _, id := range ids {
		b.WriteString("  " + id + ":\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Runtime: provided.al2023\n" + extra)
	}
	writeFile(t, filepath.Join(dir, "fn", "bootstrap"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	path := filepath.Join(dir, name)
	writeFile(t, path, []byte(b.String()), 0o600)
	return path
}

// stackFunctions returns the names of the functions on the server whose
// names start with prefix.
func stackFunctions(t *testing.T, env *apptest.Env, prefix string) []string {
	t.Helper()
	var out struct {
		Functions []struct{ FunctionName string }
	}
	adminJSON(t, env, "/2015-03-31/functions", &out)
	var names []string
	for _, f := range out.Functions {
		if strings.HasPrefix(f.FunctionName, prefix) {
			names = append(names, f.FunctionName)
		}
	}
	return names
}

// TestConcurrentDeploysOfOneStack runs two deploys of one stack at once, each
// adding its own function: whatever order they take, every function of the
// stack's name is in its record (none belongs to no stack), a refused run
// says the stack is being deployed by another run, the next deploy works,
// and stack delete leaves nothing behind. (Both printed "deployed" and the
// record kept one of the two functions.)
func TestConcurrentDeploysOfOneStack(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	g := fnTemplate(t, dir, "tG.yaml", "", "F", "G")
	h := fnTemplate(t, dir, "tH.yaml", "", "F", "H")
	cliCombined(t, env, "deploy", "-t", fnTemplate(t, dir, "tF.yaml", "", "F"), "--stack", "t8")
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		outs := make([]string, 2)
		for i, path := range []string{g, h} {
			wg.Go(func() { outs[i], errs[i] = cliErr(env, "deploy", "-t", path, "--stack", "t8") })
		}
		wg.Wait()
		if errs[0] != nil && errs[1] != nil {
			t.Fatalf("round %d: both deploys failed:\n%v\n%s\n%v\n%s", round, errs[0], outs[0], errs[1], outs[1])
		}
		for i, err := range errs {
			if err != nil && !strings.Contains(err.Error(), "stack t8 is being deployed by another run") {
				t.Fatalf("round %d: deploy %d failed otherwise: %v\n%s", round, i, err, outs[i])
			}
		}
		rec := stackRecord(t, env, "t8")
		owned := map[string]bool{}
		for _, r := range rec.Resources {
			owned[r.PhysicalID] = true
		}
		for _, fn := range stackFunctions(t, env, "t8-") {
			if !owned[fn] {
				t.Fatalf("round %d: function %s belongs to no stack (record %v)", round, fn, owned)
			}
		}
		if rec.Deploying != nil {
			t.Fatalf("round %d: the stack is still held: %+v", round, rec.Deploying)
		}
	}
	cliCombined(t, env, "deploy", "-t", g, "--stack", "t8")
	cliCombined(t, env, "stack", "delete", "t8")
	if left := stackFunctions(t, env, "t8-"); len(left) > 0 {
		t.Fatalf("stack delete left %v", left)
	}
}

// TestDeployRefusedWhileHeld: while another run holds a stack, a deploy and a
// stack delete are refused before anything changes, saying so and how to
// clear a gone run's hold; a write of the record that does not name the hold
// is refused, and so is one over a revision another write replaced; portico
// stack unlock clears the hold and the stack deploys again.
func TestDeployRefusedWhileHeld(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	path := fnTemplate(t, dir, "t.yaml", "", "F")
	cliCombined(t, env, "deploy", "-t", path, "--stack", "held")
	ctx := context.Background()
	other := &deploy.HTTPTarget{C: env.Client()}
	if err := other.HoldStack(ctx, "held", "a run that crashed"); err != nil {
		t.Fatal(err)
	}
	before := state(t, env)
	two := fnTemplate(t, dir, "t2.yaml", "", "F", "G")
	for _, args := range [][]string{{"deploy", "-t", two, "--stack", "held"}, {"stack", "delete", "held"}} {
		out, err := cliErr(env, args...)
		if err == nil || !strings.Contains(err.Error(), "stack held is being deployed by another run (a run that crashed)") ||
			!strings.Contains(err.Error(), "try again when it finishes") || !strings.Contains(err.Error(), "portico stack unlock held") {
			t.Fatalf("portico %s while held: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if after := state(t, env); after != before {
		t.Fatalf("a refused run changed the server:\n%s\nwant\n%s", after, before)
	}
	if out := cliCombined(t, env, "deploy", "-t", two, "--stack", "held", "--dry-run"); !strings.Contains(out, "create    function G") {
		t.Fatalf("a dry run while held:\n%s", out)
	}
	rec := stackRecord(t, env, "held")
	if rec.Deploying == nil || rec.Deploying.By != "a run that crashed" || rec.Deploying.ID != "" {
		t.Fatalf("the record shows the hold as %+v, want its run and no token", rec.Deploying)
	}
	var apiErr *client.APIError
	if err := (&deploy.HTTPTarget{C: env.Client()}).PutStack(ctx, rec); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Fatalf("PUT of the record without the hold: %v, want 409", err)
	}
	stale := *rec // PutStack moves rec's revision on to the one written
	if err := other.PutStack(ctx, rec); err != nil {
		t.Fatalf("PUT by the run holding it: %v", err)
	}
	if err := other.PutStack(ctx, &stale); !errors.As(err, &apiErr) || apiErr.Status != http.StatusPreconditionFailed {
		t.Fatalf("PUT over a revision another write replaced: %v, want 412", err)
	}
	out := cliCombined(t, env, "stack", "unlock", "held")
	if !strings.Contains(out, "cleared the hold of a run that crashed") {
		t.Fatalf("stack unlock printed %q", out)
	}
	if err := other.PutStack(ctx, stackRecord(t, env, "held")); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict ||
		!strings.Contains(err.Error(), "was cleared") {
		t.Fatalf("PUT by a run whose hold was cleared: %v, want 409", err)
	}
	if out := cliCombined(t, env, "stack", "unlock", "held"); !strings.Contains(out, "no deploy holds it") {
		t.Fatalf("stack unlock of a free stack printed %q", out)
	}
	cliCombined(t, env, "deploy", "-t", two, "--stack", "held")
	if fns := stackFunctions(t, env, "held-"); len(fns) != 2 {
		t.Fatalf("functions after the deploy: %v", fns)
	}
}

// TestDroppedFunctionPropertiesAreReset: a function property the last deploy
// set and this one's template leaves out goes back to Lambda's default, as
// CloudFormation resets it (MemorySize and Timeout stayed 512 and 30).
func TestDroppedFunctionPropertiesAreReset(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	type config struct {
		MemorySize, Timeout int
		Description         string
		Environment         struct{ Variables map[string]string }
		FileSystemConfigs   []any
	}
	set := fnTemplate(t, dir, "set.yaml", "      MemorySize: 512\n      Timeout: 30\n      Description: d\n      Environment:\n        Variables:\n          AB: c\n", "F")
	cliCombined(t, env, "deploy", "-t", set, "--stack", "reset")
	var c config
	adminJSON(t, env, "/2015-03-31/functions/reset-F/configuration", &c)
	if c.MemorySize != 512 || c.Timeout != 30 || c.Description != "d" || c.Environment.Variables["AB"] != "c" {
		t.Fatalf("configuration after the first deploy: %+v", c)
	}
	cliCombined(t, env, "deploy", "-t", fnTemplate(t, dir, "dropped.yaml", "", "F"), "--stack", "reset")
	c = config{}
	adminJSON(t, env, "/2015-03-31/functions/reset-F/configuration", &c)
	if c.MemorySize != 128 || c.Timeout != 3 || c.Description != "" || len(c.Environment.Variables) != 0 || len(c.FileSystemConfigs) != 0 {
		t.Fatalf("configuration after a deploy without them: %+v, want MemorySize 128, Timeout 3 and nothing else", c)
	}
}

// TestDroppedAliasWithProvisionedConcurrency: a template that drops
// AutoPublishAlias together with ProvisionedConcurrencyConfig deploys: the
// old alias and its provisioned concurrency are deleted (the plan set the
// provisioned concurrency of alias "", which failed and rolled back).
func TestDroppedAliasWithProvisionedConcurrency(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	pc := fnTemplate(t, dir, "pc.yaml", "      AutoPublishAlias: live\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 1\n", "F")
	cliCombined(t, env, "deploy", "-t", pc, "--stack", "pc")
	var list struct{ ProvisionedConcurrencyConfigs []json.RawMessage }
	adminJSON(t, env, "/2019-09-30/functions/pc-F/provisioned-concurrency?List=ALL", &list)
	if len(list.ProvisionedConcurrencyConfigs) != 1 {
		t.Fatalf("provisioned concurrency after the first deploy: %+v", list)
	}
	out := cliCombined(t, env, "deploy", "-t", fnTemplate(t, dir, "none.yaml", "", "F"), "--stack", "pc")
	if strings.Contains(out, "alias  ") || !strings.Contains(out, "delete alias live") {
		t.Fatalf("the deploy without the alias printed:\n%s", out)
	}
	if _, err := cliErr(env, "alias", "get", "pc-F", "live"); err == nil {
		t.Error("alias live is still there")
	}
	list.ProvisionedConcurrencyConfigs = nil
	adminJSON(t, env, "/2019-09-30/functions/pc-F/provisioned-concurrency?List=ALL", &list)
	if len(list.ProvisionedConcurrencyConfigs) != 0 {
		t.Fatalf("provisioned concurrency left: %s", list.ProvisionedConcurrencyConfigs)
	}
	if r := stackRecord(t, env, "pc").Resources["F"]; r.Alias != "" || r.Provisioned != 0 {
		t.Fatalf("the record: %+v", r)
	}
}

// TestQuotedParameterOverrides: a quoted --parameter-overrides value reaches
// the function without its quotes, spaces and all.
func TestQuotedParameterOverrides(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	path := fnTemplate(t, dir, "p.yaml", "      Environment:\n        Variables:\n          SV: !Ref S\n          TV: !Ref T\n", "F")
	data := strings.Replace(readFileT(t, path), "Resources:", "Parameters:\n  S:\n    Type: String\n  T:\n    Type: String\nResources:", 1)
	writeFile(t, path, []byte(data), 0o600)
	cliCombined(t, env, "deploy", "-t", path, "--stack", "q", "--parameter-overrides", `S="has space"`, `ParameterKey=T,ParameterValue='it is'`)
	var c struct {
		Environment struct{ Variables map[string]string }
	}
	adminJSON(t, env, "/2015-03-31/functions/q-F/configuration", &c)
	if v := c.Environment.Variables; v["SV"] != "has space" || v["TV"] != "it is" {
		t.Fatalf("environment %v", v)
	}
}

func readFileT(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestDeployRecreatesWhatWasDeletedByHand: an alias, a stage and a usage
// plan the stack made and someone deleted by hand are created again by the
// next deploy, as a function or an API is (it said "up to date" while the
// API answered 403 and the alias did not exist).
func TestDeployRecreatesWhatWasDeletedByHand(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	path := samTestdata(t, "plan-stage.yaml")
	writeFile(t, path, []byte(strings.Replace(readFileT(t, path), "      CodeUri: hello\n", "      CodeUri: hello\n      AutoPublishAlias: live\n", 1)), 0o600)
	cliCombined(t, env, "deploy", "--template", path, "--stack", "byhand")
	rec := stackRecord(t, env, "byhand")
	fn, api := rec.Resources["F"], rec.Resources["Api"]
	ctx := context.Background()
	target := &deploy.HTTPTarget{C: env.Client()}
	if err := target.DeleteUsagePlan(ctx, api.UsagePlanID); err != nil {
		t.Fatal(err)
	}
	if err := target.DeleteStage(ctx, api.PhysicalID, "v1"); err != nil {
		t.Fatal(err)
	}
	if err := target.DeleteAlias(ctx, fn.PhysicalID, "live"); err != nil {
		t.Fatal(err)
	}
	out := cliCombined(t, env, "deploy", "--template", path, "--stack", "byhand")
	if strings.Contains(out, "up to date") {
		t.Fatalf("the deploy after the deletions:\n%s", out)
	}
	var alias struct{ FunctionVersion string }
	adminJSON(t, env, "/2015-03-31/functions/"+fn.PhysicalID+"/aliases/live", &alias)
	if alias.FunctionVersion != fn.Version {
		t.Errorf("alias live points at %q, want version %s", alias.FunctionVersion, fn.Version)
	}
	key := stackKey(t, env, "byhand", "Api")
	if st, body := gatewayCall(t, http.MethodGet, env.GatewayURL+"/"+api.PhysicalID+"/v1/a", "", map[string]string{"x-api-key": key}); st != http.StatusOK {
		t.Fatalf("GET v1/a with a key of the new plan: %d %s", st, body)
	}
	if out := cliCombined(t, env, "deploy", "--template", path, "--stack", "byhand"); !strings.Contains(out, "up to date") {
		t.Fatalf("the next deploy:\n%s", out)
	}
}

// TestDeployStackNameTooLong: a --stack name over 128 characters is refused
// saying the limit.
func TestDeployStackNameTooLong(t *testing.T) {
	t.Parallel()
	path := fnTemplate(t, t.TempDir(), "t.yaml", "", "F")
	var out strings.Builder
	err := runRoot(&out, &out, "--endpoint", "http://127.0.0.1:1", "deploy", "-t", path, "--stack", "a"+strings.Repeat("b", 128))
	if err == nil || !strings.Contains(err.Error(), "(at most 128)") {
		t.Fatalf("a 129-character stack name: %v", err)
	}
}
