package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestDevWatchRedeploysOnSave watches two function directories in real temp
// directories: saving a file in the packaged one publishes a new version that
// alias live serves; breaking the Go source of the other prints the compiler's
// error and leaves its version serving. The debounce timer is the test's own
// channel: the test fires it once the change is seen, with no sleeping.
func TestDevWatchRedeploysOnSave(t *testing.T) {
	t.Parallel()
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

// watchHarness runs a devWatch over fake targets that record their rebuilds,
// with the debounce timer in the test's hands. The last target, "marker",
// watches a directory of its own: step touches a file there after a change
// and fires the timer until the marker is rebuilt. inotify queues events in
// order, so by then every event of the change has been seen, and step returns
// the targets the change rebuilt.
type watchHarness struct {
	t      *testing.T
	ctx    context.Context
	out    *testkit.LockedBuffer
	fire   chan time.Time
	calls  chan string
	marker string
	n      int
}

func startWatch(t *testing.T, dirs map[string]string) *watchHarness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard against hanging, not a timing assertion
	t.Cleanup(cancel)
	h := &watchHarness{t: t, ctx: ctx, out: &testkit.LockedBuffer{}, fire: make(chan time.Time), calls: make(chan string), marker: t.TempDir()}
	var targets []*watchTarget
	target := func(name, dir string) *watchTarget {
		return &watchTarget{name: name, dirs: []string{dir}, redeploy: func(context.Context) (string, error) {
			select {
			case h.calls <- name:
			case <-ctx.Done():
			}
			return "ok", nil
		}}
	}
	for _, name := range sortedKeys(dirs) {
		targets = append(targets, target(name, dirs[name]))
	}
	targets = append(targets, target("marker", h.marker))
	watching := make(chan struct{})
	d := &devWatch{out: h.out, targets: targets, after: func(time.Duration) <-chan time.Time { return h.fire }, watching: watching}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = d.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-watching
	return h
}

// step makes a change and returns the targets it rebuilt (the marker left out).
func (h *watchHarness) step(change func()) []string {
	h.t.Helper()
	change()
	h.n++
	if err := os.WriteFile(filepath.Join(h.marker, fmt.Sprint(h.n)), nil, 0o600); err != nil {
		h.t.Fatal(err)
	}
	var got []string
	for {
		select {
		case h.fire <- time.Now():
		case name := <-h.calls:
			if name == "marker" {
				sort.Strings(got)
				return slices.Compact(got)
			}
			got = append(got, name)
		case <-h.ctx.Done():
			h.t.Fatalf("the marker was never rebuilt; output:\n%s", h.out)
		}
	}
}

// TestDevWatchFollowsTheCode makes the changes a project goes through and
// checks that each rebuilds its target: a file behind a directory that is a
// symbolic link (the target's own directory, or a subdirectory linking
// outside it, with a link loop beside), a file made executable (the package
// keeps modes), the directory deleted and made again, and a file in a new
// subdirectory.
func TestDevWatchFollowsTheCode(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	mk := func(parts ...string) string {
		t.Helper()
		p := filepath.Join(append([]string{base}, parts...)...)
		if err := os.MkdirAll(p, 0o750); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(path, text string) func() {
		return func() {
			t.Helper()
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	real, outside, withLib, code := mk("real"), mk("outside"), mk("withlib"), mk("code")
	link(real, filepath.Join(base, "linked"))
	link(outside, filepath.Join(withLib, "lib"))
	link(".", filepath.Join(outside, "self"))
	link("..", filepath.Join(outside, "up"))
	write(filepath.Join(code, "bootstrap"), "#!/bin/sh\n")()

	h := startWatch(t, map[string]string{"linked": filepath.Join(base, "linked"), "withlib": withLib, "code": code})
	for _, tc := range []struct {
		name   string
		change func()
		want   []string
	}{
		{"a file in a directory given as a symbolic link", write(filepath.Join(real, "config.json"), "{}"), []string{"linked"}},
		{"a file in a linked subdirectory outside", write(filepath.Join(outside, "page.html"), "<p>"), []string{"withlib"}},
		{"chmod +x bootstrap", func() {
			if err := os.Chmod(filepath.Join(code, "bootstrap"), 0o755); err != nil { //nolint:gosec // an executable
				t.Fatal(err)
			}
		}, []string{"code"}},
		{"the directory deleted", func() {
			if err := os.RemoveAll(code); err != nil {
				t.Fatal(err)
			}
		}, []string{"code"}},
		{"the directory made again", func() { mk("code") }, []string{"code"}},
		{"a file in the directory made again", write(filepath.Join(code, "bootstrap"), "#!/bin/sh\necho again\n"), []string{"code"}},
		{"a new subdirectory", func() { mk("code", "assets", "css") }, []string{"code"}},
		{"a file in a new subdirectory", write(filepath.Join(code, "assets", "css", "site.css"), "p{}"), []string{"code"}},
	} {
		if got := h.step(tc.change); !slices.Equal(got, tc.want) {
			t.Errorf("%s: rebuilt %q, want %q; output:\n%s", tc.name, got, tc.want, h.out)
		}
	}
}

// TestDevWatchSaysWhatToDoAtTheWatchLimit: the kernel's ENOSPC when the
// system's inotify watches run out becomes an error naming the limit and what
// to do, and the watch does not start.
func TestDevWatchSaysWhatToDoAtTheWatchLimit(t *testing.T) {
	t.Parallel()
	d := &devWatch{out: &testkit.LockedBuffer{}, targets: []*watchTarget{{name: "function f", dirs: []string{t.TempDir()}}},
		add: func(string) error { return syscall.ENOSPC }}
	err := d.start()
	if err == nil || !strings.Contains(err.Error(), "fs.inotify.max_user_watches") || !strings.Contains(err.Error(), "--watch=false") || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("start at the watch limit: %v; want the limit named and what to do", err)
	}
	if msg := watchError("", syscall.EMFILE).Error(); !strings.Contains(msg, "fs.inotify.max_user_instances") {
		t.Errorf("at the instance limit: %s", msg)
	}
}

// TestFunctionTargetSaysWhenItsDirectoryIsGone: a redeploy while the code
// directory is deleted says so (and that it comes back), not a zip error.
func TestFunctionTargetSaysWhenItsDirectoryIsGone(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "gone")
	_, err := functionTarget(&devEnv{}, "f", dir).redeploy(context.Background())
	if err == nil || err.Error() != dir+" is gone; it is deployed again when it is back" {
		t.Errorf("redeploy of a deleted directory: %v", err)
	}
}

// TestSampleTargetsSayWhenTheirDirectoryIsGone: a sample's source directory
// moved away while dev runs is said to be gone, as a --function directory is,
// not "build failed:" with nothing after it; and a build whose go cannot start
// says why.
func TestSampleTargetsSayWhenTheirDirectoryIsGone(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	for _, d := range []string{"hello", filepath.Join("chat", "cmd", "chat-x")} {
		writeFile(t, filepath.Join(src, d, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o600)
	}
	writeFile(t, filepath.Join(src, "chat", "doc.go"), []byte("package chat\n"), 0o600)
	targets, err := sampleTargets(&devEnv{samples: t.TempDir()}, src)
	if err != nil || len(targets) != 2 {
		t.Fatalf("sampleTargets: %d targets, %v", len(targets), err)
	}
	for _, tg := range targets {
		dir := tg.dirs[0]
		if err := os.Rename(dir, dir+".moved"); err != nil {
			t.Fatal(err)
		}
		if _, err := tg.redeploy(context.Background()); err == nil || err.Error() != dir+" is gone; it is deployed again when it is back" {
			t.Errorf("%s: redeploy of a moved directory: %v", tg.name, err)
		}
	}
	gone := filepath.Join(src, "nowhere")
	if err := buildBootstrap(context.Background(), gone, t.TempDir()); err == nil || !strings.Contains(err.Error(), "go build in "+gone+": ") {
		t.Errorf("buildBootstrap in a missing directory: %v", err)
	}
}

// TestDevWatchRebuildsEverythingAfterAnOverflow: while one target rebuilds,
// more files change than the kernel queues (fs.inotify.max_queued_events);
// the changes past that are lost, a change to the rebuilding target among
// them, so after the overflow every target is rebuilt.
func TestDevWatchRebuildsEverythingAfterAnOverflow(t *testing.T) {
	t.Parallel()
	queued, err := strconv.Atoi(procLimit("max_queued_events"))
	if err != nil {
		t.Skipf("no inotify queue limit to read: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	a, b := t.TempDir(), t.TempDir()
	calls, release := make(chan string), make(chan struct{})
	target := func(name, dir string) *watchTarget {
		first := true
		return &watchTarget{name: name, dirs: []string{dir}, redeploy: func(context.Context) (string, error) {
			select {
			case calls <- name:
			case <-ctx.Done():
			}
			if name == "a" && first {
				first = false
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return "ok", nil
		}}
	}
	fire := make(chan time.Time)
	out := &testkit.LockedBuffer{}
	d := &devWatch{out: out, targets: []*watchTarget{target("a", a), target("b", b)}, after: func(time.Duration) <-chan time.Time { return fire }}
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = d.run(ctx) }()
	defer func() { cancel(); <-done }()

	write := func(path string) {
		t.Helper()
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(a, "first"))
	select {
	case fire <- time.Now():
	case <-ctx.Done():
		t.Fatal("the first change was never seen")
	}
	if name := <-calls; name != "a" {
		t.Fatalf("rebuilt %s first, want a", name)
	}
	// a is rebuilding: flood b past the kernel's queue and fsnotify's read
	// buffer (4096 events), then change a.
	for i := range queued + 4096 + 1024 {
		write(filepath.Join(b, strconv.Itoa(i)))
	}
	write(filepath.Join(a, "lost"))
	close(release)
	got := map[string]bool{}
	for !got["a"] || !got["b"] {
		select {
		case fire <- time.Now():
		case name := <-calls:
			got[name] = true
		case <-ctx.Done():
			t.Fatalf("rebuilt %v after the overflow, want a and b; output:\n%s", got, out)
		}
	}
	if !strings.Contains(out.String(), "rebuilding everything") {
		t.Errorf("the output does not say why everything is rebuilt:\n%s", out)
	}
}

// TestBuildBootstrapStopsTheWholeBuild cancels a build while a tool of it
// runs (a -toolexec wrapper that announces its pid through a FIFO, then
// sleeps in the tool's place): the tool dies with the build, not orphaned
// when go alone is killed, and go's work directory is gone too.
func TestBuildBootstrapStopsTheWholeBuild(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	src, out, tmp := filepath.Join(dir, "src"), filepath.Join(dir, "out"), filepath.Join(dir, "tmp")
	for _, d := range []string{src, out, tmp} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/stopped\n\ngo 1.26\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pids")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Open for reading and writing: wrappers never block opening it.
	pids, err := os.OpenFile(fifo, os.O_RDWR, 0) //nolint:gosec // the test's own FIFO
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pids.Close() }()
	wrap := filepath.Join(dir, "wrap.sh")
	script := "#!/bin/sh\ncase \"$*\" in *-V=full*) exec \"$@\";; esac\necho $$ > " + fifo + "\nexec sleep 600\n"
	if err := os.WriteFile(wrap, []byte(script), 0o700); err != nil { //nolint:gosec // an executable
		t.Fatal(err)
	}
	t.Setenv("GOFLAGS", "-toolexec="+wrap)
	t.Setenv("TMPDIR", tmp)

	ctx, cancel := context.WithCancel(context.Background())
	built := make(chan error, 1)
	go func() { built <- buildBootstrap(ctx, src, out) }()
	var pid int
	if _, err := fmt.Fscan(pids, &pid); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unix.Close(fd) }()
	cancel()
	if err := <-built; err == nil || !strings.Contains(err.Error(), "build stopped") {
		t.Errorf("a cancelled build: %v", err)
	}
	// A pidfd is readable once its process has exited; the minute is a
	// guard against hanging, not a timing assertion.
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 60_000) //nolint:gosec // a file descriptor fits
	if err != nil || n != 1 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("tool %d outlived its cancelled build (poll: %d, %v)", pid, n, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the build left %v in TMPDIR", left)
	}
}

// TestDevWatchSharedDirectories: two functions deployed from one directory
// both redeploy on a save there (only the last one named did), and a save in
// a function's directory that lies inside another's redeploys both (the
// outer one's zip holds it too).
func TestDevWatchSharedDirectories(t *testing.T) {
	t.Parallel()
	shared, outer := t.TempDir(), t.TempDir()
	inner := filepath.Join(outer, "inner")
	if err := os.MkdirAll(inner, 0o750); err != nil {
		t.Fatal(err)
	}
	h := startWatch(t, map[string]string{"a": shared, "b": shared, "inner": inner, "outer": outer})
	for _, tc := range []struct {
		file string
		want []string
	}{
		{filepath.Join(shared, "config.json"), []string{"a", "b"}},
		{filepath.Join(inner, "config.json"), []string{"inner", "outer"}},
		{filepath.Join(outer, "config.json"), []string{"outer"}},
	} {
		got := h.step(func() {
			if err := os.WriteFile(tc.file, []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
		})
		if !slices.Equal(got, tc.want) {
			t.Errorf("a save to %s rebuilt %q, want %q", tc.file, got, tc.want)
		}
	}
}

// TestDevWatchSpellingsOfOneDirectory: one directory named two ways (a
// relative --function directory, and the parent of another given in full)
// is one inotify watch under one name; saves in it still reach its target.
func TestDevWatchSpellingsOfOneDirectory(t *testing.T) {
	base := t.TempDir()
	inner := filepath.Join(base, "x", "sub")
	if err := os.MkdirAll(inner, 0o750); err != nil {
		t.Fatal(err)
	}
	t.Chdir(base)
	h := startWatch(t, map[string]string{"outer": "./x", "inner": inner})
	for _, tc := range []struct {
		file string
		want []string
	}{
		{filepath.Join("x", "config.json"), []string{"outer"}},
		{filepath.Join(inner, "config.json"), []string{"inner", "outer"}},
	} {
		got := h.step(func() {
			if err := os.WriteFile(tc.file, []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
		})
		if !slices.Equal(got, tc.want) {
			t.Errorf("a save to %s rebuilt %q, want %q", tc.file, got, tc.want)
		}
	}
}

// TestSampleHelloRedeploysItsAPI: the hello sample's watch covers api.yaml,
// so its redeploy imports and deploys the API as well as the function (a
// save to api.yaml changed nothing). A document that does not import is an
// error, and stage dev keeps serving its deployment.
func TestSampleHelloRedeploysItsAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	e := &devEnv{client: env.Client(), samples: t.TempDir(), adminURL: env.AdminURL, gatewayURL: env.GatewayURL, out: &testkit.LockedBuffer{}}
	targets, err := sampleTargets(e, filepath.Join("..", "..", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	var hello *watchTarget
	for _, tg := range targets {
		if tg.name == "sample hello" {
			hello = tg
		}
	}
	if hello == nil {
		t.Fatal("no hello sample target")
	}
	what, err := hello.redeploy(ctx)
	if err != nil {
		t.Fatalf("redeploy sample hello: %v", err)
	}
	resp, err := e.client.Do(ctx, "GET", apisPath, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil || len(list.Items) != 1 || list.Items[0].Name != "hello" {
		t.Fatalf("apis after the redeploy: %s (%v)", resp.Body, err)
	}
	if what != "function hello, api hello (stage dev)" {
		t.Errorf("redeploy sample hello says %q", what)
	}
	call := func() string {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.GatewayURL+"/"+list.Items[0].ID+"/dev/hello?name=dev", nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = r.Body.Close() }()
		b, _ := io.ReadAll(r.Body)
		return fmt.Sprintf("%d %s", r.StatusCode, b)
	}
	if got := call(); !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "hello from portico") {
		t.Fatalf("GET /dev/hello: %s", got)
	}
	bad := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(bad, []byte("openapi: 3.0.1\npaths: [not, a, map]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := importHelloAPI(ctx, e, bad); err == nil {
		t.Fatal("a broken api.yaml imported")
	}
	if got := call(); !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "hello from portico") {
		t.Errorf("GET /dev/hello after a broken api.yaml: %s", got)
	}
}

// TestFirstDeployShowsProgress deploys --function directories as `portico dev`
// does at start, against a real server, on a clock that moves 2.5 s per
// reading: a Go directory says "building ..." before its build, then how long
// it took and what serves; a packaged one says "packaging ..."; a broken build
// says it failed after how long, and the error says what to do next.
func TestFirstDeployShowsProgress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	out := &testkit.LockedBuffer{}
	clock := time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC)
	e := &devEnv{client: env.Client(), adminURL: env.AdminURL, gatewayURL: env.GatewayURL, out: out,
		now: func() time.Time { clock = clock.Add(2500 * time.Millisecond); return clock }}
	write := func(dir, name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tiny, broken, packaged := t.TempDir(), t.TempDir(), t.TempDir()
	for _, dir := range []string{tiny, broken} {
		write(dir, "go.mod", "module example.com/tiny\n\ngo 1.26\n")
	}
	write(tiny, "main.go", "package main\n\nfunc main() {}\n")
	write(broken, "main.go", "package main\n\nfunc main() {\n")
	if err := os.WriteFile(filepath.Join(packaged, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil { //nolint:gosec // an executable
		t.Fatal(err)
	}

	if _, err := firstDeploy(ctx, e, "tiny", tiny); err != nil {
		t.Fatalf("tiny: %v", err)
	}
	if _, err := firstDeploy(ctx, e, "greeter", packaged); err != nil {
		t.Fatalf("greeter: %v", err)
	}
	_, err := firstDeploy(ctx, e, "broken", broken)
	if err == nil || !strings.Contains(err.Error(), "main.go:") ||
		!strings.Contains(err.Error(), "fix "+broken+" and run portico dev again (or leave --function broken="+broken+" out)") {
		t.Fatalf("a broken build: %v", err)
	}
	want := "building function tiny (go build in " + tiny + ")...\n" +
		"deployed function tiny in 2.5s: version 1, alias live -> 1\n" +
		"packaging function greeter (" + packaged + ")...\n" +
		"deployed function greeter in 2.5s: version 1, alias live -> 1\n" +
		"building function broken (go build in " + broken + ")...\n" +
		"function broken failed after 2.5s\n"
	if got := out.String(); got != want {
		t.Errorf("progress:\n%s\nwant:\n%s", got, want)
	}
}

// copyTree copies the directory tree src to dst (regular files and
// directories).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o750)
		}
		b, err := os.ReadFile(p) //nolint:gosec // the repository's own files
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSampleChatPicksUpNewCommands runs `portico dev`'s watch over a copy of
// the chat sample (beside a copy of the module's go.mod, so that it builds as
// the repository's does) against a real server: a command directory made while
// the watch runs is built and deployed as a function, routed on WebSocket API
// chat (chat-whoami: route whoami) and deployed to stage dev, with the
// sample's other commands; a later save in the new directory, watched since it
// was made, deploys it again, and uploads none of the others, whose code is
// the same.
func TestSampleChatPicksUpNewCommands(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	root := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	chatDir := filepath.Join(root, "samples", "chat")
	copyTree(t, filepath.Join(apptest.RepoRoot(), "samples", "chat"), chatDir)

	out := &testkit.LockedBuffer{}
	e := &devEnv{client: env.Client(), samples: t.TempDir(), adminURL: env.AdminURL, gatewayURL: env.GatewayURL, out: out}
	targets, err := sampleTargets(e, filepath.Join(root, "samples"))
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].name != "sample chat" {
		t.Fatalf("targets of a tree with only the chat sample: %d", len(targets))
	}
	watching := make(chan struct{})
	d := &devWatch{out: out, targets: targets, after: time.After, watching: watching}
	done := make(chan struct{})
	go func() { defer close(done); _ = d.run(ctx) }()
	defer func() { cancel(); <-done }()
	<-watching

	// The user makes the command's directory, then writes its source.
	cmdDir := filepath.Join(chatDir, "cmd", "chat-whoami")
	if err := os.Mkdir(cmdDir, 0o750); err != nil {
		t.Fatal(err)
	}
	source := func(body string) {
		t.Helper()
		src := "package main\n\nimport (\n\t\"context\"\n\n\t\"github.com/aws/aws-lambda-go/events\"\n\t\"github.com/aws/aws-lambda-go/lambda\"\n)\n\n" +
			"func main() {\n\tlambda.Start(func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {\n" +
			"\t\treturn events.APIGatewayProxyResponse{StatusCode: 200, Body: " + strconv.Quote(body) + "}, nil\n\t})\n}\n"
		if err := os.WriteFile(filepath.Join(cmdDir, "main.go"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	source("who")

	get := func(path string, v any) bool {
		t.Helper()
		resp, err := e.client.Do(ctx, http.MethodGet, path, nil, nil, nil)
		if err != nil {
			return false
		}
		if err := json.Unmarshal(resp.Body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, resp.Body)
		}
		return true
	}
	// routed is the function that route key routes to in the deployment
	// stage dev of API chat serves, "" when there is none.
	routed := func(key string) string {
		t.Helper()
		var list struct {
			Items []struct{ ID, Name string } `json:"items"`
		}
		if !get(apisPath, &list) {
			return ""
		}
		for _, a := range list.Items {
			if a.Name != "chat" {
				continue
			}
			var st struct {
				DeploymentID string `json:"deploymentId"`
			}
			var dep struct {
				API struct {
					Routes []struct {
						RouteKey    string `json:"routeKey"`
						Integration *struct {
							URI string `json:"uri"`
						} `json:"integration"`
					} `json:"routes"`
				} `json:"api"`
			}
			if !get(apisPath+"/"+a.ID+"/stages/dev", &st) || !get(apisPath+"/"+a.ID+"/deployments/"+st.DeploymentID, &dep) {
				return ""
			}
			for _, r := range dep.API.Routes {
				if r.RouteKey == key && r.Integration != nil {
					return r.Integration.URI
				}
			}
		}
		return ""
	}
	codeSha := func() string {
		t.Helper()
		cfg, _, err := e.client.GetFunctionConfiguration(ctx, "chat-whoami")
		if err != nil {
			return ""
		}
		return cfg.CodeSha256
	}
	// said waits for the watch to print want: it prints a redeploy's outcome
	// once the redeploy returns, after the server already shows its effect.
	said := func(want string) {
		t.Helper()
		for !strings.Contains(out.String(), want) {
			select {
			case <-ctx.Done():
				t.Fatalf("the output does not say %q:\n%s", want, out)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	for routed("whoami") != "function:chat-whoami" || codeSha() == "" {
		select {
		case <-ctx.Done():
			t.Fatalf("chat-whoami was never deployed and routed; output:\n%s", out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for key, fn := range map[string]string{"$connect": "chat-connect", "$disconnect": "chat-disconnect", "sendmessage": "chat-sendmessage"} {
		if got := routed(key); got != "function:"+fn {
			t.Errorf("route %s of stage dev: %q, want function:%s", key, got, fn)
		}
	}
	if got := routed("page"); got != "" {
		t.Errorf("chat-page is routed on the WebSocket API: %q", got)
	}
	said("routes $connect, $disconnect, sendmessage, whoami")

	// The save rebuilds every command; only the one whose code changed is
	// uploaded (the others' revisions stay).
	others := []string{"chat-connect", "chat-disconnect", "chat-page", "chat-sendmessage"}
	revisions := func() map[string]string {
		t.Helper()
		revs := map[string]string{}
		for _, fn := range others {
			cfg, _, err := e.client.GetFunctionConfiguration(ctx, fn)
			if err != nil {
				t.Fatalf("function %s: %v", fn, err)
			}
			revs[fn] = cfg.RevisionID
		}
		return revs
	}
	before := revisions()
	first := codeSha()
	source("who else")
	for codeSha() == first {
		select {
		case <-ctx.Done():
			t.Fatalf("a save in the new command's directory was never deployed; output:\n%s", out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if after := revisions(); !maps.Equal(before, after) {
		t.Errorf("a save in chat-whoami updated the other commands' functions (revisions %v, were %v)", after, before)
	}

	// The user's own function of a chat- name is none of the sample's.
	if _, _, err := e.client.CreateFunction(ctx, map[string]any{
		"FunctionName": "chat-mine", "Runtime": client.ZipRuntime, "Handler": client.ZipHandler,
		"Code": map[string]any{"ZipFile": apptest.ZipSample(t, "hello")},
	}); err != nil {
		t.Fatal(err)
	}
	// The command deleted from the source: its route goes, and so does the
	// function dev made for it; the rest stay.
	if err := os.RemoveAll(cmdDir); err != nil {
		t.Fatal(err)
	}
	for routed("whoami") != "" || codeSha() != "" {
		select {
		case <-ctx.Done():
			t.Fatalf("chat-whoami was never taken down (route %q, code %q); output:\n%s", routed("whoami"), codeSha(), out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for key, fn := range map[string]string{"$connect": "chat-connect", "$disconnect": "chat-disconnect", "sendmessage": "chat-sendmessage"} {
		if got := routed(key); got != "function:"+fn {
			t.Errorf("after chat-whoami went, route %s of stage dev: %q, want function:%s", key, got, fn)
		}
	}
	for _, fn := range []string{"chat-connect", "chat-page", "chat-sendmessage", "chat-mine"} {
		if _, _, err := e.client.GetFunctionConfiguration(ctx, fn); err != nil {
			t.Errorf("after chat-whoami went, function %s: %v", fn, err)
		}
	}
	said("deleted function chat-whoami")
}

// TestDevBuildsAsMakeSamples: dev's rebuild of a sample (and of a --function
// directory) passes go build the flags `make samples` passes, so that the
// same source gives the same bootstrap either way and the next `make run`
// publishes no new version of code a save already deployed.
func TestDevBuildsAsMakeSamples(t *testing.T) {
	t.Parallel()
	mk, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	want := "CGO_ENABLED=0 $(GO) build " + strings.Join(goBuildFlags, " ") + " -o $(BIN)/samples/"
	want = strings.Replace(want, "-ldflags=-s -w", "-ldflags='-s -w'", 1)
	if !strings.Contains(string(mk), want) {
		t.Errorf("the Makefile's samples target does not build with %q", want)
	}
	for _, f := range []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w"} {
		if !slices.Contains(goBuildFlags, f) {
			t.Errorf("goBuildFlags %q lack %s", goBuildFlags, f)
		}
	}
}

// TestIgnoredChangeEditorDroppings: the files editors write beside the one
// being saved (vim's, emacs's, gedit's, JetBrains', Kate's) are not changes
// of the function, so that dev neither rebuilds for them nor names them as
// the change; the files a function is made of are.
func TestIgnoredChangeEditorDroppings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"4913", ".main.go.swp", "main.go.swp", "main.go.swo", "main.go~", "#main.go#",
		".#main.go", ".goutputstream-8NR0Q2", "main.go___jb_tmp___", "main.go___jb_old___", "main.go.kate-swp"} {
		if !ignoredChange(fsnotify.Event{Name: filepath.Join(dir, name), Op: fsnotify.Create}) {
			t.Errorf("%s: taken for a change of the function", name)
		}
	}
	for _, name := range []string{"main.go", "bootstrap", "config.json", "#notes", "index.swift", "a.sw", "go.sum"} {
		if ignoredChange(fsnotify.Event{Name: filepath.Join(dir, name), Op: fsnotify.Write}) {
			t.Errorf("%s: ignored", name)
		}
	}
}

// TestDevWatchNamesTheSavedFile: a save made as sed -i makes it (a temporary
// file written, then renamed over main.go: events name the temporary file
// first) is reported as main.go's change, not as the temporary file's, which
// no longer exists; a deleted file, the only one named, is reported still.
func TestDevWatchNamesTheSavedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	main, tmp := filepath.Join(dir, "main.go"), filepath.Join(dir, "sedAb12Cd")
	if err := os.WriteFile(main, []byte("package main\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{tmp, tmp, main}, main},
		{[]string{dir, tmp, main}, main},
		{[]string{tmp}, tmp},
	} {
		if got := savedFile(tc.names); got != tc.want {
			t.Errorf("savedFile(%q) = %s, want %s", tc.names, got, tc.want)
		}
	}
}
