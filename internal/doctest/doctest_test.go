package doctest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	page := strings.Join([]string{
		"# A page", // 1
		"",
		"<!-- doctest:server -->",
		"```sh",
		"make run    # the server",
		"```",
		"",
		"```sh", // 8: not marked
		"rm -rf /",
		"```",
		"<!-- doctest skip=\"--follow\" needs=aws-cli-v2 timeout=2m -->", // 11
		"",
		"```sh", // 13
		"# a comment",
		"API=$(portico api import x.yaml)   # prints the id",
		"aws apigateway get-rest-api \\",
		"    --rest-api-id $API",
		"portico logs hello --follow",
		"cat > f <<'EOF'",
		"a",
		"",
		"EOF",
		"```",
		"Some prose.",
		"<!-- doctest:output -->",
		"```",
		"k3x9p2m7qa",
		"```",
		"    <!-- doctest -->", // 29: an indented code block shows a marker
		"    ```sh",
		"    portico fn list",
		"    ```",
		"<!-- doctest fails -->",
		"~~~~",
		"portico fn get nope",
		"~~~~",
	}, "\n")
	p, err := Parse("page.md", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if p.Server != "make run" || p.ServerLine != 4 {
		t.Errorf("server = %q (line %d), want make run (line 4)", p.Server, p.ServerLine)
	}
	if len(p.Blocks) != 2 {
		t.Fatalf("%d blocks, want 2: %+v", len(p.Blocks), p.Blocks)
	}
	b := p.Blocks[0]
	if b.Line != 13 || b.Timeout != 2*time.Minute || b.Fails ||
		strings.Join(b.Skip, "|") != "--follow" || strings.Join(b.Needs, "|") != "aws-cli-v2" {
		t.Errorf("block 1 = %+v", b)
	}
	wantCmds := []Command{
		{15, "API=$(portico api import x.yaml)   # prints the id"},
		{16, "aws apigateway get-rest-api \\\n    --rest-api-id $API"},
		{18, "portico logs hello --follow"},
		{19, "cat > f <<'EOF'\na\n\nEOF"},
	}
	if len(b.Commands) != len(wantCmds) {
		t.Fatalf("commands = %+v", b.Commands)
	}
	for i, c := range wantCmds {
		if b.Commands[i] != c {
			t.Errorf("command %d = %+v, want %+v", i, b.Commands[i], c)
		}
	}
	if b.Want == nil || *b.Want != "k3x9p2m7qa" || b.WantLine != 26 {
		t.Errorf("want = %v (line %d)", b.Want, b.WantLine)
	}
	if c := p.Blocks[1]; !c.Fails || c.Want != nil || len(c.Commands) != 1 || c.Commands[0].Line != 35 {
		t.Errorf("block 2 = %+v", c)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ page, err string }{
		"unknown option":    {"<!-- doctest quickly -->\n```\nls\n```\n<!-- doctest:server make run -->", `page.md:1: unknown option "quickly"`},
		"unknown marker":    {"<!-- doctest:outptu -->\n```\nls\n```", `page.md:1: unknown marker "doctest:outptu"`},
		"no block":          {"<!-- doctest -->\nprose\n```\nls\n```", "page.md:1: marker \"doctest\" is not followed by a fenced block"},
		"marker at the end": {"<!-- doctest -->\n", "has no fenced block after it"},
		"output alone":      {"<!-- doctest:output -->\n```\nx\n```", "page.md:2: an output block must follow a runnable block"},
		"open fence":        {"<!-- doctest -->\n```\nls\n", "page.md:2: fenced block is not closed"},
		"no server":         {"<!-- doctest -->\n```\nls\n```", "no server"},
		"two servers":       {"<!-- doctest:server make run -->\n<!-- doctest:server make run -->", "a second server"},
		"bad timeout":       {"<!-- doctest timeout=soon -->\n```\nls\n```", "timeout=\"soon\""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("page.md", []byte(tc.page))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for name, tc := range map[string]struct {
		want, got string
		ok        bool
	}{
		"same":                   {"a\nb", "a\nb\n", true},
		"trailing space":         {"a  \n\nb\n\n", "a\n\nb", true},
		"different":              {"a\nb", "a\nc", false},
		"extra line":             {"a", "a\nb", false},
		"id":                     {"api k3x9p2m7qa", "api zzzzzzzzzz", true},
		"id of another size":     {"api k3x9p2m7qa", "api zzzzzzzzz", false},
		"word is no id":          {"a deployment", "a connection", false},
		"uuid":                   {"RequestId: 2f1c7e0e-5b1a-4c1e-9e0a-0c1d2e3f4a5b", "RequestId: 9a8b7c6d-0000-4111-8222-333344445555", true},
		"time":                   {"at 2026-01-02T03:04:05Z", "at 2026-12-05T01:54:54.492Z", true},
		"date":                   {"valid until 2028-01-06", "valid until 2030-11-30", true},
		"duration":               {"deployed in 41.3s", "deployed in 2ms", true},
		"port":                   {"http://127.0.0.1:8080/x", "http://127.0.0.1:39029/x", true},
		"port keeps host":        {"http://127.0.0.1:8080/x", "http://localhost:39029/x", false},
		"columns":                {"NAME  VERSION\nhello 1", "NAME    VERSION\nhello   1", true},
		"lines elided":           {"first\n...\nlast", "first\nx\ny\nlast", true},
		"no lines elided":        {"first\n...\nlast", "first\nlast", true},
		"elided at the end":      {"first\n...", "first\nx\ny", true},
		"none elided at the end": {"first\n...", "first", true},
		"end elided twice":       {"first\n...\nlast\n...", "first\nlast", true},
		"only elided":            {"...", "", true},
		"text elided":            {"took ... in all", "took 3 tries in all", true},
		"elision stays put":      {"took ... in all", "took 3 tries\nin all", false},
		"regexp characters":      {"a.b (c)* [d]", "a.b (c)* [d]", true},
		"regexp not applied":     {"a.b", "axb", false},
	} {
		t.Run(name, func(t *testing.T) {
			ok, err := Match(tc.want, tc.got)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.ok {
				re, _ := Pattern(tc.want)
				t.Errorf("Match(%q, %q) = %v, want %v (pattern %s)", tc.want, tc.got, ok, tc.ok, re)
			}
		})
	}
}

func TestShell(t *testing.T) {
	sh, err := Start(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	ctx := context.Background()
	run := func(cmd string) (string, int) {
		t.Helper()
		out, rc, err := sh.Run(ctx, cmd, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return out, rc
	}
	if out, rc := run("X=$(echo hi)"); out != "" || rc != 0 {
		t.Errorf("assignment: %q, %d", out, rc)
	}
	if out, rc := run(`echo "$X"; echo err >&2`); out != "hi\nerr\n" || rc != 0 {
		t.Errorf("state kept across commands, stderr read: %q, %d", out, rc)
	}
	if out, rc := run("printf no-newline"); out != "no-newline" || rc != 0 {
		t.Errorf("output without a newline: %q, %d", out, rc)
	}
	if out, rc := run("cat; false"); out != "" || rc != 1 {
		t.Errorf("stdin is /dev/null, status kept: %q, %d", out, rc)
	}
	if out, rc := run("cat <<'EOF'\n$X\nEOF"); out != "$X\n" || rc != 0 {
		t.Errorf("here-document: %q, %d", out, rc)
	}
	if out, rc := run("if then"); rc == 0 || !strings.Contains(out, "syntax error") {
		t.Errorf("syntax error: %q, %d", out, rc)
	}
	if out, rc := run("echo still here"); out != "still here\n" || rc != 0 {
		t.Errorf("after a syntax error: %q, %d", out, rc)
	}
	out, _, err := sh.Run(ctx, "echo waiting; sleep 60", 200*time.Millisecond)
	if !errors.Is(err, ErrTimeout) || out != "waiting\n" {
		t.Errorf("a command that does not end: %q, %v", out, err)
	}
}
