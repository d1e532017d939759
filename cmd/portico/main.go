// Command portico is Portico's one binary: `portico serve` runs the API gateway, the
// function runtime and the admin API; the other subcommands are clients of the
// admin API.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/portico-dev/portico/internal/buildinfo"
	"github.com/portico-dev/portico/internal/suggest"
	"github.com/portico-dev/portico/store"
)

// exitError carries a process exit status without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	// SIGHUP (the terminal closed, or a supervisor's reload) stops the
	// server gracefully as SIGTERM does: configuration is read only at start
	// (docs/operations.md).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "portico:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "portico",
		Short: "A self-hosted API gateway and function runtime in the style of API Gateway and Lambda",
		Long: `Portico runs functions written for AWS Lambda (aws-lambda-go's lambda.Start, or any
runtime that speaks the Lambda Runtime API) and serves them through an API gateway.

  portico serve                 run the server (gateway, functions, admin API)
  portico fn create hello --dir bin/samples/hello
  portico fn publish hello
  portico alias set hello live 1
  portico invoke hello:live --payload '{"queryStringParameters":{"name":"you"}}'
  portico logs hello --follow

The client commands talk to the admin API at --endpoint (PORTICO_ENDPOINT,
default http://127.0.0.1:9090).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	gf := &globalFlags{}
	gf.register(root)
	root.Version = buildinfo.Read(store.SchemaVersion).String()
	root.SetVersionTemplate("{{.Version}}\n")
	serve, dev, tlsCmd, version := newServeCmd(), newDevCmd(), newTLSCmd(), newVersionCmd()
	hideClientFlags(root, serve, dev, tlsCmd, version)
	root.AddCommand(
		serve,
		dev,
		version,
		newFnCmd(gf),
		newAliasCmd(gf),
		newInvokeCmd(gf),
		newLogsCmd(gf),
		newStatsCmd(gf),
		newBackupCmd(gf),
		newAPICmd(gf), newStageCmd(gf),
		newKeyCmd(gf), newPlanCmd(gf),
		newIAMCmd(gf),
		newDeployCmd(gf),
		newStackCmd(gf),
	)
	root.AddCommand(newWSCmds(gf)...)
	root.AddCommand(newImageCmds(gf)...)
	root.AddCommand(tlsCmd, newDomainCmd(gf))
	refuseUnknownSubcommands(root)
	usageOnArgErrors(root)
	root.SetFlagErrorFunc(flagError)
	return root
}

// hideClientFlags keeps the client flags (globalFlags: --endpoint, --token,
// -o), which every command inherits from root, out of the help of cmds and
// their subcommands: commands that run or set up a server, where the flags do
// nothing.
func hideClientFlags(root *cobra.Command, cmds ...*cobra.Command) {
	for _, c := range cmds {
		help := root.HelpFunc()
		c.SetHelpFunc(func(cmd *cobra.Command, args []string) {
			var hidden []*pflag.Flag
			root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
				if !f.Hidden {
					f.Hidden = true
					hidden = append(hidden, f)
				}
			})
			defer func() {
				for _, f := range hidden {
					f.Hidden = false
				}
			}()
			help(cmd, args)
		})
	}
}

// usageOnArgErrors makes every command whose arguments are wrong say how to
// call it: cobra's "accepts 1 arg(s), received 0" is followed by the command's
// usage line (portico invoke FUNCTION[:QUALIFIER] [flags]).
func usageOnArgErrors(c *cobra.Command) {
	for _, sub := range c.Commands() {
		usageOnArgErrors(sub)
	}
	check := c.Args
	if check == nil {
		return
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			if strings.HasPrefix(err.Error(), "unknown command") {
				return err
			}
			return fmt.Errorf("%w\nusage: %s (see '%s --help')", err, cmd.UseLine(), cmd.CommandPath())
		}
		return nil
	}
}

// refuseUnknownSubcommands makes every command that only groups others (fn,
// alias, api, ...) fail on an argument that names no subcommand: cobra would
// print the help and exit 0, so a typo in a script would pass unnoticed. Without
// an argument the help is printed, as before.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.SuggestionsMinimumDistance = 2 // cobra's default, which only its own error sets
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		hint := ""
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			hint = fmt.Sprintf(" (did you mean %s?)", strings.Join(s, ", "))
		}
		return fmt.Errorf("unknown command %q for %q%s; run '%s --help' for its commands", args[0], cmd.CommandPath(), hint, cmd.CommandPath())
	}
}

// flagError is every command's flag error (an unknown flag, a bad value): it
// names the command's closest flag to an unknown one and, as argument errors
// do, points at the command's --help.
func flagError(cmd *cobra.Command, err error) error {
	hint := ""
	if name, ok := strings.CutPrefix(err.Error(), "unknown flag: --"); ok {
		var names []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		})
		if best := suggest.Closest(name, names); best != "" {
			hint = " (did you mean --" + best + "?)"
		}
	}
	return fmt.Errorf("%w%s\nsee '%s --help'", err, hint, cmd.CommandPath())
}
