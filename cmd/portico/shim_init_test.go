package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSandboxShimRunsBeforeHeavyInits checks that the process runtime's mount
// shim (runtimes/process/internal/shim), which every process sandbox with
// volumes starts as (Portico's own binary, re-executed), does its work before
// Go initializes the packages of Portico's whose inits are heavy: a JSON
// schema compiler, gRPC, kin-openapi, Prometheus, Portico's own. Those
// took most of a shim's start (tens of milliseconds on a busy host) while the
// shim needs none of them. The shim is given volumes it cannot read, so it
// fails (exit 126) at its first step; Go's init trace says what ran before.
func TestSandboxShimRunsBeforeHeavyInits(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$") //nolint:gosec // G204: this test binary
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1",
		"_PORTICO_PROCESS_SHIM=run", "_PORTICO_PROCESS_SHIM_MOUNTS=not json") // shim.Env, shim.MountsEnv
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 126 || !strings.Contains(string(out), "reading the volumes to mount") {
		t.Fatalf("the shim with unreadable volumes: %v\n%s\nwant exit status 126 (shim.Failed) saying it could not read them", err, out)
	}
	var inited []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "init" && strings.HasPrefix(f[2], "@") {
			inited = append(inited, f[1])
		}
	}
	if len(inited) == 0 {
		t.Fatalf("no init trace (GODEBUG=inittrace=1) in the shim's output:\n%s", out)
	}
	heavy := map[string]bool{
		"github.com/santhosh-tekuri/jsonschema/v6": true, "google.golang.org/grpc": true, "github.com/getkin/kin-openapi/openapi3": true,
		"github.com/prometheus/client_golang/prometheus": true, "github.com/portico-dev/portico/gateway": true,
		"github.com/portico-dev/portico/functions": true, "github.com/portico-dev/portico/admin": true,
	}
	for _, pkg := range inited {
		if heavy[pkg] {
			t.Errorf("package %s was initialized before the shim ran (%d packages in all)", pkg, len(inited))
		}
	}
}
