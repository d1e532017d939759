package main

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/internal/shutdown"
)

// TestCutOffErrorSaysWhatWasLeft: a stop whose runtime could not remove what
// it held (its daemon did not answer) exits 1 saying what was left behind and
// that the next start on the data directory removes it, not that a timeout
// cut it off.
func TestCutOffErrorSaysWhatWasLeft(t *testing.T) {
	t.Parallel()
	err := cutOffError(app.Settings{DataDir: "/var/lib/portico"}, []shutdown.Cut{{Left: true,
		What: "what the containerd runtime still held of this instance (...), which it could not remove: containerd at /run/x.sock does not answer"}})
	msg := err.Error()
	for _, want := range []string{"stopped, but it left behind what the containerd runtime", "does not answer",
		"the next start on this data directory, /var/lib/portico, removes it"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error reads %q; want it to say %q", msg, want)
		}
	}
	if strings.Contains(msg, "shutdown-timeout") {
		t.Errorf("the error blames a timeout: %q", msg)
	}
}

// TestCutOffErrorNamesTheDaemonOnlyForDaemons: the process runtime has no
// daemon, so what it left is not said to go "once the daemon answers".
func TestCutOffErrorNamesTheDaemonOnlyForDaemons(t *testing.T) {
	t.Parallel()
	s := app.Settings{DataDir: "/var/lib/portico"}
	msg := cutOffError(s, []shutdown.Cut{{Left: true, What: "what the process runtime still held"}}).Error()
	if strings.Contains(msg, "daemon") {
		t.Errorf("the process runtime's error names a daemon: %q", msg)
	}
	msg = cutOffError(s, []shutdown.Cut{{Left: true, What: "what the docker runtime still held", Remedy: "start and stop Portico once the daemon answers"}}).Error()
	if !strings.HasSuffix(msg, "removes it; or start and stop Portico once the daemon answers)") {
		t.Errorf("the docker runtime's error reads %q; want it to end with the daemon's remedy", msg)
	}
}
