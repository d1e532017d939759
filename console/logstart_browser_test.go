package console_test

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestConsoleLiveLogStartsAtALineInChromium: the live log's first read (the
// log's last 8 KB) starts at a whole line, not inside one (nor inside a
// multi-byte character, shown as U+FFFD). Before, it began wherever the last
// 8 KB began.
func TestConsoleLiveLogStartsAtALineInChromium(t *testing.T) {
	browser := chromium(t)
	env := apptest.Start(t, apptest.Options{})
	// 400 lines of 100 bytes of multi-byte text, then the runtime fails.
	script := "#!/bin/sh\ni=1000\nwhile [ $i -lt 1400 ]; do echo \"$i" + strings.Repeat(" é日本語", 8) + "\"; i=$((i+1)); done\nexit 1\n"
	pkg := base64.StdEncoding.EncodeToString(zipOf(t, map[string]string{"bootstrap": script}))
	if st, body := call(t, env, "POST", "/2015-03-31/functions", map[string]any{"FunctionName": "chatty", "PackageType": "Zip",
		"Code": map[string]any{"ZipFile": pkg}}); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	if st, body := call(t, env, "POST", "/2015-03-31/functions/chatty/invocations", map[string]any{}); st != 200 {
		t.Fatalf("invoke: %d %s", st, body)
	}
	// The server's read of the last 8 KB begins at a whole line itself now
	// (invoker.Logs, the edge15 fix); the console's own trimming stays for
	// a read that begins inside a line (one line longer than it asks for).
	st, body := call(t, env, "GET", "/portico/v1/functions/chatty/logs?bytes=8192", nil)
	if st != 200 || !strings.Contains(string(body), "1399 é日本語") || !strings.HasPrefix(string(body), "1") {
		t.Fatalf("the log's last 8 KB should end the function's lines and start at one: %d %.80q", st, body)
	}
	serverFirst, _, _ := strings.Cut(string(body), "\n")
	b := newBrowser(t, browser)
	b.navigate(env.AdminURL + "/console/#/functions/chatty")
	b.poll("the function page", `document.body.dataset.page === "functions/chatty"`)
	b.poll("the live log", `document.getElementById("logs").textContent.includes("1399 é日本語")`)
	got := eval[string](b, `document.getElementById("logs").textContent`)
	first, _, _ := strings.Cut(got, "\n")
	if strings.ContainsRune(got, '\uFFFD') || !regexp.MustCompile(`^1\d{3}(`+regexp.QuoteMeta(" é日本語")+`){8}$`).MatchString(first) {
		t.Errorf("the live log starts with %q, want a whole line (of %.40q...)", first, got)
	}
	if first != serverFirst {
		// The console dropped a line the server's read began with.
		t.Errorf("the live log starts with %q, the server's read of the last 8 KB with %q", first, serverFirst)
	}
}
