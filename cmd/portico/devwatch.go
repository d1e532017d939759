package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway/iam"
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
// goroutine: start, then run.
type devWatch struct {
	out     io.Writer
	targets []*watchTarget
	// after is the debounce timer (time.After; tests fire their own).
	after func(time.Duration) <-chan time.Time
	// watching, when set, is closed once every directory is watched; rebuilt,
	// when set, receives each redeploy's outcome (both for tests).
	watching chan<- struct{}
	rebuilt  chan<- error
	// add watches one directory (w.Add; tests fail it).
	add func(string) error

	w *fsnotify.Watcher
	// owner is the targets of each watched directory (two functions may
	// share code, or one's directory lie inside another's); roots is the
	// targets of each target directory's path as its parent's events name it
	// (the parent is watched too, so a directory deleted and made again is
	// watched again).
	owner map[string][]*watchTarget
	roots map[string][]rootDir
}

// rootDir is one of a target's directories, as given and as its parent's
// events name it.
type rootDir struct {
	t   *watchTarget
	dir string
}

// start watches every target's directories. An error says what to do, as the
// system's limit on inotify watches does.
func (d *devWatch) start() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return watchError("", err)
	}
	d.w, d.owner, d.roots = w, map[string][]*watchTarget{}, map[string][]rootDir{}
	if d.add == nil {
		d.add = w.Add
	}
	for _, t := range d.targets {
		for _, dir := range t.dirs {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			// Every watch is by absolute path: inotify watches a directory
			// once, under one name, however many spellings ask for it.
			// The parent, best effort: without it, a directory made again is
			// not watched.
			if parent := filepath.Dir(abs); parent != abs && d.add(parent) == nil {
				d.roots[abs] = append(d.roots[abs], rootDir{t: t, dir: abs})
			}
			if err := d.addTree(abs, t); err != nil {
				_ = w.Close()
				return err
			}
		}
		fmt.Fprintf(d.out, "watching %s (%s)\n", t.name, strings.Join(t.dirs, ", "))
	}
	if d.watching != nil {
		close(d.watching)
	}
	return nil
}

// run watches until ctx ends (calling start first if it was not). Changes are
// collected until devDebounce passes without one; then each changed target is
// rebuilt and redeployed in turn. A failed build or deploy is printed and
// leaves what was serving in place.
func (d *devWatch) run(ctx context.Context) error {
	if d.w == nil {
		if err := d.start(); err != nil {
			return err
		}
	}
	w := d.w
	defer func() { _ = w.Close() }()
	pending := map[*watchTarget]bool{}
	// changes are the paths each pending target's events named, reported
	// once the changes settle: an editor's save names its temporary file
	// first (sed -i's sedXXXXXX, vim's 4913), and only the file it is
	// renamed to is still there.
	changes := map[*watchTarget][]string{}
	var fire <-chan time.Time
	changed := func(t *watchTarget, name string) {
		pending[t] = true
		if names := changes[t]; len(names) < maxChangeNames && !slices.Contains(names, name) {
			changes[t] = append(names, name)
		}
		fire = d.after(devDebounce)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Changes were lost: any target may have changed.
				fmt.Fprintf(d.out, "watch: more changes at once than the system queues (fs.inotify.max_queued_events): rebuilding everything\n")
				for _, t := range d.targets {
					pending[t] = true
				}
				fire = d.after(devDebounce)
				continue
			}
			fmt.Fprintf(d.out, "watch: %v\n", err)
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			for _, r := range d.roots[ev.Name] {
				// A target's directory itself: deleted, moved, made again.
				if ev.Has(fsnotify.Create) {
					if err := d.addTree(r.dir, r.t); err != nil {
						fmt.Fprintf(d.out, "%s: %v\n", r.t.name, err)
					}
				}
				changed(r.t, ev.Name)
			}
			if ignoredChange(ev) {
				continue
			}
			for _, t := range d.owner[filepath.Dir(ev.Name)] {
				if ev.Has(fsnotify.Create) {
					if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() && !skippedDir(filepath.Base(ev.Name)) {
						if err := d.addTree(ev.Name, t); err != nil {
							fmt.Fprintf(d.out, "%s: %v\n", t.name, err)
						}
					}
				}
				changed(t, ev.Name)
			}
		case <-fire:
			fire = nil
			for _, t := range d.targets {
				if !pending[t] {
					continue
				}
				delete(pending, t)
				if names := changes[t]; len(names) > 0 {
					fmt.Fprintf(d.out, "change in %s: %s\n", t.name, savedFile(names))
				}
				delete(changes, t)
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

// maxChangeNames bounds the paths remembered per target between rebuilds.
const maxChangeNames = 64

// savedFile picks, of the paths a target's events named, the one to report:
// the first that is still a file (the one saved), else the first named (a
// file deleted, say).
func savedFile(names []string) string {
	for _, n := range names {
		if fi, err := os.Stat(n); err == nil && !fi.IsDir() {
			return n
		}
	}
	return names[0]
}

// addTree watches dir and its subdirectories for t, following symbolic links
// to directories (the zip of the code follows them too), each real directory
// once. Hidden directories, bin/ and node_modules/ are not watched.
func (d *devWatch) addTree(dir string, t *watchTarget) error {
	seen := map[string]bool{}
	var walk func(p string) error
	walk = func(p string) error {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		if seen[real] {
			return nil // a link loop, or a directory reached twice
		}
		seen[real] = true
		if err := d.add(p); err != nil {
			return watchError(p, err)
		}
		if p = filepath.Clean(p); !slices.Contains(d.owner[p], t) {
			d.owner[p] = append(d.owner[p], t)
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		for _, e := range entries {
			sub := filepath.Join(p, e.Name())
			if skippedDir(e.Name()) {
				continue
			}
			if e.Type()&fs.ModeSymlink != 0 {
				if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
					continue // a link to a file, or to nothing
				}
			} else if !e.IsDir() {
				continue
			}
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(dir)
}

// skippedDir reports the directories `portico dev` does not watch below a
// target's directory: hidden ones, bin/ and node_modules/.
func skippedDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "bin" || name == "node_modules"
}

// watchError explains an error from watching path: the system's inotify
// limits are named, with how to raise them.
func watchError(path string, err error) error {
	what := "watch"
	if path != "" {
		what = "watch " + path
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%s: the system's limit on inotify watches is reached (fs.inotify.max_user_watches = %s, shared by every program of this user): raise it (sudo sysctl fs.inotify.max_user_watches=524288), watch a smaller tree, or run with --watch=false: %w",
			what, procLimit("max_user_watches"), err)
	case errors.Is(err, syscall.EMFILE):
		return fmt.Errorf("%s: the system's limit on inotify instances is reached (fs.inotify.max_user_instances = %s, shared by every program of this user): raise it (sudo sysctl fs.inotify.max_user_instances=512), stop other watchers, or run with --watch=false: %w",
			what, procLimit("max_user_instances"), err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// procLimit reads /proc/sys/fs/inotify/NAME, "?" when it cannot.
func procLimit(name string) string {
	b, err := os.ReadFile(filepath.Join("/proc/sys/fs/inotify", name)) //nolint:gosec // a fixed /proc path
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// ignoredChange reports editor droppings, which are neither the change a
// rebuild is for nor the name it is reported under: hidden files (vim's
// .x.swp, emacs's .#x lock, gedit's .goutputstream-XXXXXX), backups (x~),
// vim's 4913 probe and swap files (x.swp ... x.swa), emacs's #x# auto-save,
// JetBrains' x___jb_tmp___ and x___jb_old___, Kate's x.kate-swp. A change of
// mode counts: chmod +x bootstrap changes the package.
func ignoredChange(ev fsnotify.Event) bool {
	base := filepath.Base(ev.Name)
	switch {
	case strings.HasPrefix(base, "."), strings.HasSuffix(base, "~"), base == "4913",
		len(base) > 2 && strings.HasPrefix(base, "#") && strings.HasSuffix(base, "#"),
		strings.HasSuffix(base, "___jb_tmp___"), strings.HasSuffix(base, "___jb_old___"),
		strings.HasSuffix(base, ".kate-swp"):
		return true
	}
	// vim's swap files: .swp, then .swo, .swn, ... down to .swa.
	ext := filepath.Ext(base)
	return len(ext) == 4 && strings.HasPrefix(ext, ".sw") && ext[3] >= 'a' && ext[3] <= 'p'
}

// chatCommands lists the chat sample's commands in its source directory dir:
// the directories under dir/cmd that hold Go source, in order.
func chatCommands(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "cmd"))
	if err != nil {
		return nil, err
	}
	var cmds []string
	for _, en := range entries {
		p := filepath.Join(dir, "cmd", en.Name())
		if fi, err := os.Stat(p); err == nil && fi.IsDir() && !skippedDir(en.Name()) && hasGoFiles(p) {
			cmds = append(cmds, en.Name())
		}
	}
	return cmds, nil
}

// hasGoFiles reports whether dir holds Go source.
func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}

// goBuildFlags are the flags buildBootstrap passes go build, the Makefile's
// samples target's too: the same source gives the same bootstrap whichever
// built it, whatever the commit or the state of the work tree (no VCS
// stamp), so that redeploying it publishes no new version.
var goBuildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w"}

// buildBootstrap builds the Go main package in src into out/bootstrap, static
// for Linux (the process runtime and container images alike). The compiler's
// errors are the error's text. When ctx ends (Ctrl-C) the build stops whole:
// go runs in a process group of its own, killed together, so no compile or
// link outlives it; and its work directory (GOTMPDIR), which go leaves behind
// when killed, is removed.
func buildBootstrap(ctx context.Context, src, out string) error {
	work, err := os.MkdirTemp("", "portico-build-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()
	args := append(append([]string{"build"}, goBuildFlags...), "-o", filepath.Join(out, "bootstrap"), ".")
	cmd := exec.CommandContext(ctx, "go", args...) //nolint:gosec // the user's own source directory
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOTMPDIR="+work)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if b, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("build stopped: %w", context.Cause(ctx))
		}
		if msg := strings.TrimSpace(string(b)); msg != "" {
			return fmt.Errorf("build failed:\n%s", msg)
		}
		// go said nothing: it did not start (no go on PATH, or src gone).
		return fmt.Errorf("build failed: go build in %s: %w", src, err)
	}
	return nil
}

// goneError is a redeploy's error when its directory dir is gone (a move, a
// branch switch): the watch deploys it again when it is back.
func goneError(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is gone; it is deployed again when it is back", dir)
	}
	return nil
}

// functionTarget watches a function's code directory: Go source is built into
// a bootstrap; any other directory is the package as it is (it holds a
// bootstrap). Each change updates $LATEST, publishes a version and points alias
// live at it.
func functionTarget(e *devEnv, name, dir string) *watchTarget {
	return &watchTarget{name: "function " + name, dirs: []string{dir}, redeploy: func(ctx context.Context) (string, error) {
		if err := goneError(dir); err != nil {
			return "", err
		}
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
		return publishDir(ctx, e, name, pkg, nil, devFunctionDescription)
	}}
}

// devFunctionDescription is the Description of a function that `portico dev
// --function` made: what marks it as one dev may redeploy on a later start.
const devFunctionDescription = "made by portico dev --function (redeployed on save)"

// claimFunction checks, before dev deploys --function name, that it may:
// a function of that name that dev did not make (no devFunctionDescription)
// is refused, naming what a deploy would change, unless replace is given; with
// replace it is marked as dev's, and said so. A function that does not exist
// yet is dev's to make.
func claimFunction(ctx context.Context, e *devEnv, name string, replace bool) error {
	cur, _, err := e.client.GetFunctionConfiguration(ctx, name)
	switch {
	case client.IsNotFound(err):
		return nil
	case err != nil:
		return err
	case cur.Description == devFunctionDescription:
		return nil
	}
	aliases, err := describeAliases(ctx, e.client, name)
	if err != nil {
		return err
	}
	if !replace {
		return fmt.Errorf("--function %s: function %s exists and is not marked as made by portico dev%s (an older portico dev left no mark on what it made); dev would update its $LATEST, publish a version and point alias live at it: give --function another name (e.g. --function %s-dev=DIR), or add --replace to take %s over (alias live's weights are kept)",
			name, name, aliases, name, name)
	}
	if _, _, err := e.client.UpdateFunctionConfiguration(ctx, name, map[string]any{"Description": devFunctionDescription}); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "taking over function %s (--replace)%s: its description is now %q\n", name, aliases, devFunctionDescription)
	return nil
}

// describeAliases lists function name's aliases as " (aliases: live -> 1
// (0.3 to 2), beta -> 2)", or "" when it has none.
func describeAliases(ctx context.Context, c *client.Client, name string) (string, error) {
	resp, err := c.Do(ctx, http.MethodGet, client.FunctionPath(name, "/aliases"), nil, nil, nil)
	if err != nil {
		return "", err
	}
	var out struct{ Aliases []client.Alias }
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return "", fmt.Errorf("decoding the aliases: %w", err)
	}
	if len(out.Aliases) == 0 {
		return "", nil
	}
	var parts []string
	for _, a := range out.Aliases {
		p := a.Name + " -> " + a.FunctionVersion
		if a.RoutingConfig != nil {
			for _, v := range slices.Sorted(maps.Keys(a.RoutingConfig.AdditionalVersionWeights)) {
				p += fmt.Sprintf(" (%g to %s)", a.RoutingConfig.AdditionalVersionWeights[v], v)
			}
		}
		parts = append(parts, p)
	}
	return " (aliases: " + strings.Join(parts, ", ") + ")", nil
}

// publishDir creates or updates function name from the package directory dir
// (with env, when given; made with description, when given), publishes a
// version and points alias live at it. Alias live's additional version
// weights are kept: dev moves its primary version only.
func publishDir(ctx context.Context, e *devEnv, name, dir string, env map[string]string, description string) (string, error) {
	out := e.out
	if out == nil {
		out = io.Discard
	}
	zipFile, err := zipDirTo(out)(dir)
	if err != nil {
		return "", err
	}
	cur, _, err := e.client.GetFunctionConfiguration(ctx, name)
	switch {
	case client.IsNotFound(err):
		in := map[string]any{"FunctionName": name, "PackageType": "Zip", "Runtime": client.ZipRuntime, "Handler": client.ZipHandler,
			"Code": map[string]any{"ZipFile": zipFile}}
		if env != nil {
			in["Environment"] = map[string]any{"Variables": env}
		}
		if description != "" {
			in["Description"] = description
		}
		_, _, err = e.client.CreateFunction(ctx, in)
	case err == nil:
		if err = updateChangedCode(ctx, e.client, cur, zipFile); err == nil && env != nil {
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
	weights, err := liveWeights(ctx, e.client, name)
	if err != nil {
		return "", err
	}
	// The new version is live's primary: a weight that sent it traffic
	// goes (it has all of it but the others' weights).
	delete(weights, v.Version)
	if _, _, err := e.client.SetAlias(ctx, name, "live", v.Version, weights); err != nil {
		return "", err
	}
	what := "version " + v.Version + ", alias live -> " + v.Version
	for _, k := range slices.Sorted(maps.Keys(weights)) {
		what += fmt.Sprintf(" (%g to version %s kept)", weights[k], k)
	}
	return what, nil
}

// liveWeights returns alias live's additional version weights on function
// name: nil when it has none, or when there is no alias live.
func liveWeights(ctx context.Context, c *client.Client, name string) (map[string]float64, error) {
	resp, err := c.Do(ctx, http.MethodGet, client.FunctionPath(name, "/aliases/live"), nil, nil, nil)
	if client.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a client.Alias
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		return nil, fmt.Errorf("decoding alias live: %w", err)
	}
	if a.RoutingConfig == nil || len(a.RoutingConfig.AdditionalVersionWeights) == 0 {
		return nil, nil
	}
	return a.RoutingConfig.AdditionalVersionWeights, nil
}

// updateChangedCode uploads zipFile as the code of function cur, unless
// that is its code already (its CodeSha256): a restart of dev, or a save in
// one of the chat sample's commands (which rebuilds them all, to the same
// bytes for the others), uploads only the code that changed, and the
// functions left alone keep their warm sandboxes.
func updateChangedCode(ctx context.Context, c *client.Client, cur *client.FunctionConfiguration, zipFile []byte) error {
	if cur.CodeSha256 == client.CodeSha256(zipFile) {
		return nil
	}
	_, _, err := c.UpdateFunctionCode(ctx, cur.FunctionName, zipFile, "")
	return err
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

// checkServerFilesOutside refuses a --function directory that holds the
// server's own files, which its zip would carry: the data directory (written
// on every call, so each call would also redeploy) or the IAM key file (the
// secret that seals IAM secret access keys).
func checkServerFilesOutside(dirs map[string]string, dataDir, iamKeyFile string) error {
	if iamKeyFile == "" {
		iamKeyFile = iam.DefaultKeyFile(dataDir)
	}
	for _, name := range sortedKeys(dirs) {
		dir := dirs[name]
		switch {
		case within(dataDir, dir):
			return fmt.Errorf("--function %s: %s holds the data directory %s: it would be zipped into the function, and the server writes to it on every call (a redeploy each time); give --data-dir a directory outside it", name, dir, dataDir)
		case within(iamKeyFile, dir):
			return fmt.Errorf("--function %s: %s holds the IAM key file %s, a secret that would be zipped into the function; give --data-dir (or --iam-key-file) a place outside it", name, dir, iamKeyFile)
		}
	}
	return nil
}

// within reports whether path is dir or lies below it, symbolic links
// resolved where they exist.
func within(path, dir string) bool {
	resolve := func(p string) string {
		p, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		// path may not exist yet (a data directory made at start): resolve
		// its parent.
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		if r, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
			return filepath.Join(r, filepath.Base(p))
		}
		return p
	}
	rel, err := filepath.Rel(resolve(dir), resolve(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
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
// `make samples` does, and deploys them again as the dev steps did, with their
// APIs.
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
			if err := goneError(dir); err != nil {
				return "", err
			}
			if err := build(ctx, dir, "hello"); err != nil {
				return "", err
			}
			// Its API too (api.yaml is watched with the code), first: one
			// that does not import changes nothing, the function included.
			if err := importHelloAPI(ctx, e, filepath.Join(dir, "api.yaml")); err != nil {
				return "", fmt.Errorf("api hello: %w", err)
			}
			if err := deployHello(ctx, e); err != nil {
				return "", err
			}
			return "function hello, api hello (stage dev)", nil
		}})
	}
	if dir := filepath.Join(src, "chat"); hasGoFiles(dir) {
		// Its commands are listed at each redeploy, not once: a command
		// directory made while dev runs (its own new directory, watched as
		// it is made) is built, deployed and routed like the others.
		out = append(out, &watchTarget{name: "sample chat", dirs: []string{dir}, redeploy: func(ctx context.Context) (string, error) {
			if err := goneError(dir); err != nil {
				return "", err
			}
			cmds, err := chatCommands(dir)
			if err != nil {
				return "", err
			}
			for _, n := range cmds {
				if err := build(ctx, filepath.Join(dir, "cmd", n), n); err != nil {
					return "", fmt.Errorf("%s: %w", n, err)
				}
				if err := deploySampleFunction(ctx, e, n); err != nil {
					return "", fmt.Errorf("%s: %w", n, err)
				}
			}
			// Its WebSocket API too, last: a new command's route (chatRouteKey)
			// reaches a function that is there.
			_, keys, err := deployChatAPI(ctx, e, cmds)
			if err != nil {
				return "", fmt.Errorf("api chat: %w", err)
			}
			return "functions " + strings.Join(cmds, ", ") + " ($LATEST), api chat (stage dev: routes " + strings.Join(keys, ", ") + ")", nil
		}})
	}
	return out, nil
}
