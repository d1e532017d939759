package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMakeImagesLeavesZipPackages runs the Makefile's images recipe (its build
// prerequisite taken as done, BIN a temporary directory, bin/portico a script
// that records its build context): the images are built from a directory of
// their own, so bin/samples/NAME, which `make run` zips as the Zip function
// NAME, stays as `make samples` left it and the next `make run` publishes no
// new version.
func TestMakeImagesLeavesZipPackages(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	bin := t.TempDir()
	pkg := filepath.Join(bin, "samples", "hello")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(bin, "context")
	// portico build DIR -t TAG: list DIR's files.
	script := "#!/bin/sh\n[ \"$1\" = build ] || exit 2\nls \"$2\" > " + record + "\n"
	if err := os.WriteFile(filepath.Join(bin, "portico"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "--no-print-directory", "-o", "build", "images", "BIN="+bin, "IMAGES=hello")
	cmd.Dir = root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make images: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(pkg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"bootstrap"}) {
		t.Errorf("bin/samples/hello holds %q after make images, want only bootstrap (it is the Zip package make run deploys)", names)
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("portico build was not run: %v", err)
	}
	if ctx := strings.Fields(string(got)); !slices.Equal(ctx, []string{"Dockerfile", "bootstrap"}) {
		t.Errorf("the image's build context holds %q, want Dockerfile and bootstrap", ctx)
	}
}
