package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
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
	env, clk, svc := shiftEnv(t)
	dir := t.TempDir()
	boot, err := os.ReadFile(filepath.Join(apptest.Sample(t, "hello"), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "hello", "bootstrap"), boot, 0o755)
	tpl := filepath.Join(dir, "template.yaml")
	writeFile(t, tpl, []byte(shiftTemplate), 0o600)
	deployAsync := func(greeting string) chan string {
		done := make(chan string, 1)
		go func() {
			var out, errOut bytes.Buffer
			err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "deploy", "--template", tpl, "--stack", "sh", "--shift-poll", "10ms",
				"--parameter-overrides", "Greeting="+greeting)
			if err != nil {
				out.WriteString("error: " + err.Error())
			}
			done <- out.String()
		}()
		return done
	}

	out := <-deployAsync("one")
	if strings.Contains(out, "traffic shift") || strings.Contains(out, "error:") {
		t.Fatalf("first deploy:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "shifted", "live"); v != "1" || w != nil {
		t.Fatalf("alias after the first deploy: %s %v", v, w)
	}

	done := deployAsync("two")
	waitShift(t, env, svc, "shifted", "live", func(sh *client.Shift) bool { return sh.ToVersion == "2" && sh.Step == 1 })
	if v, w := aliasWeights(t, env, "shifted", "live"); v != "1" || w["2"] != 0.1 {
		t.Fatalf("alias during the shift: %s %v", v, w)
	}
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

	done = deployAsync("three")
	waitShift(t, env, svc, "shifted", "live", func(sh *client.Shift) bool { return sh.ToVersion == "3" && sh.Step == 1 })
	cli(t, env, "alias", "shift-stop", "shifted", "live")
	out = <-done
	if !strings.Contains(out, "error: alias live of shifted: traffic shift d-") || !strings.Contains(out, "to version 3 was stopped: stopped by a caller; the alias was rolled back to version 2") {
		t.Fatalf("stopped deploy:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "shifted", "live"); v != "2" || w != nil {
		t.Fatalf("alias after the stopped deploy: %s %v", v, w)
	}
}
