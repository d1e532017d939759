// Package app composes Portico's fx modules into the server that `portico serve`
// runs. It lives apart from package main so that end-to-end tests (cmd/portico/app/apptest)
// start exactly the same server in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/connections"
	"github.com/portico-dev/portico/console"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/accesslog"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth"
	"github.com/portico-dev/portico/gateway/cache"
	"github.com/portico-dev/portico/gateway/compress"
	"github.com/portico-dev/portico/gateway/cors"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/execlog"
	"github.com/portico-dev/portico/gateway/iam"
	gatewaymetrics "github.com/portico-dev/portico/gateway/metrics"
	"github.com/portico-dev/portico/gateway/throttle"
	gatewaytracing "github.com/portico-dev/portico/gateway/tracing"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/gateway/validate"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/ownaddr"
	"github.com/portico-dev/portico/internal/redact"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/internal/tracing"
	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/metrics"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/containerd"
	"github.com/portico-dev/portico/runtimes/docker"
	"github.com/portico-dev/portico/runtimes/process"
	"github.com/portico-dev/portico/shifts"
	"github.com/portico-dev/portico/store"
)

// Settings are everything `portico serve` is configured with, after flags, PORTICO_*
// environment variables, portico.yaml and defaults have been merged.
type Settings struct {
	// Listen is the gateway's plain HTTP listener (":8080"; "off" turns it off,
	// leaving HTTPS only).
	Listen string `yaml:"listen"`
	// TLSListen is the gateway's TLS listener (":8443"; "off" turns it off). It
	// listens when a certificate exists: TLSCert/TLSKey, or the development
	// certificate of `portico tls init` in the data directory.
	TLSListen string `yaml:"tls-listen"`
	// ListenerEngine is the gateway's plain listener's engine: "net/http", "h1"
	// (empty: gateway.DefaultEngine) or "nbio", an experiment that serves plain
	// HTTP only (docs/performance.md).
	ListenerEngine string `yaml:"listener-engine"`
	// GatewayMaxConns bounds the gateway's public listeners' connections
	// together (gateway.Config.MaxConns; unset: the file descriptor limit
	// less a reserve; -1: no bound), and GatewayMaxConnsPerIP one client
	// address's (unset: no bound).
	GatewayMaxConns      int `yaml:"gateway-max-conns"`
	GatewayMaxConnsPerIP int `yaml:"gateway-max-conns-per-ip"`
	// GatewayTemplateMemory bounds, in MB, what the mapping template renders
	// in flight hold together (gateway.Config.TemplateMemory; unset: 64 times
	// the body limit, 640 MB; -1: no bound).
	GatewayTemplateMemory int64 `yaml:"gateway-template-memory"`
	// GatewayMaxUnreadBytes bounds the response bytes the gateway's
	// HTTP/1.1 connections hold for clients that do not take them
	// (gateway.Config.MaxUnreadBytes; unset: 512 MiB; -1: no bound).
	GatewayMaxUnreadBytes int64 `yaml:"gateway-max-unread-bytes"`
	// TLSCert and TLSKey are the gateway's certificate chain and key (PEM),
	// reloaded when the files change.
	TLSCert string `yaml:"tls-cert"`
	TLSKey  string `yaml:"tls-key"`
	// AdminListen is the admin API's address ("127.0.0.1:9090").
	AdminListen string `yaml:"admin-listen"`
	// CallbackListen is where the sandbox-facing @connections endpoint
	// listens (gateway.Config.CallbackBind): host:port, or :port for the
	// runtime's host address (the one sandboxes reach the server at) on that
	// port. Empty: the runtime's host address, on a port the system picks.
	CallbackListen string `yaml:"callback-listen"`
	// AdminToken, when set, is required by the admin API as a bearer token.
	AdminToken string `yaml:"admin-token"`
	// AdminTokenFile names a file whose content (one line) is the admin
	// token, read at start: a token that shows in neither `ps` (as a flag
	// would) nor the config file. Exclusive with AdminToken.
	AdminTokenFile string `yaml:"admin-token-file"`
	// Sources names where each setting given came from, by its key (the
	// flag's name, or the config file's top-level key): "--log-level",
	// "PORTICO_LOG_LEVEL" or "log-level in FILE:LINE"; Source reads it.
	// Not a config key.
	Sources map[string]string `yaml:"-"`
	// StartWarnings are said at start, once the logger exists (a token
	// readable by other users of the host, ...). Not a config key.
	StartWarnings []string `yaml:"-"`
	// AdminTokenSource names where AdminToken came from, for the errors that
	// refuse it (admin.CheckTokenFrom): "the token file PATH
	// (--admin-token-file)", "--admin-token", "PORTICO_ADMIN_TOKEN" or
	// "admin-token in CONFIG"; empty, both of the first two are named.
	AdminTokenSource string `yaml:"-"`
	// DataDir holds the store and code artifacts ("./portico-data").
	DataDir string `yaml:"data-dir"`
	// Runtime is auto, process, docker or containerd ("auto").
	Runtime string `yaml:"runtime"`
	// ContainerdSocket is containerd's socket, for the containerd runtime
	// ("/run/containerd/containerd.sock").
	ContainerdSocket string `yaml:"containerd-socket"`
	// SandboxAllowRoot is the operator's opt-out of the container runtimes'
	// non-root rule: each sandbox runs as its image's USER as the engine
	// resolves it, root included (Zip functions and images without USER run
	// as root), with the supplementary groups of the image's group file.
	// Capabilities stay dropped. By default (false) a container sandbox never
	// runs as uid 0 or gid 0: it runs as its image's USER when that is not
	// root, else as sbx_user1051, 993:990 (docs/runtimes.md). The process
	// runtime runs as the server's user either way.
	SandboxAllowRoot bool `yaml:"sandbox-allow-root"`
	// Domain is the gateway's base domain ("execute-api.localhost").
	Domain string `yaml:"domain"`
	// LogLevel is debug, info, warn or error ("info").
	LogLevel string `yaml:"log-level"`
	// MetricsListen, when set, also serves GET /metrics on an address of its own,
	// without the admin token (the admin listener always serves it, with it).
	MetricsListen string `yaml:"metrics-listen"`
	// OTLPEndpoint is the OpenTelemetry collector (OTLP over HTTP) that traces
	// of stages with tracingEnabled go to; empty: OTEL_EXPORTER_OTLP_ENDPOINT,
	// else none (trace ids are still made and passed on).
	OTLPEndpoint string `yaml:"otlp-endpoint"`
	// ShutdownTimeout bounds the graceful part of a stop, in which requests and
	// calls in flight may finish (30 s); then they are cut off and the cleanup
	// has up to CleanupTimeout more (StopContext).
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout"`
	// Invoker holds the invoker's limits; zero fields take invoker.DefaultConfig.
	Invoker InvokerSettings `yaml:"invoker"`
	// Listener holds the gateway listener's limits (max-header-bytes,
	// header-timeout, body-timeout, idle-timeout); zero fields take
	// listener.DefaultLimits.
	Listener listener.Limits `yaml:"listener"`
	// AdminListener holds the admin API listener's limits; each is tightened to
	// the gateway's where that is stricter, so the admin API is never looser.
	AdminListener listener.Limits `yaml:"admin-listener"`
	// AdminLogFollows caps the admin API's log follows (portico logs
	// --follow) open at once: per-client (the admin token's holders, or one
	// address without a token) and total; zero fields take 8 and 256, a
	// negative one no cap.
	AdminLogFollows admin.LogFollowLimits `yaml:"admin-log-follows"`
	// WebSocket holds the WebSocket limits (idle-timeout, max-message-bytes, ...);
	// zero fields take connections.DefaultConfig.
	WebSocket connections.Config `yaml:"websocket"`
	// TrustedProxies lists, comma-separated, the CIDR blocks of proxies whose
	// X-Forwarded-For the gateway believes for the client's source IP, and
	// whose X-Forwarded-Proto the admin API believes for the console's
	// session cookie (Secure over HTTPS).
	TrustedProxies string `yaml:"trusted-proxies"`
	// NewStore starts with a new, empty store in a data directory that has
	// none though an earlier server kept functions in it (store.Config.New),
	// which is otherwise refused. A one-off flag (--new-store, or
	// PORTICO_NEW_STORE), not a config file setting: kept on, it would hide a
	// store lost at any later start.
	NewStore bool `yaml:"-"`
	// IAMKeyFile holds the key that seals IAM secret access keys (default: the
	// file DataDir + ".iam-key", beside the data directory).
	IAMKeyFile string `yaml:"iam-key-file"`
	// AccessLogDirs are the directories stages' access logs may be written
	// to as files (a stage's destinationArn): unset, /var/log/portico and
	// DATA-DIR/logs (AccessLogDirsOrDefault). Portico's own files (the data
	// directory, but its logs subdirectory, and the IAM key file) and /proc,
	// /dev and /sys are never written, whatever is listed.
	AccessLogDirs []string `yaml:"access-log-dir"`
	// Throttle is the account-wide throttle of the gateway (rate-limit,
	// burst-limit); fields left out take 10,000 requests per second and a
	// burst of 5,000 (0 is refused in YAML), a negative rate-limit turns it off.
	Throttle throttle.Config `yaml:"throttle"`
}

// InvokerSettings are the invoker limits a user may set in portico.yaml.
type InvokerSettings struct {
	AccountConcurrency int           `yaml:"account-concurrency"`
	ThrottleWait       time.Duration `yaml:"throttle-wait"`
	// QueueWait bounds a direct Invoke's wait for a sandbox (unset: 10 s).
	QueueWait    time.Duration `yaml:"queue-wait"`
	IdleTimeout  time.Duration `yaml:"idle-timeout"`
	InitTimeout  time.Duration `yaml:"init-timeout"`
	DrainTimeout time.Duration `yaml:"drain-timeout"`
	// MaxSpares caps the sandboxes prepared ahead of need (docker, containerd)
	// across all versions; 0 turns them off. Unset: 16.
	MaxSpares *int `yaml:"max-spares"`
	// MaxSandboxes caps the sandboxes running at once across all functions and
	// versions; -1: no cap. Unset: 256.
	MaxSandboxes int `yaml:"max-sandboxes"`
	// MaxMemory caps the sum of the running sandboxes' memory sizes, in MB; -1:
	// no cap. Unset: three quarters of the host's memory.
	MaxMemory int64 `yaml:"max-memory"`
	// UnusedIdleTimeout is how long a version that nothing uses keeps its idle
	// sandboxes. Unset: 60 s.
	UnusedIdleTimeout time.Duration `yaml:"unused-idle-timeout"`
}

// DefaultAccessLogDir is the system directory access logs may be written to
// by default (beside DATA-DIR/logs).
const DefaultAccessLogDir = "/var/log/portico"

// AccessLogDirsOrDefault returns the directories access logs may be written
// to: AccessLogDirs, else DefaultAccessLogDir and DATA-DIR/logs.
func (s Settings) AccessLogDirsOrDefault() []string {
	if len(s.AccessLogDirs) > 0 {
		return s.AccessLogDirs
	}
	return []string{DefaultAccessLogDir, filepath.Join(s.DataDir, accesslog.DataDirLogs)}
}

// accessLogDirs are the access logs' Dirs of s.
func (s Settings) accessLogDirs() *accesslog.Dirs {
	key := s.IAMKeyFile
	if key == "" {
		key = iam.DefaultKeyFile(s.DataDir)
	}
	return &accesslog.Dirs{Allowed: s.AccessLogDirsOrDefault(), DataDir: s.DataDir, Protected: []string{key}}
}

// Defaults returns the default settings.
func Defaults() Settings {
	return Settings{
		Listen:           ":8080",
		TLSListen:        ":8443",
		AdminListen:      "127.0.0.1:9090",
		DataDir:          "./portico-data",
		Runtime:          "auto",
		ContainerdSocket: "/run/containerd/containerd.sock",
		Domain:           "execute-api.localhost",
		LogLevel:         "info",
		ShutdownTimeout:  30 * time.Second,
		// The sandbox budget is filled in here, not left 0, so that a 0 the
		// user gives (which Validate refuses) is told from one left out.
		Invoker: InvokerSettings{
			AccountConcurrency: invoker.DefaultConfig().AccountConcurrency,
			ThrottleWait:       invoker.DefaultConfig().ThrottleWait,
			QueueWait:          invoker.DefaultConfig().QueueWait,
			IdleTimeout:        invoker.DefaultConfig().IdleTimeout,
			InitTimeout:        invoker.DefaultConfig().InitTimeout,
			UnusedIdleTimeout:  invoker.DefaultConfig().UnusedIdleTimeout,
			MaxSandboxes:       invoker.DefaultConfig().MaxSandboxes,
			MaxMemory:          defaultMaxMemory(),
		},
	}
}

// defaultMaxMemory is the invoker's default memory budget, or -1 (no cap) where
// it has none (the host's memory is unknown: it is 0 then).
func defaultMaxMemory() int64 {
	if mb := invoker.DefaultConfig().MaxMemoryMB; mb > 0 {
		return mb
	}
	return -1
}

// MinShutdownTimeout is the shortest --shutdown-timeout taken: less leaves
// the calls a stop cuts off no time to be answered.
const MinShutdownTimeout = time.Second

// Validate reports settings that cannot work, with what to do about them.
func (s Settings) Validate() error {
	if s.AdminListen != "" && !netaddr.IsLoopback(s.AdminListen) && s.AdminToken == "" {
		port := "9090"
		if _, p, err := net.SplitHostPort(s.AdminListen); err == nil && p != "" {
			port = p // the port asked for, on loopback
		}
		return fmt.Errorf("the admin API would listen on %s, %s, without a token: set --admin-token-file FILE (or PORTICO_ADMIN_TOKEN), or use --admin-listen %s", s.AdminListen, netaddr.NotLoopback(s.AdminListen), net.JoinHostPort("127.0.0.1", port))
	}
	if err := admin.CheckTokenFrom(s.AdminListen, s.AdminToken, s.AdminTokenSource); err != nil {
		return err
	}
	if _, err := s.trustedProxies(); err != nil {
		return err
	}
	switch s.Runtime {
	case "", "auto", "process", "docker", "containerd":
	default:
		return fmt.Errorf("%s %q: use auto, process, docker or containerd", s.Source("runtime"), s.Runtime)
	}
	if _, err := ParseLevel(s.LogLevel); err != nil {
		return fmt.Errorf("%s %q: use debug, info, warn or error", s.Source("log-level"), s.LogLevel)
	}
	if s.Listen == gateway.ListenOff && s.TLSListen == gateway.ListenOff {
		return errors.New("--listen off and --tls-listen off leave the gateway no listener: keep one of them")
	}
	if s.CallbackListen != "" {
		_, port, err := net.SplitHostPort(s.CallbackListen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return fmt.Errorf("--callback-listen %q: give host:port, or :port for the runtime's host address", s.CallbackListen)
		}
	}
	if err := s.checkListenClash(); err != nil {
		return err
	}
	if err := gateway.CheckEngine(s.ListenerEngine); err != nil {
		return fmt.Errorf("%s: %w", s.Source("listener-engine"), err)
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both files, or neither (then the development certificate of `portico tls init` is used when it exists)")
	}
	if err := (tracing.Config{Endpoint: s.OTLPEndpoint}).Validate(); err != nil {
		return fmt.Errorf("--otlp-endpoint: %w", err)
	}
	if err := (tracing.Config{Endpoint: s.OTLPEndpoint}).ValidateEnv(); err != nil {
		return err
	}
	if s.Throttle.BurstLimit < 0 {
		return fmt.Errorf("throttle: burst-limit %d: use a positive bucket size (or a negative rate-limit to turn the account throttle off)", s.Throttle.BurstLimit)
	}
	if s.DataDir == "" {
		return errors.New("--data-dir is empty: give a directory for Portico's data")
	}
	if err := checkDomain(s.Domain); err != nil {
		return err
	}
	for _, d := range s.AccessLogDirs {
		if !filepath.IsAbs(d) {
			return fmt.Errorf("%s %q: give an absolute directory", s.Source("access-log-dir"), d)
		}
	}
	if err := errors.Join(s.Listener.Validate(), s.AdminListener.Validate()); err != nil {
		return err
	}
	if err := s.WebSocket.Validate(); err != nil {
		if src := s.Sources["websocket"]; src != "" { // a config file section: no flag
			return fmt.Errorf("websocket: %w (%s)", err, src)
		}
		return fmt.Errorf("websocket: %w", err)
	}
	if s.ShutdownTimeout < MinShutdownTimeout {
		// 0 or less (or a few nanoseconds) left no time to answer the calls
		// a stop cuts off: their clients got no answer at all.
		return fmt.Errorf("%s %s: give at least %s (default 30s): "+
			"requests and calls in flight get that long to finish when Portico stops, and those cut off are answered within it", s.Source("shutdown-timeout"), s.ShutdownTimeout, MinShutdownTimeout)
	}
	if s.Invoker.DrainTimeout < 0 {
		return fmt.Errorf("--drain-timeout / PORTICO_DRAIN_TIMEOUT (invoker: drain-timeout) %s: give a positive duration, or 0 (like none) for the default", s.Invoker.DrainTimeout)
	}
	if err := s.Invoker.validateLimits(); err != nil {
		return err
	}
	// 0 is refused, not taken as the default: it would not mean a budget of
	// 0 (Defaults fills in the budget left out).
	if n := s.Invoker.MaxSandboxes; n < -1 || n == 0 {
		return fmt.Errorf("--max-sandboxes / PORTICO_MAX_SANDBOXES (invoker: max-sandboxes) %d is not taken: "+
			"give a positive number of sandboxes, leave it out for the default (%d), or -1 for no cap", n, invoker.DefaultConfig().MaxSandboxes)
	}
	if mb := s.GatewayTemplateMemory; mb < -1 {
		return fmt.Errorf("%s %d is not taken: give a positive number of MB, leave it out for the default "+
			"(64 times the body limit: 640 MB), or -1 for no bound", s.Source("gateway-template-memory"), mb)
	}
	// -1 is the documented "no bound"; other negatives are refused, not
	// taken as it (ops23).
	if n := s.GatewayMaxConns; n < -1 {
		return fmt.Errorf("%s %d is not taken: give a positive number of connections, leave it out (or 0) for the default "+
			"(the file descriptor limit less a reserve), or -1 for no bound", s.Source("gateway-max-conns"), n)
	}
	if n := s.GatewayMaxConnsPerIP; n < -1 {
		return fmt.Errorf("%s %d is not taken: give a positive number of connections per client address, or leave it out (or -1) for no bound",
			s.Source("gateway-max-conns-per-ip"), n)
	}
	if n := s.GatewayMaxUnreadBytes; n < -1 {
		return fmt.Errorf("%s %d is not taken: give a positive number of bytes, leave it out (or 0) for the default (512 MiB), or -1 for no bound",
			s.Source("gateway-max-unread-bytes"), n)
	}
	if mb := s.Invoker.MaxMemory; mb < -1 || mb == 0 {
		return fmt.Errorf("invoker: max-memory %d is not taken: give a positive number of MB, leave it out for the default "+
			"(three quarters of the host's memory), or -1 for no cap", mb)
	}
	return nil
}

// templateMemory is gateway.Config.TemplateMemory for gateway-template-memory
// (MB): 0 (unset) takes the gateway's default, -1 no bound.
func templateMemory(mb int64) int64 {
	if mb <= 0 {
		return mb
	}
	return mb << 20
}

// checkDomain refuses a gateway base domain (--domain) that no Host header
// could match as {apiId}.DOMAIN: one with a port, a scheme or a path, a
// leading or trailing dot, an empty label, or a character a host name does
// not have. Empty takes the default.
func checkDomain(d string) error {
	if d == "" {
		return nil
	}
	bad := func(why string) error {
		return fmt.Errorf("--domain / PORTICO_DOMAIN (domain) %q: %s; give a domain name alone, as %s (API hosts are {apiId}.DOMAIN)", d, why, gateway.DefaultDomain)
	}
	switch {
	case strings.Contains(d, "://") || strings.Contains(d, "/"):
		return bad("a URL or a path is no domain name")
	case strings.Contains(d, ":"):
		return bad("a domain takes no port (the gateway's port is --listen's or --tls-listen's)")
	case strings.HasPrefix(d, "."):
		return bad("drop the leading dot (API hosts get theirs: {apiId}.DOMAIN)")
	case strings.HasSuffix(d, "."):
		return bad("drop the trailing dot")
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" {
			return bad("it has an empty label (two dots in a row)")
		}
		if len(label) > 63 {
			return bad("a label is longer than 63 characters")
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' {
				return bad(fmt.Sprintf("%q is not a letter, digit or hyphen", r))
			}
		}
	}
	return nil
}

// validateLimits refuses invoker limits of 0 or less, which were once taken
// silently as the default: none of them has a meaning at 0 (no call could
// run, or wait, or be kept warm), so a 0 or a negative value is a mistake the
// user is told of. Defaults fills in the limits left out, so that a 0 given
// is told from one left out.
func (v InvokerSettings) validateLimits() error {
	def := invoker.DefaultConfig()
	if v.AccountConcurrency <= 0 {
		return fmt.Errorf("invoker: account-concurrency %d is not taken: give a positive number of concurrent invocations "+
			"(1 or more), or leave it out for the default (%d)", v.AccountConcurrency, def.AccountConcurrency)
	}
	for _, d := range []struct {
		key      string
		val, def time.Duration
		what     string
	}{
		{"throttle-wait", v.ThrottleWait, def.ThrottleWait, "how long a call at a concurrency limit waits for a slot before it is throttled; 1ms throttles almost at once, as Lambda does"},
		{"queue-wait", v.QueueWait, def.QueueWait, "how long a direct Invoke waits for a sandbox before it is throttled"},
		{"idle-timeout", v.IdleTimeout, def.IdleTimeout, "how long an idle sandbox is kept warm"},
		{"unused-idle-timeout", v.UnusedIdleTimeout, def.UnusedIdleTimeout, "how long an idle sandbox of a version nothing uses is kept warm; never longer than idle-timeout"},
		{"init-timeout", v.InitTimeout, def.InitTimeout, "how long a sandbox's init may take"},
	} {
		if d.val <= 0 {
			return fmt.Errorf("invoker: %s %s is not taken: give a positive duration (1ms or more: %s), or leave it out for the default (%s)",
				d.key, d.val, d.what, d.def)
		}
	}
	return nil
}

// metricsListen is MetricsListen, "" (no listener) for "off", as the other
// listeners take it.
func (s Settings) metricsListen() string {
	if s.MetricsListen == gateway.ListenOff {
		return ""
	}
	return s.MetricsListen
}

// checkListenClash refuses two of Portico's listeners on the same port of
// overlapping addresses (the same host, or either on every address), which
// would fail at start with a bare "address already in use".
func (s Settings) checkListenClash() error {
	type listen struct{ flag, addr string }
	var ls []listen
	for _, l := range []listen{{"--listen", s.Listen}, {"--tls-listen", s.TLSListen}, {"--admin-listen", s.AdminListen}, {"--metrics-listen", s.MetricsListen}, {"--callback-listen", s.CallbackListen}} {
		if l.addr != "" && l.addr != gateway.ListenOff {
			ls = append(ls, l)
		}
	}
	for i, a := range ls {
		for _, b := range ls[i+1:] {
			ha, pa, erra := net.SplitHostPort(a.addr)
			hb, pb, errb := net.SplitHostPort(b.addr)
			if erra != nil || errb != nil || pa != pb || pa == "0" {
				continue
			}
			if ha == hb || anyHost(ha) || anyHost(hb) {
				return fmt.Errorf("%s %s and %s %s are the same address: give each listener a port of its own", a.flag, a.addr, b.flag, b.addr)
			}
		}
	}
	return nil
}

// anyHost reports whether host, of a listen address, is every address.
func anyHost(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

// DrainMargin is how long before the end of a stop's graceful part
// (--shutdown-timeout) the invoker's drain ends when no drain-timeout is set:
// the calls it cuts off then are answered 503 while their connections are
// still open.
const DrainMargin = 20 * time.Second

// DrainTimeout is how long calls in flight may run once a stop begins when no
// drain-timeout is set: invoker.DefaultConfig's (10 s), or shutdownTimeout
// less DrainMargin when that is longer, so that raising --shutdown-timeout
// gives calls the time too, as an operator expects; but never closer to the
// end of shutdownTimeout than invoker.AnswerMargin, so that with a short
// --shutdown-timeout the calls cut off are still answered 503 (the invoker
// holds its drain to that too, whatever the drain-timeout).
func DrainTimeout(shutdownTimeout time.Duration) time.Duration {
	d := max(invoker.DefaultConfig().DrainTimeout, shutdownTimeout-DrainMargin)
	if shutdownTimeout <= 0 {
		return d
	}
	return min(d, shutdownTimeout-invoker.AnswerMargin(shutdownTimeout))
}

// DrainInForce is how long calls in flight may run once a stop begins, as the
// invoker holds its drain (Invoker.BeginDrain): the drain timeout, but never
// closer to the end of --shutdown-timeout than invoker.AnswerMargin. It is
// shorter than the drain timeout set when that is not well below the
// shutdown timeout.
func (s Settings) DrainInForce() time.Duration {
	d := s.InvokerConfig().DrainTimeout
	if t := s.ShutdownTimeout; t > 0 {
		d = min(d, max(t-invoker.AnswerMargin(t), 0))
	}
	return d
}

// DrainWarning says, when the drain timeout set is cut short by
// --shutdown-timeout (DrainInForce), how long calls in flight at a stop get;
// "" otherwise.
func (s Settings) DrainWarning() string {
	set := s.Invoker.DrainTimeout
	if set <= 0 || s.DrainInForce() >= set {
		return ""
	}
	return fmt.Sprintf("--drain-timeout (invoker: drain-timeout) %s is not well below --shutdown-timeout %s: calls in flight at a stop get %s "+
		"(the drain ends %s before the shutdown timeout, so that the calls it cuts off are answered); raise --shutdown-timeout to give them more",
		set, s.ShutdownTimeout, s.DrainInForce(), invoker.AnswerMargin(s.ShutdownTimeout))
}

// InvokerConfig returns the invoker configuration: the defaults with the settings
// that are set.
func (s Settings) InvokerConfig() invoker.Config {
	c := invoker.DefaultConfig()
	if v := s.Invoker.AccountConcurrency; v > 0 {
		c.AccountConcurrency = v
	}
	if v := s.Invoker.ThrottleWait; v > 0 {
		c.ThrottleWait = v
	}
	if v := s.Invoker.QueueWait; v > 0 {
		c.QueueWait = v
	}
	if v := s.Invoker.IdleTimeout; v > 0 {
		c.IdleTimeout = v
	}
	if v := s.Invoker.InitTimeout; v > 0 {
		c.InitTimeout = v
	}
	if v := s.Invoker.DrainTimeout; v > 0 {
		c.DrainTimeout = v
	} else {
		c.DrainTimeout = DrainTimeout(s.ShutdownTimeout)
	}
	if v := s.Invoker.MaxSpares; v != nil {
		c.MaxSpares = *v
	}
	if v := s.Invoker.MaxSandboxes; v != 0 {
		c.MaxSandboxes = v
	}
	if v := s.Invoker.MaxMemory; v != 0 {
		c.MaxMemoryMB = v
	}
	if v := s.Invoker.UnusedIdleTimeout; v > 0 {
		c.UnusedIdleTimeout = v
	}
	c.Listener = s.Listener
	return c
}

// connectionsConfig returns the WebSocket limits with the admin token, which the
// @connections API also accepts, and the journal of live connections in the
// data directory.
func (s Settings) connectionsConfig() connections.Config {
	c := s.WebSocket
	c.AdminToken = s.AdminToken
	c.Journal = filepath.Join(s.DataDir, "connections.journal")
	return c
}

// trustedProxies parses TrustedProxies: CIDR blocks, or bare addresses.
func (s Settings) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s.TrustedProxies, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxies / PORTICO_TRUSTED_PROXIES (trusted-proxies) %q: not a CIDR block or IP address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Source names where the setting key (a flag's name, or a top-level config
// key) came from, for an error that refuses its value: the flag, the
// environment variable, or the config file with its line (Sources); "--KEY"
// when that is not known.
func (s *Settings) Source(key string) string {
	if src := s.Sources[key]; src != "" {
		return src
	}
	return "--" + key
}

// ParseLevel parses a log level name.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// GatewayListener is the gateway's HTTP listener, as far as tests and `portico dev`
// need it: its bound address, after start.
type GatewayListener interface {
	Addr() string
	// TLSAddr is the TLS listener's bound address, "" when TLS is off.
	TLSAddr() string
}

// Options returns the fx options of the whole server. extra options (fx.Populate in
// tests, say) are appended.
func Options(s Settings, log *slog.Logger, extra ...fx.Option) fx.Option {
	proxies, _ := s.trustedProxies() // checked by Validate
	// Presigned-URL signatures, security tokens and API keys never reach the
	// server log, whatever quotes them (an error naming a backend URL).
	log = redact.Logger(log)
	opts := []fx.Option{
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log.With("component", "fx")}
			l.UseLogLevel(slog.LevelDebug)
			// fx's own errors (a constructor that failed, with its chain and
			// stack) only at debug: the start's error says what failed, once.
			l.UseErrorLevel(slog.LevelDebug)
			return l
		}),
		fx.StopTimeout(s.ShutdownTimeout + CleanupTimeout),
		fx.Supply(
			log,
			store.Config{Dir: s.DataDir, New: s.NewStore},
			admin.Config{Listen: s.AdminListen, Token: s.AdminToken, TrustedProxies: proxies, Limits: s.AdminListener, GatewayLimits: s.Listener,
				LogFollows: s.AdminLogFollows},
			s.Listener,
			s.InvokerConfig(),
			runtimes.Config{Name: s.Runtime},
		),
		// Portico's own listeners other than the gateway's, which no
		// integration may reach (docs/apis-and-stages.md).
		ownaddr.Module,
		// The metrics listener is an operator's, as the admin API is: its
		// limits are the admin listener's, tightened by the gateway's.
		fx.Supply(metrics.Config{Listen: s.metricsListen(), Limits: s.AdminListener.Tighten(s.Listener)}),
		metrics.Module,
		store.Module,
		functions.Module,
		aliases.Module,
		// Traffic shifts of aliases (SAM's DeploymentPreference).
		shifts.Module,
		// Publishing an Image version pins its image id through the runtime in
		// use, when it can resolve images (the small ImageResolver functions declares).
		fx.Provide(imageResolver),
		fx.Supply(
			containerd.Config{Socket: s.ContainerdSocket, Images: docker.Images{}, AllowRoot: s.SandboxAllowRoot},
			docker.Config{AllowRoot: s.SandboxAllowRoot},
		),
		process.Module,
		docker.Module,
		containerd.Module,
		runtimes.Module,
		invoker.Module,
		// Which runtime the data directory ran on last, and a warning when it
		// changed (Image functions are pinned to a runtime's image ids).
		runtimeRecordModule(s.DataDir),
		// The invoker resolves aliases (for provisioned concurrency) through the
		// small Resolver it declares; the aliases service satisfies it.
		fx.Provide(func(a *aliases.Service) invoker.Resolver { return a }),
		// It stops the idle sandboxes of versions nothing uses sooner; aliases
		// and API stages tell which are in use.
		fx.Provide(func(a *aliases.Service, s *apis.Service) invoker.Usage { return versionUsage{aliases: a, apis: s} }),
		// Provisioned concurrency the sandbox budget cannot hold is refused when
		// it is set.
		fx.Invoke(func(f *functions.Service, i *invoker.Invoker) {
			f.SetProvisionedCheck(i.CheckProvisioned)
			f.SetReservationCheck(i.CheckReservations)
		}),
		// A traffic shift's hooks are Event invocations of their functions;
		// a hook reports on the admin API with credentials the connections
		// manager issued its sandbox.
		fx.Provide(func(a *aliases.Service, i *invoker.Invoker) shifts.HookInvoker {
			return hookInvoker{aliases: a, inv: i}
		}),
		fx.Provide(func(m *connections.Manager) admin.SandboxCredentials { return m }),
		admin.Module,
		// After admin.Module: its OnStart hook has bound the listener by the
		// time this one records it.
		fx.Invoke(func(lc fx.Lifecycle, a *admin.Server, own *ownaddr.Set, i *invoker.Invoker, svc *apis.Service) {
			i.SetListeners(own)
			svc.SetOwnListeners(own)
			lc.Append(fx.Hook{OnStart: func(context.Context) error {
				_ = own.Add("admin API", a.Addr())
				return nil
			}})
		}),
		console.Module,
		// WebSocket connections; listed before the gateway so that on stop the
		// listener closes first, then connections ($disconnect), then the invoker.
		fx.Supply(s.connectionsConfig()),
		connections.Module,
		apis.Module,
		fx.Supply(gateway.Config{Listen: s.Listen, Domain: s.Domain, TLSListen: s.TLSListen, TrustedProxies: proxies, Engine: s.ListenerEngine,
			MaxConns: s.GatewayMaxConns, MaxConnsPerIP: s.GatewayMaxConnsPerIP, CallbackBind: s.CallbackListen,
			TemplateMemory: templateMemory(s.GatewayTemplateMemory), MaxUnreadBytes: s.GatewayMaxUnreadBytes}),
		// IAM principals (users, access keys, policies) for AWS_IAM routes.
		fx.Supply(iam.Config{KeyFile: s.IAMKeyFile}),
		iam.Module,
		fx.Provide(
			func(a *aliases.Service) auth.Resolver { return a },
			func(i *invoker.Invoker) auth.Invoker { return i },
			func(s *auth.Stage) gateway.ConnectAuthorizer { return s },
			func(s *iam.Service) auth.Principals { return s },
			// The cache stage asks auth whether a caller may invalidate.
			func(s *auth.Stage) cache.Invalidators { return s },
		),
		// IAM users' keys may sign @connections calls their policies allow
		// (execute-api:ManageConnections).
		fx.Invoke(func(m *connections.Manager, s *iam.Service) { m.SetPrincipals(s) }),
		// One limiter of failed sign-ins for the public surfaces that check
		// credentials: @connections, the cache's invalidations, AWS_IAM
		// routes and the sandbox-facing endpoint's CodeDeploy calls. The
		// admin API and console keep a budget of their own, so that
		// anonymous callers failing on the gateway never lock the operator
		// out (internal/signin).
		fx.Invoke(func(m *connections.Manager, a *auth.Stage, c *cache.Stage, adm *admin.Server) {
			l := &signin.Limiter{}
			m.SetSignIns(l)
			a.SetSignIns(l)
			c.SetSignIns(l)
			adm.SetSandboxSignIns(l)
		}),
		auth.Module,
		gateway.Module,
		fx.Invoke(func(g *gateway.Gateway, own *ownaddr.Set) { g.SetOwnListeners(own) }),
		// A traffic shift's hook reports to CodeDeploy on the sandbox-facing
		// endpoint, which container sandboxes reach (the admin API may be on
		// loopback); every sandbox is pointed at it (AWS_ENDPOINT_URL_CODEDEPLOY).
		fx.Invoke(func(g *gateway.Gateway, a *admin.Server, i *invoker.Invoker) {
			g.AddSandboxService(a.SandboxCodeDeploy())
			i.SetEndpoints(g)
		}),
		// Pipeline stages (each joins the gateway's pipeline.stages group).
		fx.Supply(s.Throttle),
		throttle.Module,
		usage.Module,
		// The response cache; max-age=0 is authorized for IAM principals allowed
		// execute-api:InvalidateCache, and for signatures with the admin token.
		fx.Supply(cache.Config{AdminToken: s.AdminToken}),
		cache.Module,
		fx.Provide(func(c *cache.Stage) admin.StageCache { return c }),
		fx.Provide(func(a *auth.Stage) admin.AuthorizerCache { return a }),
		gatewaymetrics.Module,
		fx.Supply(tracing.Config{Endpoint: s.OTLPEndpoint}),
		tracing.Module,
		gatewaytracing.Module,
		fx.Provide(func(st *store.Store) *accesslog.Dirs {
			d := s.accessLogDirs()
			d.DataDirFull = st.Full
			return d
		}),
		accesslog.Module,
		execlog.Module,
		// The edge: TLS certificates and custom domain names, consumed by the
		// gateway through the seams it declares.
		fx.Supply(edge.Config{CertFile: s.TLSCert, KeyFile: s.TLSKey, ListenerOff: s.TLSListen == "" || s.TLSListen == gateway.ListenOff,
			DataDir: s.DataDir, GatewayDomain: s.Domain}),
		edge.Module,
		fx.Provide(
			func(e *edge.Edge) gateway.DomainResolver { return e },
			func(e *edge.Edge) gateway.TLSSource { return e },
			// The sandbox CA: the sandbox-facing @connections endpoint
			// serves HTTPS with its certificate, and sandboxes trust it.
			func(ca *edge.SandboxCA) gateway.CallbackTLS { return ca },
			func(ca *edge.SandboxCA) invoker.TrustSource { return ca },
		),
		validate.Module,
		cors.Module,
		compress.Module,
		fx.Provide(func(srv *gateway.Server) GatewayListener { return srv }),
		// portico_gateway_connections counts the gateway's connections.
		fx.Provide(func(srv *gateway.Server) gatewaymetrics.Listeners { return srv }),
		// Last, so that its stop hook runs first: the invoker's drain of the
		// calls in flight (DrainTimeout) counts from the start of the stop,
		// not from the invoker's own stop, which comes after the listeners'
		// graceful stop (docs/invoker.md, "Start-up and shutdown").
		// The same for WebSocket handshakes: a $connect still running when
		// the gateway's listeners stop gracefully is refused (503), not
		// answered 101 and closed at once (docs/websockets.md).
		fx.Invoke(func(lc fx.Lifecycle, i *invoker.Invoker, m *connections.Manager) {
			lc.Append(fx.Hook{OnStop: func(ctx context.Context) error {
				_ = m.BeginStop(ctx)
				return i.BeginDrain(ctx)
			}})
		}),
	}
	return fx.Options(append(opts, extra...)...)
}

// hookInvoker runs a traffic shift's hooks: it resolves the hook (an alias
// by its weights) and queues an Event invocation of it, as CodeDeploy invokes
// hooks.
type hookInvoker struct {
	aliases *aliases.Service
	inv     *invoker.Invoker
}

var _ shifts.HookInvoker = hookInvoker{}

// InvokeHook implements shifts.HookInvoker.
func (h hookInvoker) InvokeHook(ctx context.Context, hook functions.Ref, payload []byte) error {
	cfg, err := h.aliases.Resolve(ctx, hook)
	if err != nil {
		return err
	}
	_, err = h.inv.InvokeAsync(ctx, invoker.Request{Function: cfg, Payload: payload, InvokedARN: functions.ARN(hook.Name, hook.Qualifier)})
	return err
}

// runtimeParams is the runtime in use, when there is one.
type runtimeParams struct {
	fx.In

	Runtime runtimes.Runtime `optional:"true"`
}

// imageResolver is the runtime as a functions.ImageResolver; a runtime that
// cannot run images (process) refuses Image functions when they are created or
// updated, with the way out, rather than at their first invoke. Without a
// runtime (tests composing parts of the app) it is nil.
func imageResolver(p runtimeParams) functions.ImageResolver {
	if r, ok := p.Runtime.(functions.ImageResolver); ok {
		return r
	}
	if p.Runtime != nil {
		return noImages{runtime: p.Runtime.Name()}
	}
	return nil
}

// containerd keeps what it resolves under pins, which the code collection removes
// once no version uses them.
var _ functions.ImagePins = (*containerd.Runtime)(nil)

// Both container runtimes resolve images from the host alone too, for
// portico deploy --dry-run.
var (
	_ functions.LocalImageResolver = (*containerd.Runtime)(nil)
	_ functions.LocalImageResolver = (*docker.Runtime)(nil)
)

// noImages refuses every image: the runtime runs Zip functions only.
type noImages struct{ runtime string }

// ResolveImage implements functions.ImageResolver.
func (n noImages) ResolveImage(context.Context, string) (string, error) { return "", n.RefuseImages() }

// ResolveLocalImage implements functions.LocalImageResolver.
func (n noImages) ResolveLocalImage(context.Context, string) (string, error) {
	return "", n.RefuseImages()
}

// RefuseImages implements functions.ImageRefuser.
func (n noImages) RefuseImages() error {
	return fmt.Errorf("the %s runtime this server uses runs Zip functions only: "+
		"start Portico with --runtime docker or --runtime containerd (auto picks one where its daemon answers), "+
		"or create a Zip function from a directory with a bootstrap (portico fn create NAME --dir DIR): %w", n.runtime, errdefs.ErrInvalid)
}

// CleanupTimeout is how long a stop may go on after the shutdown timeout
// ended: the calls still running are cut off, and the sandboxes stopped and
// removed, the usage counts written and the store closed, within this time.
const CleanupTimeout = 30 * time.Second

// StopContext returns the context to stop the server with (fx.App.Stop):
// requests and calls in flight may finish within the shutdown timeout; then
// they are cut off, and the hooks that release resources and persist data
// still run, with up to CleanupTimeout more (internal/shutdown). Call cancel
// once Stop returned.
func StopContext(s Settings) (ctx context.Context, cancel context.CancelFunc) {
	return shutdown.WithGrace(context.Background(), s.ShutdownTimeout, CleanupTimeout)
}

// New returns the server as an fx app; Start it, and Stop it with StopContext.
func New(s Settings, log *slog.Logger, extra ...fx.Option) *fx.App {
	return fx.New(Options(s, log, extra...))
}
