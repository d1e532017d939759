package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// failingReserve is the server's target with a fault seam: SetReserved (a
// Switching step, after $LATEST was updated) first runs byHand, if set, as
// a change made by hand while the deploy runs, then fails.
type failingReserve struct {
	*deploy.HTTPTarget
	byHand func(ctx context.Context) error
}

func (f *failingReserve) SetReserved(ctx context.Context, _ string, _ *int) error {
	if f.byHand != nil {
		if err := f.byHand(ctx); err != nil {
			return err
		}
	}
	return errors.New("injected failure")
}

// TestRollbackKeepsAChangeMadeSince: a failed deploy's rollback put back
// $LATEST of a function it had updated without looking at whether anyone
// changed the function in between, so a change made by hand was undone. It
// puts $LATEST back with Lambda's RevisionId precondition, on the revision
// its own update left: a function changed since is left as it is, and the
// deploy says so; one nobody touched is put back as before.
func TestRollbackKeepsAChangeMadeSince(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := filepath.Dir(samTestdata(t, "noecho-stage.yaml"))
	path := filepath.Join(dir, "undo.yaml")
	write := func(props string) {
		writeFile(t, path, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n  G:\n    Type: AWS::Serverless::Function\n"+
			"    Properties: {Runtime: provided.al2023, Handler: bootstrap, CodeUri: hello"+props+"}\n"), 0o600)
	}
	write("")
	cliCombined(t, env, "deploy", "--template", path, "--stack", "undo")
	c := env.Client()
	ctx := context.Background()
	apply := func(target deploy.Target) (string, error) {
		t.Helper()
		return applyTemplate(t, ctx, target, path, "undo")
	}
	write(", MemorySize: 256, ReservedConcurrentExecutions: 5")

	// Nobody touches it: $LATEST is put back (MemorySize 128).
	out, err := apply(&failingReserve{HTTPTarget: &deploy.HTTPTarget{C: c}})
	if err == nil || strings.Contains(out, "left as it is") {
		t.Fatalf("err = %v, want the injected failure, rolled back:\n%s", err, out)
	}
	if fc, _, err := c.GetFunctionConfiguration(ctx, "undo-G"); err != nil || fc.MemorySize != 128 {
		t.Fatalf("MemorySize %d after the rollback (%v), want 128 put back", fc.MemorySize, err)
	}

	// Changed by hand while the deploy runs: left as it is, and said so.
	byHand := func(ctx context.Context) error {
		_, _, err := c.UpdateFunctionConfiguration(ctx, "undo-G", map[string]any{"Description": "by hand"})
		return err
	}
	out, err = apply(&failingReserve{HTTPTarget: &deploy.HTTPTarget{C: c}, byHand: byHand})
	if err == nil || !strings.Contains(err.Error(), "left as it is, not rolled back: $LATEST of function undo-G was changed since this deploy updated it") {
		t.Fatalf("err = %v, want the failure and $LATEST left as it is", err)
	}
	if !strings.Contains(out, "left as it is: $LATEST of function undo-G was changed since this deploy updated it") {
		t.Errorf("output does not say $LATEST was left:\n%s", out)
	}
	fc, _, err := c.GetFunctionConfiguration(ctx, "undo-G")
	if err != nil || fc.Description != "by hand" || fc.MemorySize != 256 {
		t.Fatalf("$LATEST %+v (%v): want the change made by hand kept (Description by hand, on the deploy's MemorySize 256)", fc, err)
	}
}
