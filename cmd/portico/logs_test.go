package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestLogsFollowOverCap checks what `portico logs --follow` says when its
// client already holds as many follows as the server allows: the server's
// message, which says how many are open and to close one, and no output.
func TestLogsFollowOverCap(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminLogFollows = admin.LogFollowLimits{PerClient: 1} }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := env.Client()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "f",
		"Code": map[string]any{"ZipFile": testkit.Bootstrap(t, "#!/bin/sh\nexit 0\n")}}); err != nil {
		t.Fatal(err)
	}
	held, err := c.Stream(ctx, "/portico/v1/functions/f/logs", map[string][]string{"follow": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Close() }()
	out, err := cliErr(env, "logs", "f", "--follow")
	if err == nil {
		t.Fatalf("a follow over the cap succeeded: %q", out)
	}
	msg := err.Error()
	for _, want := range []string{"TooManyRequestsException", "client address 127.0.0.1 already has 1 log follow open", "close one", "portico logs --follow"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if out != "" {
		t.Errorf("output %q, want none", out)
	}
}

// TestLogsFollowSaysWhenTheServerStops: `portico logs NAME --follow` whose
// server stops says so and fails, rather than ending as an interrupt would;
// `logs -o json` is refused, as the log is text.
func TestLogsFollowSaysWhenTheServerStops(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := env.Client()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "f",
		"Code": map[string]any{"ZipFile": testkit.Bootstrap(t, "#!/bin/sh\nexit 0\n")}}); err != nil {
		t.Fatal(err)
	}
	if out, err := cliErr(env, "logs", "f", "-o", "json"); err == nil || !strings.Contains(err.Error(), "leave -o json out") {
		t.Errorf("logs -o json: %q, %v; want a refusal", out, err)
	}
	// An invocation writes START; the follow prints the log's end first, so
	// once it shows START the follow is open.
	if _, err := c.Do(ctx, "POST", "/2015-03-31/functions/f/invocations", nil, []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	out := &readyWriter{ready: make(chan struct{}), mark: "START RequestId"}
	done := make(chan error, 1)
	go func() {
		done <- runRoot(out, out, "--endpoint", env.AdminURL, "logs", "f", "--follow")
	}()
	select {
	case err := <-done:
		t.Fatalf("the follow ended before the server stopped: %v\n%s", err, out)
	case <-out.ready:
	}
	env.Stop()
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "the follow of f ended") || !strings.Contains(err.Error(), "is portico serve still running") {
		t.Errorf("logs --follow after the server stopped: %v, want an error saying the stream ended", err)
	}
}

// TestLogsBytesZeroPrintsNothingOfThePast is what the obs6 tester found:
// `portico logs FN --bytes 0` printed the whole log (megabytes), where 0 is
// the natural "only new output" of `logs -f --bytes 0` (as tail -n0 -f). It
// prints nothing of the past; without it the log's end is printed.
func TestLogsBytesZeroPrintsNothingOfThePast(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := env.Client()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "f",
		"Code": map[string]any{"ZipFile": testkit.Bootstrap(t, "#!/bin/sh\necho logged-line\nexit 0\n")}}); err != nil {
		t.Fatal(err)
	}
	// Not invoked yet: nothing on stdout, and stderr says why (exit 0 and
	// nothing read as a hang or a bug). A qualifier says to drop it.
	var out, errOut bytes.Buffer
	if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "logs", "f"); err != nil || out.Len() != 0 || !strings.Contains(errOut.String(), "no log yet for f: it is written when the function is invoked") {
		t.Errorf("logs f before any invoke: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}
	if _, err := cliErr(env, "logs", "f:live"); err == nil || !strings.Contains(err.Error(), "run portico logs f (its log holds every version's") {
		t.Errorf("logs f:live: %v", err)
	}
	resp, err := http.Post(env.AdminURL+"/2015-03-31/functions/f/invocations", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if out, err := cliErr(env, "logs", "f"); err != nil || !strings.Contains(out, "logged-line") {
		t.Fatalf("logs f: %q, %v; want the invocation's output", out, err)
	}
	if out, err := cliErr(env, "logs", "f", "--bytes", "0"); err != nil || out != "" {
		t.Errorf("logs f --bytes 0: %q, %v; want nothing", out, err)
	}
}

// TestLogsEscapeTerminalControls: a function's output may hold terminal
// escape sequences (ESC[2J clears the screen, OSC retitles the window);
// `portico logs` and `invoke --tail` print them escaped (\x1b), keeping \n
// and \t, and --raw prints the bytes as they are.
func TestLogsEscapeTerminalControls(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := env.Client()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "f",
		"Code": map[string]any{"ZipFile": testkit.Bootstrap(t, "#!/bin/sh\nprintf 'evil\\033[2J\\033]0;owned\\007\\tcol\\r\\302\\233x\\n' >&2\nexit 0\n")}}); err != nil {
		t.Fatal(err)
	}
	// The function exits without answering: a function error, its log tail
	// printed all the same.
	out, _ := cliErr(env, "invoke", "f", "--tail")
	const escaped = `evil\x1b[2J\x1b]0;owned\x07` + "\tcol" + `\x0d\u009bx` + "\n"
	if !strings.Contains(out, escaped) || strings.ContainsAny(out, "\x1b\x07\r\u009b") {
		t.Errorf("invoke --tail printed %q, want %q and no control characters", out, escaped)
	}
	out, err := cliErr(env, "logs", "f")
	if err != nil || !strings.Contains(out, escaped) || strings.ContainsAny(out, "\x1b\x07\r\u009b") {
		t.Errorf("logs f: %q, %v; want %q and no control characters", out, err, escaped)
	}
	out, err = cliErr(env, "logs", "f", "--raw")
	if err != nil || !strings.Contains(out, "evil\x1b[2J\x1b]0;owned\x07\tcol\r\u009bx\n") {
		t.Errorf("logs f --raw: %q, %v; want the bytes as they are", out, err)
	}
}

// TestControlEscaperSplitWrites: a UTF-8 sequence cut between two writes is
// printed whole (not as two invalid bytes), a cut one left at the end is
// escaped.
func TestControlEscaperSplitWrites(t *testing.T) {
	var b strings.Builder
	e := newControlEscaper(&b)
	for _, p := range []string{"caf\xc3", "\xa9 \xc2", "\x9b \xff \xe2\x82"} {
		if _, err := e.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := `café \u009b \xff \xe2\x82`; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
