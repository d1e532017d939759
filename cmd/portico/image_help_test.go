package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBuildHelpExamplesNameWhatMakeImagesLaysOut: an example of `portico
// build --help` that builds a directory under bin/ names one that `make
// images` lays out with a Dockerfile (bin/images/NAME); bin/samples/NAME is
// a Zip package, without one, so the example failed with "has no Dockerfile".
func TestBuildHelpExamplesNameWhatMakeImagesLaysOut(t *testing.T) {
	t.Parallel()
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	// The images target: "$(BIN)/portico build $(BIN)/images/$$s -t ...".
	m := regexp.MustCompile(`\$\(BIN\)/portico build \$\(BIN\)/([a-z]+)/\$\$s `).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile's images target runs no `$(BIN)/portico build $(BIN)/DIR/$$s`")
	}
	laidOut := "bin/" + string(m[1]) + "/"
	cmd, _, err := newRoot().Find([]string{"build"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ex := range regexp.MustCompile(`portico build (bin/\S+)`).FindAllStringSubmatch(cmd.Long, -1) {
		n++
		if dir := ex[1]; !strings.HasPrefix(dir, laidOut) {
			t.Errorf("portico build --help builds %s, which has no Dockerfile; make images builds in %s", dir, laidOut)
		}
	}
	if n == 0 {
		t.Errorf("portico build --help shows no example under bin/:\n%s", cmd.Long)
	}
}
