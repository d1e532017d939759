package buildinfo

import (
	"fmt"
	"strings"
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
}

// TestUnstampedBuildText (ops17): a build without a revision (GOFLAGS
// -buildvcs=false, or built outside a git checkout) does not claim it was not
// built from a checkout, which it cannot know, and the start log names it in
// the same words instead of revision="".
func TestUnstampedBuildText(t *testing.T) {
	t.Parallel()
	b := Build{Version: "(devel)", Go: "go1.26", Schema: 6}
	want := "revision unknown (not stamped: built with -buildvcs=false or outside a git checkout; make build stamps it)"
	if got := b.String(); got != "portico (devel), "+want+", go1.26, store schema 6" {
		t.Errorf("String = %q, want it to say %q", got, want)
	}
	if got := fmt.Sprint(b.LogAttrs()); got != "[version (devel) revision "+strings.TrimPrefix(want, "revision ")+" schema 6]" {
		t.Errorf("LogAttrs = %s, want the revision named as String names it", got)
	}
}
