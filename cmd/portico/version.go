package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/store"
)

// revision is the git revision make build gives with -ldflags -X
// (main.revision), for a build Go did not stamp (-buildvcs=false in GOFLAGS).
var revision string

// build names this build: the module version and VCS revision Go stamped in
// it (debug.ReadBuildInfo), the Go version and the store schema it writes.
type build struct {
	Version, Revision, Time, Go string
	Modified                    bool
	Schema                      int
}

// thisBuild reads the build information of the running binary.
func thisBuild() build {
	b := build{Version: "(devel)", Go: runtime.Version(), Schema: store.SchemaVersion}
	b.Revision = revision
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" {
		b.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the one line `portico version` prints.
func (b build) String() string {
	rev := "unknown (not built from a git checkout)"
	if b.Revision != "" {
		rev = b.Revision
		if b.Time != "" {
			rev += " (" + b.Time + ")"
		}
		if b.Modified {
			rev += " with uncommitted changes"
		}
	}
	return fmt.Sprintf("portico %s, revision %s, %s, store schema %d", b.Version, rev, b.Go, b.Schema)
}

// logAttrs are the build's attributes in the start log.
func (b build) logAttrs() []any {
	rev := b.Revision
	if b.Modified {
		rev += "+modified"
	}
	return []any{"version", b.Version, "revision", rev, "schema", b.Schema}
}

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
			_, err := fmt.Fprintln(cmd.OutOrStdout(), thisBuild())
			return err
		},
	}
}
