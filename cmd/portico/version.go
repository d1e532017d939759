package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/internal/buildinfo"
	"github.com/portico-dev/portico/store"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print this build: its version, git revision, Go version and the store schema it writes",
		Long: `Print this build: the module version and the git revision it was built from (as Go
stamps them; "with uncommitted changes" when the checkout had some), the Go version,
and the store schema it writes (docs/operations.md, Upgrading, says which builds open
which schema). portico --version prints the same; the server's "portico started" log
line names its build too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f := cmd.Flag("output"); f != nil && f.Value.String() == "json" {
				return fmt.Errorf("portico version prints text (the build's line), not JSON: leave -o json out")
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), buildinfo.Read(store.SchemaVersion))
			return err
		},
	}
}
