package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// TestDeployHelloIsIdempotent runs the hello dev step twice, with a restart between,
// as `make run` twice would, `make samples` having rewritten the same
// bootstrap between them (a new mtime): the second run publishes no new
// version. The data directory is relative, as `make run` gives it.
func TestDeployHelloIsIdempotent(t *testing.T) {
	built, err := os.ReadFile(filepath.Join(apptest.Sample(t, "hello"), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	samples := t.TempDir()
	boot := filepath.Join(samples, "hello", "bootstrap")
	rebuild := func(when time.Time) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(boot), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(boot, built, 0o755); err != nil { //nolint:gosec // an executable
			t.Fatal(err)
		}
		if err := os.Chtimes(boot, when, when); err != nil {
			t.Fatal(err)
		}
	}
	rebuild(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	t.Chdir(t.TempDir())
	env := apptest.Start(t, apptest.Options{DataDir: "./portico-data"})
	ctx := context.Background()
	run := func() {
		t.Helper()
		e := &devEnv{client: env.Client(), samples: samples, adminURL: env.AdminURL, gatewayURL: env.GatewayURL, out: &bytes.Buffer{}}
		if err := deployHello(ctx, e); err != nil {
			t.Fatalf("deployHello: %v", err)
		}
	}
	run()
	env.Restart()
	rebuild(time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC))
	run()

	c := env.Client()
	resp, err := c.Do(ctx, http.MethodGet, client.FunctionPath("hello", "/versions"), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var vs struct {
		Versions []client.FunctionConfiguration
	}
	if err := json.Unmarshal(resp.Body, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions) != 2 || vs.Versions[1].Version != "1" {
		t.Fatalf("versions after two runs = %+v, want $LATEST and 1", vs.Versions)
	}
	resp, err = c.Do(ctx, http.MethodPost, client.FunctionPath("hello:live", "/invocations"), nil, []byte(`{"queryStringParameters":{"name":"dev"}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Amz-Executed-Version") != "1" || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Fatalf("invoke hello:live: version %q, error %q: %s", resp.Header.Get("X-Amz-Executed-Version"), resp.Header.Get("X-Amz-Function-Error"), resp.Body)
	}
	if !bytes.Contains(resp.Body, []byte(`Hello from make run`)) || !bytes.Contains(resp.Body, []byte(`\"name\":\"dev\"`)) {
		t.Errorf("hello answered %s", resp.Body)
	}
}

// TestDevRefusesServerFilesInAFunctionDirectory: `portico dev --function`
// with a directory that holds the data directory (every call wrote to it and
// redeployed the function, whose zip carried the store) or the IAM key file
// (a secret in the zip) stops before serving, saying what to move.
func TestDevRefusesServerFilesInAFunctionDirectory(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	app := filepath.Join(base, "app")
	if err := os.MkdirAll(app, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil { //nolint:gosec // an executable
		t.Fatal(err)
	}
	if err := os.Symlink(app, filepath.Join(base, "app-link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, fn string
		flags    []string
		want     string
	}{
		{"data dir inside", "app", []string{"--data-dir", filepath.Join(app, "portico-data")}, "holds the data directory"},
		{"data dir is the directory", "app", []string{"--data-dir", app}, "holds the data directory"},
		{"through a link", "app-link", []string{"--data-dir", filepath.Join(app, "data")}, "holds the data directory"},
		{"key file inside", "app", []string{"--data-dir", filepath.Join(base, "data"), "--iam-key-file", filepath.Join(app, "iam.key")}, "holds the IAM key file"},
		// Past the check, dev goes on to serve: an admin address that
		// cannot be bound is the next thing to fail.
		{"beside, with a name that starts alike", "app", []string{"--data-dir", filepath.Join(base, "app2"), "--runtime", "process",
			"--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "127.0.0.1:notaport"}, "notaport"},
	} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		args := append([]string{"dev", "--function", "f=" + filepath.Join(base, tc.fn), "--samples", filepath.Join(base, "none")}, tc.flags...)
		root.SetArgs(args)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: portico %s: %v; want %q", tc.name, strings.Join(args, " "), err, tc.want)
		}
	}
}

// TestDevImportsTheHelloAPIFromSource runs `portico dev --source DIR` from a
// directory without samples/: the hello API is DIR/hello/api.yaml's, the
// document the watch redeploys too.
func TestDevImportsTheHelloAPIFromSource(t *testing.T) {
	samples, err := filepath.Abs(filepath.Dir(apptest.Sample(t, "hello")))
	if err != nil {
		t.Fatal(err)
	}
	source := t.TempDir()
	if err := os.MkdirAll(filepath.Join(source, "hello"), 0o750); err != nil {
		t.Fatal(err)
	}
	// Only /greeting: the sample's own document routes every path.
	doc := `openapi: "3.0.1"
info: {title: hello, version: "1.0"}
paths:
  /greeting:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: function:hello:${stageVariables.alias}
`
	if err := os.WriteFile(filepath.Join(source, "hello", "api.yaml"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	// From a directory with no samples/.
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	out := &readyWriter{ready: make(chan struct{}), mark: "Press Ctrl-C to stop."}
	root := newRoot()
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs([]string{"dev", "--samples", samples, "--source", source, "--watch=false", "--data-dir", "./portico-data",
		"--runtime", "process", "--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "127.0.0.1:0", "--log-level", "error"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	select {
	case <-out.ready:
	case err := <-done:
		t.Fatalf("portico dev --source %s stopped: %v\n%s", source, err, out)
	}
	defer func() {
		cancel()
		<-done
	}()
	m := regexp.MustCompile(`curl -s '(http://[^']+/dev/)hello\?name=you'`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no stage URL in the output:\n%s", out)
	}
	get := func(u string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := get(m[1] + "greeting?name=src"); st != http.StatusOK || !strings.Contains(body, "hello from portico") {
		t.Errorf("GET /dev/greeting, a route of DIR's document: %d %s", st, body)
	}
	if st, body := get(m[1] + "hello"); st != http.StatusForbidden {
		t.Errorf("GET /dev/hello, a route only the repository's samples/hello/api.yaml has: %d %s", st, body)
	}
}

// readyWriter is a command's output, safe for concurrent use, that closes
// ready once mark has been written.
type readyWriter struct {
	mu    sync.Mutex
	b     bytes.Buffer
	mark  string
	ready chan struct{}
	seen  bool
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if !w.seen && strings.Contains(w.b.String(), w.mark) {
		w.seen = true
		close(w.ready)
	}
	return n, err
}

func (w *readyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestDevBannerOnOtherPorts runs `portico dev` with the admin API off its
// default address (as PORTICO_ADMIN_LISTEN=... make run does): the banner
// names the web console, and every portico command it prints carries
// --endpoint, names the binary as it was run (here, outside the repository,
// not bin/portico: the test binary's path) and works as printed.
func TestDevBannerOnOtherPorts(t *testing.T) {
	samples, err := filepath.Abs(filepath.Dir(apptest.Sample(t, "hello")))
	if err != nil {
		t.Fatal(err)
	}
	source, err := filepath.Abs(filepath.Join("..", "..", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	out := &readyWriter{ready: make(chan struct{}), mark: "Press Ctrl-C to stop."}
	root := newRoot()
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs([]string{"dev", "--samples", samples, "--source", source, "--watch=false", "--data-dir", "./portico-data",
		"--runtime", "process", "--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "127.0.0.1:0", "--log-level", "error"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	select {
	case <-out.ready:
	case err := <-done:
		t.Fatalf("portico dev stopped: %v\n%s", err, out)
	}
	defer func() {
		cancel()
		<-done
	}()
	printed := out.String()
	m := regexp.MustCompile(`(?m)^Admin API: (\S+)$`).FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("no Admin API line:\n%s", printed)
	}
	admin := m[1]
	if !strings.Contains(printed, "\nConsole:   "+admin+"/console/\n") {
		t.Errorf("the banner does not name the console at %s/console/:\n%s", admin, printed)
	}
	resp, err := http.Get(admin + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s/console/: %d", admin, resp.StatusCode)
	}
	prog := programAsRun(os.Args[0])
	if strings.Contains(printed, "bin/portico") {
		t.Errorf("dev run as %s printed bin/portico, which is not here:\n%s", prog, printed)
	}
	ran := 0
	for _, line := range strings.Split(printed, "\n") {
		cmd, ok := strings.CutPrefix(strings.TrimSpace(line), prog+" ")
		if !ok {
			continue
		}
		if !strings.HasPrefix(cmd, "--endpoint "+admin+" ") {
			t.Errorf("a printed command without --endpoint %s: %s", admin, line)
			continue
		}
		args := shellWords(t, cmd)
		if args[2] == "logs" {
			continue // it would wait for more log
		}
		var cmdOut bytes.Buffer
		if err := runRoot(&cmdOut, &cmdOut, args...); err != nil {
			t.Errorf("%s: %v\n%s", line, err, cmdOut.String())
		}
		ran++
	}
	if ran == 0 {
		t.Errorf("no %s command printed:\n%s", prog, printed)
	}
}

// TestProgramAsRun: the notes spell the binary as the shell ran it.
func TestProgramAsRun(t *testing.T) {
	for arg0, want := range map[string]string{
		"bin/portico":               "bin/portico",
		"/opt/portico/bin/portico":  "/opt/portico/bin/portico",
		"./portico":                 "./portico",
		"portico":                   "portico", // found on the PATH
		"/home/me/my tools/portico": `'/home/me/my tools/portico'`,
		"/tmp/it's/portico":         `'/tmp/it'\''s/portico'`,
	} {
		if got := programAsRun(arg0); got != want {
			t.Errorf("programAsRun(%q) = %s, want %s", arg0, got, want)
		}
	}
}

// shellWords splits a command line printed for a shell: words, and
// single-quoted strings.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	in, word := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			in, word = !in, true
		case r == ' ' && !in:
			if word {
				words = append(words, cur.String())
			}
			cur.Reset()
			word = false
		default:
			cur.WriteRune(r)
			word = true
		}
	}
	if in {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if word {
		words = append(words, cur.String())
	}
	return words
}

// TestDevWithOnlyFunctions runs `portico dev --function NAME=DIR` outside
// the repository (no built samples, no samples/ source): it serves the
// user's function, says the samples were skipped, and deploys none of them.
func TestDevWithOnlyFunctions(t *testing.T) {
	boot, err := os.ReadFile(filepath.Join(apptest.Sample(t, "hello"), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	app := t.TempDir()
	if err := os.WriteFile(filepath.Join(app, "bootstrap"), boot, 0o755); err != nil { //nolint:gosec // an executable
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	out := &readyWriter{ready: make(chan struct{}), mark: "Press Ctrl-C to stop."}
	root := newRoot()
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs([]string{"dev", "--function", "greeter=" + app, "--watch=false", "--data-dir", "./portico-data",
		"--runtime", "process", "--listen", "127.0.0.1:0", "--tls-listen", "off", "--admin-listen", "127.0.0.1:0", "--log-level", "error"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	select {
	case <-out.ready:
	case err := <-done:
		t.Fatalf("portico dev --function greeter=%s stopped: %v\n%s", app, err, out)
	}
	defer func() {
		cancel()
		<-done
	}()
	printed := out.String()
	if !strings.Contains(printed, "no built samples at bin/samples") {
		t.Errorf("dev does not say it skipped the samples:\n%s", printed)
	}
	m := regexp.MustCompile(`(?m)^Admin API: (\S+)$`).FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("no Admin API line:\n%s", printed)
	}
	// ops11: how to call it, with this server's admin API (not the default).
	for _, want := range []string{"Invoke greeter with the CLI:", "--endpoint " + m[1] + " invoke greeter:live", "--endpoint " + m[1] + " logs greeter"} {
		if !strings.Contains(printed, want) {
			t.Errorf("dev does not print %q:\n%s", want, printed)
		}
	}
	c := client.New(m[1], "")
	resp, err := c.Do(ctx, http.MethodPost, client.FunctionPath("greeter:live", "/invocations"), nil, []byte(`{}`), nil)
	if err != nil || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Fatalf("invoke greeter:live: %v", err)
	}
	if _, _, err := c.GetFunctionConfiguration(ctx, "hello"); !client.IsNotFound(err) {
		t.Errorf("function hello without samples: %v", err)
	}
	resp, err = c.Do(ctx, http.MethodGet, apisPath, nil, nil, nil)
	if err != nil || !strings.Contains(string(resp.Body), `"items":[]`) {
		t.Errorf("apis without samples: %v %s", err, resp.Body)
	}
}
