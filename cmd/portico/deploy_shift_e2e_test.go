package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/internal/testkit"
)

const shiftTemplate = `Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: shifted
      CodeUri: hello
      Handler: bootstrap
      Runtime: provided.al2023
      AutoPublishAlias: live
      Environment:
        Variables:
          GREETING: !Ref Greeting
      DeploymentPreference:
        Type: Canary10Percent5Minutes
`

// TestDeployShiftsByDeploymentPreference: the first deploy points the alias at
// once; the next shifts it by its DeploymentPreference and waits, printing
// progress; a stopped shift fails the deploy and leaves the alias on the old
// version.
func TestDeployShiftsByDeploymentPreference(t *testing.T) {
	t.Parallel()
	env, clk, svc := shiftEnv(t)
	st := newShiftStack(t, env, "sh", shiftTemplate, map[string]string{"hello": apptest.Sample(t, "hello")})
	out := st.run("Greeting=one")
	if strings.Contains(out, "traffic shift") || strings.Contains(out, "error:") {
		t.Fatalf("first deploy:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "shifted", "live"); v != "1" || w != nil {
		t.Fatalf("alias after the first deploy: %s %v", v, w)
	}

	live, done := st.deploy("Greeting=two")
	waitShift(t, env, svc, "shifted", "live", done, func(sh *client.Shift) bool { return sh.ToVersion == "2" && sh.Step == 1 })
	if v, w := aliasWeights(t, env, "shifted", "live"); v != "1" || w["2"] != 0.1 {
		t.Fatalf("alias during the shift: %s %v", v, w)
	}
	waitOutput(t, live, done, "10% on version 2 (step 1 of 2)")
	clk.Advance(5 * time.Minute)
	out = <-done
	for _, want := range []string{
		"shifting traffic from version 1 to version 2 (Canary10Percent5Minutes)",
		"of shifted:live: 10% on version 2 (step 1 of 2), next step at 2026-12-04T12:05:00Z",
		"of shifted:live: succeeded: 100% on version 2",
		"alias shifted:live -> version 2",
		"Stack sh deployed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second deploy output lacks %q:\n%s", want, out)
		}
	}
	if v, w := aliasWeights(t, env, "shifted", "live"); v != "2" || w != nil {
		t.Fatalf("alias after the second deploy: %s %v", v, w)
	}

	_, done = st.deploy("Greeting=three")
	waitShift(t, env, svc, "shifted", "live", done, func(sh *client.Shift) bool { return sh.ToVersion == "3" && sh.Step == 1 })
	cli(t, env, "alias", "shift-stop", "shifted", "live")
	out = <-done
	if !strings.Contains(out, "error: alias live of shifted: traffic shift d-") || !strings.Contains(out, "to version 3 was stopped: stopped by a caller; the alias was rolled back to version 2") {
		t.Fatalf("stopped deploy:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "shifted", "live"); v != "2" || w != nil {
		t.Fatalf("alias after the stopped deploy: %s %v", v, w)
	}
}

const hookTemplate = `Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
  PreStatus:
    Type: String
  Endpoint:
    Type: String
Globals:
  Function:
    Handler: bootstrap
    Runtime: provided.al2023
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: hooked
      CodeUri: hello
      AutoPublishAlias: live
      Environment:
        Variables:
          GREETING: !Ref Greeting
      DeploymentPreference:
        Type: Canary10Percent5Minutes
        Hooks:
          PreTraffic: !Ref PreHook
          PostTraffic: PostHook
  PreHook:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: pre-hook
      CodeUri: hook
      Environment:
        Variables:
          HOOK_STATUS: !Ref PreStatus
          AWS_ENDPOINT_URL_CODEDEPLOY: !Ref Endpoint
  PostHook:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: post-hook
      CodeUri: hook
      AutoPublishAlias: live
      Environment:
        Variables:
          HOOK_STATUS: Succeeded
          AWS_ENDPOINT_URL_CODEDEPLOY: !Ref Endpoint
`

// TestDeployRunsHooks: a DeploymentPreference's hooks run as CodeDeploy runs
// them: the PreTraffic hook before any traffic moves, the PostTraffic hook
// once all of it has, each a real aws-lambda-go function reporting with the
// SDK's CodeDeploy client, signed with its sandbox's credentials. A hook that
// reports Failed, or does not report within the hook timeout, fails the
// deploy and leaves the alias on its old version.
func TestDeployRunsHooks(t *testing.T) {
	t.Parallel()
	var conns *connections.Manager
	env, clk, svc := shiftEnv(t, &conns)
	st := newShiftStack(t, env, "hk", hookTemplate, map[string]string{
		"hello": apptest.Sample(t, "hello"),
		"hook":  apptest.Program(t, "./cmd/portico/testdata/codedeployhook"),
	})
	st.params = []string{"Endpoint=" + env.AdminURL}
	if out := st.run("Greeting=one", "PreStatus=Succeeded"); strings.Contains(out, "error:") || strings.Contains(out, "traffic shift") {
		t.Fatalf("first deploy:\n%s", out)
	}

	live, done := st.deploy("Greeting=two", "PreStatus=Succeeded")
	// The PreTraffic hook reports by itself; then the first step is on.
	sh := waitShift(t, env, svc, "hooked", "live", done, func(sh *client.Shift) bool { return sh.ToVersion == "2" && sh.Step == 1 })
	if sh.Hooks.PreTraffic != "pre-hook" || sh.Hooks.PostTraffic != "post-hook" {
		t.Fatalf("hooks %+v", sh.Hooks)
	}
	if v, w := aliasWeights(t, env, "hooked", "live"); v != "1" || w["2"] != 0.1 {
		t.Fatalf("alias after PreTraffic: %s %v", v, w)
	}
	waitOutput(t, live, done, "10% on version 2 (step 1 of 2)")
	clk.Advance(5 * time.Minute)
	out := <-done
	for _, want := range []string{
		"waiting for the PreTraffic hook pre-hook",
		"10% on version 2 (step 1 of 2)",
		"succeeded: 100% on version 2",
		"Stack hk deployed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second deploy output lacks %q:\n%s", want, out)
		}
	}
	if v, w := aliasWeights(t, env, "hooked", "live"); v != "2" || w != nil {
		t.Fatalf("alias after the second deploy: %s %v", v, w)
	}

	// A PreTraffic hook that reports Failed: no traffic moved, the deploy fails.
	out = st.run("Greeting=three", "PreStatus=Failed")
	if !strings.Contains(out, "error: alias live of hooked: traffic shift d-") ||
		!strings.Contains(out, "to version 3 failed: the PreTraffic hook pre-hook reported Failed; the alias was rolled back to version 2") {
		t.Fatalf("deploy with a failing hook:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "hooked", "live"); v != "2" || w != nil {
		t.Fatalf("alias after the failed hook: %s %v", v, w)
	}

	// A hook that never reports: the shift fails at the hook timeout.
	_, done = st.deploy("Greeting=four", "PreStatus=none")
	sh = waitShift(t, env, svc, "hooked", "live", done, func(sh *client.Shift) bool { return sh.ToVersion == "4" && sh.Phase == "PreTraffic" })
	// Another function's sandbox may not report on the hook's execution.
	cr := conns.Issue("hooked")
	cd := codedeploy.New(codedeploy.Options{Region: "us-east-1", BaseEndpoint: aws.String(env.AdminURL),
		Credentials: credentials.NewStaticCredentialsProvider(cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken)})
	_, err := cd.PutLifecycleEventHookExecutionStatus(context.Background(), &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId: aws.String(sh.DeploymentID), LifecycleEventHookExecutionId: aws.String(sh.HookExecution.ID), Status: cdtypes.LifecycleEventStatusSucceeded})
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), "addressed to function pre-hook") {
		t.Fatalf("report by another function's sandbox: %v", err)
	}
	clk.Advance(time.Hour)
	out = <-done
	if !strings.Contains(out, "the PreTraffic hook pre-hook did not report its status within 1h0m0s") {
		t.Fatalf("deploy with a silent hook:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "hooked", "live"); v != "2" || w != nil {
		t.Fatalf("alias after the silent hook: %s %v", v, w)
	}
}

// waitOutput waits until the command whose output is out (and that ends on
// done) has printed want: it polls the server, so a test moves the shift's
// clock on only once the command has seen the step it checks for.
func waitOutput(t *testing.T, out *testkit.LockedBuffer, done chan string, want string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(out.String(), want) {
		select {
		case o := <-done:
			t.Fatalf("the command ended before printing %q:\n%s", want, o)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command has not printed %q:\n%s", want, out.String())
		}
	}
}

// shiftStack is a SAM project of the shift tests, a template in a directory
// of its own beside its functions' code, deployed to env as stack name.
type shiftStack struct {
	env       *apptest.Env
	tpl, name string
	params    []string // parameter overrides of every deploy
}

// newShiftStack writes template into a new directory and, for each CodeUri
// directory code names, the bootstrap built in the directory it maps to
// (apptest.Sample, apptest.Program).
func newShiftStack(t *testing.T, env *apptest.Env, name, template string, code map[string]string) *shiftStack {
	t.Helper()
	dir := t.TempDir()
	for uri, built := range code {
		boot, err := os.ReadFile(filepath.Join(built, "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, uri, "bootstrap"), boot, 0o755)
	}
	s := &shiftStack{env: env, tpl: filepath.Join(dir, "template.yaml"), name: name}
	s.setTemplate(t, template)
	return s
}

// setTemplate replaces the stack's template.
func (s *shiftStack) setTemplate(t *testing.T, template string) {
	t.Helper()
	writeFile(t, s.tpl, []byte(template), 0o600)
}

// deploy starts `portico deploy` of the stack with these parameter
// overrides (after s.params), reading shifts every 10 ms: out holds what it has printed so far,
// done gets all of it when it ends ("error: ..." last when it failed).
func (s *shiftStack) deploy(params ...string) (out *testkit.LockedBuffer, done chan string) {
	return s.deployWith(nil, params...)
}

// deployWith is deploy with these flags added to the command.
func (s *shiftStack) deployWith(flags []string, params ...string) (out *testkit.LockedBuffer, done chan string) {
	out, done = new(testkit.LockedBuffer), make(chan string, 1)
	args := append([]string{"--endpoint", s.env.AdminURL, "deploy", "--template", s.tpl, "--stack", s.name, "--shift-poll", "10ms"}, flags...)
	args = append(append(args, "--parameter-overrides"), append(slices.Clone(s.params), params...)...)
	go func() {
		if err := runRoot(out, io.Discard, args...); err != nil {
			_, _ = out.Write([]byte("error: " + err.Error()))
		}
		done <- out.String()
	}()
	return out, done
}

// run deploys the stack (deploy) and returns all it printed.
func (s *shiftStack) run(params ...string) string {
	_, done := s.deploy(params...)
	return <-done
}
