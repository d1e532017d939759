package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestFnConcurrencyFlag: --concurrency is a reservation only when given; a
// negative one (-1 was the flag's unset default, so it set nothing and said
// nothing) is refused, on create and on update, saying what to give. --timeout
// and --memory given out of range are refused too, not dropped.
func TestFnConcurrencyFlag(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := scriptCodeDir(t)
	for _, args := range [][]string{
		{"fn", "create", "x6", "--dir", dir, "--concurrency", "-1"},
		{"fn", "create", "x6", "--dir", dir, "--concurrency=-7"},
	} {
		out, err := cliErr(env, args...)
		if err == nil || !strings.Contains(err.Error(), "--concurrency") || !strings.Contains(err.Error(), "0 or more") {
			t.Errorf("portico %s: %v\n%s; want the negative concurrency refused", strings.Join(args, " "), err, out)
		}
	}
	if got := cli(t, env, "fn", "list"); strings.Contains(got, "x6") {
		t.Fatalf("a create refused for its concurrency made the function:\n%s", got)
	}
	// Not given: no reservation; given: that one.
	cli(t, env, "fn", "create", "plain", "--dir", dir)
	if got := reservation(t, env, "plain"); got != "" {
		t.Errorf("fn create without --concurrency reserved %s", got)
	}
	cli(t, env, "fn", "create", "held", "--dir", filepath.Clean(dir), "--concurrency", "0")
	if got := reservation(t, env, "held"); got != "0" {
		t.Errorf("fn create --concurrency 0 reserved %q, want 0", got)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fn", "update", "plain", "--concurrency", "-5"}, "--concurrency -5"},
		{[]string{"fn", "update", "plain", "--timeout", "0"}, "--timeout 0"},
		{[]string{"fn", "update", "plain", "--memory", "-1"}, "--memory -1"},
	} {
		out, err := cliErr(env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "nothing to update") {
			t.Errorf("portico %s: %v\n%s; want the value refused, naming %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
	cli(t, env, "fn", "update", "plain", "--concurrency", "3")
	if got := reservation(t, env, "plain"); got != "3" {
		t.Errorf("fn update --concurrency 3 reserved %q, want 3", got)
	}
}

// reservation is the function's ReservedConcurrentExecutions as the admin API
// answers it, "" when none is set.
func reservation(t *testing.T, env *apptest.Env, name string) string {
	t.Helper()
	resp, err := env.Client().Do(t.Context(), "GET", "/2019-09-30/functions/"+name+"/concurrency", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := string(resp.Body)
	_, after, ok := strings.Cut(body, `"ReservedConcurrentExecutions":`)
	if !ok {
		return ""
	}
	end := strings.IndexAny(after, ",}")
	return strings.TrimSpace(after[:end])
}

// TestFnCreateDirIsACustomRuntime: a function made from a directory with a
// bootstrap is what docs/cli.md says, a provided.al2023 one, as Lambda would
// have it: GetFunction reports its Runtime and Handler, and `fn get` shows
// them.
func TestFnCreateDirIsACustomRuntime(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	cli(t, env, "fn", "create", "boot", "--dir", scriptCodeDir(t))
	var got struct {
		Configuration struct{ Runtime, Handler string }
	}
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "fn", "get", "boot")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Configuration.Runtime != "provided.al2023" || got.Configuration.Handler != "bootstrap" {
		t.Errorf("GetFunction reports Runtime %q and Handler %q, want provided.al2023 and bootstrap", got.Configuration.Runtime, got.Configuration.Handler)
	}
	if out := cli(t, env, "fn", "get", "boot"); !strings.Contains(out, "provided.al2023") || !strings.Contains(out, "bootstrap") {
		t.Errorf("fn get shows:\n%s", out)
	}
}

// TestFnCreateShowsUploadProgress: `fn create --dir` of a package large enough
// to take a while says, on stderr, how large the zip came out and how much of
// it has been sent; stdout keeps -o json's JSON. A small package is quiet.
func TestFnCreateShowsUploadProgress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := scriptCodeDir(t)
	// Data that does not compress, past progressMin once zipped.
	data := make([]byte, progressMin+(1<<20))
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.bin"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "-o", "json", "fn", "create", "big", "--dir", dir); err != nil {
		t.Fatalf("fn create: %v\n%s", err, errOut.String())
	}
	if !json.Valid(out.Bytes()) {
		t.Errorf("stdout is not JSON: %.200q", out.String())
	}
	progress := errOut.String()
	for _, want := range []string{"zipped " + dir + ": ", "uploading ", " MB / ", "(100%)"} {
		if !strings.Contains(progress, want) {
			t.Errorf("stderr does not say %q:\n%s", want, progress)
		}
	}
	out.Reset()
	errOut.Reset()
	if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "fn", "create", "small", "--dir", scriptCodeDir(t)); err != nil {
		t.Fatalf("fn create: %v\n%s", err, errOut.String())
	}
	// Quiet: no progress. (A loaded machine's server may be slow enough
	// for the CLI's "still waiting for the admin API" notice, which is not
	// the upload's progress.)
	for _, line := range strings.SplitAfter(errOut.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "portico: still waiting for the admin API") {
			t.Errorf("a small package's create wrote to stderr: %q", errOut.String())
			break
		}
	}
}

// TestFnUpdateShowsZippingProgress: `fn update --dir` (and create) of a
// large directory says, on stderr, how much of it has been zipped while it
// is zipped ("zipping DIR: READ / TOTAL (P%)", a line per quarter off a
// terminal), as the upload that follows does; it said nothing until the zip
// was done.
func TestFnUpdateShowsZippingProgress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	if err := runRoot(io.Discard, io.Discard, "--endpoint", env.AdminURL, "fn", "create", "zipped", "--dir", scriptCodeDir(t)); err != nil {
		t.Fatal(err)
	}
	dir := largeCodeDir(t)
	var errOut bytes.Buffer
	if err := runRoot(io.Discard, &errOut, "--endpoint", env.AdminURL, "fn", "update", "zipped", "--dir", dir); err != nil {
		t.Fatalf("fn update: %v\n%s", err, errOut.String())
	}
	checkZippingProgress(t, dir, errOut.String())
}

// TestDeployShowsZippingProgress: `portico deploy` of a template whose
// function's CodeUri is a large directory says, on stderr, how much of it
// has been zipped, as `fn update --dir` does; it said nothing until the zip
// was done.
func TestDeployShowsZippingProgress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	root := t.TempDir()
	dir := filepath.Join(root, "code")
	if err := os.Rename(largeCodeDir(t), dir); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(root, "template.yaml")
	writeFile(t, tmpl, []byte("Transform: AWS::Serverless-2016-10-31\nResources:\n  Big:\n    Type: AWS::Serverless::Function\n"+
		"    Properties:\n      FunctionName: big\n      CodeUri: code\n      Handler: bootstrap\n      Runtime: provided.al2023\n"), 0o600)
	var out, errOut bytes.Buffer
	if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "deploy", "-t", tmpl, "--stack", "big"); err != nil {
		t.Fatalf("deploy: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	checkZippingProgress(t, dir, errOut.String())
}

// checkZippingProgress fails t unless stderr shows the zipping of dir up to
// 100% and how large the zip came out.
func checkZippingProgress(t *testing.T, dir, stderr string) {
	t.Helper()
	var pcts []string
	line := regexp.MustCompile(`^zipping ` + regexp.QuoteMeta(dir) + `: [0-9.]+ MB / [0-9.]+ MB \(([0-9]+)%\)$`)
	for _, l := range strings.Split(stderr, "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			pcts = append(pcts, m[1])
		}
	}
	if len(pcts) < 2 || pcts[len(pcts)-1] != "100" {
		t.Errorf("stderr shows the zipping at %v percent, want its progress up to 100:\n%s", pcts, stderr)
	}
	if !strings.Contains(stderr, "zipped "+dir+": ") {
		t.Errorf("stderr does not say how large the zip came out:\n%s", stderr)
	}
}

// largeCodeDir returns a directory holding a shell bootstrap and random data
// just past progressMin in several files (the count goes across them). The
// tests that use it check the zipping's progress, not what the function
// answers: a compiled bootstrap would only add megabytes to zip and send.
func largeCodeDir(t *testing.T) string {
	t.Helper()
	dir := scriptCodeDir(t)
	for i := range 3 { // several files: the count goes across them
		data := make([]byte, progressMin/3+(64<<10)) // past progressMin together
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("data%d.bin", i)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// scriptCodeDir returns a directory holding a bootstrap shell script, a
// function's code that costs nothing to zip.
func scriptCodeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil { //nolint:gosec // an executable
		t.Fatal(err)
	}
	return dir
}

// TestDevPublishShowsZippingProgress: dev mode's deploy of a function
// directory (publishDir, what `portico dev --function` redeploys with) says
// how much of a large directory has been zipped, on dev's output, as `fn
// update --dir` does on stderr; it said nothing until the zip was done.
func TestDevPublishShowsZippingProgress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	var out bytes.Buffer
	e := &devEnv{client: env.Client(), adminURL: env.AdminURL, gatewayURL: env.GatewayURL, out: &out}
	dir := largeCodeDir(t)
	if _, err := publishDir(t.Context(), e, "devbig", dir, nil, ""); err != nil {
		t.Fatalf("publishDir: %v\n%s", err, out.String())
	}
	checkZippingProgress(t, dir, out.String())
}

// TestFnCreateOfATakenNameUploadsNothing: `fn create NAME --dir` of a name
// that exists is refused before the directory is zipped or sent (no
// progress on stderr), saying to use `portico fn update NAME`; it zipped and
// uploaded the whole package for the server's 409. A create that lands
// between the look and the upload still gets the server's refusal.
func TestFnCreateOfATakenNameUploadsNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	if err := runRoot(io.Discard, io.Discard, "--endpoint", env.AdminURL, "fn", "create", "taken", "--dir", scriptCodeDir(t)); err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	err := runRoot(io.Discard, &errOut, "--endpoint", env.AdminURL, "fn", "create", "taken", "--dir", largeCodeDir(t))
	if err == nil || !strings.Contains(err.Error(), "function taken already exists; nothing was uploaded: change it with `portico fn update taken`") {
		t.Fatalf("fn create of a taken name: %v, want it refused before the upload, naming fn update", err)
	}
	for _, line := range strings.Split(errOut.String(), "\n") {
		if strings.HasPrefix(line, "zipp") || strings.HasPrefix(line, "uploading") {
			t.Fatalf("the package was zipped or sent: %q", errOut.String())
		}
	}

	// The race: the look finds no function, the create is refused 409.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"Type":"User","message":"Function not found: raced"}`)
			return
		}
		w.Header().Set("X-Amzn-ErrorType", "ResourceConflictException")
		w.WriteHeader(http.StatusConflict)
		_, _ = io.WriteString(w, `{"Type":"User","message":"Function already exist: raced"}`)
	}))
	t.Cleanup(srv.Close)
	err = runRoot(io.Discard, io.Discard, "--endpoint", srv.URL, "fn", "create", "raced", "--dir", scriptCodeDir(t))
	if err == nil || !strings.Contains(err.Error(), "Function already exist: raced") || !strings.Contains(err.Error(), "`portico fn update raced`") {
		t.Errorf("fn create that races a create: %v, want the server's 409, naming fn update", err)
	}
}

// TestFnCodeFlagsSayWhichToUse: a directory given to --zip, or a file to
// --dir, says which flag takes it (they said "read DIR: is a directory" and
// "... is not a directory").
func TestFnCodeFlagsSayWhichToUse(t *testing.T) {
	t.Parallel()
	dir := scriptCodeDir(t)
	boot := filepath.Join(dir, "bootstrap")
	empty := t.TempDir()
	for _, tc := range []struct {
		f    fnFlags
		want string
	}{
		{fnFlags{zip: dir}, "--zip " + dir + " is a directory: give it as --dir " + dir},
		{fnFlags{dir: boot}, "--dir " + boot + " is a file, not a directory: give the directory that holds bootstrap (--dir " + dir + "), or --zip for an archive"},
		// newuser26 #4: it said "has no bootstrap file".
		{fnFlags{dir: filepath.Join(dir, "nosuch")}, "--dir " + filepath.Join(dir, "nosuch") + ": no such directory"},
		// ... and its hint built bootstrap beside the source, which --dir
		// then uploads too; README builds into a directory of its own.
		{fnFlags{dir: empty}, "go build -o " + filepath.Join(empty, "bootstrap") + " . in its source directory"},
	} {
		if _, _, _, err := tc.f.code(io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("code(%+v): %v, want %q", tc.f, err, tc.want)
		}
	}
}

// TestFnConcurrencyNone: `fn update --concurrency none` removes the reserved
// concurrency (DeleteFunctionConcurrency), and the refusal of a negative one
// says so; there was no CLI way back to the unreserved pool.
func TestFnConcurrencyNone(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := scriptCodeDir(t)
	cli(t, env, "fn", "create", "held", "--dir", dir, "--concurrency", "5")
	if got := reservation(t, env, "held"); got != "5" {
		t.Fatalf("fn create --concurrency 5 reserved %q", got)
	}
	if _, err := cliErr(env, "fn", "update", "held", "--concurrency", "-1"); err == nil || !strings.Contains(err.Error(), "--concurrency none") {
		t.Errorf("fn update --concurrency -1: %v; want the refusal to say --concurrency none removes the reservation", err)
	}
	if _, err := cliErr(env, "fn", "update", "held", "--concurrency", "lots"); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("fn update --concurrency lots: %v; want it refused, naming none", err)
	}
	cli(t, env, "fn", "update", "held", "--concurrency", "none")
	if got := reservation(t, env, "held"); got != "" {
		t.Errorf("fn update --concurrency none left reservation %q", got)
	}
	// Removing none is no error, and create with none reserves nothing.
	cli(t, env, "fn", "update", "held", "--concurrency", "none")
	cli(t, env, "fn", "create", "free", "--dir", dir, "--concurrency", "none")
	if got := reservation(t, env, "free"); got != "" {
		t.Errorf("fn create --concurrency none reserved %q", got)
	}
}

// TestFnDirWithoutBootstrap: `fn create --dir` of a directory with no
// bootstrap, or one that is not executable, names the directory and the fix
// there; the server's refusal spoke of a zip the user never made.
func TestFnDirWithoutBootstrap(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	empty := t.TempDir()
	noexec := t.TempDir()
	if err := os.WriteFile(filepath.Join(noexec, "bootstrap"), []byte("#!/bin/sh\n"), 0o644); err != nil { //nolint:gosec // not executable, on purpose
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		{empty, []string{"--dir " + empty + " has no bootstrap", "go build -o " + filepath.Join(empty, "bootstrap") + " ."}},
		{noexec, []string{"chmod +x " + filepath.Join(noexec, "bootstrap"), "mode 0644", "run the command again"}},
	} {
		out, err := cliErr(env, "fn", "create", "nob", "--dir", tc.dir)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) || strings.Contains(err.Error(), "zip") {
				t.Errorf("fn create --dir %s: %v\n%s; want %q and no talk of zipping", tc.dir, err, out, w)
			}
		}
	}
}

// TestZippingSaysThePackageSize (newuser26 #3): a directory large enough for
// its zipping to show progress, whose zip came out small (it compresses),
// showed "zipping DIR: ..." and then no zip size, although cli.md promises
// one; the upload's total, the base64 request, was the only size shown.
func TestZippingSaysThePackageSize(t *testing.T) {
	t.Parallel()
	dir := scriptCodeDir(t)
	if err := os.WriteFile(filepath.Join(dir, "zeros.bin"), make([]byte, progressMin+(1<<20)), 0o600); err != nil {
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	b, err := zipDirTo(&errOut)(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "zipping "+dir+": ") {
		t.Fatalf("no zipping progress for a directory past progressMin:\n%s", errOut.String())
	}
	if want := "zipped " + dir + ": " + mb(int64(len(b))) + " (the package"; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, errOut.String())
	}
}

// TestFnPublishUnchangedSaysSo (newuser26 #7): publishing an unchanged
// $LATEST returns the latest version, as Lambda does, but the CLI said
// "published ... version 1" as if it were a new one.
func TestFnPublishUnchangedSaysSo(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	cli(t, env, "fn", "create", "same", "--dir", scriptCodeDir(t))
	if out := cli(t, env, "fn", "publish", "same"); !strings.Contains(out, "published same version 1") {
		t.Errorf("first publish: %q", out)
	}
	if out := cli(t, env, "fn", "publish", "same"); !strings.Contains(out, "same version 1 already has $LATEST's code and configuration: nothing new to publish") {
		t.Errorf("publish of an unchanged $LATEST: %q", out)
	}
}
