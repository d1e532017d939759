package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/dig"
	"go.uber.org/fx"
	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/internal/buildinfo"
	"github.com/portico-dev/portico/internal/gctune"
	"github.com/portico-dev/portico/internal/logqueue"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/procs"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/internal/suggest"
	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/store"
)

// serveFlags are the flags of `portico serve` (and `portico dev`). Only flags the
// user set override the environment and the config file.
type serveFlags struct {
	config string
	vals   app.Settings
	fs     *pflag.FlagSet
	// defaults, when set, changes the defaults (dev listens on loopback).
	defaults func(*app.Settings)
}

// base returns the defaults the flags start from.
func (f *serveFlags) base() app.Settings {
	d := app.Defaults()
	if f.defaults != nil {
		f.defaults(&d)
	}
	return d
}

func (f *serveFlags) register(cmd *cobra.Command) {
	d := f.base()
	fl := cmd.Flags()
	f.fs = fl
	fl.StringVar(&f.config, "config", "", "config file (YAML; default ./portico.yaml when it exists; env PORTICO_CONFIG)")
	fl.StringVar(&f.vals.Listen, "listen", d.Listen, "gateway plain HTTP listen address, \"off\" for none (HTTPS only) (env PORTICO_LISTEN)")
	fl.StringVar(&f.vals.TLSListen, "tls-listen", d.TLSListen, "gateway TLS listen address, \"off\" for none; listens when a certificate exists (env PORTICO_TLS_LISTEN)")
	fl.StringVar(&f.vals.ListenerEngine, "listener-engine", "", "gateway listener engine: h1 (Portico's own HTTP/1.1 and, over TLS, HTTP/2 servers), net/http (net/http's server for both; refuses chunked requests) or nbio (experimental: plain HTTP on a loopback address only, no WebSocket APIs); default "+gateway.DefaultEngine+" (env PORTICO_LISTENER_ENGINE)")
	fl.StringVar(&f.vals.TLSCert, "tls-cert", "", "gateway certificate chain, a PEM `FILE`, reloaded on change; default: the development certificate that 'portico tls init' makes (env PORTICO_TLS_CERT)")
	fl.StringVar(&f.vals.TLSKey, "tls-key", "", "key of --tls-cert, a PEM `FILE` (env PORTICO_TLS_KEY)")
	fl.StringVar(&f.vals.AdminListen, "admin-listen", d.AdminListen, "admin API listen address (env PORTICO_ADMIN_LISTEN)")
	fl.StringVar(&f.vals.CallbackListen, "callback-listen", "", "listen address of the sandbox-facing @connections endpoint that functions call: host:port, or :port on the runtime's host address; default the runtime's host address, any port (env PORTICO_CALLBACK_LISTEN)")
	fl.StringVar(&f.vals.AdminToken, "admin-token", "", "bearer token the admin API requires; needed off loopback; shows in ps: prefer --admin-token-file or the variable (env PORTICO_ADMIN_TOKEN)")
	fl.StringVar(&f.vals.AdminTokenFile, "admin-token-file", "", "`FILE` holding the admin token on one line, read at start: the recommended way, shown neither in ps nor in the config file; keep it mode 0600 (env PORTICO_ADMIN_TOKEN_FILE)")
	fl.StringVar(&f.vals.DataDir, "data-dir", d.DataDir, "data directory (env PORTICO_DATA_DIR)")
	fl.StringVar(&f.vals.Runtime, "runtime", d.Runtime, "sandbox runtime: auto, process, docker or containerd (env PORTICO_RUNTIME)")
	fl.StringVar(&f.vals.ContainerdSocket, "containerd-socket", d.ContainerdSocket, "containerd socket for --runtime containerd (env PORTICO_CONTAINERD_SOCKET)")
	fl.BoolVar(&f.vals.SandboxAllowRoot, "sandbox-allow-root", false, "opt out of the non-root rule: container sandboxes run as their image's USER even when it is root (Zip functions as root); default: never uid 0, sbx_user1051 (993:990) unless the image names a non-root USER (env PORTICO_SANDBOX_ALLOW_ROOT)")
	fl.StringVar(&f.vals.Domain, "domain", d.Domain, "gateway base domain: {apiId}.DOMAIN (env PORTICO_DOMAIN)")
	fl.StringVar(&f.vals.LogLevel, "log-level", d.LogLevel, "log level: debug, info, warn, error (env PORTICO_LOG_LEVEL)")
	fl.StringVar(&f.vals.MetricsListen, "metrics-listen", "", "also serve GET /metrics, without the admin token, on this address (env PORTICO_METRICS_LISTEN)")
	fl.StringVar(&f.vals.OTLPEndpoint, "otlp-endpoint", "", "OpenTelemetry collector (OTLP/HTTP, http://host:4318) for the traces of stages with tracingEnabled; default OTEL_EXPORTER_OTLP_ENDPOINT (env PORTICO_OTLP_ENDPOINT)")
	fl.DurationVar(&f.vals.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "how long a graceful stop may take (env PORTICO_SHUTDOWN_TIMEOUT)")
	fl.DurationVar(&f.vals.Invoker.DrainTimeout, "drain-timeout", 0, "how long calls in flight may run once a stop begins, within --shutdown-timeout, before they are cut off (answered: Lambda Invoke 503, a gateway route 500); default 10s, or --shutdown-timeout less 20s when that is longer; always ending 2s (or half of --shutdown-timeout) before it, so the calls cut off are answered (env PORTICO_DRAIN_TIMEOUT)")
	fl.StringVar(&f.vals.TrustedProxies, "trusted-proxies", "", "comma-separated CIDR blocks of proxies whose X-Forwarded-For sets the client's source IP, and whose X-Forwarded-Proto: https makes the console's cookie Secure (env PORTICO_TRUSTED_PROXIES)")
	fl.StringVar(&f.vals.IAMKeyFile, "iam-key-file", "", "file holding the key that seals IAM secret access keys; default DATA-DIR.iam-key beside the data directory (env PORTICO_IAM_KEY_FILE)")
	fl.BoolVar(&f.vals.NewStore, "new-store", false, "start with a new, empty store in a data directory that has no portico.db (or an empty one) though an earlier server kept functions in it, which is otherwise refused (env PORTICO_NEW_STORE)")
	fl.StringSliceVar(&f.vals.AccessLogDirs, "access-log-dir", nil, "`DIR` stages' access logs may be written to as files; repeat, or separate with commas, for more; default "+app.DefaultAccessLogDir+" and DATA-DIR/logs (env PORTICO_ACCESS_LOG_DIR)")
	fl.IntVar(&f.vals.Invoker.MaxSandboxes, "max-sandboxes", invoker.DefaultConfig().MaxSandboxes, "sandboxes running at once across all functions; -1: no cap (env PORTICO_MAX_SANDBOXES)")
}

// settings merges, from lowest to highest precedence: defaults, the config file,
// PORTICO_* environment variables, flags the user set.
func (f *serveFlags) settings() (app.Settings, error) {
	s := f.base()
	path, explicit := f.config, f.config != ""
	if !explicit {
		if p := os.Getenv("PORTICO_CONFIG"); p != "" {
			path, explicit = p, true
		} else {
			path = "portico.yaml"
		}
	}
	raw, err := os.ReadFile(path) //nolint:gosec // G703: the user's own --config file
	var cfgMode fs.FileMode
	cfgToken := false
	switch {
	case err == nil:
		if st, err := os.Stat(path); err == nil { //nolint:gosec // G703: the user's own --config file
			cfgMode = st.Mode()
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
			return s, fmt.Errorf("config file %s: %w", path, placeKeys(syntaxLine(err, raw), raw, reflect.TypeFor[app.Settings]()))
		}
		cfgToken = s.AdminToken != ""
		s.Sources = fileSources(raw, path)
	case explicit || !errors.Is(err, fs.ErrNotExist):
		return s, fmt.Errorf("config file: %w", err)
	}
	type setting struct {
		flag, env string
		str       *string
		dur       *time.Duration
		num       *int
		yes       *bool
	}
	table := []setting{
		{"listen", "PORTICO_LISTEN", &s.Listen, nil, nil, nil},
		{"admin-listen", "PORTICO_ADMIN_LISTEN", &s.AdminListen, nil, nil, nil},
		{"tls-listen", "PORTICO_TLS_LISTEN", &s.TLSListen, nil, nil, nil},
		{"callback-listen", "PORTICO_CALLBACK_LISTEN", &s.CallbackListen, nil, nil, nil},
		{"listener-engine", "PORTICO_LISTENER_ENGINE", &s.ListenerEngine, nil, nil, nil},
		{"tls-cert", "PORTICO_TLS_CERT", &s.TLSCert, nil, nil, nil},
		{"tls-key", "PORTICO_TLS_KEY", &s.TLSKey, nil, nil, nil},
		{"admin-token", "PORTICO_ADMIN_TOKEN", &s.AdminToken, nil, nil, nil},
		{"admin-token-file", "PORTICO_ADMIN_TOKEN_FILE", &s.AdminTokenFile, nil, nil, nil},
		{"data-dir", "PORTICO_DATA_DIR", &s.DataDir, nil, nil, nil},
		{"runtime", "PORTICO_RUNTIME", &s.Runtime, nil, nil, nil},
		{"domain", "PORTICO_DOMAIN", &s.Domain, nil, nil, nil},
		{"containerd-socket", "PORTICO_CONTAINERD_SOCKET", &s.ContainerdSocket, nil, nil, nil},
		{"log-level", "PORTICO_LOG_LEVEL", &s.LogLevel, nil, nil, nil},
		{"metrics-listen", "PORTICO_METRICS_LISTEN", &s.MetricsListen, nil, nil, nil},
		{"otlp-endpoint", "PORTICO_OTLP_ENDPOINT", &s.OTLPEndpoint, nil, nil, nil},
		{"shutdown-timeout", "PORTICO_SHUTDOWN_TIMEOUT", nil, &s.ShutdownTimeout, nil, nil},
		{"drain-timeout", "PORTICO_DRAIN_TIMEOUT", nil, &s.Invoker.DrainTimeout, nil, nil},
		{"trusted-proxies", "PORTICO_TRUSTED_PROXIES", &s.TrustedProxies, nil, nil, nil},
		{"iam-key-file", "PORTICO_IAM_KEY_FILE", &s.IAMKeyFile, nil, nil, nil},
		{"max-sandboxes", "PORTICO_MAX_SANDBOXES", nil, nil, &s.Invoker.MaxSandboxes, nil},
		{"sandbox-allow-root", "PORTICO_SANDBOX_ALLOW_ROOT", nil, nil, nil, &s.SandboxAllowRoot},
		{"new-store", "PORTICO_NEW_STORE", nil, nil, nil, &s.NewStore},
	}
	envs := []string{"PORTICO_ACCESS_LOG_DIR", "PORTICO_CONFIG"}
	for _, st := range table {
		envs = append(envs, st.env)
	}
	s.StartWarnings = append(s.StartWarnings, unknownEnv(os.Environ(), envs)...)
	for _, st := range table {
		val, set := os.LookupEnv(st.env)
		if f.fs.Changed(st.flag) {
			val, set = f.fs.Lookup(st.flag).Value.String(), true
		}
		if !set {
			continue
		}
		if s.Sources == nil {
			s.Sources = map[string]string{}
		}
		if f.fs.Changed(st.flag) {
			s.Sources[st.flag] = "--" + st.flag
		} else {
			s.Sources[st.flag] = st.env
		}
		if st.str != nil {
			*st.str = val
			continue
		}
		if st.yes != nil {
			b, err := strconv.ParseBool(val)
			if err != nil {
				return s, fmt.Errorf("%s / --%s %q: not true or false", st.env, st.flag, val)
			}
			*st.yes = b
			continue
		}
		if st.num != nil {
			n, err := strconv.Atoi(val)
			if err != nil {
				return s, fmt.Errorf("%s / --%s %q: not a whole number", st.env, st.flag, val)
			}
			*st.num = n
			continue
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			return s, fmt.Errorf("%s / --%s %q: %w", st.env, st.flag, val, err)
		}
		*st.dur = d
	}
	// A list: the flag repeated or comma-separated, the variable
	// comma-separated; either replaces the config file's list.
	if f.fs.Changed("access-log-dir") {
		s.AccessLogDirs, _ = f.fs.GetStringSlice("access-log-dir")
	} else if v, ok := os.LookupEnv("PORTICO_ACCESS_LOG_DIR"); ok {
		s.AccessLogDirs = strings.FieldsFunc(v, func(r rune) bool { return r == ',' })
	}
	if err := checkListensGiven(&s); err != nil {
		return s, err
	}
	if err := expandHomes(&s); err != nil {
		return s, err
	}
	if err := f.adminTokenSources(&s, path, cfgMode, cfgToken); err != nil {
		return s, err
	}
	if err := s.Validate(); err != nil {
		if len(s.StartWarnings) > 0 {
			// Said at start, which this refusal prevents: said here
			// (a token file others can read, say).
			return s, fmt.Errorf("%w; also: %s", err, strings.Join(s.StartWarnings, "; "))
		}
		return s, err
	}
	return s, nil
}

// fileSources names, for each top-level key of the config file raw (at
// path), where its value came from: "KEY in PATH:LINE", for errors that
// refuse the value (app.Settings.Source).
func fileSources(raw []byte, path string) map[string]string {
	out := map[string]string{}
	var doc yaml.Node
	if yaml.Unmarshal(raw, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return out
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		out[k.Value] = fmt.Sprintf("%s in %s:%d", k.Value, path, k.Line)
	}
	return out
}

// checkListensGiven refuses a listen address given empty (--listen "", as
// --listen "$ADDR" gives with ADDR unset; PORTICO_LISTEN=; listen: "" in the
// config file): taken as the default, it bound every interface with nothing
// said. The defaults are not empty, so an empty value was given.
func checkListensGiven(s *app.Settings) error {
	for _, l := range []struct {
		key, val string
		off      bool // "off" turns it off
	}{{"listen", s.Listen, true}, {"tls-listen", s.TLSListen, true}, {"admin-listen", s.AdminListen, false}} {
		if l.val != "" {
			continue
		}
		src, why, fix := s.Source(l.key), " (an unset shell variable?)", "give an address, HOST:PORT (:PORT for every interface)"
		if strings.Contains(src, " in ") {
			why = "" // the config file's
		}
		if l.off {
			fix += ", or off to turn the listener off"
		}
		return fmt.Errorf("%s is empty%s: %s", src, why, fix)
	}
	return nil
}

// absPath is path made absolute against the working directory, as the
// server resolves it (a relative data-dir in the config file too: under
// systemd the working directory is /), for the log; path itself if that
// fails.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// expandHomes expands a leading ~/ (or a lone ~) in s's paths to the home
// directory, as a shell would: data-dir: ~/pd in the config file, or
// --data-dir=~/pd, which no shell expands, made a directory named ~.
func expandHomes(s *app.Settings) error {
	for _, p := range []struct {
		key string
		val *string
	}{
		{"data-dir", &s.DataDir}, {"admin-token-file", &s.AdminTokenFile}, {"tls-cert", &s.TLSCert},
		{"tls-key", &s.TLSKey}, {"iam-key-file", &s.IAMKeyFile},
	} {
		if err := expandHome(p.key, p.val); err != nil {
			return err
		}
	}
	for i := range s.AccessLogDirs {
		if err := expandHome("access-log-dir", &s.AccessLogDirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// expandHome expands a leading ~/ (or a lone ~) in *path, the setting key's,
// to the home directory.
func expandHome(key string, path *string) error {
	p := *path
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return fmt.Errorf("--%s (%s) %q: ~ cannot be expanded (%w): give the path without ~", key, key, p, err)
	}
	*path = filepath.Join(home, p[1:])
	return nil
}

func newServeCmd() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway, the function runtime and the admin API",
		Long: `Run Portico: the gateway listener (--listen), the admin API (--admin-listen) and the
function sandboxes, with state in --data-dir.

Settings come from flags, then PORTICO_* environment variables, then portico.yaml
(--config), then defaults. portico.yaml uses the flag names as keys, e.g.

  listen: ":8080"
  admin-listen: 127.0.0.1:9090
  data-dir: /var/lib/portico
  runtime: process
  invoker:
    account-concurrency: 1000
    idle-timeout: 10m
    max-spares: 16
    max-sandboxes: 256
    max-memory: 4096        # MB; default: 3/4 of the host's memory
    unused-idle-timeout: 60s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.settings()
			if err != nil {
				return err
			}
			return runServer(cmd.Context(), s, nil)
		},
	}
	f.register(cmd)
	return cmd
}

// newLogger returns the process logger: text to out at the settings' level.
func newLogger(s app.Settings, out io.Writer) (*slog.Logger, error) {
	level, err := app.ParseLevel(s.LogLevel)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})), nil
}

// logDropped counts the server log's lines its queue dropped
// (portico_log_dropped_total).
func logDropped(q *logqueue.Writer) fx.Option {
	return fx.Invoke(func(reg prometheus.Registerer) error {
		return reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "portico_log_dropped_total",
			Help: "Server log lines dropped because its output (stderr) did not take them (whatever reads it blocked, or went away)."},
			func() float64 { return float64(q.Dropped()) }))
	})
}

// logFlushTimeout bounds how long the exit waits for the server log's queue
// to be written.
const logFlushTimeout = 2 * time.Second

// started is called once the server runs, with the base URLs of the admin API and
// of the gateway.
type started func(ctx context.Context, adminURL, gatewayURL, tlsURL string) error

// runServer runs the server until ctx ends (SIGINT, SIGTERM or SIGHUP), then stops it
// within the shutdown timeout. after, when set, runs once the server is up.
func runServer(ctx context.Context, s app.Settings, after started) error {
	// A closed stdout or stderr (portico serve 2>&1 | head, a killed tee, the
	// reader of a stdout access log gone) would otherwise kill the server
	// with SIGPIPE at its next line, the calls in flight unanswered. Caught,
	// the write fails (EPIPE) and the line is dropped and counted. Caught
	// rather than ignored (signal.Ignore, as deploy does): an ignored SIGPIPE
	// would be inherited by the process runtime's sandboxes.
	catchSIGPIPE()
	// The server log goes through a bounded queue: a request that logs never
	// waits for whatever reads stderr (logqueue).
	stderr := logqueue.New(os.Stderr, 0)
	closeLog := func() {
		ctx, cancel := context.WithTimeout(context.Background(), logFlushTimeout)
		defer cancel()
		_ = stderr.Close(ctx)
	}
	defer closeLog()
	log, err := newLogger(s, stderr)
	if err != nil {
		return err
	}
	// A small heap is not collected every few megabytes (GOGC set: Go's pacing).
	defer gctune.Headroom(gctune.DefaultHeadroom)()
	// On a host whose cores are all busy, no processor the process cannot use
	// (GOMAXPROCS set: the operator's count).
	defer procs.Fit(log)()
	if w := s.DrainWarning(); w != "" {
		log.Warn(w)
	}
	for _, w := range s.StartWarnings {
		log.Warn(w)
	}
	t0 := time.Now()
	var adminAddr *admin.Server
	var gateway app.GatewayListener
	fxApp := app.New(s, log, fx.Populate(&adminAddr, &gateway), logDropped(stderr))
	if err := fxApp.Err(); err != nil {
		return cleanFxError(err)
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = fxApp.Start(startCtx)
	cancel()
	if err != nil {
		return cleanFxError(err)
	}
	// The bound addresses (a port of 0 picks one) are logged for scripts and tests.
	log.Info("portico started", append([]any{"in", time.Since(t0).Round(time.Millisecond), "admin", adminAddr.Addr(),
		"gateway", gateway.Addr(), "tls", gateway.TLSAddr(), "data-dir", absPath(s.DataDir)}, buildinfo.Read(store.SchemaVersion).LogAttrs()...)...)
	var afterErr error
	if after != nil {
		tlsURL := ""
		if a := gateway.TLSAddr(); a != "" {
			_, port, _ := net.SplitHostPort(a)
			tlsURL = "https://localhost:" + port
		}
		gatewayURL := tlsURL // --listen off: the TLS listener is the gateway
		if a := gateway.Addr(); a != "" {
			gatewayURL = dialURL(a)
		}
		afterErr = after(ctx, dialURL(adminAddr.Addr()), gatewayURL, tlsURL)
	}
	if afterErr == nil {
		<-ctx.Done()
		defer watchRepeatedSignals(log, s, func(code int) { closeLog(); os.Exit(code) })()
		log.Info("shutting down", "deadline", s.ShutdownTimeout, "drain", s.DrainInForce(), "cleanup", app.CleanupTimeout)
	}
	stopCtx, cancel := app.StopContext(s)
	defer cancel()
	if err := fxApp.Stop(stopCtx); err != nil {
		log.Error("shutdown was not clean", "err", err)
		if afterErr == nil {
			return cleanFxError(err)
		}
	}
	if cuts := shutdown.Cuts(stopCtx); len(cuts) > 0 && afterErr == nil {
		// Stopped cleanly otherwise (counts written, the store closed), but
		// not gracefully, or not all removed: say what the deadline cut, and
		// what the runtime left behind.
		return cutOffError(s, cuts)
	}
	if afterErr == nil {
		// The last line of a clean stop: without it a stop that finished
		// reads as one that hung and was killed.
		log.Info("portico stopped")
	}
	return afterErr
}

// catchSIGPIPE makes a write to a closed pipe on stdout or stderr fail with
// EPIPE instead of ending the process, for the rest of its life (its last
// words, an error on stderr, included).
func catchSIGPIPE() {
	sigs := make(chan os.Signal, 1) // never read: a signal that finds it full is dropped
	signal.Notify(sigs, syscall.SIGPIPE)
}

// watchRepeatedSignals answers the signals that come while a stop runs (main's
// signal.NotifyContext catches them, so they never end the process by
// themselves): the first is logged with how long the stop may still take and
// that one more stops at once; the one after that stops at once, through exit
// status 1, abandoning the calls in flight and the cleanup as kill -9 would
// (docs/operations.md, Stopping). It returns the function that stops watching.
func watchRepeatedSignals(log *slog.Logger, s app.Settings, exit func(int)) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	end := time.Now().Add(s.ShutdownTimeout + app.CleanupTimeout)
	go func() {
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case sig := <-sigs:
				if n == 0 {
					log.Warn("a stop is in progress: it lets the calls in flight finish, then removes the sandboxes, writes the usage counts "+
						"and closes the store; send one more signal to stop at once instead", "signal", sig.String(),
						"ends-within", time.Until(end).Round(time.Second))
					continue
				}
				log.Error("stopping at once on a repeated signal: calls in flight get no answer, and the cleanup is left as after kill -9 "+
					"(what was acknowledged is kept; the next start removes the sandboxes left)", "signal", sig.String())
				exit(1)
				return
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

// cutOffError says what a stop cut off, each by the limit that cut it and how
// to raise that: the invoker's drain-timeout, or --shutdown-timeout.
func cutOffError(s app.Settings, cuts []shutdown.Cut) error {
	var graceful, drained, left, remedies []string
	var drain time.Duration
	for _, c := range cuts {
		if c.Left {
			left = append(left, c.What)
			if c.Remedy != "" && !slices.Contains(remedies, c.Remedy) {
				remedies = append(remedies, c.Remedy)
			}
			continue
		}
		if c.Limit == "drain-timeout" {
			drained, drain = append(drained, c.What), c.After
			continue
		}
		graceful = append(graceful, c.What)
	}
	var parts []string
	if len(drained) > 0 {
		parts = append(parts, fmt.Sprintf("the invoker's drain-timeout (%s) ended with %s: they were cut off "+
			"(raise --drain-timeout, PORTICO_DRAIN_TIMEOUT or invoker: drain-timeout in the config file to let them finish; "+
			"--shutdown-timeout, %s, bounds it)", drain, strings.Join(drained, " and "), s.ShutdownTimeout))
	}
	if len(graceful) > 0 {
		parts = append(parts, fmt.Sprintf("--shutdown-timeout (%s) ended with %s: they were cut off "+
			"(raise --shutdown-timeout to let them finish; calls in flight get at most --drain-timeout of it)", s.ShutdownTimeout, strings.Join(graceful, " and ")))
	}
	if len(left) > 0 {
		also := ""
		for _, r := range remedies {
			also += "; or " + r
		}
		parts = append(parts, fmt.Sprintf("it left behind %s "+
			"(the next start on this data directory, %s, removes it%s)", strings.Join(left, " and "), s.DataDir, also))
	}
	return errors.New("stopped, but " + strings.Join(parts, "; and "))
}

// dialURL turns a bound listen address into a URL a local client can call: an
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") becomes 127.0.0.1.
func dialURL(addr string) string { return netaddr.DialURL(addr) }

// cleanFxError strips fx's and dig's wrapping so the user sees the cause,
// and says of a listen address in use which flag picks another.
func cleanFxError(err error) error {
	return addrInUse(dig.RootCause(err))
}

// listenFlags are the flags of the listeners whose bind errors start with
// the prefix: the TLS listener's first, its prefix being the plain one's too.
var listenFlags = []struct{ prefix, flag string }{
	{"gateway: listen on ", "--tls-listen (PORTICO_TLS_LISTEN)"}, // with " (TLS): " after the address
	{"gateway: listen on ", "--listen (PORTICO_LISTEN)"},
	{"admin: listen on ", "--admin-listen (PORTICO_ADMIN_LISTEN)"},
	{"metrics: listen on ", "--metrics-listen (PORTICO_METRICS_LISTEN)"},
	{"gateway: sandbox-facing @connections endpoint on ", "--callback-listen (PORTICO_CALLBACK_LISTEN)"},
}

// addrInUse adds to a listener's "address already in use" what to do: stop
// what holds the address, or give the listener's flag another.
func addrInUse(err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	msg := err.Error()
	for i, l := range listenFlags {
		if !strings.HasPrefix(msg, l.prefix) {
			continue
		}
		if i == 0 && !strings.Contains(msg, " (TLS): ") {
			continue
		}
		return fmt.Errorf("%w (another portico or another program listens there: stop it, or pick another address with %s)", err, l.flag)
	}
	return fmt.Errorf("%w (another portico or another program listens there: stop it, or pick another address with the listener's flag)", err)
}

// clientEnv are the PORTICO_ variables of the CLI, not of serve: never
// warned about.
var clientEnv = []string{"PORTICO_ENDPOINT", "PORTICO_TOKEN", "PORTICO_TOKEN_FILE"}

// unknownEnv returns a warning for each PORTICO_ variable of environ that is
// no setting of serve's (known) but a near miss of one (a typo in a systemd
// Environment= line, say: PORTICO_ADMIN_TOKN), naming the one it likely
// meant. A variable far from every setting is left alone: other tools and
// tests set PORTICO_ variables of their own.
func unknownEnv(environ, known []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "PORTICO_") || slices.Contains(known, name) || slices.Contains(clientEnv, name) {
			continue
		}
		if near := suggest.Closest(name, append(slices.Clip(known), clientEnv...)); near != "" && !slices.Contains(clientEnv, near) {
			out = append(out, fmt.Sprintf("environment variable %s is no setting and is ignored: did you mean %s?", name, near))
		}
	}
	return out
}
