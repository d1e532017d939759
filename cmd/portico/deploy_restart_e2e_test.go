package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// extraFunction adds to shiftTemplate a function without an alias, which the
// second deploy creates.
const extraFunction = `  Extra:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: extra
      CodeUri: hello
      Handler: bootstrap
      Runtime: provided.al2023
`

// TestDeployShiftSurvivesServerRestart: a server restart while a deploy waits
// for its traffic shift does not end the deploy: it reads the shift again
// until the server is back (saying so), and records the stack once the shift
// the server resumed succeeds. A function the run created is in the stack's
// record from its creation on, while the run is still waiting.
func TestDeployShiftSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	env, clk, svc := shiftEnv(t)
	st := newShiftStack(t, env, "rs", shiftTemplate, map[string]string{"hello": apptest.Sample(t, "hello")})
	if out := st.run("Greeting=one"); strings.Contains(out, "error:") {
		t.Fatalf("first deploy:\n%s", out)
	}

	st.setTemplate(t, shiftTemplate+extraFunction)
	live, done := st.deploy("Greeting=two")
	waitShift(t, env, svc, "shifted", "live", done, func(sh *client.Shift) bool { return sh.ToVersion == "2" && sh.Step == 1 })
	waitOutput(t, live, done, "10% on version 2 (step 1 of 2)")
	env.Stop()
	waitOutput(t, live, done, "server unreachable, retrying")
	env.StartAgain()
	if r := stackRecord(t, env, "rs").Resources["Extra"]; r == nil || r.PhysicalID != "extra" {
		t.Fatalf("the record while the deploy waits lacks the function it created: %+v", stackRecord(t, env, "rs").Resources)
	}
	waitOutput(t, live, done, "server reachable again")
	clk.Advance(5 * time.Minute)
	out := <-done
	for _, want := range []string{"succeeded: 100% on version 2", "Stack rs deployed"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy across the restart lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "error:") {
		t.Fatalf("deploy across the restart:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "shifted", "live"); v != "2" || w != nil {
		t.Fatalf("alias after the deploy: %s %v", v, w)
	}
	rec := stackRecord(t, env, "rs")
	if h := rec.Resources["Hello"]; h == nil || h.Version != "2" {
		t.Fatalf("record after the deploy: %+v", rec.Resources["Hello"])
	}
	if e := rec.Resources["Extra"]; e == nil || e.Fingerprint == "" {
		t.Fatalf("record after the deploy: %+v", rec.Resources["Extra"])
	}
}

// TestDeployStopsAShiftLeftInProgress: a traffic shift a gone run left in
// progress on the stack's alias does not stop the next deploy with a
// conflict: it is stopped, saying so, and the deploy's own shift starts.
func TestDeployStopsAShiftLeftInProgress(t *testing.T) {
	t.Parallel()
	env, clk, svc := shiftEnv(t)
	st := newShiftStack(t, env, "ls", shiftTemplate, map[string]string{"hello": apptest.Sample(t, "hello")})
	if out := st.run("Greeting=one"); strings.Contains(out, "error:") {
		t.Fatalf("first deploy:\n%s", out)
	}
	// What a gone run left: version 2 published, its shift at step 1.
	ctx := context.Background()
	c := env.Client()
	if _, _, err := c.UpdateFunctionConfiguration(ctx, "shifted", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"GREETING": "two"}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PublishVersion(ctx, "shifted", "gone run"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.StartShift(ctx, "shifted", "live", client.ShiftInput{ToVersion: "2", DeploymentType: "Canary10Percent5Minutes"}); err != nil {
		t.Fatal(err)
	}

	live, done := st.deploy("Greeting=three")
	waitShift(t, env, svc, "shifted", "live", done, func(sh *client.Shift) bool { return sh.ToVersion == "3" && sh.Step == 1 })
	waitOutput(t, live, done, "10% on version 3 (step 1 of 2)")
	clk.Advance(5 * time.Minute)
	out := <-done
	for _, want := range []string{
		"alias live serves version 1 and 10% to version 2, not version 1 as the stack recorded",
		"to version 2, left in progress by a run that ended, is stopped first (the alias goes back to version 1)",
		"succeeded: 100% on version 3",
		"Stack ls deployed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy lacks %q:\n%s", want, out)
		}
	}
	if v, w := aliasWeights(t, env, "shifted", "live"); v != "3" || w != nil {
		t.Fatalf("alias after the deploy: %s %v", v, w)
	}
}

// TestDeployShiftRetryFlag: --shift-retry bounds how long a deploy waiting for
// its traffic shift goes on reading it while the server cannot be reached
// (5 minutes without it): past it the deploy fails, saying for how long the
// server was unreachable, and --shift-retry 0 gives up at the first
// unreachable read.
func TestDeployShiftRetryFlag(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ flag, want string }{
		{"150ms", "the server was unreachable for 150ms"},
		{"0", "the server is unreachable (not retried)"},
	} {
		t.Run(c.flag, func(t *testing.T) {
			env, _, svc := shiftEnv(t)
			st := newShiftStack(t, env, "rt", shiftTemplate, map[string]string{"hello": apptest.Sample(t, "hello")})
			if out := st.run("Greeting=one"); strings.Contains(out, "error:") {
				t.Fatalf("first deploy:\n%s", out)
			}
			live, done := st.deployWith([]string{"--shift-retry", c.flag}, "Greeting=two")
			waitShift(t, env, svc, "shifted", "live", done, func(sh *client.Shift) bool { return sh.ToVersion == "2" && sh.Step == 1 })
			waitOutput(t, live, done, "10% on version 2 (step 1 of 2)")
			env.Stop()
			out := <-done
			if !strings.Contains(out, "error: ") || !strings.Contains(out, c.want) {
				t.Fatalf("deploy with the server gone and --shift-retry %s: want an error saying %q:\n%s", c.flag, c.want, out)
			}
		})
	}
}
