package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// globalFlags are the client flags every client subcommand shares.
type globalFlags struct {
	endpoint string
	token    string
	// tokenFile names a file holding the token (--token-file): one that
	// ps does not show, as it shows --token.
	tokenFile string
	output    string
	// stderr is the running command's, where a slow call says it is still
	// waiting (set before the command runs).
	stderr io.Writer
}

// defaultEndpoint is where the client commands find the admin API when neither
// --endpoint nor PORTICO_ENDPOINT says.
const defaultEndpoint = "http://127.0.0.1:9090"

func (g *globalFlags) register(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&g.endpoint, "endpoint", "", "admin API endpoint (env PORTICO_ENDPOINT; default http://127.0.0.1:9090)")
	pf.StringVar(&g.token, "token", "", "admin API token; shows in ps: prefer --token-file or the variable (env PORTICO_TOKEN, else PORTICO_ADMIN_TOKEN)")
	pf.StringVar(&g.tokenFile, "token-file", "", "`FILE` holding the admin API token on one line, in place of --token (env PORTICO_TOKEN_FILE, else PORTICO_ADMIN_TOKEN_FILE)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { g.stderr = cmd.ErrOrStderr() }
}

func (g *globalFlags) client() (*client.Client, error) {
	ep := g.endpoint
	if ep == "" {
		ep = os.Getenv("PORTICO_ENDPOINT")
	}
	if ep == "" {
		ep = defaultEndpoint
	}
	if !strings.Contains(ep, "://") {
		ep = "http://" + ep
	}
	if u, err := url.Parse(ep); err != nil || u.Host == "" {
		return nil, fmt.Errorf("--endpoint %q is not a URL like http://127.0.0.1:9090", ep)
	}
	tok, err := g.clientToken()
	if err != nil {
		return nil, err
	}
	if g.output != "table" && g.output != "json" {
		return nil, fmt.Errorf("--output %q: use table or json", g.output)
	}
	c := client.New(ep, tok)
	if g.stderr != nil {
		w := g.stderr
		c.Waiting = func(method, path string, waited time.Duration) {
			_, _ = fmt.Fprintf(w, "portico: still waiting for the admin API at %s to answer %s %s (%s)...\n", ep, method, path, waited)
		}
	}
	return c, nil
}

// clientToken returns the admin API token the client sends: --token, else
// the file --token-file names, else PORTICO_TOKEN, PORTICO_TOKEN_FILE's file,
// and last the variables portico serve reads (PORTICO_ADMIN_TOKEN, then
// PORTICO_ADMIN_TOKEN_FILE's file), so that a shell that started the server
// with one reaches it with the same.
func (g *globalFlags) clientToken() (string, error) {
	sources := []struct {
		val    string
		isFile bool
		what   string
	}{
		{g.token, false, ""},
		{g.tokenFile, true, "--token-file"},
		{os.Getenv("PORTICO_TOKEN"), false, ""},
		{os.Getenv("PORTICO_TOKEN_FILE"), true, "PORTICO_TOKEN_FILE"},
		{os.Getenv("PORTICO_ADMIN_TOKEN"), false, ""},
		{os.Getenv("PORTICO_ADMIN_TOKEN_FILE"), true, "PORTICO_ADMIN_TOKEN_FILE"},
	}
	for _, src := range sources {
		switch {
		case src.val == "":
		case src.isFile:
			return readTokenFile(src.val, src.what)
		default:
			return src.val, nil
		}
	}
	return "", nil
}

func (g *globalFlags) json() bool { return g.output == "json" }

// textOnly refuses -o json for a command that prints text only (what it
// prints, in words), as -o json promises JSON on stdout.
func (g *globalFlags) textOnly(command, prints string) error {
	if g.json() {
		return fmt.Errorf("portico %s prints text (%s), not JSON: leave -o json out", command, prints)
	}
	return nil
}

// do sends one request to the admin API under the command's context.
func (g *globalFlags) do(cmd *cobra.Command, method, path string, query url.Values, body any, header http.Header) (*client.Response, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	return c.Do(cmd.Context(), method, path, query, body, header)
}

// fetch sends a request to the admin API. With --output json it prints the
// answer and reports done; else it decodes the answer into v for the caller to
// print. Errors report done too.
func (g *globalFlags) fetch(cmd *cobra.Command, method, path string, query url.Values, body any, header http.Header, v any) (done bool, err error) {
	resp, err := g.do(cmd, method, path, query, body, header)
	if err != nil {
		return true, err
	}
	if g.json() {
		return true, printJSON(cmd.OutOrStdout(), resp.Body)
	}
	return false, json.Unmarshal(resp.Body, v)
}

// request is one call to the admin API.
type request struct {
	method, path string
	query        url.Values
	body         any
}

// call returns a command that sends the request req builds from its arguments
// and prints the answer as run does.
func (g *globalFlags) call(use, short string, args cobra.PositionalArgs, req func(args []string) request, human printer) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			r := req(args)
			return g.run(cmd, r.method, r.path, r.query, r.body, nil, human)
		},
	}
}

// printer prints an answer for table output; raw is the answer's body.
type printer func(w io.Writer, raw []byte) error

// run sends a request and prints the answer as JSON (--output json) or with
// human, which decodes the body itself (nil: prints nothing).
func (g *globalFlags) run(cmd *cobra.Command, method, path string, query url.Values, body any, header http.Header, human printer) error {
	resp, err := g.do(cmd, method, path, query, body, header)
	if err != nil {
		return err
	}
	return g.show(cmd, resp.Body, human)
}

// show prints an answer the command already has: raw as JSON with --output
// json, else through human (nil: nothing).
func (g *globalFlags) show(cmd *cobra.Command, raw []byte, human printer) error {
	if g.json() {
		return printJSON(cmd.OutOrStdout(), raw)
	}
	if human == nil {
		return nil
	}
	return human(cmd.OutOrStdout(), raw)
}

// remove sends a DELETE and prints what it deleted (table output) or the
// API's answer ({} when it has none) for --output json.
func (g *globalFlags) remove(cmd *cobra.Command, path, deleted string) error {
	return g.run(cmd, http.MethodDelete, path, nil, nil, nil, say("%s", deleted))
}

// say returns a human printer that prints one line, for answers whose table
// output is a confirmation.
func say(format string, a ...any) printer {
	return func(w io.Writer, _ []byte) error {
		_, _ = fmt.Fprintf(w, format+"\n", a...)
		return nil
	}
}

// printJSON pretty-prints a JSON document to w; an empty answer (a delete's)
// is the empty object, so that -o json always prints JSON.
func printJSON(w io.Writer, raw []byte) error {
	// Without the answer's own trailing newline (json.Indent keeps it):
	// one newline ends the document.
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		_, err = w.Write(append(slices.Clip(raw), '\n'))
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// table writes rows under a header, aligned.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// printConfig prints one function configuration as a key/value list.
func printConfig(w io.Writer, c *client.FunctionConfiguration) error {
	rows := [][]string{
		{"Name", c.FunctionName},
		{"Version", c.Version},
		{"ARN", c.FunctionArn},
		{"Package", c.PackageType},
		{"CodeSha256", c.CodeSha256},
		{"CodeSize", strconv.FormatInt(c.CodeSize, 10)},
		{"Timeout", strconv.Itoa(c.Timeout) + "s"},
		{"Memory", strconv.Itoa(c.MemorySize) + " MB"},
		{"State", c.State},
		{"LastModified", c.LastModified},
		{"RevisionId", c.RevisionID},
	}
	if c.Runtime != "" {
		rows = append(rows, []string{"Runtime", c.Runtime}, []string{"Handler", c.Handler})
	}
	if c.Description != "" {
		rows = append(rows, []string{"Description", c.Description})
	}
	if c.Environment != nil {
		keys := make([]string, 0, len(c.Environment.Variables))
		for k := range c.Environment.Variables {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rows = append(rows, []string{"Env", k + "=" + c.Environment.Variables[k]})
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, r[0]+":\t"+r[1])
	}
	return tw.Flush()
}

// invokeWait bounds c's wait for an invocation of fn by the function's
// timeout and the 29 s a call may wait for a sandbox first (the longest
// timeout, 900 s, when its configuration cannot be read), and has the "still
// waiting" notices start once the function should have finished. They go to
// w (nil: none) and say that the function has not answered yet, with its
// timeout: the admin API is running it, as asked, not failing to answer.
func invokeWait(ctx context.Context, c *client.Client, fn string, w io.Writer) {
	timeout, known := 900*time.Second, false
	if fc, _, err := c.GetFunctionConfiguration(ctx, fn); err == nil && fc.Timeout > 0 {
		timeout, known = time.Duration(fc.Timeout)*time.Second, true
	}
	c.Wait = timeout + 29*time.Second
	c.SlowAfter = max(timeout, client.DefaultSlowAfter)
	if w == nil {
		return
	}
	c.Waiting = func(_, _ string, waited time.Duration) {
		if known {
			_, _ = fmt.Fprintf(w, "portico: still waiting for %s's answer (%s; its timeout is %s, and a call may wait up to 29s for a sandbox first)...\n", fn, waited, timeout)
			return
		}
		_, _ = fmt.Fprintf(w, "portico: still waiting for %s's answer (%s)...\n", fn, waited)
	}
}

// readPayload returns --payload's value: inline JSON, @file, or @- for stdin.
func readPayload(p string) ([]byte, error) {
	switch {
	case p == "":
		return []byte("{}"), nil
	case p == "@-":
		return io.ReadAll(os.Stdin)
	case strings.HasPrefix(p, "@"):
		b, err := os.ReadFile(p[1:])
		if err != nil {
			return nil, fmt.Errorf("--payload: %w", err)
		}
		return b, nil
	}
	if !json.Valid([]byte(p)) {
		if strings.HasPrefix(p, "\ufeff") {
			// Invisible in the message: name it.
			return nil, fmt.Errorf("--payload starts with a byte order mark (U+FEFF, from the editor it was copied from): send the JSON without it")
		}
		return nil, fmt.Errorf("--payload is not valid JSON: %s (quote it for your shell, or use @file)", p)
	}
	return []byte(p), nil
}

func newInvokeCmd(g *globalFlags) *cobra.Command {
	var payload string
	var tail, raw bool
	cmd := &cobra.Command{
		Use:   "invoke FUNCTION[:QUALIFIER]",
		Short: "Invoke a function and print its result",
		Long: `Invoke a function synchronously and print its result to stdout. The qualifier is a
version, $LATEST or an alias (hello, hello:3, hello:live). With --tail the last 4 KB of
the invocation's log goes to stderr. Exits with status 1 on a function error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			body, err := readPayload(payload)
			if err != nil {
				return err
			}
			invokeWait(cmd.Context(), c, args[0], g.stderr)
			h := http.Header{}
			if tail {
				h.Set("X-Amz-Log-Type", "Tail")
			}
			resp, err := c.Do(cmd.Context(), http.MethodPost, client.FunctionPath(args[0], "/invocations"), nil, body, h)
			if err != nil {
				return g.unknownFunction(cmd, args[0], err)
			}
			fnErr := resp.Header.Get("X-Amz-Function-Error")
			logs, _ := base64.StdEncoding.DecodeString(resp.Header.Get("X-Amz-Log-Result"))
			out := cmd.OutOrStdout()
			if g.json() {
				doc := map[string]any{
					"StatusCode":      resp.Status,
					"ExecutedVersion": resp.Header.Get("X-Amz-Executed-Version"),
					"RequestId":       resp.Header.Get("X-Amzn-RequestId"),
					"Payload":         json.RawMessage(resp.Body),
				}
				if !json.Valid(resp.Body) {
					doc["Payload"] = string(resp.Body)
				}
				if fnErr != "" {
					doc["FunctionError"] = fnErr
				}
				if tail {
					doc["LogResult"] = string(logs)
				}
				raw, _ := json.Marshal(doc)
				if err := printJSON(out, raw); err != nil {
					return err
				}
			} else {
				if tail {
					_ = printServerText(cmd.ErrOrStderr(), logs, raw)
				}
				// The result is data: piped, it is written as it is; on a
				// terminal its control characters are escaped as the log's.
				_ = printServerText(out, resp.Body, raw || !terminal(out))
				if !bytes.HasSuffix(resp.Body, []byte("\n")) {
					fmt.Fprintln(out)
				}
			}
			if fnErr != "" {
				if !g.json() {
					fmt.Fprintf(cmd.ErrOrStderr(), "portico: function error (%s) in version %s; see `portico logs %s`\n",
						fnErr, resp.Header.Get("X-Amz-Executed-Version"), strings.SplitN(args[0], ":", 2)[0])
				}
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&payload, "payload", "", "event JSON, or @file, or @- for stdin (default {})")
	cmd.Flags().BoolVar(&tail, "tail", false, "print the invocation's log tail to stderr")
	cmd.Flags().BoolVar(&raw, "raw", false, "print the log tail and, on a terminal, the result as they are, control characters (ESC, ...) not escaped")
	return cmd
}

func newLogsCmd(g *globalFlags) *cobra.Command {
	var follow, raw bool
	var n int
	cmd := &cobra.Command{
		Use:   "logs FUNCTION",
		Short: "Print a function's log (START/END/REPORT lines and its output)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if g.json() {
				return fmt.Errorf("portico logs prints the log as it is written, text (START, END and REPORT lines and the function's output), not JSON: leave -o json out")
			}
			if name, qual, ok := strings.Cut(args[0], ":"); ok && !strings.HasPrefix(args[0], "arn:") {
				return fmt.Errorf("portico logs takes a function's name, not %s:%s: run portico logs %s (its log holds every version's and alias's lines; each invocation's START line names its Version)", name, qual, name)
			}
			q := url.Values{"bytes": {strconv.Itoa(n)}}
			if follow {
				q.Set("follow", "1")
			}
			body, err := c.Stream(cmd.Context(), "/portico/v1/functions/"+url.PathEscape(args[0])+"/logs", q)
			if err != nil {
				return g.unknownFunction(cmd, args[0], err)
			}
			defer body.Close()
			var printed int64
			if raw {
				printed, err = io.Copy(cmd.OutOrStdout(), body)
			} else {
				// A function's output may hold terminal escape sequences:
				// they are printed escaped (\x1b), as journalctl does.
				esc := newControlEscaper(cmd.OutOrStdout())
				printed, err = io.Copy(esc, body)
				if ferr := esc.Flush(); err == nil {
					err = ferr
				}
			}
			if cmd.Context().Err() != nil {
				return nil // interrupted while following
			}
			if !follow && err == nil && printed == 0 && n > 0 {
				// Nothing, exit 0: said, so that it reads as no hang and no bug.
				fmt.Fprintf(cmd.ErrOrStderr(), "no log yet for %s: it is written when the function is invoked (portico invoke %s)\n", args[0], args[0])
			}
			if follow {
				// A follow ends only when the user interrupts it: the server
				// closed the stream (it stopped), or the connection broke.
				why := "the server closed the log stream"
				if err != nil {
					why = fmt.Sprintf("the log stream broke (%v)", err)
				}
				return fmt.Errorf("%s, so the follow of %s ended: is portico serve still running at %s? Run portico logs %s --follow again once it is", why, args[0], c.ShownEndpoint(), args[0])
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until interrupted")
	cmd.Flags().BoolVar(&raw, "raw", false, "print the log's bytes as they are, control characters (ESC, ...) not escaped")
	cmd.Flags().IntVar(&n, "bytes", 64<<10, "how much of the log's end to print first, in bytes (0: none; with --follow, only new output)")
	return cmd
}
