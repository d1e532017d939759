// Package apptest starts the whole Portico server in-process, through the same fx
// composition `portico serve` uses, for end-to-end tests; and builds the sample
// functions once per test binary.
package apptest

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway/auth"
)

// Options configure a test server.
type Options struct {
	// Runtime is the sandbox runtime (default "process").
	Runtime string
	// DataDir is the data directory (default: a new t.TempDir()).
	DataDir string
	// Settings, when set, adjusts the settings before each start.
	Settings func(*app.Settings)
	// LogLevel is the server's log level in test output (default warn; set
	// PORTICO_TEST_LOG=debug to see everything).
	LogLevel slog.Level
	// Populate are pointers that each start fills from the app's container
	// (fx.Populate), e.g. a **invoker.Invoker for benchmarks that call the
	// invoker directly.
	Populate []any
	// LogWriter, when set, also gets every server log line at LogLevel (for
	// tests that assert what the log holds). It must be safe for concurrent use.
	LogWriter io.Writer
	// Extra are more fx options for each start (e.g. a fake clock for
	// traffic shifts: fx.Supply(fx.Annotate(c, fx.As(new(clock.Clock)),
	// fx.ResultTags(`name:"shifts"`)))).
	Extra []fx.Option
	// JWKSTransport, when set, is the transport JWT authorizers fetch their
	// issuers' keys with on each start (auth.Stage.SetJWKSTransport): a
	// test issuer's TLS client transport, which trusts its certificate.
	// The fetches stay https-only.
	JWKSTransport http.RoundTripper
	// Args are more `portico serve` flags for StartProcess (e.g.
	// --shutdown-timeout 2s); Start does not read them.
	Args []string
}

// Env is a running in-process server. Its methods are for the test goroutine.
type Env struct {
	// AdminURL is the admin API's base URL, e.g. http://127.0.0.1:41234. It stays
	// the same across Restart.
	AdminURL string
	// GatewayURL is the gateway listener's base URL; it stays the same across Restart.
	GatewayURL string
	// TLSURL is the gateway's TLS listener's base URL (https://host:port),
	// "" when it is off (no certificate, or Settings turned it off); it
	// stays the same across Restart.
	TLSURL string
	// DataDir is the data directory, kept across Restart.
	DataDir string

	t        testing.TB
	settings app.Settings
	populate []any
	extra    []fx.Option
	app      *fx.App
	out      *syncWriter
}

// Start starts a server on free loopback ports, with its own data directory,
// and stops it when the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	s := app.Defaults()
	s.Listen = "127.0.0.1:0"
	s.AdminListen = "127.0.0.1:0"
	s.Runtime = opts.Runtime
	if s.Runtime == "" {
		s.Runtime = "process"
	}
	s.DataDir = opts.DataDir
	if s.DataDir == "" {
		s.DataDir = t.TempDir()
	}
	s.ShutdownTimeout = 30 * time.Second
	// Tests write access logs to their own temporary directories.
	s.AccessLogDirs = []string{os.TempDir()}
	if opts.Settings != nil {
		opts.Settings(&s)
	}
	asked := [3]string{s.Listen, s.AdminListen, s.TLSListen}
	level := opts.LogLevel
	if level == 0 {
		level = slog.LevelWarn
	}
	if v := os.Getenv("PORTICO_TEST_LOG"); v != "" {
		if l, err := app.ParseLevel(v); err == nil {
			level = l
		}
	}
	extra := opts.Extra
	if rt := opts.JWKSTransport; rt != nil {
		extra = append(slices.Clone(extra), fx.Invoke(func(st *auth.Stage) { st.SetJWKSTransport(rt) }))
	}
	e := &Env{t: t, settings: s, DataDir: s.DataDir, out: &syncWriter{t: t, level: level, tee: opts.LogWriter}, populate: opts.Populate, extra: extra}
	// Restart binds these again: ports the kernel would hand out to
	// connections are not (see steadyPort). A port another program took
	// between steadyPort's check and the bind is given up for new ones.
	for attempt := 1; ; attempt++ {
		var held []*portLock
		for i, l := range []*string{&e.settings.Listen, &e.settings.AdminListen, &e.settings.TLSListen} {
			var pl *portLock
			*l, pl = steadyPort(t, asked[i])
			if pl != nil {
				held = append(held, pl)
			}
		}
		err := e.tryStart()
		if err == nil {
			// Released after Stop (cleanups run last-registered first).
			t.Cleanup(func() {
				for _, pl := range held {
					pl.release()
				}
			})
			break
		}
		for _, pl := range held {
			pl.release()
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 5 {
			t.Fatalf("apptest: starting the server: %v", err)
		}
		t.Logf("apptest: %v; trying other ports", err)
	}
	// Later starts reuse the ports, so clients built from the URLs keep working.
	e.settings.AdminListen = e.AdminURL[len("http://"):]
	e.settings.Listen = e.GatewayURL[len("http://"):]
	if e.TLSURL != "" {
		e.settings.TLSListen = e.TLSURL[len("https://"):]
	}
	t.Cleanup(e.Stop)
	return e
}

func (e *Env) start() {
	e.t.Helper()
	// The ports are the server's own (reserved, see steadyPort), so a bind
	// refused with EADDRINUSE is a listener of the stopped server's that has
	// not gone yet, or a program that ignores the reservations: tried again
	// for a while, saying who holds the port, before the test fails.
	for attempt := 1; ; attempt++ {
		err := e.tryStart()
		if err == nil {
			return
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 20 {
			e.t.Fatalf("apptest: starting the server: %v%s", err, portHolders(err))
		}
		e.t.Logf("apptest: starting the server again: %v%s; retrying", err, portHolders(err))
		time.Sleep(time.Duration(attempt) * 25 * time.Millisecond)
	}
}

// portHolders returns, for a bind refused with EADDRINUSE, what `ss` says
// listens on the address err names ("" when it cannot tell).
func portHolders(err error) string {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Addr == nil {
		return ""
	}
	_, port, splitErr := net.SplitHostPort(oe.Addr.String())
	if splitErr != nil {
		return ""
	}
	out, ssErr := exec.Command("ss", "-Htanp", "sport = :"+port).CombinedOutput() //nolint:gosec // G204: a port number
	if ssErr != nil || len(bytes.TrimSpace(out)) == 0 {
		return ""
	}
	return "\n(ss: sockets on port " + port + ":\n" + strings.TrimSpace(string(out)) + ")"
}

func (e *Env) tryStart() error {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(e.out, &slog.HandlerOptions{Level: e.out.level}))
	var srv *admin.Server
	var gw app.GatewayListener
	a := app.New(e.settings, log, fx.Populate(&srv, &gw), fx.Populate(e.populate...), fx.Options(e.extra...))
	if err := a.Err(); err != nil {
		e.t.Fatalf("apptest: composing the server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		return err
	}
	e.app = a
	e.out.setOpen(true)
	e.AdminURL = "http://" + srv.Addr()
	e.GatewayURL = "http://" + gw.Addr()
	e.TLSURL = ""
	if a := gw.TLSAddr(); a != "" {
		e.TLSURL = "https://" + a
	}
	return nil
}

// Stop stops the server (waiting for its graceful shutdown); safe to call twice.
func (e *Env) Stop() {
	e.t.Helper()
	if e.app == nil {
		return
	}
	ctx, cancel := app.StopContext(e.settings)
	defer cancel()
	err := e.app.Stop(ctx)
	e.app = nil
	e.out.setOpen(false)
	if err != nil {
		e.t.Errorf("apptest: stopping the server: %v", err)
	}
}

// Restart stops the server and starts a new one on the same data directory and
// ports, as a process restart would.
//
// The default HTTP client's idle connections to the old server are closed
// too: the tests call the gateway with it, and a POST sent on a connection the
// stopped server had closed (before the client's transport read the close, as
// on a loaded machine) fails with EOF instead of being retried.
func (e *Env) Restart() {
	e.t.Helper()
	e.Stop()
	e.StartAgain()
}

// StartAgain starts the server Stop stopped, on the same data directory and
// ports (Restart is Stop then StartAgain: a test may act in between, while
// the server is down).
func (e *Env) StartAgain() {
	e.t.Helper()
	if tr, ok := http.DefaultTransport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
	e.start()
}

// Client returns a Portico admin API client for the server.
func (e *Env) Client() *client.Client { return client.New(e.AdminURL, e.settings.AdminToken) }

// syncWriter passes server logs to the test log while the server runs, and drops
// them otherwise (a log after the test ended would panic).
type syncWriter struct {
	mu    sync.Mutex
	t     testing.TB
	open  bool
	level slog.Level
	tee   io.Writer
}

func (w *syncWriter) setOpen(open bool) {
	w.mu.Lock()
	w.open = open
	w.mu.Unlock()
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.open {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	if w.tee != nil {
		_, _ = w.tee.Write(p)
	}
	return len(p), nil
}

var (
	samplesOnce sync.Once
	samplesDir  string
	samplesErr  error
	buildMu     sync.Mutex
	built       = map[string]error{}
	zipped      = map[string][]byte{}
)

// RepoRoot returns the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..", ".."))
}

// Sample builds samples/NAME (once per test binary) as a static bootstrap and
// returns the directory holding it, ready to zip as a function package.
func Sample(t testing.TB, name string) string {
	t.Helper()
	return build(t, name, "./samples/"+name)
}

// ZipSample returns samples/NAME built and zipped as a Zip function package (zipped
// once per test binary; callers must not modify the bytes).
func ZipSample(t testing.TB, name string) []byte {
	t.Helper()
	return zip(t, name, Sample(t, name))
}

// ZipProgram returns the main package at pkg (see Program) built and zipped as a
// Zip function package, once per test binary; callers must not modify the bytes.
func ZipProgram(t testing.TB, pkg string) []byte {
	t.Helper()
	return zip(t, programName(pkg), Program(t, pkg))
}

// build builds the main package pkg, once per test binary, as the bootstrap of
// a directory called name, and returns the directory.
func build(t testing.TB, name, pkg string) string {
	t.Helper()
	samplesOnce.Do(func() {
		samplesDir, samplesErr = os.MkdirTemp("", "portico-samples-")
	})
	if samplesErr != nil {
		t.Fatalf("apptest: %v", samplesErr)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	dir := filepath.Join(samplesDir, name)
	err, ok := built[name]
	if !ok {
		err = cachedBuild(filepath.Join(dir, "bootstrap"), pkg, true)
		built[name] = err
	}
	if err != nil {
		t.Fatalf("apptest: building %s: %v", pkg, err)
	}
	return dir
}

// zip zips dir, the build called name, once per test binary.
func zip(t testing.TB, name, dir string) []byte {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if z, ok := zipped[name]; ok {
		return z
	}
	// BestSpeed unless the package chose a level (cmd/portico stores): a
	// sample is zipped once per test binary under -race, where the default
	// level spent five times as long deflating (admin's tests: 5% of their
	// CPU), and uploaded as often as the tests create functions.
	level := client.ZipLevel
	if level == flate.DefaultCompression {
		level = flate.BestSpeed
	}
	z, err := client.ZipDirLevel(dir, level)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	zipped[name] = z
	return z
}

// Cleanup removes the built samples; call it from TestMain after m.Run (optional:
// otherwise they stay in the system's temporary directory).
func Cleanup() {
	if samplesDir != "" {
		_ = os.RemoveAll(samplesDir)
	}
}

// Main runs a package's tests, then Cleanup, and exits with their status:
// func TestMain(m *testing.M) { apptest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// goBuild builds the main package pkg into out: a function's bootstrap,
// static (CGO_ENABLED=0, -trimpath, as the Makefile's samples target builds
// them), or with static false a program for this host, as `go build ./...`
// and the Makefile's build target build it. Each set of flags is one build
// configuration the build cache keys by: `make test` fills the cache with both
// before the tests start (its build step), so that the test binaries that
// build the same packages link them rather than compile them again, each
// from a cold cache and at the same time as the others.
func goBuild(out, pkg string, static bool) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
	}
	args := []string{"build", "-o", out, pkg}
	env := os.Environ()
	if static {
		args = []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg}
		env = append(env, "CGO_ENABLED=0")
	}
	cmd := exec.Command(gobin, args...) //nolint:gosec // G204: the go command on the repository's own packages
	cmd.Dir = RepoRoot()
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, stderr.String())
	}
	return nil
}

// steadyPort returns addr ("host:0") with a free port of its host below the
// kernel's ephemeral range (ip_local_port_range): a port the kernel chose
// (":0") is in that range, and while Restart has the server down another
// test's outgoing connection can be given it as its local port, and the
// restart fails with "address already in use". Ports below the range are
// given to no connection. The port is also reserved across test processes
// (go test runs packages in parallel): a lock file per port that every
// steadyPort honours, held until the caller releases it after the server's
// last stop, so another test's server cannot take it while this one is down
// for a restart. An addr with a port, or off, is returned as it is, with a
// nil lock.
func steadyPort(t testing.TB, addr string) (string, *portLock) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != "0" || host == "" {
		return addr, nil
	}
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	first := max(1024, low-12000)
	if first >= low {
		return addr, nil
	}
	for range 200 {
		p := first + rand.IntN(low-first) //nolint:gosec // G404: a port number
		pl := lockPort(p)
		if pl == nil {
			continue
		}
		a := net.JoinHostPort(host, strconv.Itoa(p))
		if ln, err := net.Listen("tcp", a); err == nil {
			_ = ln.Close()
			return a, pl
		}
		pl.release()
	}
	return addr, nil
}

// portLock is a port's reservation among test processes: an exclusive
// flock on a file named for it. The kernel drops the lock when the process
// exits, however it exits, so a crashed test leaves no stale reservation.
type portLock struct{ f *os.File }

// lockPort reserves port p, or returns nil when another process holds it
// (or the lock file cannot be made: the caller tries another port).
func lockPort(p int) *portLock {
	dir := filepath.Join(os.TempDir(), "portico-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil { //nolint:gosec // G301: shared among test users; holds only empty files
		return nil
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(p)), os.O_RDWR|os.O_CREATE, 0o666) //nolint:gosec // G302: as above
	if err != nil {
		return nil
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil
	}
	return &portLock{f: f}
}

func (l *portLock) release() { _ = l.f.Close() }
