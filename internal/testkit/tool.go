package testkit

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Required reports whether a missing tool or daemon must fail a test rather
// than skip it: under CI=true, or with any REQUIRE_* variable set to 1 (as
// .ci/run sets them), the machine is meant to have everything the tests use.
func Required() bool {
	if os.Getenv("CI") == "true" {
		return true
	}
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "REQUIRE_") && v == "1" {
			return true
		}
	}
	return false
}

// Tool returns the path of the program name on the PATH. Without it the test
// is skipped, why saying what needs it; or fails when Required, so that a CI
// machine that lost the tool does not pass by skipping.
func Tool(t testing.TB, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if Required() {
		t.Fatalf("no %s on the PATH (%s), and CI=true or a REQUIRE_* setting makes that a failure: %v", name, why, err)
	}
	t.Skipf("no %s on the PATH (%s); CI=true or REQUIRE_*=1 makes this a failure", name, why)
	return ""
}
