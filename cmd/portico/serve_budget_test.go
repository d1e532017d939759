package main

import (
	"os"
	"strings"
	"testing"

	"github.com/portico-dev/portico/invoker"
)

// TestSandboxBudgetZeroRefused: a sandbox budget of 0 (max-sandboxes or
// max-memory, from a flag, the environment or portico.yaml) is refused as -5
// is; it quietly took the default (256 sandboxes) instead. Left out, the
// defaults hold, and -1 still means no cap.
func TestSandboxBudgetZeroRefused(t *testing.T) {
	refused := []struct {
		name, env, yaml string
		args            []string
		want            string
	}{
		{name: "flag", args: []string{"--max-sandboxes", "0"}, want: "max-sandboxes) 0 is not taken"},
		{name: "env", env: "0", want: "max-sandboxes) 0 is not taken"},
		{name: "yaml max-sandboxes", yaml: "invoker:\n  max-sandboxes: 0\n", want: "max-sandboxes) 0 is not taken"},
		{name: "yaml max-memory", yaml: "invoker:\n  max-memory: 0\n", want: "max-memory 0 is not taken"},
		{name: "negative", args: []string{"--max-sandboxes", "-5"}, want: "max-sandboxes) -5 is not taken"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if c.env != "" {
				t.Setenv("PORTICO_MAX_SANDBOXES", c.env)
			}
			if c.yaml != "" {
				if err := os.WriteFile("portico.yaml", []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := parseServe(t, c.args...).settings()
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "-1 for no cap") {
				t.Errorf("settings() = %v, want an error mentioning %q and -1 for no cap", err, c.want)
			}
		})
	}
	def := invoker.DefaultConfig()
	defMB := def.MaxMemoryMB // three quarters of the host's memory; no cap where that is unknown
	if defMB <= 0 {
		defMB = -1
	}
	for _, c := range []struct {
		name, yaml string
		args       []string
		wantN      int
		wantMB     int64
	}{
		{name: "left out", wantN: def.MaxSandboxes, wantMB: defMB},
		{name: "no cap", args: []string{"--max-sandboxes", "-1"}, yaml: "invoker:\n  max-memory: -1\n", wantN: -1, wantMB: -1},
		{name: "set", yaml: "invoker:\n  max-sandboxes: 3\n  max-memory: 512\n", wantN: 3, wantMB: 512},
		{name: "other invoker keys only", yaml: "invoker:\n  idle-timeout: 5m\n", wantN: def.MaxSandboxes, wantMB: defMB},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if c.yaml != "" {
				if err := os.WriteFile("portico.yaml", []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := parseServe(t, c.args...).settings()
			if err != nil {
				t.Fatal(err)
			}
			if ic := s.InvokerConfig(); ic.MaxSandboxes != c.wantN || ic.MaxMemoryMB != c.wantMB {
				t.Errorf("budget %d sandboxes, %d MB; want %d, %d", ic.MaxSandboxes, ic.MaxMemoryMB, c.wantN, c.wantMB)
			}
		})
	}
}

// TestSettingsErrorsNameTheVariable: an invalid value from PORTICO_DRAIN_TIMEOUT
// or PORTICO_TRUSTED_PROXIES is reported with the variable's name, as the other
// variables are: an operator whose unit file sets it finds no flag to look for.
func TestSettingsErrorsNameTheVariable(t *testing.T) {
	for env, val := range map[string]string{
		"PORTICO_DRAIN_TIMEOUT":   "-1s",
		"PORTICO_TRUSTED_PROXIES": "notacidr",
	} {
		t.Run(env, func(t *testing.T) {
			t.Chdir(t.TempDir())
			t.Setenv(env, val)
			if _, err := parseServe(t).settings(); err == nil || !strings.Contains(err.Error(), env) {
				t.Errorf("settings() with %s=%s = %v, want an error naming %s", env, val, err, env)
			}
		})
	}
}
