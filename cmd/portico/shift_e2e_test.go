package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/shifts"
)

// shiftEnv starts a server whose traffic shifts run on a fake clock, and
// returns it with the clock and the shift service (for waiting on its
// changes); populate are more pointers to fill from the app.
func shiftEnv(t *testing.T, populate ...any) (*apptest.Env, *clock.Fake, **shifts.Service) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	svc := new(*shifts.Service)
	env := apptest.Start(t, apptest.Options{
		Populate: append([]any{svc}, populate...),
		Extra:    []fx.Option{fx.Supply(fx.Annotate(clk, fx.As(new(clock.Clock)), fx.ResultTags(`name:"shifts"`)))},
	})
	return env, clk, svc
}

// waitShift waits until the shift of fn:alias satisfies cond, and returns it.
// ended, when not nil, is the command driving the shift (its output): that
// it ends first fails the test with what it printed.
func waitShift(t *testing.T, env *apptest.Env, svc **shifts.Service, fn, alias string, ended chan string, cond func(*client.Shift) bool) *client.Shift {
	t.Helper()
	// Long enough for a deploy to build and publish on a loaded machine.
	deadline := time.After(3 * time.Minute)
	for {
		changed := (*svc).Changed()
		sh, _, err := env.Client().GetShift(context.Background(), fn, alias)
		if err == nil && cond(sh) {
			return sh
		}
		select {
		case <-changed:
		case out := <-ended:
			t.Fatalf("waiting on the shift of %s:%s (%+v, %v), the command ended:\n%s", fn, alias, sh, err, out)
		case <-deadline:
			t.Fatalf("waiting on the shift of %s:%s: %+v (%v)", fn, alias, sh, err)
		}
	}
}

func aliasWeights(t *testing.T, env *apptest.Env, fn, alias string) (string, map[string]float64) {
	t.Helper()
	var a client.Alias
	resp, err := env.Client().Do(context.Background(), "GET", client.FunctionPath(fn, "/aliases/"+alias), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		t.Fatal(err)
	}
	if a.RoutingConfig == nil {
		return a.FunctionVersion, nil
	}
	return a.FunctionVersion, a.RoutingConfig.AdditionalVersionWeights
}

// cliFails runs the portico command expecting it to fail, and returns its error.
func cliFails(t *testing.T, env *apptest.Env, args ...string) error {
	t.Helper()
	out, err := cliErr(env, args...)
	if err == nil {
		t.Fatalf("portico %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return err
}

// TestAliasShiftCommands: `portico alias shift` moves an alias's weights
// step by step on the server's clock, one shift per alias at a time, shows
// its status, stops it (rolling back), and a shift survives a restart.
func TestAliasShiftCommands(t *testing.T) {
	t.Parallel()
	env, clk, svc := shiftEnv(t)
	ctx := context.Background()
	c := env.Client()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "sh", "Runtime": "provided.al2023", "Handler": "bootstrap",
		"Code": map[string]any{"ZipFile": apptest.ZipSample(t, "hello")}}); err != nil {
		t.Fatal(err)
	}
	for i, greeting := range []string{"one", "two", "three"} {
		if _, _, err := c.UpdateFunctionConfiguration(ctx, "sh", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"GREETING": greeting}}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.PublishVersion(ctx, "sh", ""); err != nil {
			t.Fatalf("version %d: %v", i+1, err)
		}
	}
	cli(t, env, "alias", "set", "sh", "live", "1")

	out := cli(t, env, "alias", "shift", "sh", "live", "--to-version", "2", "--type", "Linear10PercentEvery1Minute")
	for _, want := range []string{"Linear10PercentEvery1Minute", "InProgress", "10%", "1 of 10", "2026-12-04T12:01:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("alias shift output lacks %q:\n%s", want, out)
		}
	}
	if v, w := aliasWeights(t, env, "sh", "live"); v != "1" || w["2"] != 0.1 {
		t.Fatalf("alias after the first step: %s %v", v, w)
	}
	err := cliFails(t, env, "alias", "shift", "sh", "live", "--to-version", "3", "--type", "AllAtOnce")
	if !strings.Contains(err.Error(), "ResourceConflictException") || !strings.Contains(err.Error(), "already shifting traffic to version 2") {
		t.Fatalf("second shift: %v", err)
	}
	err = cliFails(t, env, "alias", "shift", "sh", "other", "--to-version", "3", "--type", "Linear5PercentEvery1Minute")
	if !strings.Contains(err.Error(), "Canary10Percent5Minutes") {
		t.Fatalf("unknown type: %v", err)
	}

	clk.Advance(time.Minute)
	waitShift(t, env, svc, "sh", "live", nil, func(sh *client.Shift) bool { return sh.Step == 2 })
	if out := cli(t, env, "alias", "shift-status", "sh", "live"); !strings.Contains(out, "20%") || !strings.Contains(out, "2026-12-04T12:02:00Z") {
		t.Fatalf("shift-status:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "sh", "live"); v != "1" || w["2"] != 0.2 {
		t.Fatalf("alias after the second step: %s %v", v, w)
	}

	// A restart resumes it against the clock.
	env.Restart()
	clk.Advance(2*time.Minute + 30*time.Second)
	waitShift(t, env, svc, "sh", "live", nil, func(sh *client.Shift) bool { return sh.Step == 4 })
	if v, w := aliasWeights(t, env, "sh", "live"); v != "1" || w["2"] != 0.4 {
		t.Fatalf("alias after the restart: %s %v", v, w)
	}

	if out := cli(t, env, "alias", "shift-stop", "sh", "live"); !strings.Contains(out, "Stopped") || !strings.Contains(out, "rolled back to version 1") {
		t.Fatalf("shift-stop:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "sh", "live"); v != "1" || w != nil {
		t.Fatalf("alias after the stop: %s %v", v, w)
	}

	// --wait follows a shift to its end.
	done := make(chan string, 1)
	live := new(testkit.LockedBuffer)
	go func() {
		var errOut bytes.Buffer
		out := live
		err := runRoot(out, &errOut, "--endpoint", env.AdminURL, "alias", "shift", "sh", "live", "--to-version", "3", "--type", "Canary10Percent5Minutes", "--wait", "--poll", "10ms")
		if err != nil {
			_, _ = out.Write([]byte("error: " + err.Error()))
		}
		done <- out.String()
	}()
	waitShift(t, env, svc, "sh", "live", done, func(sh *client.Shift) bool { return sh.ToVersion == "3" && sh.Step == 1 })
	waitOutput(t, live, done, "10% on version 3 (step 1 of 2)")
	clk.Advance(5 * time.Minute)
	out = <-done
	if !strings.Contains(out, "sh:live: 10% on version 3 (step 1 of 2)") || !strings.Contains(out, "sh:live: succeeded: on version 3") {
		t.Fatalf("alias shift --wait:\n%s", out)
	}
	if v, w := aliasWeights(t, env, "sh", "live"); v != "3" || w != nil {
		t.Fatalf("alias after the shift: %s %v", v, w)
	}
}

// TestAliasSetWarnsOfAShiftInProgress (newuser26 #7): `alias set` of an alias
// whose traffic shift is in progress ends the shift (it fails at its next
// step), which only shift-status said; alias set says so at once.
func TestAliasSetWarnsOfAShiftInProgress(t *testing.T) {
	t.Parallel()
	env, _, _ := shiftEnv(t)
	ctx := context.Background()
	c := env.Client()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "sh", "Runtime": "provided.al2023", "Handler": "bootstrap",
		"Code": map[string]any{"ZipFile": apptest.ZipSample(t, "hello")}}); err != nil {
		t.Fatal(err)
	}
	for _, greeting := range []string{"one", "two"} {
		if _, _, err := c.UpdateFunctionConfiguration(ctx, "sh", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"GREETING": greeting}}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.PublishVersion(ctx, "sh", ""); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "alias", "set", "sh", "live", "1"); err != nil || errOut.Len() != 0 {
		t.Fatalf("alias set with no shift: %v, stderr %q", err, errOut.String())
	}
	cli(t, env, "alias", "shift", "sh", "live", "--to-version", "2", "--type", "Linear10PercentEvery1Minute")
	out.Reset()
	if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "alias", "set", "sh", "live", "1"); err != nil {
		t.Fatal(err)
	}
	if want := "warning: this ends traffic shift "; !strings.Contains(errOut.String(), want) || !strings.Contains(errOut.String(), "(version 1 to 2), in progress") {
		t.Errorf("alias set during a shift: stderr %q", errOut.String())
	}
}
