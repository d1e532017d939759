package process

import (
	"log/slog"
	"strings"
	"testing"
)

// TestRootIsWarnedOf: a process runtime whose server runs as root warns, once
// at its start, that its sandboxes run as root, which the code directory's
// read-only modes do not stop; as another user it says nothing of it.
func TestRootIsWarnedOf(t *testing.T) {
	for _, tc := range []struct {
		euid int
		warn bool
	}{{0, true}, {1000, false}} {
		var logs strings.Builder
		if _, err := newLogged(t.TempDir(), 0, slog.New(slog.NewTextHandler(&logs, nil)), tc.euid); err != nil {
			t.Fatal(err)
		}
		got := strings.Count(logs.String(), "level=WARN msg=\"process runtime: Portico runs as root")
		if want := map[bool]int{true: 1, false: 0}[tc.warn]; got != want {
			t.Errorf("euid %d: logged %q; want the warning %d time(s)", tc.euid, logs.String(), want)
		}
		if tc.warn && !strings.Contains(logs.String(), "write to its code directory") {
			t.Errorf("euid 0: the warning does not say what root can do: %q", logs.String())
		}
	}
}
