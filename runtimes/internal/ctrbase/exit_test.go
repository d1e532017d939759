package ctrbase

import (
	"errors"
	"testing"

	"github.com/portico-dev/portico/runtimes"
)

// TestExitErr checks that container exit statuses read as Lambda quotes a
// runtime's exit in Runtime.ExitError: Go's os.ProcessState wording, with
// 128+N taken as a death by signal N.
func TestExitErr(t *testing.T) {
	for _, tc := range []struct {
		code   int64
		want   string // "" for nil
		signal string
	}{
		{0, "", ""},
		{1, "exit status 1", ""},
		{4, "exit status 4", ""},
		{128, "exit status 128", ""},
		{137, "signal: killed", "SIGKILL"},
		{139, "signal: segmentation fault", "SIGSEGV"},
		{143, "signal: terminated", "SIGTERM"},
		{255, "exit status 255", ""},
	} {
		err := ExitErr(tc.code)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ExitErr(%d) = %v, want nil", tc.code, err)
			}
			continue
		}
		var ee *runtimes.ExitError
		if !errors.As(err, &ee) || err.Error() != tc.want || ee.Signal != tc.signal {
			t.Errorf("ExitErr(%d) = %v (%#v), want %q with Signal %q", tc.code, err, ee, tc.want, tc.signal)
		}
	}
	if got := Killed(9).Error(); got != "signal: killed" {
		t.Errorf("Killed(SIGKILL) = %q, want %q", got, "signal: killed")
	}
}
