package aliases

import (
	"context"
	"errors"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

// TestResolveSeesAcknowledgedWrites warms the view, then changes the alias, the
// function's configuration and the versions, and resolves right after each write
// returns: every call must see the write.
func TestResolveSeesAcknowledgedWrites(t *testing.T) {
	e := newEnv(t, nil)
	e.withVersions(t, "fn", 3)
	ctx := context.Background()
	live := functions.Ref{Name: "fn", Qualifier: "live"}
	latest := functions.Ref{Name: "fn", Qualifier: functions.Latest}
	if _, err := e.svc.Create(ctx, "fn", Input{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	resolve := func(ref functions.Ref) *functions.Config {
		t.Helper()
		c, err := e.svc.Resolve(ctx, ref)
		if err != nil {
			t.Fatalf("Resolve(%v): %v", ref, err)
		}
		return c
	}
	for range 3 { // warm
		if v := resolve(live).Version; v != "1" {
			t.Fatalf("live = version %s, want 1", v)
		}
	}
	if _, err := e.svc.Update(ctx, "fn", Input{Name: "live", FunctionVersion: "2"}); err != nil {
		t.Fatal(err)
	}
	if v := resolve(live).Version; v != "2" {
		t.Errorf("live right after moving it to 2 = version %s", v)
	}

	_ = resolve(latest)
	timeout := 17
	if _, err := e.fns.UpdateConfig(ctx, "fn", functions.ConfigPatch{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	if got := resolve(latest).Timeout; got != 17 {
		t.Errorf("$LATEST timeout right after setting it to 17 = %d", got)
	}

	if err := e.svc.Delete(ctx, "fn", "live"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Resolve(ctx, live); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Resolve(live) right after deleting it: err = %v, want not found", err)
	}

	v3 := functions.Ref{Name: "fn", Qualifier: "3"}
	_ = resolve(v3)
	if err := e.fns.Delete(ctx, "fn", "3"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Resolve(ctx, v3); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Resolve(fn:3) right after deleting version 3: err = %v, want not found", err)
	}

	// Deleting the function deletes its aliases through the functions service.
	if _, err := e.svc.Create(ctx, "fn", Input{Name: "beta", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	_ = resolve(functions.Ref{Name: "fn", Qualifier: "beta"})
	if err := e.fns.Delete(ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Resolve(ctx, functions.Ref{Name: "fn", Qualifier: "beta"}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Resolve(beta) right after deleting the function: err = %v, want not found", err)
	}
}

// TestResolveViewRebuiltOnRestart checks that a restarted service reads what the
// previous one wrote.
func TestResolveViewRebuiltOnRestart(t *testing.T) {
	e := newEnv(t, nil)
	e.withVersions(t, "fn", 2)
	ctx := context.Background()
	live := functions.Ref{Name: "fn", Qualifier: "live"}
	if _, err := e.svc.Create(ctx, "fn", Input{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	if c, err := e.svc.Resolve(ctx, live); err != nil || c.Version != "1" {
		t.Fatalf("Resolve = %v, %v", c, err)
	}
	if _, err := e.svc.Update(ctx, "fn", Input{Name: "live", FunctionVersion: "2"}); err != nil {
		t.Fatal(err)
	}
	e.reopen(t)
	if c, err := e.svc.Resolve(ctx, live); err != nil || c.Version != "2" {
		t.Fatalf("Resolve after restart = %v, %v; want version 2", c, err)
	}
}

// BenchmarkResolve compares resolving an alias from the store (one read
// transaction and two JSON decodes per call, as before the view) with the view.
func BenchmarkResolve(b *testing.B) {
	e := newEnv(b, nil)
	e.withVersions(b, "fn", 2)
	ctx := context.Background()
	if _, err := e.svc.Create(ctx, "fn", Input{Name: "live", FunctionVersion: "1", RoutingConfig: weights("2", 0.1)}); err != nil {
		b.Fatal(err)
	}
	live := functions.Ref{Name: "fn", Qualifier: "live"}
	for _, bc := range []struct {
		name    string
		resolve func(context.Context, functions.Ref) (*functions.Config, error)
	}{{"store", e.svc.resolveTx}, {"view", e.svc.Resolve}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.resolve(ctx, live); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
