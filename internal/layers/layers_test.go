package layers

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/portico-dev/portico/"

// order lists the layers from the top down; a package belongs to the layer
// whose path is the longest prefix of its own.
var order = []string{"cmd", "admin", "gateway", "connections", "aliases", "invoker", "functions", "runtimes", "store"}

// layer returns the rank of a package path relative to the module (0 = top), or
// -1 for a package outside the layers (internal/, samples/).
func layer(rel string) int {
	for i, l := range order {
		if rel == l || strings.HasPrefix(rel, l+"/") {
			return i
		}
	}
	return -1
}

// runtime returns the runtime implementation a package belongs to
// (runtimes/NAME/...), or "" for the contract, the shared helpers and the
// conformance suite.
func runtime(rel string) string {
	name, ok := strings.CutPrefix(rel, "runtimes/")
	if !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, "/")
	switch name {
	case "internal", "runtimetest":
		return ""
	}
	return name
}

// deps maps each package of the module to the module's packages it depends on,
// directly or not, as `go list -deps` computes them (tests excluded).
func deps(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, module+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		pkg, _ := strings.CutPrefix(f[0], module)
		for _, d := range f[1:] {
			if rel, ok := strings.CutPrefix(d, module); ok {
				graph[pkg] = append(graph[pkg], rel)
			}
		}
		if _, ok := graph[pkg]; !ok {
			graph[pkg] = nil
		}
	}
	if len(graph) < len(order) {
		t.Fatalf("go list found %d packages; is the test running inside the module?", len(graph))
	}
	return graph
}

// TestImportsPointDown fails on any arrow from a lower package to a higher one,
// from one runtime to another, or from internal/ to any layer.
func TestImportsPointDown(t *testing.T) {
	graph := deps(t)
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	checked := 0
	for _, p := range pkgs {
		lp := layer(p)
		for _, d := range graph[p] {
			ld := layer(d)
			switch {
			case ld < 0:
				// Leaves (internal/, samples/) may be used by anyone.
			case strings.HasPrefix(p, "internal/"):
				t.Errorf("%s (internal/, a leaf) depends on %s (layer %s)", p, d, order[ld])
			case lp >= 0 && ld < lp:
				t.Errorf("%s (layer %s) depends on %s (layer %s, above it)", p, order[lp], d, order[ld])
			case runtime(p) != "" && runtime(d) != "" && runtime(p) != runtime(d):
				t.Errorf("%s depends on %s: a runtime imports no other runtime", p, d)
			}
			checked++
		}
	}
	t.Logf("%d packages, %d arrows within the module checked; layers from the top: %s",
		len(pkgs), checked, strings.Join(order, " > "))
}
