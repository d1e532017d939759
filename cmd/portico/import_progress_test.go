package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/apis"
)

// TestAPIImportSaysItCompilesModels: `portico api import` of a document with
// many models says on stderr that the server is compiling them (the import
// takes seconds), keeps stdout for the id, says nothing for a small document,
// and shows the server's refusal of a document past the models limit.
func TestAPIImportSaysItCompilesModels(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	write := func(n int) string {
		b := apptest.ModelsDoc(t, n)
		f := filepath.Join(dir, fmt.Sprintf("m%d.json", n))
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, tc := range []struct {
		models int
		said   string
	}{
		{3, ""},
		{progressModels, fmt.Sprintf("compiling %d models (components.schemas)...\n", progressModels)},
	} {
		var out, errOut bytes.Buffer
		if err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "api", "import", write(tc.models)); err != nil {
			t.Fatalf("%d models: %v (%s)", tc.models, err, errOut.String())
		}
		if errOut.String() != tc.said || len(strings.TrimSpace(out.String())) != 10 {
			t.Fatalf("%d models: stderr %q, stdout %q; want stderr %q and the id", tc.models, errOut.String(), out.String(), tc.said)
		}
	}
	var out, errOut bytes.Buffer
	err := runRoot(&out, &errOut, "--endpoint", env.AdminURL, "api", "import", write(apis.MaxModels+1))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at most %d are allowed per API", apis.MaxModels)) {
		t.Fatalf("import past the limit: %v (stdout %q)", err, out.String())
	}
}
