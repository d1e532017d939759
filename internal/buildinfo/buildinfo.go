// Package buildinfo names the running build: its module version, the git
// revision it was built from, the Go version and the store schema it writes.
// `portico version`, the server's start log and GET /portico/v1/stats report
// it, so that an operator can tell which build a binary is and which build is
// serving (docs/operations.md, Upgrading, says which builds open which schema).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// revision is the git revision make build gives with -ldflags -X
// (github.com/portico-dev/portico/internal/buildinfo.revision), for a build Go
// did not stamp (-buildvcs=false in GOFLAGS).
var revision string

// Build names a build: the module version and VCS revision Go stamped in it
// (debug.ReadBuildInfo), the Go version and the store schema it writes.
type Build struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
	Schema   int    `json:"schema"`
}

// Read reads the build information of the running binary; schema is the
// store schema it writes (store.SchemaVersion: passed in, because internal/
// packages are leaves that import none of the project's layers).
func Read(schema int) Build {
	b := Build{Version: "(devel)", Go: runtime.Version(), Schema: schema}
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

// unstamped names the revision of a build that carries none: Go stamps it only
// when building in a git checkout without -buildvcs=false (which GOFLAGS may
// hold), so which of the two it was is not known here.
const unstamped = "unknown (not stamped: built with -buildvcs=false or outside a git checkout; make build stamps it)"

// String is the one line `portico version` prints.
func (b Build) String() string {
	rev := unstamped
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

// LogAttrs are the build's attributes in the start log.
func (b Build) LogAttrs() []any {
	rev := b.Revision
	switch {
	case rev == "":
		rev = unstamped
	case b.Modified:
		rev += "+modified"
	}
	return []any{"version", b.Version, "revision", rev, "schema", b.Schema}
}
