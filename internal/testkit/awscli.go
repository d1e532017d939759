package testkit

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

var errNotV2 = errors.New("not the AWS CLI v2")

// AWSCLI returns the path of a working AWS CLI v2 (the tests use its v2
// behaviour; a v1 on the PATH counts as none). Without one the test is skipped,
// unless REQUIRE_AWSCLI=1 (as .ci/run sets it): then it fails, so a CI machine
// that lost the CLI does not pass by skipping.
func AWSCLI(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err == nil {
		var out []byte
		if out, err = exec.Command(path, "--version").CombinedOutput(); err != nil {
			err = &cliError{err: err, out: string(out)}
		} else if !strings.HasPrefix(string(out), "aws-cli/2") {
			err = &cliError{err: errNotV2, out: string(out)}
		}
	}
	if err == nil {
		return path
	}
	if os.Getenv("REQUIRE_AWSCLI") == "1" {
		t.Fatalf("REQUIRE_AWSCLI=1 but the AWS CLI is unusable: %v (Debian: apt-get install awscli, and /usr/bin ahead of any v1 on the PATH)", err)
	}
	t.Skipf("the AWS CLI is unusable (%v); install it (Debian: awscli) to run this test", err)
	return ""
}

type cliError struct {
	err error
	out string
}

func (e *cliError) Error() string { return "aws --version: " + e.err.Error() + ": " + e.out }
