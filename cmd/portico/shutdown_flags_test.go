package main

import (
	"os"
	"strings"
	"testing"
)

// TestShutdownTimeoutNotPositiveRefused is what the store3 tester found:
// --shutdown-timeout 0s or a negative one (flag, environment or YAML) was
// taken, and a stop with a call in flight then answered its client nothing
// while the log claimed a 503. Such a value is refused at start.
func TestShutdownTimeoutNotPositiveRefused(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  string
		yaml string
		// source is how the refusal names where the value came from.
		source string
	}{
		{"flag 0s", []string{"--shutdown-timeout", "0s"}, "", "", "--shutdown-timeout 0s"},
		{"flag negative", []string{"--shutdown-timeout=-5s"}, "", "", "--shutdown-timeout -5s"},
		{"environment 0", nil, "0", "", "PORTICO_SHUTDOWN_TIMEOUT 0s"},
		{"config file negative", nil, "", "shutdown-timeout: -5s\n", "shutdown-timeout in portico.yaml:1 -5s"},
		// ops26 #7: a few nanoseconds were taken, giving calls no time.
		{"flag 1ns", []string{"--shutdown-timeout", "1ns"}, "", "", "--shutdown-timeout 1ns"},
		{"flag 999ms", []string{"--shutdown-timeout", "999ms"}, "", "", "--shutdown-timeout 999ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if c.env != "" {
				t.Setenv("PORTICO_SHUTDOWN_TIMEOUT", c.env)
			}
			if c.yaml != "" {
				if err := os.WriteFile("portico.yaml", []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := parseServe(t, c.args...).settings()
			if err == nil || !strings.Contains(err.Error(), c.source) || !strings.Contains(err.Error(), "give at least 1s") {
				t.Errorf("settings() = %v, want %q refused", err, c.source)
			}
		})
	}
	if _, err := parseServe(t, "--shutdown-timeout", "1s").settings(); err != nil {
		t.Errorf("--shutdown-timeout 1s: %v", err)
	}
}

// TestUnknownEnvNearMissWarned: PORTICO_ADMIN_TOKN (a typo in a systemd
// Environment= line) was ignored silently and the server started without the
// token meant; a near miss of a setting's variable is warned about at start,
// naming the one meant. The CLI's variables and ones far from every setting
// are left alone.
func TestUnknownEnvNearMissWarned(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("PORTICO_ADMIN_TOKN", "x")
	t.Setenv("PORTICO_LISTN", "127.0.0.1:1")
	t.Setenv("PORTICO_ENDPOINT", "http://127.0.0.1:9")
	t.Setenv("PORTICO_SOMETHING_ELSE_ENTIRELY", "1")
	s, err := parseServe(t).settings()
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(s.StartWarnings, "\n")
	for _, want := range []string{"PORTICO_ADMIN_TOKN is no setting and is ignored: did you mean PORTICO_ADMIN_TOKEN?",
		"PORTICO_LISTN is no setting and is ignored: did you mean PORTICO_LISTEN?"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings %q lack %q", all, want)
		}
	}
	if strings.Contains(all, "PORTICO_ENDPOINT") || strings.Contains(all, "PORTICO_SOMETHING") {
		t.Errorf("warnings %q name a variable they should leave alone", all)
	}
}
