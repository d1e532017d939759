package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestDevWatchRedeploysOnSave watches two function directories in real temp
// directories: saving a file in the packaged one publishes a new version that
// alias live serves; breaking the Go source of the other prints the compiler's
// error and leaves its version serving. The debounce timer is the test's own
// channel: the test fires it once the change is seen, with no sleeping.
func TestDevWatchRedeploysOnSave(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a guard against hanging, not a timing assertion (a loaded machine is slow)
	defer cancel()
	out := &testkit.LockedBuffer{}
	e := &devEnv{client: env.Client(), adminURL: env.AdminURL, gatewayURL: env.GatewayURL, out: out}

	packaged := t.TempDir()
	boot, err := os.ReadFile(filepath.Join(apptest.Sample(t, "hello"), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(packaged, "bootstrap"), boot, 0o755); err != nil { //nolint:gosec // an executable
		t.Fatal(err)
	}
	source := t.TempDir()
	write := func(dir, name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(source, "go.mod", "module example.com/tiny\n\ngo 1.26\n")
	write(source, "main.go", "package main\n\nfunc main() {}\n")

	dirs, err := parseWatchFunctions([]string{"greeter=" + packaged, "tiny=" + source})
	if err != nil {
		t.Fatal(err)
	}
	var targets []*watchTarget
	for _, name := range sortedKeys(dirs) {
		tg := functionTarget(e, name, dirs[name])
		what, err := tg.redeploy(ctx)
		if err != nil || what != "version 1, alias live -> 1" {
			t.Fatalf("first deploy of %s: %q, %v", name, what, err)
		}
		targets = append(targets, tg)
	}

	fire := make(chan time.Time)
	watching := make(chan struct{})
	rebuilt := make(chan error)
	d := &devWatch{out: out, targets: targets, after: func(time.Duration) <-chan time.Time { return fire },
		watching: watching, rebuilt: rebuilt}
	go func() { _ = d.run(ctx) }()
	<-watching

	// save (written aside and moved in, as editors do: one event), then fire the
	// debounce timer: the send goes through only once the watcher has seen the
	// change and armed its timer.
	aside := t.TempDir()
	saveAndRebuild := func(dir, name, text string) error {
		t.Helper()
		write(aside, name, text)
		if err := os.Rename(filepath.Join(aside, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		select {
		case fire <- time.Now():
		case <-ctx.Done():
			t.Fatalf("the watcher never saw %s change; output:\n%s", name, out)
		}
		select {
		case err := <-rebuilt:
			return err
		case <-ctx.Done():
			t.Fatalf("no rebuild after %s changed; output:\n%s", name, out)
		}
		return nil
	}
	if err := saveAndRebuild(packaged, "config.json", `{"greeting": "hi"}`); err != nil {
		t.Fatalf("redeploy greeter: %v", err)
	}
	if v := aliasVersion(t, e, "greeter"); v != "2" {
		t.Fatalf("alias live of greeter after the save points at %q; want version 2", v)
	}
	resp, err := e.client.Do(ctx, "POST", "/2015-03-31/functions/greeter:live/invocations", nil, []byte(`{}`), nil)
	if err != nil || !strings.Contains(string(resp.Body), "hello from portico") || resp.Header.Get("X-Amz-Executed-Version") != "2" {
		t.Fatalf("invoke greeter:live: %v %s", err, resp.Body)
	}

	if err := saveAndRebuild(source, "main.go", "package main\n\nfunc main() {\n"); err == nil || !strings.Contains(err.Error(), "build failed") {
		t.Fatalf("a broken build redeployed: %v", err)
	}
	if v := aliasVersion(t, e, "tiny"); v != "1" {
		t.Fatalf("alias live of tiny after a broken build points at %q; want version 1 still", v)
	}
	got := out.String()
	for _, want := range []string{"change in function greeter: ", "redeployed function greeter: version 2, alias live -> 2",
		"rebuilding function tiny...", "main.go:", "function tiny: the previous version keeps serving"} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q:\n%s", want, got)
		}
	}
}

// aliasVersion returns the version that alias live of fn points at.
func aliasVersion(t *testing.T, e *devEnv, fn string) string {
	t.Helper()
	resp, err := e.client.Do(context.Background(), "GET", "/2015-03-31/functions/"+fn+"/aliases/live", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var a struct{ FunctionVersion string }
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		t.Fatal(err)
	}
	return a.FunctionVersion
}
