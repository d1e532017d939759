package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// devEnv is what a dev step works with.
type devEnv struct {
	client     *client.Client
	samples    string // built samples, one directory per sample holding bootstrap
	source     string // the samples' source (--source); "" is defaultSource
	adminURL   string
	gatewayURL string
	// tlsURL is https://localhost:PORT of the TLS listener, "" when TLS is off.
	tlsURL string
	// program is how the notes spell this binary (programAsRun); "" is
	// bin/portico.
	program string
	// tokenVar names the shell variable that the commands printed read the
	// admin token from (tokenVariable); "" when the admin API has no token.
	tokenVar string
	out      io.Writer
	// notes are printed after every step has run: how to try what it deployed.
	notes []string
	// now is the clock progress lines measure by (nil: time.Now).
	now func() time.Time
	// warned holds the sample APIs whose namesakes (not dev's) dev has
	// said it leaves alone (noteOthers).
	warned map[string]bool
}

// cli returns how the notes spell a client command of this server: the
// program as dev was run (e.program), with --endpoint when the admin API is not
// where the client looks by default (make run on other ports), so that the
// lines printed work as they are.
func (e *devEnv) cli() string {
	if e.adminURL == "" || strings.TrimSuffix(e.adminURL, "/") == defaultEndpoint {
		return e.programName()
	}
	return e.programName() + " --endpoint " + e.adminURL
}

// programName returns e.program, or bin/portico (make run's) when unset.
func (e *devEnv) programName() string {
	if e.program == "" {
		return "bin/portico"
	}
	return e.program
}

// shellSafe holds the characters a shell takes as they are in a word.
const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-"

// programAsRun returns how to spell this binary in a command typed where dev
// was started: arg0 (os.Args[0]) when it is a path, as the shell resolved it
// from that directory (bin/portico under make run, an absolute path from
// elsewhere), quoted when it holds characters a shell would split or expand;
// "portico" when the shell found it on the PATH.
func programAsRun(arg0 string) string {
	if !strings.Contains(arg0, "/") {
		return "portico"
	}
	if strings.ContainsFunc(arg0, func(c rune) bool { return !strings.ContainsRune(shellSafe, c) }) {
		return "'" + strings.ReplaceAll(arg0, "'", `'\''`) + "'"
	}
	return arg0
}

// tokenVariable returns the shell variable the notes' commands read the admin
// token from, never the token itself: PORTICO_ADMIN_TOKEN when the token came
// from it (the CLI reads it too), else PORTICO_TOKEN, the CLI's, which the
// notes then say to export; "" without a token.
func tokenVariable(f *serveFlags, token string) string {
	switch {
	case token == "":
		return ""
	case !f.fs.Changed("admin-token") && os.Getenv("PORTICO_ADMIN_TOKEN") == token:
		return "PORTICO_ADMIN_TOKEN"
	default:
		return "PORTICO_TOKEN"
	}
}

// authHeader returns curl's option that sends the admin token, by its
// variable (" -H ..."), or "" when the admin API has no token.
func (e *devEnv) authHeader() string {
	if e.tokenVar == "" {
		return ""
	}
	return ` -H "Authorization: Bearer $` + e.tokenVar + `"`
}

// tokenNotes returns the notes that say where the commands below them find
// the admin token.
func (e *devEnv) tokenNotes() []string {
	switch e.tokenVar {
	case "":
		return nil
	case "PORTICO_TOKEN":
		return []string{"The admin API takes the token given to --admin-token (or the config file's admin-token):",
			"  export PORTICO_TOKEN='<that token>'   # curl and " + e.programName() + " below read it"}
	default:
		return []string{"The admin API takes the token in $" + e.tokenVar + ", which curl and " + e.programName() + " below read."}
	}
}

// banner prints where the server listens: the gateway, TLS, the admin API and
// its web console.
func (e *devEnv) banner() {
	fmt.Fprintf(e.out, "\nGateway:   %s\n", e.gatewayURL)
	if e.tlsURL != "" {
		fmt.Fprintf(e.out, "TLS:       %s\n", e.tlsURL)
	}
	fmt.Fprintf(e.out, "Admin API: %s\n", e.adminURL)
	if e.tokenVar == "" {
		fmt.Fprintf(e.out, "Console:   %s/console/\n", strings.TrimSuffix(e.adminURL, "/"))
	} else {
		fmt.Fprintf(e.out, "Console:   %s/console/ (sign in with the admin token, $%s)\n", strings.TrimSuffix(e.adminURL, "/"), e.tokenVar)
	}
	fmt.Fprintln(e.out, "\nPress Ctrl-C to stop.")
}

// sourceDir returns the samples' source directory.
func (e *devEnv) sourceDir() string {
	if e.source == "" {
		return defaultSource
	}
	return e.source
}

// defaultSource is --source's default.
const defaultSource = "samples"

// clock returns e's clock.
func (e *devEnv) clock() time.Time {
	if e.now == nil {
		return time.Now()
	}
	return e.now()
}

// firstDeploy builds (Go source) or packages function name's directory and
// deploys it, saying so as it goes: a "building ..." line first, since a
// first build may download modules and take a while, then how long it took
// and what serves, or that it failed and what to do. It returns the function's
// watch target.
func firstDeploy(ctx context.Context, e *devEnv, name, dir string) (*watchTarget, error) {
	t := functionTarget(e, name, dir)
	if hasGoFiles(dir) {
		fmt.Fprintf(e.out, "building function %s (go build in %s)...\n", name, dir)
	} else {
		fmt.Fprintf(e.out, "packaging function %s (%s)...\n", name, dir)
	}
	start := e.clock()
	what, err := t.redeploy(ctx)
	took := e.clock().Sub(start).Round(100 * time.Millisecond)
	if err != nil {
		fmt.Fprintf(e.out, "function %s failed after %s\n", name, took)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("deploying function %s from %s: %w", name, dir, err)
		}
		return nil, fmt.Errorf("deploying function %s from %s: %w\nfix %s and run portico dev again (or leave --function %s=%s out)", name, dir, err, dir, name, dir)
	}
	fmt.Fprintf(e.out, "deployed function %s in %s: %s\n", name, took, what)
	return t, nil
}

// devStep deploys one piece of the samples; it must be idempotent, as `make run`
// runs it again on every start against the same data directory.
type devStep struct {
	name string
	run  func(ctx context.Context, e *devEnv) error
}

// devSteps run in order. The gateway adds its own (import samples/hello/api.yaml,
// deploy stage dev) after deployHello.
var devSteps = []devStep{
	{"function hello (version 1, alias live)", deployHello},
}

// devListen and devTLSListen are dev's gateway listeners: loopback, as `sam
// local start-api` binds 127.0.0.1, since the code under development (run
// unsandboxed by the process runtime) should not answer the network unasked.
const (
	devListen    = "127.0.0.1:8080"
	devTLSListen = "127.0.0.1:8443"
)

// newDevFlags returns serve's flags with dev's defaults.
func newDevFlags() *serveFlags {
	return &serveFlags{defaults: func(s *app.Settings) { s.Listen, s.TLSListen = devListen, devTLSListen }}
}

func newDevCmd() *cobra.Command {
	f := newDevFlags()
	var samples, source string
	var watch, replace bool
	var fnDirs []string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Serve with the samples deployed, and redeploy on save (what `make run` runs)",
		Long: `Start the server like 'portico serve' (same flags, but the gateway listens on
loopback by default: 127.0.0.1:8080 and 127.0.0.1:8443; --listen :8080 serves the
network) and deploy the built samples into it through the admin API: function hello
from SAMPLES/hello, version published, alias live pointing at it, and API hello from
SOURCE/hello/api.yaml (--source), deployed to stage dev. Safe to run again on the
same data directory. Without built samples (outside the repository), dev
deploys only the functions given with --function.

Then watch the samples' source (--source, default samples/) and each --function
NAME=DIR, and on save rebuild and redeploy what changed: a sample is rebuilt into
--samples and deployed again; a function's directory is built when it holds Go
source (else zipped as it is, with its bootstrap), and published as a new version
that alias live points at. A new chat command (samples/chat/cmd/chat-ACTION) is
picked up on save: built, deployed and routed (route ACTION) on WebSocket API chat.
A build that fails prints the compiler's errors and leaves the previous version
serving. --watch=false turns watching off.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.settings()
			if err != nil {
				return err
			}
			functionDirs, err := parseWatchFunctions(fnDirs)
			if err != nil {
				return err
			}
			if err := checkServerFilesOutside(functionDirs, s.DataDir, s.IAMKeyFile); err != nil {
				return err
			}
			// Without built samples, dev serves the --function functions
			// alone (outside the repository, say); with neither it has
			// nothing to serve.
			withSamples := true
			if _, err := os.Stat(filepath.Join(samples, "hello", "bootstrap")); err != nil {
				if len(functionDirs) == 0 {
					return fmt.Errorf("no built sample at %s: run `make samples` first, or give your own functions with --function NAME=DIR (%w)", filepath.Join(samples, "hello", "bootstrap"), err)
				}
				withSamples = false
			}
			if withSamples {
				if err := checkNotSampleNames(functionDirs, source); err != nil {
					return err
				}
			}
			// The watcher is waited for before dev exits: a rebuild that Ctrl-C
			// cut short removes its temporary directories.
			var watcher sync.WaitGroup
			defer watcher.Wait()
			return runServer(cmd.Context(), s, func(ctx context.Context, adminURL, gatewayURL, tlsURL string) error {
				e := &devEnv{
					client:     client.New(adminURL, s.AdminToken),
					samples:    samples,
					source:     source,
					adminURL:   adminURL,
					gatewayURL: gatewayURL,
					tlsURL:     tlsURL,
					program:    programAsRun(os.Args[0]),
					tokenVar:   tokenVariable(f, s.AdminToken),
					out:        cmd.OutOrStdout(),
				}
				e.notes = e.tokenNotes()
				if withSamples {
					for _, st := range devSteps {
						if err := st.run(ctx, e); err != nil {
							return fmt.Errorf("deploying %s: %w", st.name, err)
						}
					}
				} else {
					fmt.Fprintf(e.out, "no built samples at %s: serving the --function functions only (make samples builds the samples)\n", samples)
				}
				// Every --function is checked before any is deployed: a
				// refusal changes nothing.
				for _, name := range sortedKeys(functionDirs) {
					if err := claimFunction(ctx, e, name, replace); err != nil {
						return err
					}
				}
				var targets []*watchTarget
				for _, name := range sortedKeys(functionDirs) {
					t, err := firstDeploy(ctx, e, name, functionDirs[name])
					if err != nil {
						return err
					}
					targets = append(targets, t)
					e.notes = append(e.notes, fmt.Sprintf("Invoke %s with the CLI:", name),
						"  "+e.cli()+" invoke "+name+":live", "  "+e.cli()+" logs "+name)
				}
				fmt.Fprintln(e.out)
				for _, n := range e.notes {
					fmt.Fprintln(e.out, n)
				}
				if watch {
					if withSamples {
						st, err := sampleTargets(e, source)
						if err != nil {
							return err
						}
						targets = append(st, targets...)
					}
					d := &devWatch{out: e.out, targets: targets, after: time.After}
					if err := d.start(); err != nil {
						return err
					}
					watcher.Go(func() {
						if err := d.run(ctx); err != nil {
							fmt.Fprintf(e.out, "watching stopped: %v\n", err)
						}
					})
				}
				e.banner()
				return nil
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&samples, "samples", "bin/samples", "directory of built samples (make samples)")
	cmd.Flags().StringVar(&source, "source", defaultSource, "the samples' source, watched and rebuilt into --samples on change")
	cmd.Flags().BoolVar(&watch, "watch", true, "rebuild and redeploy on save")
	cmd.Flags().StringArrayVar(&fnDirs, "function", nil, "NAME=DIR: deploy function NAME from DIR (Go source, or a directory with a bootstrap) and redeploy it on save; repeatable")
	cmd.Flags().BoolVar(&replace, "replace", false, "let --function take over an existing function that portico dev did not make (a new version, alias live moved to it; its weights kept)")
	return cmd
}

// checkNotSampleNames refuses a --function named as one of the samples'
// functions (hello, and the chat sample's commands under src): dev deploys
// the sample under that name on every start, over the function's code.
func checkNotSampleNames(dirs map[string]string, src string) error {
	samples := []string{"hello"}
	if cmds, err := chatCommands(filepath.Join(src, "chat")); err == nil {
		samples = append(samples, cmds...)
	}
	for _, name := range sortedKeys(dirs) {
		if slices.Contains(samples, name) {
			return fmt.Errorf("--function %s: %s is a sample's function, which portico dev deploys again on every start: give yours another name (e.g. --function my-%s=%s)", name, name, name, dirs[name])
		}
	}
	return nil
}

// deployHello creates or updates function hello from the built sample, publishes
// it, and points alias live at the published version.
func deployHello(ctx context.Context, e *devEnv) error {
	what, err := publishDir(ctx, e, "hello", filepath.Join(e.samples, "hello"), map[string]string{"GREETING": "Hello from make run"}, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "deployed function hello: %s\n", what)
	e.notes = append(e.notes,
		"Invoke hello through the admin API (the Lambda Invoke API):",
		fmt.Sprintf("  curl -s -X POST%s '%s/2015-03-31/functions/hello:live/invocations' -d '{\"queryStringParameters\":{\"name\":\"you\"}}'", e.authHeader(), e.adminURL),
		"or with the CLI:",
		"  "+e.cli()+" invoke hello:live --payload '{\"queryStringParameters\":{\"name\":\"you\"}}'",
		"  "+e.cli()+" logs hello",
	)
	return nil
}
