package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// TestDevFunctionTakesOverOnlyItsOwn (newuser26 #1): `portico dev --function
// myfn=DIR`, myfn made by hand with alias live at 1 and 0.3 to version 2,
// published a version 3 of the user's function and moved live to it, the
// weight dropped, without a word. Now dev refuses a function it did not make,
// naming its aliases and --replace, and changes nothing; with --replace it
// takes it over and keeps live's weight; a function dev made is its own on a
// later start; a sample's name is refused.
func TestDevFunctionTakesOverOnlyItsOwn(t *testing.T) {
	boot, err := os.ReadFile(filepath.Join(apptest.Sample(t, "hello"), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	pkg := func(extra string) string {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), boot, 0o755); err != nil { //nolint:gosec // an executable
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "extra.txt"), []byte(extra), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := env.Client()
	out := &bytes.Buffer{}
	e := &devEnv{client: c, adminURL: env.AdminURL, gatewayURL: env.GatewayURL, out: out}

	// myfn by hand: versions 1 and 2, live 1 with 0.3 to 2, beta 2.
	zip := func(dir string) []byte {
		z, err := client.ZipDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		return z
	}
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "myfn", "PackageType": "Zip", "Runtime": client.ZipRuntime,
		"Handler": client.ZipHandler, "Code": map[string]any{"ZipFile": zip(pkg("1"))}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PublishVersion(ctx, "myfn", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.UpdateFunctionCode(ctx, "myfn", zip(pkg("2")), ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PublishVersion(ctx, "myfn", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SetAlias(ctx, "myfn", "live", "1", map[string]float64{"2": 0.3}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.SetAlias(ctx, "myfn", "beta", "2", nil); err != nil {
		t.Fatal(err)
	}
	live := func() client.Alias {
		t.Helper()
		resp, err := c.Do(ctx, http.MethodGet, client.FunctionPath("myfn", "/aliases/live"), nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var a client.Alias
		if err := json.Unmarshal(resp.Body, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}

	err = claimFunction(ctx, e, "myfn", false)
	if err == nil {
		t.Fatal("dev took over myfn, which it did not make, without --replace")
	}
	for _, want := range []string{"function myfn exists and is not marked as made by portico dev", "live -> 1 (0.3 to 2)", "beta -> 2", "--function myfn-dev=DIR", "--replace"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal does not say %q: %v", want, err)
		}
	}
	if a := live(); a.FunctionVersion != "1" || a.RoutingConfig == nil || a.RoutingConfig.AdditionalVersionWeights["2"] != 0.3 {
		t.Fatalf("refused, yet alias live is now %+v", a)
	}

	if err := claimFunction(ctx, e, "myfn", true); err != nil {
		t.Fatalf("--replace: %v", err)
	}
	if !strings.Contains(out.String(), "taking over function myfn (--replace)") {
		t.Errorf("--replace does not say so:\n%s", out)
	}
	what, err := functionTarget(e, "myfn", pkg("3")).redeploy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := "version 3, alias live -> 3 (0.3 to version 2 kept)"; what != want {
		t.Errorf("redeploy said %q, want %q", what, want)
	}
	if a := live(); a.FunctionVersion != "3" || a.RoutingConfig == nil || a.RoutingConfig.AdditionalVersionWeights["2"] != 0.3 {
		t.Errorf("alias live after the takeover = %+v, want 3 with 0.3 to 2", a)
	}
	// Taken over, it is dev's on the next start.
	if err := claimFunction(ctx, e, "myfn", false); err != nil {
		t.Errorf("a second start after --replace: %v", err)
	}

	// A function dev makes is its own on a later start.
	if err := claimFunction(ctx, e, "devfn", false); err != nil {
		t.Fatalf("a new function: %v", err)
	}
	if _, err := functionTarget(e, "devfn", pkg("d")).redeploy(ctx); err != nil {
		t.Fatal(err)
	}
	if err := claimFunction(ctx, e, "devfn", false); err != nil {
		t.Errorf("dev's own function on a later start: %v", err)
	}

	// The samples' names.
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "chat", "cmd", "chat-connect"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "chat", "cmd", "chat-connect", "main.go"), []byte("package main\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hello", "chat-connect"} {
		err := checkNotSampleNames(map[string]string{name: "/x"}, src)
		if err == nil || !strings.Contains(err.Error(), "is a sample's function") {
			t.Errorf("--function %s=/x: %v, want refused as a sample's name", name, err)
		}
	}
	if err := checkNotSampleNames(map[string]string{"myfn": "/x"}, src); err != nil {
		t.Errorf("--function myfn: %v", err)
	}
}
