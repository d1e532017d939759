package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/cmd/portico/deploy"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/internal/netaddr"
)

// stackName is CloudFormation's rule for stack names, which the admin API keeps too.
var stackName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)

func newDeployCmd(g *globalFlags) *cobra.Command {
	var template, stack string
	var overrides []string
	var dryRun bool
	var shiftPoll, shiftRetry time.Duration
	cmd := &cobra.Command{
		Use:   "deploy --template template.yaml [--stack NAME] [--parameter-overrides K=V ...] [--dry-run] [--shift-poll 2s] [--shift-retry 5m]",
		Short: "Make Portico match a SAM template (functions, APIs, stages)",
		Long: `Read a SAM template (Transform: AWS::Serverless-2016-10-31, YAML or JSON) and make
Portico match it: AWS::Serverless::Function, ::Api and ::HttpApi with their events,
and the AWS::ApiGatewayV2 resources of a WebSocket API. Everything is read and
checked first (code paths, Refs, API definitions); then new functions, versions and
API definitions are built, then aliases and stages switch to them, then what the
template no longer has is removed. A second deploy of the same template changes
only what changed. If a step fails, what it created is removed and what it switched
is switched back. A function with AutoPublishAlias and a DeploymentPreference
shifts its alias's traffic to the new version by the preference (hooks
included), and the deploy waits for the shift, reading its status every
--shift-poll; a failed shift fails the deploy. While the server cannot be reached
(restarting: the shift goes on when it is back) the deploy reads the shift again
for at most --shift-retry (0: it fails at the first unreachable read).
--dry-run prints the plan and changes nothing.

  make samples
  portico deploy --template samples/hello/template.yaml
  portico deploy --template samples/chat/template.yaml --stack chat
  portico deploy --template t.yaml --parameter-overrides Greeting=Hi Stage=dev

See docs/sam.md for what is supported.`,
		// Arguments after --parameter-overrides A=1 are more overrides (B=2), as
		// sam deploy takes them.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && !cmd.Flags().Changed("parameter-overrides") {
				return fmt.Errorf("unexpected argument %q: give the template with --template", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.textOnly("deploy", "the plan and each step as it takes it"); err != nil {
				return err
			}
			overrides = append(overrides, args...)
			if shiftPoll <= 0 {
				return fmt.Errorf("--shift-poll %s: give a duration above zero (2s)", shiftPoll)
			}
			if shiftRetry < 0 {
				return fmt.Errorf("--shift-retry %s: give a duration of zero or more (5m; 0 gives up at the first unreachable read)", shiftRetry)
			}
			if template == "" {
				return fmt.Errorf("--template FILE is required (a SAM template, YAML or JSON)")
			}
			// The template first: the stack's default name comes from its
			// directory, which means nothing for a file that is not there.
			if fi, err := os.Stat(template); err != nil {
				return fmt.Errorf("--template %s: %w: give the path of a SAM template (template.yaml, YAML or JSON)", template, err)
			} else if fi.IsDir() {
				return fmt.Errorf("--template %s is a directory: give the template file in it (%s)", template, filepath.Join(template, "template.yaml"))
			}
			if stack == "" {
				abs, err := filepath.Abs(template)
				if err != nil {
					return err
				}
				stack = filepath.Base(filepath.Dir(abs))
			}
			if !stackName.MatchString(stack) {
				return fmt.Errorf("stack name %q must start with a letter and hold only letters, digits and hyphens (at most 128): pass --stack NAME", stack)
			}
			params, err := deploy.ParseOverrides(overrides)
			if err != nil {
				return err
			}
			t, err := deploy.Load(template, deploy.Options{Stack: stack, Parameters: params})
			if err != nil {
				return err
			}
			d, err := deploy.Build(t)
			if err != nil {
				return err
			}
			// What follows prints no NoEcho parameter's value (an error of
			// the server quoting an environment variable, a rollback).
			out := redactWriter{w: cmd.OutOrStdout(), t: t}
			c, err := g.client()
			if err != nil {
				return err
			}
			target := &deploy.HTTPTarget{C: c, ShiftPoll: shiftPoll, ShiftRetry: shiftRetry, LocalImages: dryRun,
				Zip: zipDirTo(cmd.ErrOrStderr())}
			if shiftRetry == 0 {
				target.ShiftRetry = deploy.NoShiftRetry
			}
			ctx := cmd.Context()
			if !dryRun {
				// As CloudFormation refuses an update while the stack is
				// UPDATE_IN_PROGRESS: another run of the stack is refused
				// until this one ends.
				if err := holdStack(cmd, target, stack, "portico deploy --template "+template); err != nil {
					return err
				}
				defer releaseStack(cmd, target, stack)
			}
			rec, err := target.GetStack(ctx, stack)
			if err != nil {
				return err
			}
			if dryRun && rec != nil && rec.Deploying != nil {
				host, _ := os.Hostname()
				_, _ = fmt.Fprintln(cmd.ErrOrStderr(), deployingNote(stack, rec.Deploying, host, processAlive))
			}
			obs, err := deploy.Observe(ctx, target, d, rec)
			if err != nil {
				return err
			}
			plan, err := deploy.NewPlan(d, rec, obs)
			if err != nil {
				return t.RedactError(err)
			}
			plan.Template = template
			// Warnings on stderr, as every command prints them: stdout is
			// the plan and its progress.
			plan.PrintWarnings(redactWriter{w: cmd.ErrOrStderr(), t: t})
			plan.PrintChanges(out)
			if dryRun {
				_, _ = fmt.Fprintln(out, "Dry run: nothing changed.")
				return nil
			}
			if err := deploy.Apply(ctx, target, plan, out); err != nil {
				return t.RedactError(err)
			}
			return printStackURLs(cmd, g, stack, t, d)
		},
	}
	cmd.Flags().StringVarP(&template, "template", "t", "", "SAM template file (YAML or JSON)")
	cmd.Flags().StringVar(&stack, "stack", "", "stack name (default: the template's directory name)")
	cmd.Flags().StringArrayVar(&overrides, "parameter-overrides", nil, "template parameters, KEY=VALUE (repeatable, or several separated by spaces)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().DurationVar(&shiftPoll, "shift-poll", 2*time.Second, "how often to read the status of a DeploymentPreference's traffic shift while waiting for it")
	cmd.Flags().DurationVar(&shiftRetry, "shift-retry", 5*time.Minute, "how long to go on reading a traffic shift's status while the server cannot be reached (restarting) before failing; 0 fails at once")
	return cmd
}

// newStackCmd is `portico stack`: what portico deploy made, as a whole.
func newStackCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "stack", Short: "Stacks that portico deploy made"}
	var dryRun bool
	del := &cobra.Command{
		Use:   "delete NAME [--dry-run]",
		Short: "Delete a stack's functions, APIs and usage plans, then its record (sam delete)",
		Long: `Delete everything stack NAME made (its functions with their versions and aliases,
its APIs with their stages and usage plans), printing each step, then the stack's
record, so that the template can be deployed again from nothing. A resource already
gone is forgotten. If a step fails, the record keeps what is left: run it again.
--dry-run prints the plan and changes nothing.

  portico stack delete hello`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.textOnly("stack delete", "the plan and each step as it takes it"); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			target := &deploy.HTTPTarget{C: c}
			if !dryRun {
				if err := holdStack(cmd, target, args[0], "portico stack delete"); err != nil {
					return err
				}
				defer releaseStack(cmd, target, args[0])
			}
			plan, err := deploy.DeletePlan(cmd.Context(), target, args[0])
			if err != nil {
				if rec, gerr := target.GetStack(cmd.Context(), args[0]); gerr == nil && rec == nil {
					if names, lerr := stackNames(cmd, c); lerr == nil {
						return fmt.Errorf("%w (%s)", err, existing("stack", names))
					}
				}
				return err
			}
			out := cmd.OutOrStdout()
			plan.Print(out)
			if dryRun {
				_, _ = fmt.Fprintln(out, "Dry run: nothing changed.")
				return nil
			}
			return deploy.Apply(cmd.Context(), target, plan, out)
		},
	}
	del.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	var force bool
	unlock := &cobra.Command{
		Use:   "unlock NAME",
		Short: "Clear the hold a killed or crashed deploy left on a stack",
		Long: `While portico deploy (or portico stack delete) runs, it holds its stack: another
deploy of the stack is refused ("stack NAME is being deployed by another run").
A run that was killed or crashed leaves its hold; unlock clears it, so that the
stack deploys again. Clear only the hold of a run that is gone: the run holding
the stack cannot record what it made once its hold is cleared, and its rollback
could undo what a newer deploy did. A hold naming a process that still runs on
this host is refused (--force clears it anyway). The next deploy
plans against the record and the server as they are: a function the gone run
made is in the record and is updated; an API it made in the moment before
recording it is in no stack, and is left to delete by hand.

  portico stack unlock hello`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			t := &deploy.HTTPTarget{C: c}
			if !force {
				if err := holderGone(cmd, t, args[0]); err != nil {
					return err
				}
			}
			h, err := t.ClearStackHold(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if h == nil {
				_, _ = fmt.Fprintf(cmd.OutOrStdout(), "Stack %s: no deploy holds it.\n", args[0])
				return nil
			}
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "Stack %s: cleared the hold of %s, since %s.\n", args[0], h.By, h.Started.Format(time.RFC3339))
			return nil
		},
	}
	unlock.Flags().BoolVar(&force, "force", false, "clear the hold even when it names a process still running on this host")
	list := g.call("list", "List the stacks portico deploy made: name, resources, template, and the run deploying each now", cobra.NoArgs,
		func([]string) request { return request{method: http.MethodGet, path: "/portico/v1/stacks"} }, printStacks)
	cmd.AddCommand(list, del, unlock)
	return cmd
}

// stackList is the admin API's list of stack records.
type stackList struct {
	Items []deploy.Record `json:"items"`
}

// printStacks prints the stack list as a table.
func printStacks(w io.Writer, raw []byte) error {
	var l stackList
	if err := json.Unmarshal(raw, &l); err != nil {
		return err
	}
	if len(l.Items) == 0 {
		_, err := fmt.Fprintln(w, "No stacks: portico deploy --template FILE makes one.")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAME\tRESOURCES\tTEMPLATE\tDEPLOYING")
	host, _ := os.Hostname()
	for _, r := range l.Items {
		deploying := "-"
		if h := r.Deploying; h != nil {
			deploying = fmt.Sprintf("%s, since %s", h.By, h.Started.Format(time.RFC3339))
			if holderInterrupted(h, host, processAlive) {
				deploying = "interrupted (no longer running): " + deploying
			}
		}
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", r.Name, len(r.Resources), r.Template, deploying)
	}
	return tw.Flush()
}

// stackNames lists the names of the stacks the server holds.
func stackNames(cmd *cobra.Command, c *client.Client) ([]string, error) {
	resp, err := c.Do(cmd.Context(), http.MethodGet, "/portico/v1/stacks", nil, nil, nil)
	if err != nil {
		return nil, err
	}
	var l stackList
	if err := json.Unmarshal(resp.Body, &l); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(l.Items))
	for _, r := range l.Items {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	return names, nil
}

// redactWriter writes what the deploy prints with each NoEcho parameter's
// value masked (the plan and progress are written a line at a time).
type redactWriter struct {
	w io.Writer
	t *deploy.Template
}

func (r redactWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, r.t.Redact(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// holdStack takes the hold of a deploy in progress on the stack (what names
// the run in another run's refusal). A hold whose run was a process of this
// host that is no longer running (killed with SIGKILL, or by a closed pipe
// before this version) is taken over, saying so; any other is refused.
func holdStack(cmd *cobra.Command, t *deploy.HTTPTarget, stack, what string) error {
	// While it holds the stack a run must reach its release: a closed
	// stdout or stderr (portico deploy | head) would otherwise kill it with
	// SIGPIPE at its next line, leaving the hold. Ignored, the write fails
	// (EPIPE) and the run goes on.
	signal.Ignore(syscall.SIGPIPE)
	ctx := cmd.Context()
	host, _ := os.Hostname()
	by := fmt.Sprintf("%s, on %s, pid %d", what, host, os.Getpid())
	err := t.HoldStack(ctx, stack, by)
	if err == nil || !client.IsConflict(err) {
		return err
	}
	old, gerr := t.StackHold(ctx, stack)
	switch {
	case gerr != nil:
		return err
	case old == nil: // released meanwhile
		return t.HoldStack(ctx, stack, by)
	}
	pid, ok := holderPID(old.By, host)
	if !ok || pid == os.Getpid() || processAlive(pid) {
		return err
	}
	if terr := t.TakeOverStack(ctx, stack, by, old); terr != nil {
		return terr
	}
	_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "note: stack %s was held by %s since %s, and pid %d is no longer running on this host: this run takes the hold over\n",
		stack, old.By, old.Started.Format(time.RFC3339), pid)
	return nil
}

// holderInterrupted reports whether hold h names a process of this host
// (host) that no longer runs (alive says): its run was killed, and
// deploys no more.
func holderInterrupted(h *deploy.Hold, host string, alive func(int) bool) bool {
	pid, ok := holderPID(h.By, host)
	return ok && !alive(pid)
}

// deployingNote is what a dry run says of the hold h a stack's record
// names: a run deploying it now, or (its process of this host gone) one
// that was interrupted and deploys nothing.
func deployingNote(stack string, h *deploy.Hold, host string, alive func(int) bool) string {
	if holderInterrupted(h, host, alive) {
		return fmt.Sprintf("note: stack %s was held by a run that was interrupted (%s, since %s; that process no longer runs): "+
			"nothing is deploying it; the next deploy takes the hold over and puts right what that run left", stack, h.By, h.Started.Format(time.RFC3339))
	}
	return fmt.Sprintf("note: stack %s is being deployed by another run (%s, since %s): this plan may be out of date when it ends",
		stack, h.By, h.Started.Format(time.RFC3339))
}

// holderGone refuses to clear the hold of stack when it names a process
// that still runs on this host: that run is deploying, and once its hold is
// cleared it cannot record what it made, and its rollback would put back
// what a deploy after it changed.
func holderGone(cmd *cobra.Command, t *deploy.HTTPTarget, stack string) error {
	h, err := t.StackHold(cmd.Context(), stack)
	if err != nil || h == nil {
		return err
	}
	host, _ := os.Hostname()
	if pid, ok := holderPID(h.By, host); ok && processAlive(pid) {
		return fmt.Errorf("stack %s is held by %s since %s, and pid %d still runs on this host: that run is deploying; "+
			"wait for it to finish, or stop it (kill %d) and unlock again; --force clears the hold anyway (the run then cannot record what it made, and its rollback may undo a newer deploy)",
			stack, h.By, h.Started.Format(time.RFC3339), pid, pid)
	}
	return nil
}

// holderPID returns the process id a hold's By names ("WHAT, on HOST, pid
// N", as holdStack writes it) when HOST is host (and not empty).
func holderPID(by, host string) (int, bool) {
	i := strings.LastIndex(by, ", on ")
	if i < 0 || host == "" {
		return 0, false
	}
	h, pidText, ok := strings.Cut(by[i+len(", on "):], ", pid ")
	if !ok || h != host {
		return 0, false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// releaseStack releases the hold holdStack took, even when the command's
// context was cancelled (an interrupted run has rolled back by then).
func releaseStack(cmd *cobra.Command, t *deploy.HTTPTarget, stack string) {
	if err := t.ReleaseStack(context.WithoutCancel(cmd.Context()), stack); err != nil {
		_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "warning: releasing the hold on stack %s: %v (portico stack unlock %s clears it)\n", stack, err, stack)
	}
}

// printStackKeys prints the API keys the stack made for its usage plans
// (SAM's <Api>ApiKey and ServerlessApiKey, or a template's own
// AWS::ApiGateway::ApiKey, as d names them) by id, and how to read a value:
// the values themselves are never printed.
func printStackKeys(w io.Writer, rec *deploy.Record, d *deploy.Desired) {
	for _, id := range sortedResourceIDs(rec) {
		r := rec.Resources[id]
		if r.APIKeyID == "" {
			continue
		}
		logical, plan := id+"ApiKey", r.UsagePlanID
		if a := d.APIs[id]; a != nil {
			logical = a.KeyLogicalID()
		}
		if r.Kind == deploy.KindUsagePlan {
			logical, plan = deploy.SharedAPIKey, r.PhysicalID
		}
		_, _ = fmt.Fprintf(w, "  %s (API key %s in usage plan %s): portico key get %s --show-value prints its value\n", logical, r.APIKeyID, plan, r.APIKeyID)
	}
}

// printStackURLs prints the stage URL of each API the stack holds and the
// template's outputs.
func printStackURLs(cmd *cobra.Command, g *globalFlags, stack string, t *deploy.Template, d *deploy.Desired) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	target := &deploy.HTTPTarget{C: c}
	rec, err := target.GetStack(cmd.Context(), stack)
	if err != nil || rec == nil {
		return err
	}
	for _, id := range sortedResourceIDs(rec) {
		r := rec.Resources[id]
		if r.Kind != deploy.KindAPI || r.Stage == "" {
			continue
		}
		resp, err := c.Do(cmd.Context(), http.MethodGet, apisPath+"/"+url.PathEscape(r.PhysicalID)+"/stages/"+url.PathEscape(r.Stage), nil, nil, nil)
		if err != nil {
			return err
		}
		var st struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(resp.Body, &st); err != nil {
			return err
		}
		u := st.URL
		ws, off := apiKind(cmd, c, r.PhysicalID)
		switch {
		case off:
			// Its stage URLs answer 403 (disableExecuteApiEndpoint).
			u = "(execute-api endpoint disabled: reach it through a custom domain)"
		case ws:
			u = netaddr.WebSocketURL(u) // the admin API's is ws:// already; an older server's http://
		}
		// Not an output: a NoEcho value in the stage name is masked.
		_, _ = fmt.Fprintln(cmd.OutOrStdout(), t.Redact(fmt.Sprintf("  %s (api %s, stage %s): %s", id, r.PhysicalID, r.Stage, u)))
	}
	printStackKeys(cmd.OutOrStdout(), rec, d)
	outs, warnings := t.ResolveOutputs(cmd.Context(), rec, target)
	for _, w := range warnings {
		_, _ = fmt.Fprintln(cmd.ErrOrStderr(), "warning:", t.Redact(w))
	}
	if len(outs) > 0 {
		_, _ = fmt.Fprintln(cmd.OutOrStdout(), "Outputs:")
		for _, k := range slices.Sorted(maps.Keys(outs)) {
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "  %s: %s\n", k, outs[k])
		}
	}
	return nil
}

// isWebSocket reports whether the API is a WebSocket API.
// apiKind reads API id: whether it is a WebSocket API, and whether its
// execute-api endpoint is disabled (false both when it cannot be read).
func apiKind(cmd *cobra.Command, c *client.Client, id string) (ws, off bool) {
	var a struct {
		Protocol   string                     `json:"protocol"`
		Extensions map[string]json.RawMessage `json:"extensions"`
	}
	resp, err := c.Do(cmd.Context(), http.MethodGet, apisPath+"/"+url.PathEscape(id), nil, nil, nil)
	if err != nil || json.Unmarshal(resp.Body, &a) != nil {
		return false, false
	}
	return a.Protocol == "WEBSOCKET", edge.ExecuteAPIEndpointDisabled(a.Extensions)
}

func sortedResourceIDs(rec *deploy.Record) []string {
	ids := make([]string, 0, len(rec.Resources))
	for id := range rec.Resources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
