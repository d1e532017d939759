package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/client"
)

// devEnv is what a dev step works with.
type devEnv struct {
	client     *client.Client
	samples    string // built samples, one directory per sample holding bootstrap
	adminURL   string
	gatewayURL string
	// tlsURL is https://localhost:PORT of the TLS listener, "" when TLS is off.
	tlsURL string
	out    io.Writer
	// notes are printed after every step has run: how to try what it deployed.
	notes []string
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

func newDevCmd() *cobra.Command {
	f := &serveFlags{}
	var samples string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Serve with the samples deployed (what `make run` runs)",
		Long: `Start the server like 'portico serve' (same flags) and deploy the built samples into
it through the admin API: function hello from SAMPLES/hello, version published, alias
live pointing at it. Safe to run again on the same data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.settings()
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(samples, "hello", "bootstrap")); err != nil {
				return fmt.Errorf("no built sample at %s: run `make samples` first (%w)", filepath.Join(samples, "hello", "bootstrap"), err)
			}
			return runServer(cmd.Context(), s, func(ctx context.Context, adminURL, gatewayURL, tlsURL string) error {
				e := &devEnv{
					client:     client.New(adminURL, s.AdminToken),
					samples:    samples,
					adminURL:   adminURL,
					gatewayURL: gatewayURL,
					tlsURL:     tlsURL,
					out:        cmd.OutOrStdout(),
				}
				for _, st := range devSteps {
					if err := st.run(ctx, e); err != nil {
						return fmt.Errorf("deploying %s: %w", st.name, err)
					}
				}
				fmt.Fprintln(e.out)
				for _, n := range e.notes {
					fmt.Fprintln(e.out, n)
				}
				fmt.Fprintln(e.out, "\nPress Ctrl-C to stop.")
				return nil
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&samples, "samples", "bin/samples", "directory of built samples (make samples)")
	return cmd
}

// deployHello creates or updates function hello from the built sample, publishes
// it, and points alias live at the published version.
func deployHello(ctx context.Context, e *devEnv) error {
	const name = "hello"
	zipFile, err := client.ZipDir(filepath.Join(e.samples, name))
	if err != nil {
		return err
	}
	env := map[string]string{"GREETING": "Hello from make run"}
	_, _, err = e.client.GetFunctionConfiguration(ctx, name)
	switch {
	case client.IsNotFound(err):
		_, _, err = e.client.CreateFunction(ctx, map[string]any{
			"FunctionName": name,
			"PackageType":  "Zip",
			"Code":         map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(zipFile)},
			"Description":  "Portico's sample function (samples/hello)",
			"Environment":  map[string]any{"Variables": env},
		})
	case err == nil:
		if _, _, err = e.client.UpdateFunctionCode(ctx, name, zipFile, ""); err == nil {
			_, _, err = e.client.UpdateFunctionConfiguration(ctx, name, map[string]any{"Environment": map[string]any{"Variables": env}})
		}
	}
	if err != nil {
		return err
	}
	v, _, err := e.client.PublishVersion(ctx, name, "")
	if err != nil {
		return err
	}
	if _, _, err := e.client.SetAlias(ctx, name, "live", v.Version, nil); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "deployed function hello: version %s, alias live -> %s\n", v.Version, v.Version)
	e.notes = append(e.notes,
		"Invoke hello through the admin API (the Lambda Invoke API):",
		fmt.Sprintf("  curl -s -X POST '%s/2015-03-31/functions/hello:live/invocations' -d '{\"queryStringParameters\":{\"name\":\"you\"}}'", e.adminURL),
		"or with the CLI:",
		"  bin/portico invoke hello:live --payload '{\"queryStringParameters\":{\"name\":\"you\"}}'",
		"  bin/portico logs hello",
	)
	return nil
}
