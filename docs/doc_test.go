package docs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/doctest"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// root is the repository's root directory.
func root(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), ".."))
}

// pages parses README.md and docs/*.md.
func pages(t *testing.T, root string) []*doctest.Page {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	var out []*doctest.Page
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		p, err := doctest.Parse(rel, src)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestPagesParse checks the markers of every page without running anything,
// in -short too: a misspelt marker fails here rather than going unrun.
func TestPagesParse(t *testing.T) {
	n := 0
	for _, p := range pages(t, root(t)) {
		n += len(p.Blocks)
	}
	if n == 0 {
		t.Fatal("no page has a runnable block")
	}
}

// TestMakeRunRecipe keeps the harness's `make run` the Makefile's: the
// harness builds once, then runs the rest of the recipe for each page.
func TestMakeRunRecipe(t *testing.T) {
	build, lines := makeRun(t, root(t))
	if build != "build" || len(lines) < 1 || !strings.Contains(lines[len(lines)-1], "portico dev") {
		t.Fatalf("make run is `run: %s` with %q; the harness expects `run: build` and a recipe ending in `portico dev`", build, lines)
	}
}

// makeRun returns the prerequisites of the Makefile's run target and its recipe
// lines, `@` dropped.
func makeRun(t *testing.T, root string) (string, []string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var deps string
	var recipe []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		if rest, ok := strings.CutPrefix(line, "run:"); ok {
			deps, _, _ = strings.Cut(rest, "##")
			deps, in = strings.TrimSpace(deps), true
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			break
		}
		recipe = append(recipe, strings.TrimPrefix(strings.TrimSpace(line), "@"))
	}
	return deps, recipe
}

// TestDocs runs the runnable blocks of README.md and docs/*.md (see package
// doctest for the markers), each page in its own bash session and against its
// own server, with the freshly built portico on the PATH.
func TestDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds portico and the samples and starts a server per page: not in -short")
	}
	root := root(t)
	var run []*doctest.Page
	for _, p := range pages(t, root) {
		if len(p.Blocks) > 0 {
			run = append(run, p)
		}
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "make", "--no-print-directory", "build", "BIN="+bin)
	build.Dir = root
	t0 := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	t.Logf("make build: %s", time.Since(t0).Round(time.Millisecond))
	h := &harness{root: root, bin: bin, tools: tools(t, tmp)}
	// Pages run side by side, a few at a time: each spends most of its time
	// waiting for its server and its commands.
	// (Goroutines rather than t.Parallel, which go test caps at GOMAXPROCS.)
	sem := make(chan struct{}, parallelPages)
	var wg sync.WaitGroup
	for _, p := range run {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(p.Name, func(t *testing.T) { h.page(ctx, t, p) })
		})
	}
	wg.Wait()
}

// toolset is a directory to put ahead of the PATH and the tools blocks may
// need (needs=) that are there.
type toolset struct {
	dir  string
	have map[string]bool
	// why says why a special need (aws-cli-v2, docker) is missing.
	why map[string]string
}

// special are the needs that are not a command looked up on the PATH, each
// with the variable that, set to 1, makes a missing one fail the block
// instead of skipping it (as CI sets them).
var special = map[string]string{"aws-cli-v2": "REQUIRE_AWSCLI", "docker": "REQUIRE_DOCKER"}

// tools finds an AWS CLI v2 (the PATH's aws, else /usr/bin/aws linked into
// the toolset's directory when the PATH's is another version, as .ci/run
// does) and a Docker daemon that answers (a ping, as the runtime tests'
// RequireDocker: a docker command on the PATH is not enough).
func tools(t *testing.T, tmp string) toolset {
	t.Helper()
	ts := toolset{dir: filepath.Join(tmp, "tools"), have: map[string]bool{}, why: map[string]string{}}
	if err := os.MkdirAll(ts.dir, 0o750); err != nil {
		t.Fatal(err)
	}
	v2 := func(path string) bool {
		out, err := exec.Command(path, "--version").CombinedOutput()
		return err == nil && strings.HasPrefix(string(out), "aws-cli/2")
	}
	if p, err := exec.LookPath("aws"); err == nil && v2(p) {
		ts.have["aws-cli-v2"] = true
	} else if v2("/usr/bin/aws") {
		if err := os.Symlink("/usr/bin/aws", filepath.Join(ts.dir, "aws")); err != nil {
			t.Fatal(err)
		}
		ts.have["aws-cli-v2"] = true
	} else {
		ts.why["aws-cli-v2"] = "no AWS CLI v2"
	}
	if err := runtimetest.PingDocker(context.Background()); err != nil {
		ts.why["docker"] = "the Docker daemon does not answer: " + err.Error()
	} else {
		ts.have["docker"] = true
	}
	return ts
}

type harness struct {
	root, bin string
	tools     toolset
}

// server is a running Portico for one page.
type server struct {
	gateway, tls, admin string // host:port
	log                 *testkit.LockedBuffer
	since               int // the length of log when the page's commands started
}

// parallelPages is how many pages run at once.
const parallelPages = 4

// docPorts are the addresses the pages write for a server that sets none.
var docPorts = map[string]string{"gateway": "8080", "tls": "8443", "admin": "9090"}

// page runs one page's blocks.
func (h *harness) page(ctx context.Context, t *testing.T, p *doctest.Page) {
	// A page none of whose blocks can run here (all need Docker, say) is
	// skipped before its server starts: the server may need it too.
	runnable := false
	for _, b := range p.Blocks {
		runnable = runnable || h.missing(b.Needs) == ""
	}
	if !runnable {
		for _, b := range p.Blocks {
			h.skip(t, p, b.Line, h.missing(b.Needs))
		}
		if !t.Failed() {
			t.Skipf("%s: no block can run here", p.Name)
		}
		return
	}
	tmp := t.TempDir()
	// The commands run as from the repository's root, with make run's data
	// directory (./portico-data) and bin/ the fresh build.
	work := filepath.Join(tmp, "work")
	data := filepath.Join(work, "portico-data")
	if err := os.MkdirAll(work, 0o750); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"bin": h.bin, "samples": filepath.Join(h.root, "samples"), "docs": filepath.Join(h.root, "docs")} {
		if err := os.Symlink(target, filepath.Join(work, name)); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	srv, ports := h.start(ctx, t, p, work, data)
	t.Logf("%s: %s started in %s", p.Name, p.Server, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	defer func() { t.Logf("%s: the blocks ran in %s", p.Name, time.Since(t0).Round(time.Millisecond)) }()
	env := cleanEnv()
	env = append(env,
		"PATH="+h.tools.dir+":"+h.bin+":"+os.Getenv("PATH"),
		"PORTICO_ENDPOINT=http://"+srv.admin,
		"HOME="+filepath.Join(tmp, "home"))
	sh, err := doctest.Start(work, env)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	subst := substitutions(ports, srv)
	srv.since = len(srv.log.String())
	for _, b := range p.Blocks {
		if missing := h.missing(b.Needs); missing != "" {
			h.skip(t, p, b.Line, missing)
			continue
		}
		var all strings.Builder
		for i, c := range b.Commands {
			if s := skipped(c.Text, b.Skip); s != "" {
				t.Logf("%s:%d: left out (skip=%q): %s", p.Name, c.Line, s, c.Text)
				continue
			}
			text := subst(c.Text)
			if b.Want == nil && !b.Fails {
				text = failCurl(text)
			}
			out, rc, err := sh.Run(ctx, text, b.Timeout)
			all.WriteString(out)
			last := i == len(b.Commands)-1
			mayFail := b.Fails && last
			switch {
			case err != nil:
				t.Fatalf("%s:%d: %s\n%v; it printed:\n%s%s", p.Name, c.Line, c.Text, err, indent(out), srv.tail())
			case mayFail && rc == 0:
				t.Fatalf("%s:%d: %s\nexited 0; the page says it fails. It printed:\n%s", p.Name, c.Line, c.Text, indent(out))
			case rc != 0 && !mayFail:
				t.Fatalf("%s:%d: %s\nexited %d:\n%s%s", p.Name, c.Line, c.Text, rc, indent(out), srv.tail())
			}
		}
		if b.Want != nil {
			ok, err := doctest.Match(*b.Want, all.String())
			if err != nil {
				t.Fatalf("%s:%d: %v", p.Name, b.WantLine, err)
			}
			if !ok {
				var cmds []string
				for _, c := range b.Commands {
					cmds = append(cmds, c.Text)
				}
				t.Fatalf("%s:%d: the output of the block at line %d is not the page's.\nthe commands:\n%sthe page shows:\n%sthey printed:\n%s",
					p.Name, b.WantLine, b.Line, indent(strings.Join(cmds, "\n")), indent(*b.Want), indent(all.String()))
			}
		}
	}
}

// cleanEnv is this process's environment without the variables that would
// point a page's commands elsewhere.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PORTICO_") || strings.HasPrefix(k, "AWS_") || k == "PATH" || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// substitutions returns what maps the ports a page writes for the server's
// listeners (after any host: 127.0.0.1:8080, localhost:8443,
// api.example.com:8443) to the server's own.
func substitutions(doc map[string]string, srv *server) func(string) string {
	type sub struct {
		re   *regexp.Regexp
		port string
	}
	var subs []sub
	for kind, port := range doc {
		got := map[string]string{"gateway": srv.gateway, "tls": srv.tls, "admin": srv.admin}[kind]
		if got == "" {
			continue
		}
		_, gotPort, _ := strings.Cut(got, ":")
		subs = append(subs, sub{regexp.MustCompile(`([A-Za-z0-9.\]\-]):` + regexp.QuoteMeta(port) + `\b`), gotPort})
	}
	return func(s string) string {
		for _, sb := range subs {
			s = sb.re.ReplaceAllString(s, "${1}:"+sb.port)
		}
		return s
	}
}

var curlCmd = regexp.MustCompile(`(^|[|;&(]\s*|\$\(\s*)curl `)

// failCurl makes curl exit non-zero on an HTTP error where the page shows no
// output to compare: a 4xx or 5xx must not pass as a command that worked.
func failCurl(cmd string) string {
	return curlCmd.ReplaceAllString(cmd, "${1}curl --fail-with-body ")
}

func skipped(cmd string, skip []string) string {
	for _, s := range skip {
		if strings.Contains(cmd, s) {
			return s
		}
	}
	return ""
}

// missing returns the first of needs that is not here, "" when all are.
func (h *harness) missing(needs []string) string {
	for _, n := range needs {
		if h.tools.have[n] {
			continue
		}
		if _, ok := special[n]; !ok {
			if _, err := exec.LookPath(n); err == nil {
				continue
			}
		}
		return n
	}
	return ""
}

// skip logs that the block at line of page p is skipped for want of need,
// and fails the test instead when need is special and its REQUIRE_ variable
// is 1.
func (h *harness) skip(t *testing.T, p *doctest.Page, line int, need string) {
	t.Helper()
	why := h.tools.why[need]
	if why == "" {
		why = "no " + need + " on the PATH"
	}
	if v := special[need]; v != "" && os.Getenv(v) == "1" {
		t.Errorf("%s:%d: %s=1 but the block needs %s: %s", p.Name, line, v, need, why)
		return
	}
	t.Logf("%s:%d: skipped: needs %s (%s)", p.Name, line, need, why)
}

func indent(s string) string {
	if s == "" {
		return "    (nothing)\n"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

// tail is what the server logged while the page's commands ran (its end).
func (s *server) tail() string {
	log := s.log.String()[s.since:]
	if log == "" {
		return "(the server logged nothing meanwhile)\n"
	}
	if i := len(log) - 3000; i > 0 {
		log = "..." + log[i:]
	}
	return "the server logged meanwhile:\n" + indent(log)
}

// start starts the page's server: `make run` as the Makefile's recipe runs it
// after its build (done once for all pages), or `portico serve ...` as the page
// writes it. Either listens on ports of its own choosing (127.0.0.1:0),
// read back from its log. It returns the addresses the page writes for the
// server's listeners, which the commands' are replaced with.
func (h *harness) start(ctx context.Context, t *testing.T, p *doctest.Page, work, data string) (*server, map[string]string) {
	t.Helper()
	ports := map[string]string{}
	for k, v := range docPorts {
		ports[k] = v
	}
	var cmd *exec.Cmd
	readyLine := "portico started"
	env := append(cleanEnv(), "PATH="+h.bin+":"+os.Getenv("PATH"), "HOME="+filepath.Join(work, "..", "home"),
		"PORTICO_LISTEN=127.0.0.1:0", "PORTICO_ADMIN_LISTEN=127.0.0.1:0", "PORTICO_TLS_LISTEN=127.0.0.1:0")
	switch {
	case p.Server == "make run":
		_, recipe := makeRun(t, h.root)
		r := strings.NewReplacer("$(BIN)", h.bin, "$(DATA)", data)
		for _, line := range recipe[:len(recipe)-1] {
			c := exec.CommandContext(ctx, "bash", "-c", r.Replace(line))
			c.Dir, c.Env = h.root, env
			if out, err := c.CombinedOutput(); err != nil {
				t.Fatalf("%s:%d: make run: %s: %v\n%s", p.Name, p.ServerLine, line, err, out)
			}
		}
		cmd = exec.CommandContext(ctx, "bash", "-c", "exec "+r.Replace(recipe[len(recipe)-1]))
		cmd.Dir = h.root
		readyLine = "Press Ctrl-C to stop."
	case strings.HasPrefix(p.Server, "portico serve"), strings.HasPrefix(p.Server, "bin/portico serve"):
		args := strings.Fields(p.Server)
		for i := 0; i+1 < len(args); i++ {
			kind := map[string]string{"--listen": "gateway", "--admin-listen": "admin", "--tls-listen": "tls"}[args[i]]
			if kind == "" {
				continue
			}
			if _, port, ok := strings.Cut(args[i+1], ":"); ok {
				ports[kind] = port
			}
			args[i+1] = "127.0.0.1:0"
		}
		cmd = exec.CommandContext(ctx, filepath.Join(h.bin, "portico"), args[1:]...)
		cmd.Dir = work
	default:
		t.Fatalf("%s:%d: the harness starts `make run` or `portico serve ...`, not %q", p.Name, p.ServerLine, p.Server)
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	pr, pw := io.Pipe()
	srv := &server{log: &testkit.LockedBuffer{}}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { err := cmd.Wait(); _ = pw.Close(); stopped <- err }()
	ready := make(chan bool, 1)
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(srv.log, line)
			if strings.Contains(line, `msg="portico started"`) {
				for _, f := range strings.Fields(line) {
					k, v, _ := strings.Cut(f, "=")
					switch k {
					case "admin":
						srv.admin = v
					case "gateway":
						srv.gateway = v
					case "tls":
						srv.tls = v
					}
				}
			}
			if strings.Contains(line, readyLine) {
				once.Do(func() { ready <- true })
			}
		}
		once.Do(func() { ready <- false })
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() {
		t0 := time.Now()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // a graceful stop, as Ctrl-C
		select {
		case <-stopped:
		case <-time.After(40 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-stopped
		}
		t.Logf("%s: the server stopped in %s", p.Name, time.Since(t0).Round(time.Millisecond))
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("%s:%d: %s did not start:\n%s", p.Name, p.ServerLine, p.Server, indent(srv.log.String()))
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s:%d: %s did not say %q in 2 minutes:\n%s", p.Name, p.ServerLine, p.Server, readyLine, indent(srv.log.String()))
	}
	if srv.admin == "" {
		t.Fatalf("%s:%d: %s did not log where it listens (portico started admin=...):\n%s", p.Name, p.ServerLine, p.Server, indent(srv.log.String()))
	}
	return srv, ports
}
