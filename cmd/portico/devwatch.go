package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// devDebounce is how long `portico dev` waits after the last change before it
// rebuilds: an editor's save is several events.
const devDebounce = 300 * time.Millisecond

// watchTarget is something `portico dev` rebuilds and redeploys when a file
// under one of its directories changes.
type watchTarget struct {
	// name names it in progress lines ("function hello").
	name string
	// dirs are watched, with their subdirectories.
	dirs []string
	// redeploy builds and deploys; it returns what now serves ("version 3").
	redeploy func(ctx context.Context) (string, error)
}

// devWatch rebuilds and redeploys watch targets on change. It is used by one
// goroutine (run).
type devWatch struct {
	out     io.Writer
	targets []*watchTarget
	// after is the debounce timer (time.After; tests fire their own).
	after func(time.Duration) <-chan time.Time
	// watching, when set, is closed once every directory is watched; rebuilt,
	// when set, receives each redeploy's outcome (both for tests).
	watching chan<- struct{}
	rebuilt  chan<- error
}

// run watches until ctx ends. Changes are collected until devDebounce passes
// without one; then each changed target is rebuilt and redeployed in turn. A
// failed build or deploy is printed and leaves what was serving in place.
func (d *devWatch) run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer func() { _ = w.Close() }()
	owner := map[string]*watchTarget{}
	for _, t := range d.targets {
		for _, dir := range t.dirs {
			if err := addTree(w, dir, t, owner); err != nil {
				return err
			}
		}
		fmt.Fprintf(d.out, "watching %s (%s)\n", t.name, strings.Join(t.dirs, ", "))
	}
	if d.watching != nil {
		close(d.watching)
	}
	pending := map[*watchTarget]bool{}
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			fmt.Fprintf(d.out, "watch: %v\n", err)
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ignoredChange(ev) {
				continue
			}
			t := owner[filepath.Dir(ev.Name)]
			if t == nil {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = addTree(w, ev.Name, t, owner)
				}
			}
			if !pending[t] {
				fmt.Fprintf(d.out, "change in %s: %s\n", t.name, ev.Name)
			}
			pending[t] = true
			fire = d.after(devDebounce)
		case <-fire:
			fire = nil
			for _, t := range d.targets {
				if !pending[t] {
					continue
				}
				delete(pending, t)
				fmt.Fprintf(d.out, "rebuilding %s...\n", t.name)
				what, err := t.redeploy(ctx)
				if err != nil {
					fmt.Fprintf(d.out, "%s: %v\n%s: the previous version keeps serving\n", t.name, err, t.name)
				} else {
					fmt.Fprintf(d.out, "redeployed %s: %s\n", t.name, what)
				}
				if d.rebuilt != nil {
					d.rebuilt <- err
				}
			}
		}
	}
}

// addTree watches dir and its subdirectories (but not hidden ones or bin/) for t.
func addTree(w *fsnotify.Watcher, dir string, t *watchTarget, owner map[string]*watchTarget) error {
	return filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		if !de.IsDir() {
			return nil
		}
		if p != dir && (strings.HasPrefix(de.Name(), ".") || de.Name() == "bin" || de.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if err := w.Add(p); err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		owner[filepath.Clean(p)] = t
		return nil
	})
}

// ignoredChange reports editor droppings and mere attribute changes.
func ignoredChange(ev fsnotify.Event) bool {
	base := filepath.Base(ev.Name)
	return ev.Op == fsnotify.Chmod || strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") ||
		strings.HasSuffix(base, ".swp") || base == "4913"
}

// hasGoFiles reports whether dir holds Go source.
func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}

// buildBootstrap builds the Go main package in src into out/bootstrap, static
// for Linux (the process runtime and container images alike). The compiler's
// errors are the error's text.
func buildBootstrap(ctx context.Context, src, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(out, "bootstrap"), ".") //nolint:gosec // the user's own source directory
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build failed:\n%s", strings.TrimSpace(string(b)))
	}
	return nil
}

// functionTarget watches a function's code directory: Go source is built into
// a bootstrap; any other directory is the package as it is (it holds a
// bootstrap). Each change updates $LATEST, publishes a version and points alias
// live at it.
func functionTarget(e *devEnv, name, dir string) *watchTarget {
	return &watchTarget{name: "function " + name, dirs: []string{dir}, redeploy: func(ctx context.Context) (string, error) {
		pkg := dir
		if hasGoFiles(dir) {
			tmp, err := os.MkdirTemp("", "portico-dev-")
			if err != nil {
				return "", err
			}
			defer func() { _ = os.RemoveAll(tmp) }()
			if err := buildBootstrap(ctx, dir, tmp); err != nil {
				return "", err
			}
			pkg = tmp
		}
		return publishDir(ctx, e, name, pkg, nil)
	}}
}

// publishDir creates or updates function name from the package directory dir
// (with env, when given), publishes a version and points alias live at it.
func publishDir(ctx context.Context, e *devEnv, name, dir string, env map[string]string) (string, error) {
	zipFile, err := client.ZipDir(dir)
	if err != nil {
		return "", err
	}
	_, _, err = e.client.GetFunctionConfiguration(ctx, name)
	switch {
	case client.IsNotFound(err):
		in := map[string]any{"FunctionName": name, "PackageType": "Zip",
			"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(zipFile)}}
		if env != nil {
			in["Environment"] = map[string]any{"Variables": env}
		}
		_, _, err = e.client.CreateFunction(ctx, in)
	case err == nil:
		if _, _, err = e.client.UpdateFunctionCode(ctx, name, zipFile, ""); err == nil && env != nil {
			_, _, err = e.client.UpdateFunctionConfiguration(ctx, name, map[string]any{"Environment": map[string]any{"Variables": env}})
		}
	}
	if err != nil {
		return "", err
	}
	v, _, err := e.client.PublishVersion(ctx, name, "")
	if err != nil {
		return "", err
	}
	if _, _, err := e.client.SetAlias(ctx, name, "live", v.Version, nil); err != nil {
		return "", err
	}
	return "version " + v.Version + ", alias live -> " + v.Version, nil
}

// parseWatchFunctions reads --function NAME=DIR values.
func parseWatchFunctions(vals []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range vals {
		name, dir, ok := strings.Cut(v, "=")
		if !ok || name == "" || dir == "" {
			return nil, fmt.Errorf("--function %q: want NAME=DIR (the function's code directory)", v)
		}
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("--function %s: %s is not a directory", name, dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil && !hasGoFiles(dir) {
			return nil, fmt.Errorf("--function %s: %s holds neither Go source nor a bootstrap executable", name, dir)
		}
		out[name] = dir
	}
	return out, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sampleTargets watch the samples' source under src (samples/hello,
// samples/chat): a change rebuilds the sample's functions into e.samples, as
// `make samples` does, and deploys them again as the dev steps did.
func sampleTargets(e *devEnv, src string) ([]*watchTarget, error) {
	var out []*watchTarget
	build := func(ctx context.Context, pkg, name string) error {
		dst, err := filepath.Abs(filepath.Join(e.samples, name))
		if err != nil {
			return err
		}
		return buildBootstrap(ctx, pkg, dst)
	}
	if dir := filepath.Join(src, "hello"); hasGoFiles(dir) {
		out = append(out, &watchTarget{name: "sample hello", dirs: []string{dir}, redeploy: func(ctx context.Context) (string, error) {
			if err := build(ctx, dir, "hello"); err != nil {
				return "", err
			}
			return "function hello", deployHello(ctx, e)
		}})
	}
	if dir := filepath.Join(src, "chat"); hasGoFiles(dir) {
		cmds, err := filepath.Glob(filepath.Join(dir, "cmd", "*"))
		if err != nil {
			return nil, err
		}
		out = append(out, &watchTarget{name: "sample chat", dirs: []string{dir}, redeploy: func(ctx context.Context) (string, error) {
			var names []string
			for _, c := range cmds {
				n := filepath.Base(c)
				if err := build(ctx, c, n); err != nil {
					return "", fmt.Errorf("%s: %w", n, err)
				}
				if err := deploySampleFunction(ctx, e, n); err != nil {
					return "", fmt.Errorf("%s: %w", n, err)
				}
				names = append(names, n)
			}
			return "functions " + strings.Join(names, ", ") + " ($LATEST)", nil
		}})
	}
	return out, nil
}
