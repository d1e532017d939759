package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/portico-dev/portico/store"
)

// TestVersion: `portico version` and `portico --version` name the build and
// the store schema it writes (neither existed: an operator could not tell
// which build a binary was, which docs/operations.md's upgrade notes need).
func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out bytes.Buffer
		if err := runRoot(&out, &out, args...); err != nil {
			t.Fatalf("portico %s: %v", args[0], err)
		}
		want := fmt.Sprintf(", store schema %d\n", store.SchemaVersion)
		if got := out.String(); !strings.HasPrefix(got, "portico ") || !strings.HasSuffix(got, want) || !strings.Contains(got, ", revision ") {
			t.Errorf("portico %s printed %q", args[0], got)
		}
	}
}
