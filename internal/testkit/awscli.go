package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// AWSCLI returns the path of a working AWS CLI. Without one the test is skipped,
// unless REQUIRE_AWSCLI=1 (as .ci/run sets it): then it fails, so a CI machine
// that lost the CLI does not pass by skipping.
func AWSCLI(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err == nil {
		var out []byte
		if out, err = exec.Command(path, "--version").CombinedOutput(); err != nil {
			err = &cliError{err: err, out: string(out)}
		}
	}
	if err == nil {
		return path
	}
	if os.Getenv("REQUIRE_AWSCLI") == "1" {
		t.Fatalf("REQUIRE_AWSCLI=1 but the AWS CLI is unusable: %v (Debian: apt-get install awscli)", err)
	}
	t.Skipf("the AWS CLI is unusable (%v); install it (Debian: awscli) to run this test", err)
	return ""
}

type cliError struct {
	err error
	out string
}

func (e *cliError) Error() string { return "aws --version: " + e.err.Error() + ": " + e.out }
