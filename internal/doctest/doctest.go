// Package doctest finds the runnable shell blocks of a Markdown page, runs their
// commands in one bash session and compares what they print with the output the
// page shows. The docs package's test drives it over README.md and docs/*.md
// against a Portico started as each page says.
//
// A block is runnable when an HTML comment, invisible on GitHub, stands on the
// line before its opening fence (blank lines between are allowed):
//
//	<!-- doctest -->
//	```sh
//	portico fn list
//	```
//
// The comment may carry options, separated by spaces:
//
//   - fails: the block's last command must exit non-zero (a page showing an error);
//   - skip="TEXT": leave out the block's commands that contain TEXT (a command that
//     does not end, such as `logs --follow`), saying so in the test log;
//   - needs=TOOL: run the block only where TOOL is there (`aws-cli-v2`; `docker`, a
//     Docker daemon that answers; or a command looked up on the PATH: `websocat`);
//     elsewhere it is skipped, saying so, or fails where the runner requires the
//     tool (the docs test: REQUIRE_AWSCLI=1, REQUIRE_DOCKER=1). A page none of
//     whose blocks can run is skipped before its server starts;
//   - timeout=DURATION: the time each command may take (default 30s).
//
// A block marked `<!-- doctest:output -->` right after a runnable block is the
// output its commands must print together (stdout and stderr as a terminal shows
// them), compared after [Normalize]: ids, request ids, times, durations and ports
// may differ, a line `...` stands for any number of lines and `...` within a line
// for any text.
//
// A block marked `<!-- doctest:server -->` starts the page's server (`make run`, or
// `portico serve ...`); a page whose server command is not shown says which it
// uses in a comment of its own, `<!-- doctest:server make run -->`. The server
// runs before the page's first block, whatever the order in the page.
//
// Commands are the block's lines, a line ending in a backslash joined with the
// next and a here-document kept with its command; blank lines and lines starting
// with `#` are not commands.
package doctest

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Page is the runnable content of one Markdown file.
type Page struct {
	// Name is the file's name as given to Parse, used in every message.
	Name string
	// Server is the command that starts the page's server ("make run",
	// "portico serve ..."), or "" when the page marks none.
	Server string
	// ServerLine is the line of the server's marker.
	ServerLine int
	// Blocks are the runnable blocks, in page order.
	Blocks []Block
}

// Block is one runnable fenced block.
type Block struct {
	// Line is the line of the block's opening fence (1-based).
	Line int
	// Commands are the block's commands, in order.
	Commands []Command
	// Want is the output the block must print, or nil when the page shows
	// none (then only the commands' exit statuses are checked).
	Want *string
	// WantLine is the line of the output block's opening fence.
	WantLine int
	// Fails says that the last command must exit non-zero.
	Fails bool
	// Skip leaves out the commands that contain any of its strings.
	Skip []string
	// Needs names tools the block needs; without them it is skipped.
	Needs []string
	// Timeout bounds each command.
	Timeout time.Duration
}

// Command is one shell command of a block.
type Command struct {
	// Line is the line the command starts on.
	Line int
	// Text is the command as the page gives it, continuation lines and
	// here-documents included.
	Text string
}

// DefaultTimeout bounds a command whose block sets no timeout.
const DefaultTimeout = 30 * time.Second

const (
	markRun    = "doctest"
	markOutput = "doctest:output"
	markServer = "doctest:server"
)

// Parse returns the runnable blocks of a Markdown page. It fails on a marker it
// does not understand, an output block with no runnable block before it, a
// second server, or a fence left open, naming the line.
func Parse(name string, src []byte) (*Page, error) {
	p := &Page{Name: name}
	lines := splitLines(src)
	var pending *marker // the marker waiting for its block
	var last *Block     // the runnable block an output block may follow
	for i := 0; i < len(lines); i++ {
		if indented(lines[i]) {
			continue // an indented code block: neither markers nor fences
		}
		line := strings.TrimSpace(lines[i])
		if m, ok, err := parseMarker(line); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
		} else if ok {
			if pending != nil {
				return nil, fmt.Errorf("%s:%d: marker %q has no fenced block after it", name, pending.line, pending.kind)
			}
			m.line = i + 1
			if m.kind == markServer && m.arg != "" {
				if err := p.setServer(m.arg, m.line); err != nil {
					return nil, err
				}
				continue
			}
			pending = m
			continue
		}
		fence, isFence := openingFence(line)
		if !isFence {
			if line != "" && pending != nil {
				return nil, fmt.Errorf("%s:%d: marker %q is not followed by a fenced block", name, pending.line, pending.kind)
			}
			continue
		}
		start := i + 1
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			if strings.TrimSpace(lines[i]) == fence {
				closed = true
				break
			}
			body = append(body, lines[i])
		}
		if !closed {
			return nil, fmt.Errorf("%s:%d: fenced block is not closed", name, start)
		}
		if pending == nil {
			last = nil
			continue
		}
		m := pending
		pending = nil
		switch m.kind {
		case markServer:
			cmds := commands(body, start+1)
			if len(cmds) != 1 {
				return nil, fmt.Errorf("%s:%d: a server block holds one command, not %d", name, start, len(cmds))
			}
			if err := p.setServer(stripComment(cmds[0].Text), start); err != nil {
				return nil, err
			}
			last = nil
		case markOutput:
			if last == nil {
				return nil, fmt.Errorf("%s:%d: an output block must follow a runnable block", name, start)
			}
			want := strings.Join(body, "\n")
			last.Want, last.WantLine = &want, start
			last = nil
		default:
			b := Block{Line: start, Commands: commands(body, start+1), Timeout: DefaultTimeout}
			if err := m.apply(&b); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, m.line, err)
			}
			if len(b.Commands) == 0 {
				return nil, fmt.Errorf("%s:%d: runnable block has no commands", name, start)
			}
			p.Blocks = append(p.Blocks, b)
			last = &p.Blocks[len(p.Blocks)-1]
		}
	}
	if pending != nil {
		return nil, fmt.Errorf("%s:%d: marker %q has no fenced block after it", name, pending.line, pending.kind)
	}
	if len(p.Blocks) > 0 && p.Server == "" {
		return nil, fmt.Errorf("%s: runnable blocks but no server: mark the block that starts it <!-- doctest:server -->, or say <!-- doctest:server make run -->", name)
	}
	return p, nil
}

func (p *Page) setServer(cmd string, line int) error {
	if p.Server != "" {
		return fmt.Errorf("%s:%d: a second server (the first is on line %d)", p.Name, line, p.ServerLine)
	}
	p.Server, p.ServerLine = strings.TrimSpace(cmd), line
	return nil
}

func splitLines(src []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	return lines
}

// indented reports whether a line is indented by four columns or more, as an
// indented code block's lines are.
func indented(line string) bool {
	return strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t")
}

// openingFence reports whether line opens a fenced block and returns the fence
// that closes it.
func openingFence(line string) (string, bool) {
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(line, f) {
			n := len(line) - len(strings.TrimLeft(line, f[:1]))
			return line[:n], true
		}
	}
	return "", false
}

type marker struct {
	kind string
	arg  string // doctest:server's command
	opts map[string]string
	line int
}

// parseMarker reads `<!-- doctest[:KIND] [OPTIONS] -->`; ok is false for any
// other line.
func parseMarker(line string) (*marker, bool, error) {
	inner, ok := strings.CutPrefix(line, "<!--")
	if !ok {
		return nil, false, nil
	}
	inner, ok = strings.CutSuffix(inner, "-->")
	if !ok {
		return nil, false, nil
	}
	inner = strings.TrimSpace(inner)
	kind, rest, _ := strings.Cut(inner, " ")
	rest = strings.TrimSpace(rest)
	switch kind {
	case markServer:
		return &marker{kind: kind, arg: rest}, true, nil
	case markOutput:
		if rest != "" {
			return nil, false, fmt.Errorf("%s takes no options, got %q", kind, rest)
		}
		return &marker{kind: kind}, true, nil
	case markRun:
		opts, err := parseOptions(rest)
		if err != nil {
			return nil, false, err
		}
		return &marker{kind: kind, opts: opts}, true, nil
	}
	if strings.HasPrefix(kind, "doctest") {
		return nil, false, fmt.Errorf("unknown marker %q (doctest, doctest:output, doctest:server)", kind)
	}
	return nil, false, nil
}

// parseOptions reads `key`, `key=value` and `key="value with spaces"`.
func parseOptions(s string) (map[string]string, error) {
	opts := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		end := strings.IndexAny(s, " =")
		if end < 0 {
			opts[s] = ""
			break
		}
		key := s[:end]
		if s[end] == ' ' {
			opts[key], s = "", s[end:]
			continue
		}
		s = s[end+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			q := strings.Index(s[1:], `"`)
			if q < 0 {
				return nil, fmt.Errorf("option %s: unclosed quote", key)
			}
			val, s = s[1:q+1], s[q+2:]
		} else {
			val, s, _ = strings.Cut(s, " ")
		}
		if _, dup := opts[key]; dup && key != "skip" && key != "needs" {
			return nil, fmt.Errorf("option %s given twice", key)
		}
		if key == "skip" || key == "needs" {
			if prev, ok := opts[key]; ok {
				val = prev + "\x00" + val
			}
		}
		opts[key] = val
	}
	return opts, nil
}

func (m *marker) apply(b *Block) error {
	for k, v := range m.opts {
		switch k {
		case "fails":
			b.Fails = true
		case "skip":
			b.Skip = strings.Split(v, "\x00")
		case "needs":
			b.Needs = strings.Split(v, "\x00")
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("timeout=%q: want a positive duration such as 60s", v)
			}
			b.Timeout = d
		default:
			return fmt.Errorf("unknown option %q (fails, skip=, needs=, timeout=)", k)
		}
	}
	return nil
}

// commands splits a block's lines into commands; first is the line number of
// body[0].
func commands(body []string, first int) []Command {
	var out []Command
	for i := 0; i < len(body); i++ {
		line := body[i]
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		c := Command{Line: first + i, Text: line}
		for strings.HasSuffix(c.Text, `\`) && i+1 < len(body) {
			i++
			c.Text += "\n" + body[i]
		}
		if delim, ok := heredoc(c.Text); ok {
			for i+1 < len(body) {
				i++
				c.Text += "\n" + body[i]
				if strings.TrimSpace(body[i]) == delim {
					break
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// heredoc returns the delimiter of a here-document the command opens.
func heredoc(cmd string) (string, bool) {
	i := strings.Index(cmd, "<<")
	if i < 0 || strings.HasPrefix(cmd[i:], "<<<") {
		return "", false
	}
	rest := strings.TrimLeft(cmd[i+2:], "-")
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return "", false
	}
	word, _, _ := strings.Cut(rest, " ")
	word = strings.Trim(word, `'"`)
	if word == "" {
		return "", false
	}
	return word, true
}

// stripComment drops a trailing `# ...` comment from a one-line command
// (outside quotes, after white space).
func stripComment(cmd string) string {
	inS, inD := false, false
	for i, r := range cmd {
		switch {
		case r == '\'' && !inD:
			inS = !inS
		case r == '"' && !inS:
			inD = !inD
		case r == '#' && !inS && !inD && (i == 0 || cmd[i-1] == ' ' || cmd[i-1] == '\t'):
			return strings.TrimSpace(cmd[:i])
		}
	}
	return strings.TrimSpace(cmd)
}
