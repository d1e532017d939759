package main

import (
	"os"
	"strings"
	"testing"
	"time"

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

// TestInvokerLimitsZeroOrNegativeRefused is what the ops21 tester found: six
// invoker: keys took 0 or a negative value silently (as the default, or as
// a limit no call could meet). Each is refused at config load, naming the
// key, the value and what it takes; left out, the default holds, and a
// positive value is taken.
func TestInvokerLimitsZeroOrNegativeRefused(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"account-concurrency: 0", "invoker: account-concurrency 0 is not taken: give a positive number"},
		{"account-concurrency: -3", "invoker: account-concurrency -3 is not taken"},
		{"idle-timeout: 0s", "invoker: idle-timeout 0s is not taken: give a positive duration"},
		{"idle-timeout: -1m", "invoker: idle-timeout -1m0s is not taken"},
		{"unused-idle-timeout: 0s", "invoker: unused-idle-timeout 0s is not taken"},
		{"init-timeout: -2s", "invoker: init-timeout -2s is not taken"},
		{"queue-wait: 0s", "invoker: queue-wait 0s is not taken"},
		{"throttle-wait: -100ms", "invoker: throttle-wait -100ms is not taken"},
	} {
		t.Run(c.yaml, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if err := os.WriteFile("portico.yaml", []byte("invoker:\n  "+c.yaml+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := parseServe(t).settings()
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "leave it out for the default") {
				t.Errorf("settings() = %v, want an error containing %q and the default", err, c.want)
			}
		})
	}
	t.Chdir(t.TempDir())
	if err := os.WriteFile("portico.yaml", []byte("invoker:\n  account-concurrency: 7\n  throttle-wait: 1ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := parseServe(t).settings()
	if err != nil {
		t.Fatal(err)
	}
	ic, def := s.InvokerConfig(), invoker.DefaultConfig()
	if ic.AccountConcurrency != 7 || ic.ThrottleWait != time.Millisecond || ic.IdleTimeout != def.IdleTimeout || ic.QueueWait != def.QueueWait ||
		ic.InitTimeout != def.InitTimeout || ic.UnusedIdleTimeout != def.UnusedIdleTimeout {
		t.Errorf("invoker config %+v: want account-concurrency 7, throttle-wait 1ms and the defaults", ic)
	}
}
