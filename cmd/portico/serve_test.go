package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/portico-dev/portico/cmd/portico/app"
)

// parseServe runs serve's flag parsing on args and returns the merged settings.
func parseServe(t *testing.T, args ...string) *serveFlags {
	t.Helper()
	f := &serveFlags{}
	cmd := &cobra.Command{Use: "serve"}
	f.register(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(cfg, []byte("listen: ':7000'\ndata-dir: /from/yaml\nruntime: process\nlog-level: debug\ninvoker:\n  idle-timeout: 5m\n  max-spares: 0\nthrottle:\n  rate-limit: 50\n  burst-limit: 20\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORTICO_DATA_DIR", "/from/env")
	t.Setenv("PORTICO_LOG_LEVEL", "warn")
	f := parseServe(t, "--config", cfg, "--log-level", "error")
	s, err := f.settings()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, got, want string }{
		{"yaml over default", s.Listen, ":7000"},
		{"env over yaml", s.DataDir, "/from/env"},
		{"flag over env", s.LogLevel, "error"},
		{"yaml", s.Runtime, "process"},
		{"default", s.AdminListen, "127.0.0.1:9090"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if got := s.InvokerConfig().IdleTimeout; got != 5*time.Minute {
		t.Errorf("invoker idle-timeout = %v, want 5m", got)
	}
	if got := s.InvokerConfig().MaxSpares; got != 0 {
		t.Errorf("invoker max-spares = %d, want 0 (set explicitly)", got)
	}
	if got := s.Throttle; got.RateLimit != 50 || got.BurstLimit != 20 {
		t.Errorf("throttle = %+v, want rate 50 burst 20", got)
	}
	if s.SandboxAllowRoot {
		t.Error("sandbox-allow-root is on by default; container sandboxes must not run as root unless the operator says so")
	}
}

// TestSandboxAllowRoot checks the operator's opt-out of the non-root rule from
// each source, and that a value that is not a boolean is refused.
func TestSandboxAllowRoot(t *testing.T) {
	for _, c := range []struct {
		name, yaml, env string
		args            []string
		want            bool
	}{
		{"default", "", "", nil, false},
		{"yaml", "sandbox-allow-root: true\n", "", nil, true},
		{"env over yaml", "sandbox-allow-root: true\n", "false", nil, false},
		{"flag", "", "", []string{"--sandbox-allow-root"}, true},
		{"flag over env", "", "true", []string{"--sandbox-allow-root=false"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if c.yaml != "" {
				if err := os.WriteFile("portico.yaml", []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if c.env != "" {
				t.Setenv("PORTICO_SANDBOX_ALLOW_ROOT", c.env)
			}
			s, err := parseServe(t, c.args...).settings()
			if err != nil {
				t.Fatal(err)
			}
			if s.SandboxAllowRoot != c.want {
				t.Errorf("SandboxAllowRoot = %v, want %v", s.SandboxAllowRoot, c.want)
			}
		})
	}
	t.Setenv("PORTICO_SANDBOX_ALLOW_ROOT", "maybe")
	if _, err := parseServe(t).settings(); err == nil || !strings.Contains(err.Error(), "PORTICO_SANDBOX_ALLOW_ROOT") {
		t.Errorf("settings() with PORTICO_SANDBOX_ALLOW_ROOT=maybe = %v, want an error naming it", err)
	}
}

func TestSettingsRefused(t *testing.T) {
	cases := []struct {
		name string
		args []string
		yaml string
		want string
	}{
		{"admin off loopback without token", []string{"--admin-listen", "0.0.0.0:9090"}, "", "set --admin-token-file FILE (or PORTICO_ADMIN_TOKEN)"}, // ops23: the file first, not the flag ps shows
		// The loopback address offered keeps the port asked for (it offered 9090 whatever was asked).
		{"admin off loopback on another port", []string{"--admin-listen", "0.0.0.0:31791"}, "", "or use --admin-listen 127.0.0.1:31791"},
		{"admin on all addresses by port alone", []string{"--admin-listen", ":31792"}, "", "or use --admin-listen 127.0.0.1:31792"},
		{"admin off loopback with a short token", []string{"--admin-listen", "0.0.0.0:9090", "--admin-token", "hunter2"}, "",
			"the admin token from --admin-token has 7 characters other than spaces, too few"},
		{"short token from the config file", []string{"--admin-listen", ":9090"}, "admin-token: hunter2\n", "at least 32 characters"},
		// HTTP drops a header value's leading and trailing spaces: such a
		// token could never be presented (Bearer, --token, SigV4 all 403).
		{"token with a trailing space", []string{"--admin-token", "0123456789abcdef0123456789abcdef "}, "",
			"the admin token from --admin-token starts or ends with whitespace (a space, tab or newline)"},
		{"token with a leading space on loopback", []string{"--admin-listen", "127.0.0.1:9090", "--admin-token", " t"}, "",
			"remove it"},
		{"token with a newline from the config file", nil, "admin-token: \"0123456789abcdef0123456789abcdef\\n\"\n",
			"the admin token from admin-token in portico.yaml starts or ends with whitespace"},
		{"unknown runtime", []string{"--runtime", "kvm"}, "", "auto, process, docker or containerd"},
		{"callback-listen without a port", []string{"--callback-listen", "127.0.0.1"}, "", `--callback-listen "127.0.0.1": give host:port, or :port`},
		{"callback-listen clash", []string{"--admin-listen", "127.0.0.1:9090"}, "callback-listen: 127.0.0.1:9090\n", "--admin-listen 127.0.0.1:9090 and --callback-listen 127.0.0.1:9090 are the same address"},
		// A misspelt key: no Go type names, and the key it likely meant.
		// yaml.v3 names no line for a syntax error on line 1 (it named
		// line 2 and later): the line is added, and a tab is named as such.
		{"tab on line 1", nil, "\tlisten: ':1'\n",
			"config file portico.yaml: yaml: line 1: found character that cannot start any token (a tab: YAML indents with spaces, not tabs)"},
		{"tab on line 2", nil, "listen: ':1'\n\tadmin-listen: ':2'\n", "yaml: line 2: found character that cannot start any token (a tab"},
		// A file that is no mapping named app.Settings.
		{"top level not a mapping", nil, "listen 127.0.0.1:31414\n",
			"config file portico.yaml: yaml: unmarshal errors:\n  line 1: the file must be a mapping of keys (listen: ADDR), not the text \"listen 127.0.0.1:31414\": is a colon missing after the key?"},
		{"top level a list", nil, "- listen: 127.0.0.1:31414\n", "line 1: the file must be a mapping of keys (listen: ADDR), not a list: drop the leading `- `"},
		{"unknown config key", nil, "listne: ':1'\n", "line 1: unknown key listne at the top level (did you mean listen?)"},
		{"misspelt key", nil, "listn: ':1'\n", "line 1: unknown key listn at the top level (did you mean listen?)"},
		{"misspelt invoker key", nil, "invoker:\n  max-sandboxs: 5\n", "line 2: unknown key max-sandboxs under invoker: (did you mean max-sandboxes?)"},
		// A value of the wrong type names its key and what it takes, in the
		// file's terms (it said "cannot unmarshal !!str `lots` into int").
		{"wrong type for max-sandboxes", nil, "invoker:\n  max-sandboxes: lots\n",
			"config file portico.yaml: yaml: unmarshal errors:\n  line 2: invoker: max-sandboxes takes a whole number (256), not the text lots"},
		{"wrong type for a duration", nil, "invoker:\n  drain-timeout: [1]\n", "line 2: invoker: drain-timeout takes a duration (30s, 5m, 1h), not a list"},
		{"wrong type at the top level", nil, "listen: ':1'\nadmin-token: [a, b]\n", "line 2: admin-token takes text, not a list"},
		// ops11: a flag that is no key says so, and what to do.
		{"flag-only key", nil, "new-store: true\n", "line 1: new-store is a one-off flag, not a portico.yaml key: start once with --new-store (or PORTICO_NEW_STORE=true)"},
		// The flags --max-sandboxes and --drain-timeout are invoker: keys in
		// the file; a known key at the wrong level says where it goes.
		{"max-sandboxes at the top level", nil, "listen: ':1'\nmax-sandboxes: 5\n",
			"line 2: max-sandboxes goes under invoker:, not at the top level"},
		{"drain-timeout at the top level", nil, "drain-timeout: 10s\n", "drain-timeout goes under invoker:, not at the top level"},
		{"idle-timeout at the top level", nil, "idle-timeout: 1m\n",
			"idle-timeout goes under invoker:, listener:, admin-listener: or websocket:, not at the top level"},
		{"listen under invoker", nil, "invoker:\n  listen: ':1'\n", "listen goes at the top level, not under invoker:"},
		{"burst-limit under listener", nil, "listener:\n  burst-limit: 5\n", "burst-limit goes under throttle:, not under listener:"},
		{"negative throttle burst", nil, "throttle:\n  burst-limit: -1\n", "burst-limit"},
		// 0 took the default (10,000/5,000) silently.
		{"throttle rate 0", nil, "throttle:\n  rate-limit: 0\n  burst-limit: 0\n", "rate-limit 0 is not taken: leave it out for the default (10000 requests per second), or give a negative rate-limit"},
		{"throttle burst 0", nil, "throttle:\n  burst-limit: 0\n", "burst-limit 0 is not taken"},
		{"throttle rate NaN", nil, "throttle:\n  rate-limit: .nan\n", "is not a number"},
		{"unknown throttle key", nil, "throttle:\n  rate: 5\n", "field rate not found: use rate-limit and burst-limit"},
		{"no gateway listener at all", []string{"--listen", "off", "--tls-listen", "off"}, "", "leave the gateway no listener"},
		{"missing explicit config", []string{"--config", "/does/not/exist.yaml"}, "", "config file"},
		// 19m retired every sandbox as it started: every call hung.
		{"websocket credential-ttl under the minimum", nil, "websocket:\n  credential-ttl: 19m\n",
			"websocket: credential-ttl 19m0s is too short: give at least 40m0s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if c.yaml != "" {
				if err := os.WriteFile("portico.yaml", []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f := parseServe(t, c.args...)
			_, err := f.settings()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("settings() = %v, want an error mentioning %q", err, c.want)
			}
			if err != nil && (strings.Contains(err.Error(), "app.") || strings.Contains(err.Error(), "in type")) {
				t.Errorf("settings() = %v: it names Go's types", err)
			}
		})
	}
	t.Run("token with a trailing space from PORTICO_ADMIN_TOKEN", func(t *testing.T) {
		t.Chdir(t.TempDir())
		t.Setenv("PORTICO_ADMIN_TOKEN", "0123456789abcdef0123456789abcdef\t")
		if _, err := parseServe(t).settings(); err == nil || !strings.Contains(err.Error(), "the admin token from PORTICO_ADMIN_TOKEN starts or ends with whitespace") {
			t.Errorf("settings() = %v, want the token refused", err)
		}
	})
}

func TestDialURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"[::]:8080":      "http://127.0.0.1:8080",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		":9":             "http://127.0.0.1:9",
		"127.0.0.1:9090": "http://127.0.0.1:9090",
	} {
		if got := dialURL(in); got != want {
			t.Errorf("dialURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDevListensOnLoopbackByDefault: `portico dev` serves the gateway on
// 127.0.0.1 (as `sam local start-api` does) unless told otherwise by a flag,
// the environment or the config file; `portico serve` keeps every interface.
func TestDevListensOnLoopbackByDefault(t *testing.T) {
	parse := func(f *serveFlags, args ...string) app.Settings {
		t.Helper()
		cmd := &cobra.Command{Use: "x"}
		f.register(cmd)
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		s, err := f.settings()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Chdir(t.TempDir()) // no ./portico.yaml
	if s := parse(newDevFlags()); s.Listen != "127.0.0.1:8080" || s.TLSListen != "127.0.0.1:8443" {
		t.Errorf("dev listens on %q and %q by default; want loopback", s.Listen, s.TLSListen)
	}
	if s := parse(newDevFlags(), "--listen", ":8080"); s.Listen != ":8080" {
		t.Errorf("dev --listen :8080 listens on %q", s.Listen)
	}
	if s := parse(&serveFlags{}); s.Listen != ":8080" || s.TLSListen != ":8443" {
		t.Errorf("serve listens on %q and %q by default", s.Listen, s.TLSListen)
	}
	if err := os.WriteFile("portico.yaml", []byte("tls-listen: ':9443'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORTICO_LISTEN", "0.0.0.0:9000")
	if s := parse(newDevFlags()); s.Listen != "0.0.0.0:9000" || s.TLSListen != ":9443" {
		t.Errorf("dev with PORTICO_LISTEN and a config file listens on %q and %q", s.Listen, s.TLSListen)
	}
	var dev *cobra.Command
	for _, c := range newRoot().Commands() {
		if c.Name() == "dev" {
			dev = c
		}
	}
	if dev == nil || dev.Flags().Lookup("listen").DefValue != "127.0.0.1:8080" {
		t.Errorf("portico dev --help does not show the loopback default")
	}
}

// TestAdminTokenLengthAccepted: a token of 32 characters off loopback, and any
// token on loopback, are taken.
func TestAdminTokenLengthAccepted(t *testing.T) {
	for _, args := range [][]string{
		{"--admin-listen", "0.0.0.0:9090", "--admin-token", strings.Repeat("0123456789abcdef", 2)},
		{"--admin-listen", "127.0.0.1:9090", "--admin-token", "t"},
	} {
		t.Chdir(t.TempDir())
		if _, err := parseServe(t, args...).settings(); err != nil {
			t.Errorf("settings(%q) = %v", args, err)
		}
	}
}

// TestDrainTimeout: the invoker's drain of the calls in flight at a stop is
// --drain-timeout (PORTICO_DRAIN_TIMEOUT, invoker: drain-timeout, in that
// precedence) when set; unset, 10 s, or --shutdown-timeout less 20 s when
// that is longer, so that raising --shutdown-timeout gives calls the time too,
// but ending at least 2 s (or half of it) before --shutdown-timeout, so that
// the calls it cuts off are answered. A negative one is refused.
func TestDrainTimeout(t *testing.T) {
	dir := t.TempDir()
	yaml := filepath.Join(dir, "drain.yaml")
	if err := os.WriteFile(yaml, []byte("invoker:\n  drain-timeout: 7s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(dir, "none.yaml")
	if err := os.WriteFile(none, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  string
		args []string
		want time.Duration
	}{
		{"default", "", []string{"--config", none}, 10 * time.Second},
		{"follows --shutdown-timeout", "", []string{"--config", none, "--shutdown-timeout", "60s"}, 40 * time.Second},
		{"a short --shutdown-timeout", "", []string{"--config", none, "--shutdown-timeout", "15s"}, 10 * time.Second},
		// Ending with the graceful stop, the drain left its cut-off calls no
		// time to be answered (an empty reply).
		{"--shutdown-timeout 10s", "", []string{"--config", none, "--shutdown-timeout", "10s"}, 8 * time.Second},
		{"--shutdown-timeout 2s", "", []string{"--config", none, "--shutdown-timeout", "2s"}, time.Second},
		{"yaml", "", []string{"--config", yaml, "--shutdown-timeout", "60s"}, 7 * time.Second},
		{"env over yaml", "3s", []string{"--config", yaml}, 3 * time.Second},
		{"flag over env", "3s", []string{"--config", yaml, "--drain-timeout", "45s", "--shutdown-timeout", "60s"}, 45 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PORTICO_DRAIN_TIMEOUT", c.env)
			if c.env == "" {
				_ = os.Unsetenv("PORTICO_DRAIN_TIMEOUT")
			}
			s, err := parseServe(t, c.args...).settings()
			if err != nil {
				t.Fatal(err)
			}
			if got := s.InvokerConfig().DrainTimeout; got != c.want {
				t.Errorf("drain = %v, want %v", got, c.want)
			}
		})
	}
	// A drain timeout the shutdown timeout cuts short is warned of, naming
	// the drain in force (the log named the one set).
	for _, c := range []struct {
		args  []string
		force time.Duration
		warn  string
	}{
		{[]string{"--drain-timeout", "20s", "--shutdown-timeout", "6s"}, 4 * time.Second, "--drain-timeout (invoker: drain-timeout) 20s is not well below --shutdown-timeout 6s: calls in flight at a stop get 4s (the drain ends 2s before"},
		{[]string{"--drain-timeout", "5s", "--shutdown-timeout", "6s"}, 4 * time.Second, "calls in flight at a stop get 4s"},
		{[]string{"--drain-timeout", "4s", "--shutdown-timeout", "6s"}, 4 * time.Second, ""},
		{[]string{"--shutdown-timeout", "2s"}, time.Second, ""},
		{nil, 10 * time.Second, ""},
	} {
		s, err := parseServe(t, append([]string{"--config", none}, c.args...)...).settings()
		if err != nil {
			t.Fatal(err)
		}
		if got := s.DrainInForce(); got != c.force {
			t.Errorf("%v: drain in force = %v, want %v", c.args, got, c.force)
		}
		if got := s.DrainWarning(); (c.warn == "") != (got == "") || !strings.Contains(got, c.warn) {
			t.Errorf("%v: warning %q, want %q", c.args, got, c.warn)
		}
	}
	if _, err := parseServe(t, "--config", none, "--drain-timeout", "-1s").settings(); err == nil || !strings.Contains(err.Error(), "drain-timeout") {
		t.Errorf("a negative --drain-timeout: %v, want it refused", err)
	}
}

// TestAccessLogDirSettings: --access-log-dir repeats or takes commas and
// replaces the variable's list, which replaces portico.yaml's; unset, the
// default is /var/log/portico and DATA-DIR/logs; a relative directory is
// refused (obs11).
func TestAccessLogDirSettings(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "portico.yaml")
	if err := os.WriteFile(cfg, []byte("data-dir: /srv/data\naccess-log-dir: [/from/yaml]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := parseServe(t, "--data-dir", "/srv/data").settings()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.AccessLogDirsOrDefault(), " "); got != "/var/log/portico /srv/data/logs" {
		t.Errorf("default: %q", got)
	}
	if _, err := parseServe(t, "--access-log-dir", "logs").settings(); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("a relative directory: %v", err)
	}
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"", nil, "/from/yaml"},
		{"/e1,/e2", nil, "/e1 /e2"},
		{"/e1", []string{"--access-log-dir", "/f1", "--access-log-dir", "/f2,/f3"}, "/f1 /f2 /f3"},
	} {
		if c.env != "" {
			t.Setenv("PORTICO_ACCESS_LOG_DIR", c.env)
		}
		s, err := parseServe(t, append([]string{"--config", cfg}, c.args...)...).settings()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(s.AccessLogDirsOrDefault(), " "); got != c.want {
			t.Errorf("env %q args %q: %q, want %q", c.env, c.args, got, c.want)
		}
	}
}

// TestSettingsRefusedNameTheSource is ops23: values that were silently taken
// as something else are refused (negative websocket limits became the
// default; gateway-max-conns, -max-conns-per-ip and -max-unread-bytes took any
// negative as "no bound", where -1 is the one documented; an empty --listen
// bound every interface), and each refusal names where the value came from:
// the flag, the variable, or the config file and its line (log-level, runtime
// and listener-engine from the file or a variable were reported as flags).
func TestSettingsRefusedNameTheSource(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		yaml string
		want string
	}{
		{"negative websocket size", nil, nil, "websocket:\n  max-frame-bytes: -1\n",
			`websocket: max-frame-bytes -1 is not taken: give a positive number, or leave it out for the default (32768); it has no "off" value (websocket in portico.yaml:1)`},
		{"negative websocket duration", nil, nil, "listen: ':1'\nwebsocket:\n  write-timeout: -1s\n",
			"websocket: write-timeout -1s is not taken: give a positive duration, or leave it out for the default (10s)"},
		{"negative websocket rate", nil, nil, "websocket:\n  message-rate: -5\n", "message-rate -5 is not taken"},
		{"gateway-max-conns below -1", nil, nil, "gateway-max-conns: -7\n", "gateway-max-conns in portico.yaml:1 -7 is not taken: give a positive number of connections, leave it out (or 0) for the default"},
		{"gateway-max-unread-bytes below -1", nil, nil, "\ngateway-max-unread-bytes: -7\n", "gateway-max-unread-bytes in portico.yaml:2 -7 is not taken"},
		{"gateway-max-conns-per-ip below -1", nil, nil, "gateway-max-conns-per-ip: -3\n", "gateway-max-conns-per-ip in portico.yaml:1 -3 is not taken"},
		{"log-level from the file", nil, nil, "log-level: loud\n", `log-level in portico.yaml:1 "loud": use debug, info, warn or error`},
		{"log-level from the variable", nil, map[string]string{"PORTICO_LOG_LEVEL": "loud"}, "", `PORTICO_LOG_LEVEL "loud": use debug`},
		{"log-level from the flag", []string{"--log-level", "loud"}, nil, "", `--log-level "loud": use debug`},
		{"runtime from the file", nil, nil, "runtime: podman\n", `runtime in portico.yaml:1 "podman": use auto, process, docker or containerd`},
		{"listener-engine from the variable", nil, map[string]string{"PORTICO_LISTENER_ENGINE": "fast"}, "", `PORTICO_LISTENER_ENGINE: gateway: unknown listener engine "fast"`},
		{"empty --listen", []string{"--listen", ""}, map[string]string{"PORTICO_LISTEN": "127.0.0.1:31999"}, "",
			"--listen is empty (an unset shell variable?): give an address, HOST:PORT (:PORT for every interface), or off to turn the listener off"},
		{"empty --admin-listen", []string{"--admin-listen", ""}, nil, "", "--admin-listen is empty (an unset shell variable?): give an address, HOST:PORT (:PORT for every interface)"},
		{"empty PORTICO_TLS_LISTEN", nil, map[string]string{"PORTICO_TLS_LISTEN": ""}, "", "PORTICO_TLS_LISTEN is empty"},
		{"empty listen in the file", nil, nil, "listen: ''\n", "listen in portico.yaml:1 is empty: give an address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			if c.yaml != "" {
				if err := os.WriteFile("portico.yaml", []byte(c.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := parseServe(t, c.args...).settings()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("settings() = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	// -1, the documented "no bound", is taken.
	t.Run("-1 is no bound", func(t *testing.T) {
		t.Chdir(t.TempDir())
		if err := os.WriteFile("portico.yaml", []byte("gateway-max-conns: -1\ngateway-max-unread-bytes: -1\ngateway-max-conns-per-ip: -1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := parseServe(t).settings(); err != nil {
			t.Errorf("settings() = %v, want -1 taken as no bound", err)
		}
	})
}
