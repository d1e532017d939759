package buildinfo

import (
	"fmt"
	"testing"
)

func TestBuildText(t *testing.T) {
	t.Parallel()
	b := Build{Version: "v1.2.0", Revision: "abc", Time: "2026-12-01T00:00:00Z", Modified: true, Go: "go1.26", Schema: 6}
	if got, want := b.String(), "portico v1.2.0, revision abc (2026-12-01T00:00:00Z) with uncommitted changes, go1.26, store schema 6"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := fmt.Sprint(b.LogAttrs()); got != "[version v1.2.0 revision abc+modified schema 6]" {
		t.Errorf("LogAttrs = %s", got)
	}
	if got, want := (Build{Version: "(devel)", Go: "go1.26", Schema: 6}).String(), "portico (devel), revision unknown (not built from a git checkout), go1.26, store schema 6"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
