package runtimetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// Options describe what a runtime offers beyond the common contract, and give the
// suite ways to look behind it.
type Options struct {
	// NetworkIsolated says sandboxes have a network namespace of their own: the
	// suite checks that a sandbox cannot reach a listener on the host's loopback
	// (where the admin API listens), while it reaches its Runtime API endpoint.
	NetworkIsolated bool
	// Confined says sandboxes run confined as a container runtime's should:
	// under a seccomp filter, with no capabilities, no_new_privs set, no way
	// to make a user namespace, Lambda's 1,024 file descriptors, and as a
	// non-root user (sbx_user1051, 993:990, unless the image names another)
	// with no supplementary groups that writes only to /tmp and its volumes.
	// The suite checks it from inside.
	Confined bool
	// CountSandboxes, when set, counts the sandboxes (containers, tasks) of rt
	// that exist on the host, running or not; the suite uses it to check that
	// nothing is left behind after errors, stops and cleanups.
	CountSandboxes func(ctx context.Context, rt runtimes.Runtime) (int, error)
	// RemoveImage, when set, removes an image the suite imported.
	RemoveImage func(ctx context.Context, rt runtimes.Runtime, ref string) error
	// Neighbour, when set, makes another network-isolated runtime on the same
	// host, with a bridge of its own (Docker beside containerd, say), that
	// closes when t ends; it may skip t when that runtime is not there. The
	// suite checks that sandboxes cannot reach one another across the two
	// bridges, either way; the neighbour's sandboxes are Zip packages.
	Neighbour func(t *testing.T) runtimes.Runtime
}

// wait bounds every wait in the suite so that a broken runtime fails instead of
// hanging; it is a guard, not a timing assertion.
const wait = 2 * time.Minute

// Run runs the conformance cases against the runtime newRuntime makes. newRuntime
// may be called several times in one test; runtimes it makes within one test must
// share their Cleanup scope (the leftover case starts a sandbox with one runtime and
// cleans up with another). The suite closes each runtime itself. Cases run for Zip
// packages, and for Image packages when the runtime is a runtimes.ImageImporter.
func Run(t *testing.T, newRuntime func(t *testing.T) runtimes.Runtime, opts Options) {
	bin := BuildSandbox(t)
	s := &suite{opts: opts, newRuntime: newRuntime, bin: bin, codeDir: CodeDir(t, bin)}

	kinds := []string{"Zip"}
	probe := s.runtime(t)
	if imp, ok := probe.(runtimes.ImageImporter); ok {
		s.image = "portico-test/sandbox:" + randHex(6)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, err := imp.ImportImage(ctx, bytes.NewReader(ImageArchive(t, bin, s.image, "PORTICO_TEST_IMAGE=base"))); err != nil {
			t.Fatalf("importing the sandbox image: %v", err)
		}
		if opts.RemoveImage != nil {
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				if err := opts.RemoveImage(ctx, probe, s.image); err != nil {
					t.Logf("removing %s: %v", s.image, err)
				}
			})
		}
		kinds = append(kinds, "Image")
	}

	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			k := &kindSuite{suite: s, kind: kind}
			// The cases that only read from a default sandbox (env,
			// identity, dials) share one: see plainBox.
			k.plainRT = k.runtime(t)
			k.plain = k.newBox(t, k.plainRT)
			t.Run("Start", k.testStart)
			t.Run("Env", k.testEnv)
			t.Run("Trust", k.testTrust)
			t.Run("RuntimeAPIRoundTrip", k.testRoundTrip)
			t.Run("Logs", k.testLogs)
			t.Run("LogSyncer", k.testLogSyncer)
			t.Run("Crash", k.testCrash)
			t.Run("GracefulStop", k.testGracefulStop)
			t.Run("TimeoutReset", k.testTimeoutReset)
			t.Run("StopIdempotent", k.testStopIdempotent)
			t.Run("StartErrorLeavesNothing", k.testStartError)
			t.Run("LeftoverCleanup", k.testLeftoverCleanup)
			t.Run("Isolation", k.testIsolation)
			t.Run("HostLoopbackUnreachable", k.testLoopbackUnreachable)
			t.Run("MetadataUnreachable", k.testMetadataUnreachable)
			t.Run("SandboxesUnreachable", k.testSandboxesUnreachable)
			t.Run("PeerVerifier", k.testPeerVerifier)
			t.Run("Confinement", k.testConfinement)
			t.Run("NonRootUser", k.testUser)
			t.Run("MemoryReporter", k.testMemory)
			t.Run("Pauser", k.testPause)
			t.Run("Preparer", k.testPrepare)
			if kind == "Image" {
				t.Run("ImageVolumeReadOnly", k.testImageVolume)
				t.Run("ImagePinnedByResolve", k.testImagePin)
				t.Run("MissingImage", k.testMissingImage)
			}
		})
	}
}

type suite struct {
	opts       Options
	newRuntime func(t *testing.T) runtimes.Runtime
	bin        string
	codeDir    string
	image      string
}

// runtime makes a runtime that closes when t ends.
func (s *suite) runtime(t *testing.T) runtimes.Runtime {
	t.Helper()
	rt := s.newRuntime(t)
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

type kindSuite struct {
	*suite
	kind string
	// plain is a sandbox of the default spec on plainRT, started for the
	// kind's cases that only invoke read-only ops on such a sandbox; it
	// stops when the kind's test ends.
	plain   *box
	plainRT runtimes.Runtime
}

// plainBox returns the kind's shared default sandbox, for t, and its runtime.
// Only cases that change nothing in the sandbox and assert nothing about what
// others did with it (its log, its count of calls) may use it.
func (k *kindSuite) plainBox(t *testing.T) (*box, runtimes.Runtime) {
	b := *k.plain
	b.t = t
	return &b, k.plainRT
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// spec returns a spec of the suite's package kind whose Runtime API is api.
func (k *kindSuite) spec(api *APIServer) runtimes.Spec {
	id := "sbx-" + randHex(8)
	spec := runtimes.Spec{
		SandboxID:   id,
		Function:    "conformance",
		Version:     "1",
		PackageType: k.kind,
		MemoryMB:    128,
		Env: map[string]string{
			"AWS_LAMBDA_RUNTIME_API":          api.Addr(),
			"AWS_LAMBDA_FUNCTION_NAME":        "conformance",
			"AWS_LAMBDA_FUNCTION_VERSION":     "1",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
			"PATH":                            "/usr/local/bin:/usr/bin:/bin",
			"PORTICO_TEST_SANDBOX":            id,
		},
	}
	if k.kind == "Image" {
		spec.Image = k.image
	} else {
		spec.CodeDir = k.codeDir
	}
	return spec
}

// box is a started sandbox with its endpoint and the output read so far.
type box struct {
	runtimes.Sandbox
	t        *testing.T
	api      *APIServer
	spec     runtimes.Spec
	mu       *sync.Mutex // guards logs
	logs     *bytes.Buffer
	logsDone chan struct{}
}

// start starts a sandbox of spec (whose API server is api) on rt, drains its logs,
// and stops it when t ends.
func (k *kindSuite) start(t *testing.T, rt runtimes.Runtime, api *APIServer, spec runtimes.Spec) *box {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	sb, err := rt.Start(ctx, spec)
	cancel() // the sandbox outlives the start's context
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return k.adopt(t, sb, api, spec)
}

func (k *kindSuite) adopt(t *testing.T, sb runtimes.Sandbox, api *APIServer, spec runtimes.Spec) *box {
	b := &box{Sandbox: sb, t: t, api: api, spec: spec, mu: new(sync.Mutex), logs: new(bytes.Buffer), logsDone: make(chan struct{})}
	go func() {
		defer close(b.logsDone)
		r := sb.Logs()
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.mu.Lock()
			b.logs.Write(buf[:n])
			b.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := sb.Stop(ctx); err != nil {
			t.Errorf("Stop at cleanup: %v", err)
		}
	})
	return b
}

// newBox binds an endpoint and starts a sandbox of the suite's kind.
func (k *kindSuite) newBox(t *testing.T, rt runtimes.Runtime) *box {
	t.Helper()
	api := NewAPIServer(t, rt.HostAddr())
	return k.start(t, rt, api, k.spec(api))
}

// ready waits for the sandbox's first call to next.
func (b *box) ready() {
	b.t.Helper()
	select {
	case <-b.api.Ready():
	case <-b.Done():
		b.t.Fatalf("sandbox exited before calling next: %v; output:\n%s", b.Err(), b.output())
	case <-time.After(wait):
		b.t.Fatalf("sandbox did not call next; output:\n%s", b.output())
	}
}

// invoke sends ev and returns the reply, or ErrSandboxExited.
func (b *box) invoke(ev map[string]any) (Reply, error) {
	b.t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return b.api.Invoke(ctx, payload, b.Done())
}

// mustInvoke is invoke that fails the test unless a response arrives; it decodes
// the response into out when out is not nil.
func (b *box) mustInvoke(ev map[string]any, out any) {
	b.t.Helper()
	r, err := b.invoke(ev)
	if err != nil {
		b.t.Fatalf("invoke %v: %v; output:\n%s", ev, err, b.output())
	}
	if r.Error {
		b.t.Fatalf("invoke %v: error reply %s", ev, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			b.t.Fatalf("invoke %v: reply %s: %v", ev, r.Body, err)
		}
	}
}

func (b *box) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.logs.String()
}

// stop stops the sandbox and fails the test on error.
func (b *box) stop() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		b.t.Fatalf("Stop: %v", err)
	}
	b.mustBeDone("after Stop returned")
}

func (b *box) mustBeDone(when string) {
	b.t.Helper()
	select {
	case <-b.Done():
	default:
		b.t.Fatalf("Done is not closed %s", when)
	}
}

// waitDone waits for the sandbox to exit by itself.
func (b *box) waitDone() {
	b.t.Helper()
	select {
	case <-b.Done():
	case <-time.After(wait):
		b.t.Fatalf("sandbox did not exit; output:\n%s", b.output())
	}
}

// allLogs waits for Logs to end (the sandbox has exited) and returns the output.
func (b *box) allLogs() string {
	b.t.Helper()
	select {
	case <-b.logsDone:
	case <-time.After(wait):
		b.t.Fatalf("Logs did not end after the sandbox exited; output so far:\n%s", b.output())
	}
	return b.output()
}

// expectCount checks CountSandboxes, when the runtime offers it.
func (k *kindSuite) expectCount(t *testing.T, rt runtimes.Runtime, want int, when string) {
	t.Helper()
	if k.opts.CountSandboxes == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	n, err := k.opts.CountSandboxes(ctx, rt)
	if err != nil {
		t.Fatalf("counting sandboxes: %v", err)
	}
	if n != want {
		t.Fatalf("%d sandboxes exist %s, want %d", n, when, want)
	}
}

func (k *kindSuite) testStart(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	if b.ID() != b.spec.SandboxID {
		t.Errorf("ID() = %q, want the spec's SandboxID %q", b.ID(), b.spec.SandboxID)
	}
	b.ready()
	select {
	case <-b.Done():
		t.Fatalf("Done closed while the sandbox waits in next: %v", b.Err())
	default:
	}
	k.expectCount(t, rt, 1, "while one sandbox runs")
	b.stop()
	k.expectCount(t, rt, 0, "after Stop")
}

func (k *kindSuite) testEnv(t *testing.T) {
	b, _ := k.plainBox(t)
	var got struct {
		Env map[string]string `json:"env"`
	}
	b.mustInvoke(map[string]any{"op": "env"}, &got)
	for _, key := range []string{"AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "PORTICO_TEST_SANDBOX"} {
		if got.Env[key] != b.spec.Env[key] {
			t.Errorf("sandbox sees %s=%q, want %q", key, got.Env[key], b.spec.Env[key])
		}
	}
	if k.kind == "Image" && got.Env["PORTICO_TEST_IMAGE"] != "base" {
		t.Errorf("the image's own env is lost: PORTICO_TEST_IMAGE=%q, want %q", got.Env["PORTICO_TEST_IMAGE"], "base")
	}
	t.Run("DefaultEnv", k.testDefaultEnv)
	if k.kind == "Image" {
		t.Run("Handler", k.testHandler)
	}
}

// testHandler checks the _HANDLER an Image sandbox gets, Lambda's: the first
// word of its CMD, the spec's Command or else the image's own, unless the
// spec's Env sets it; none when there is no CMD.
func (k *kindSuite) testHandler(t *testing.T) {
	rt := k.runtime(t)
	imp := rt.(runtimes.ImageImporter)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	withCmd := "portico-test/handler:" + randHex(6)
	ic := imageConfig{entrypoint: []string{"/bootstrap"}, cmd: []string{"image.handler", "more"}}
	if _, err := imp.ImportImage(ctx, bytes.NewReader(imageArchiveOf(t, k.bin, withCmd, ic))); err != nil {
		t.Fatalf("ImportImage: %v", err)
	}
	if k.opts.RemoveImage != nil {
		t.Cleanup(func() { _ = k.opts.RemoveImage(context.Background(), rt, withCmd) })
	}
	for _, c := range []struct {
		name, image string
		command     []string
		env         string // the spec's own _HANDLER, if any
		want        string // "": not set
	}{
		{"NoCmd", k.image, nil, "", ""},
		{"ImageCmd", withCmd, nil, "", "image.handler"},
		{"Command", withCmd, []string{"app.handler"}, "", "app.handler"},
		{"CommandNoImageCmd", k.image, []string{"app.handler"}, "", "app.handler"},
		{"EnvWins", withCmd, []string{"app.handler"}, "own.handler", "own.handler"},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := NewAPIServer(t, rt.HostAddr())
			spec := k.spec(api)
			spec.Image, spec.Command = c.image, c.command
			if c.env != "" {
				spec.Env["_HANDLER"] = c.env
			}
			b := k.start(t, rt, api, spec)
			var got struct {
				Env map[string]string `json:"env"`
			}
			b.mustInvoke(map[string]any{"op": "env"}, &got)
			if v, ok := got.Env["_HANDLER"]; v != c.want || ok != (c.want != "") {
				t.Errorf("sandbox sees _HANDLER=%q (set: %v), want %q", v, ok, c.want)
			}
		})
	}
}

// testDefaultEnv checks Spec.DefaultEnv: a default applies only where neither
// the spec's Env nor the image's own configuration sets the variable.
func (k *kindSuite) testDefaultEnv(t *testing.T) {
	rt := k.runtime(t)
	api := NewAPIServer(t, rt.HostAddr())
	spec := k.spec(api)
	spec.Env["LANG"] = "C.UTF-8"
	spec.DefaultEnv = map[string]string{"TZ": ":UTC", "LANG": "en_US.UTF-8", "PORTICO_TEST_IMAGE": "default"}
	want := map[string]string{"TZ": ":UTC", "LANG": "C.UTF-8", "PORTICO_TEST_IMAGE": "default"}
	if k.kind == "Image" {
		// The image sets PATH and PORTICO_TEST_IMAGE (ImageArchive): its
		// values win over the defaults.
		delete(spec.Env, "PATH")
		spec.DefaultEnv["PATH"] = "/nonexistent/bin"
		want["PATH"] = "/usr/local/bin:/usr/bin:/bin"
		want["PORTICO_TEST_IMAGE"] = "base"
	}
	b := k.start(t, rt, api, spec)
	var got struct {
		Env map[string]string `json:"env"`
	}
	b.mustInvoke(map[string]any{"op": "env"}, &got)
	for key, v := range want {
		if got.Env[key] != v {
			t.Errorf("sandbox sees %s=%q, want %q", key, got.Env[key], v)
		}
	}
}

// testTrust checks Spec.Trust: the sandbox reads the trust directory's files
// where TrustEnv's variables point (for containers, the directory mounted
// read-only at runtimes.TrustMountDir), and a variable the function's own
// environment sets keeps its value.
func (k *kindSuite) testTrust(t *testing.T) {
	rt := k.runtime(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { //nolint:gosec // G302: readable by the sandbox user, as Portico's trust directory is
		t.Fatal(err)
	}
	const bundle, ca = "roots and the CA\n", "the CA\n"
	must(t, os.WriteFile(filepath.Join(dir, runtimes.TrustBundleFile), []byte(bundle), 0o644)) //nolint:gosec // G306: certificates, for every user
	must(t, os.WriteFile(filepath.Join(dir, runtimes.TrustCAFile), []byte(ca), 0o644))         //nolint:gosec // G306: certificates, for every user
	api := NewAPIServer(t, rt.HostAddr())
	spec := k.spec(api)
	spec.Trust = &runtimes.Trust{Dir: dir}
	spec.Env["REQUESTS_CA_BUNDLE"] = "/function/own.pem"
	b := k.start(t, rt, api, spec)
	var env struct {
		Env map[string]string `json:"env"`
	}
	b.mustInvoke(map[string]any{"op": "env"}, &env)
	if got := env.Env["REQUESTS_CA_BUNDLE"]; got != "/function/own.pem" {
		t.Errorf("REQUESTS_CA_BUNDLE=%q, want the function's own /function/own.pem", got)
	}
	want := map[string]string{"SSL_CERT_FILE": bundle, "AWS_CA_BUNDLE": bundle, "NODE_EXTRA_CA_CERTS": ca}
	var paths []string
	for key := range want {
		if env.Env[key] == "" {
			t.Fatalf("the sandbox has no %s; env %v", key, env.Env)
		}
		paths = append(paths, env.Env[key])
	}
	var got struct {
		Files map[string]string `json:"files"`
	}
	b.mustInvoke(map[string]any{"op": "read", "paths": paths}, &got)
	for key, content := range want {
		if f := got.Files[env.Env[key]]; f != content {
			t.Errorf("%s=%s reads %q, want %q", key, env.Env[key], f, content)
		}
	}
	if k.opts.Confined && !strings.HasPrefix(env.Env["SSL_CERT_FILE"], runtimes.TrustMountDir+"/") {
		t.Errorf("SSL_CERT_FILE=%q, want it under %s", env.Env["SSL_CERT_FILE"], runtimes.TrustMountDir)
	}
	if k.opts.Confined {
		// Read-only in the sandbox.
		var id identity
		b.mustInvoke(map[string]any{"op": "identity", "paths": []string{runtimes.TrustMountDir}}, &id)
		if id.Writes[runtimes.TrustMountDir] == "ok" {
			t.Errorf("the sandbox wrote into %s; want it read-only", runtimes.TrustMountDir)
		}
	}
}

func (k *kindSuite) testRoundTrip(t *testing.T) {
	// A sandbox of its own: it counts the calls to next.
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	b.ready()
	// Several invocations in a row on the same (warm) sandbox.
	for i := 0; i < 3; i++ {
		var got map[string]string
		b.mustInvoke(map[string]any{"op": "log", "stdout": "hello", "stderr": "world"}, &got)
		if got["status"] != "logged" {
			t.Fatalf("invocation %d: reply %v", i, got)
		}
	}
	if n := b.api.Nexts(); n < 3 {
		t.Errorf("next was called %d times for 3 invocations", n)
	}
	// An unknown op is answered, not crashed on.
	var got map[string]string
	b.mustInvoke(map[string]any{"op": "nope"}, &got)
	if !strings.Contains(got["error"], "unknown op") {
		t.Errorf("reply to an unknown op: %v", got)
	}
}

func (k *kindSuite) testLogs(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	out, errOut := "stdout-"+randHex(4), "stderr-"+randHex(4)
	b.mustInvoke(map[string]any{"op": "log", "stdout": out, "stderr": errOut}, nil)
	b.stop()
	logs := b.allLogs()
	for _, want := range []string{"sandbox: started", out, errOut} {
		if !strings.Contains(logs, want) {
			t.Errorf("Logs lack %q; got:\n%s", want, logs)
		}
	}
}

// testLogSyncer checks that what a handler prints just before it posts its
// response has been read from Logs once SyncLogs returns: the invoker syncs
// before an invocation's END, so that the lines land in the invocation's log
// tail and before its END in the function log.
func (k *kindSuite) testLogSyncer(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	ls, ok := b.Sandbox.(runtimes.LogSyncer)
	if !ok {
		t.Fatalf("%T does not implement runtimes.LogSyncer", b.Sandbox)
	}
	for i := range 20 {
		out, errOut := fmt.Sprintf("stdout-%d-%s", i, randHex(4)), fmt.Sprintf("stderr-%d-%s", i, randHex(4))
		b.mustInvoke(map[string]any{"op": "log", "stdout": out, "stderr": errOut}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		ls.SyncLogs(ctx)
		cancel()
		logs := b.output()
		for _, want := range []string{out, errOut} {
			if !strings.Contains(logs, want) {
				t.Fatalf("call %d: SyncLogs returned before %q reached Logs; got:\n%s", i, want, logs)
			}
		}
	}
	if logs := b.output(); strings.Contains(logs, "portico-logsync") {
		t.Fatalf("a sync marker leaked into Logs:\n%q", logs)
	}
}

func (k *kindSuite) testCrash(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	if _, err := b.invoke(map[string]any{"op": "crash", "code": 3}); !errors.Is(err, ErrSandboxExited) {
		t.Fatalf("invoke of a crashing sandbox: %v, want ErrSandboxExited", err)
	}
	b.waitDone()
	var ee *runtimes.ExitError
	if err := b.Err(); !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("Err() = %v (%T), want *runtimes.ExitError with Code 3", err, err)
	}
	if logs := b.allLogs(); !strings.Contains(logs, "crashing with status 3") {
		t.Errorf("Logs lack the crash message; got:\n%s", logs)
	}
	b.stop() // removes what is left
	k.expectCount(t, rt, 0, "after a crash and Stop")
}

func (k *kindSuite) testGracefulStop(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	b.ready()
	go func() { _, _ = b.invoke(map[string]any{"op": "sleep", "onTerm": "exit"}) }()
	waitForLog(t, b, "sandbox: sleeping")
	b.stop()
	if logs := b.allLogs(); !strings.Contains(logs, "SIGTERM, exiting") {
		t.Errorf("the sandbox did not get SIGTERM first; output:\n%s", logs)
	}
	if err := b.Err(); err != nil {
		t.Errorf("Err() after a graceful exit = %v, want nil", err)
	}
}

// testTimeoutReset is what the invoker does on a timeout: stop a busy sandbox that
// ignores SIGTERM (so SIGKILL follows the grace period), then start a fresh one.
func (k *kindSuite) testTimeoutReset(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	b.ready()
	go func() { _, _ = b.invoke(map[string]any{"op": "sleep", "onTerm": "ignore"}) }()
	waitForLog(t, b, "sandbox: sleeping")
	b.stop()
	if logs := b.allLogs(); !strings.Contains(logs, "SIGTERM ignored") {
		t.Errorf("the sandbox was not sent SIGTERM before being killed; output:\n%s", logs)
	}
	var ee *runtimes.ExitError
	if err := b.Err(); !errors.As(err, &ee) {
		t.Errorf("Err() of a killed sandbox = %v (%T), want *runtimes.ExitError", err, err)
	}
	k.expectCount(t, rt, 0, "after the reset")
	fresh := k.newBox(t, rt)
	fresh.mustInvoke(map[string]any{"op": "env"}, nil)
}

func (k *kindSuite) testStopIdempotent(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	b.ready()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			errs <- b.Stop(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Stop: %v", err)
		}
	}
	b.mustBeDone("after concurrent Stops")
	b.stop()

	// Stop after the sandbox exited by itself.
	c := k.newBox(t, rt)
	_, _ = c.invoke(map[string]any{"op": "crash", "code": 1})
	c.waitDone()
	c.stop()
	c.stop()
	k.expectCount(t, rt, 0, "after the Stops")
}

func (k *kindSuite) testStartError(t *testing.T) {
	rt := k.runtime(t)
	api := NewAPIServer(t, rt.HostAddr())
	spec := k.spec(api)
	if k.kind == "Image" {
		// Not present locally, on a registry that refuses at once.
		spec.Image = "127.0.0.1:1/portico-test/never-imported:" + randHex(4)
	} else {
		spec.CodeDir = t.TempDir() // no bootstrap
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sb, err := rt.Start(ctx, spec)
	if err == nil {
		// Some runtimes learn of a missing bootstrap only from the exit.
		b := k.adopt(t, sb, api, spec)
		b.waitDone()
		if b.Err() == nil {
			t.Fatalf("a sandbox without a bootstrap exited cleanly")
		}
		b.stop()
	}
	k.expectCount(t, rt, 0, "after a failed start")
}

func (k *kindSuite) testLeftoverCleanup(t *testing.T) {
	first := k.runtime(t)
	b := k.newBox(t, first)
	b.ready()
	// "Forget" it: a new runtime, as after a restart, cleans up.
	second := k.runtime(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := second.Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	b.waitDone()
	k.expectCount(t, second, 0, "after Cleanup")
	b.stop() // Stop of a sandbox Cleanup removed still succeeds
	// Cleanup with nothing to do is fine too.
	if err := second.Cleanup(ctx); err != nil {
		t.Fatalf("second Cleanup: %v", err)
	}
}

func (k *kindSuite) testIsolation(t *testing.T) {
	rt := k.runtime(t)
	a, b := k.newBox(t, rt), k.newBox(t, rt)
	for _, x := range []*box{a, b} {
		var got struct {
			Env map[string]string `json:"env"`
		}
		x.mustInvoke(map[string]any{"op": "env"}, &got)
		if got.Env["PORTICO_TEST_SANDBOX"] != x.spec.SandboxID {
			t.Errorf("invocation on %s's endpoint ran in %q", x.spec.SandboxID, got.Env["PORTICO_TEST_SANDBOX"])
		}
	}
	// Each endpoint saw only its own sandbox: one next answered, one pending.
	for _, x := range []*box{a, b} {
		deadline := time.Now().Add(wait)
		for x.api.Nexts() < 2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := x.api.Nexts(); n != 2 {
			t.Errorf("endpoint of %s saw %d calls to next, want 2 (its own)", x.spec.SandboxID, n)
		}
	}
}

func (k *kindSuite) testLoopbackUnreachable(t *testing.T) {
	if !k.opts.NetworkIsolated {
		t.Skip("sandboxes of this runtime share the host's network namespace")
	}
	b, rt := k.plainBox(t)
	// A stand-in for the admin API, which listens on the host's loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	viaLoopback := net.JoinHostPort("127.0.0.1", port)
	viaGateway := net.JoinHostPort(rt.HostAddr(), port)
	own := b.api.Addr()
	var got map[string]string
	b.mustInvoke(map[string]any{"op": "dial", "addrs": []string{viaLoopback, viaGateway, own}}, &got)
	if got[own] != "ok" {
		t.Errorf("the sandbox cannot reach its own Runtime API endpoint %s: %s", own, got[own])
	}
	for _, addr := range []string{viaLoopback, viaGateway} {
		if got[addr] == "ok" {
			t.Errorf("the sandbox reached the host-loopback listener through %s", addr)
		}
	}
}

func (k *kindSuite) testConfinement(t *testing.T) {
	if !k.opts.Confined {
		t.Skip("sandboxes of this runtime are not confined")
	}
	b, _ := k.plainBox(t)
	var got map[string]string
	b.mustInvoke(map[string]any{"op": "confinement"}, &got)
	// Seccomp 2 is filter mode: the default profile.
	if got["Seccomp"] != "2" {
		t.Errorf("seccomp mode %q, want 2 (a filter)", got["Seccomp"])
	}
	if got["CapEff"] != "0000000000000000" || got["CapBnd"] != "0000000000000000" {
		t.Errorf("capabilities: effective %s, bounding %s; want none", got["CapEff"], got["CapBnd"])
	}
	if got["NoNewPrivs"] != "1" {
		t.Errorf("no_new_privs %q, want 1", got["NoNewPrivs"])
	}
	if got["userns"] == "ok" {
		t.Error("the sandbox made a user namespace")
	}
	// Lambda's quota: 1,024 file descriptors per execution environment.
	if got["nofile"] != "1024/1024" {
		t.Errorf("open-file limit %q (soft/hard), want 1024/1024", got["nofile"])
	}
}

// identity is what op "identity" answers.
type identity struct {
	UID    int               `json:"uid"`
	EUID   int               `json:"euid"`
	GID    int               `json:"gid"`
	EGID   int               `json:"egid"`
	Groups []int             `json:"groups"`
	Writes map[string]string `json:"writes"`
	Stdout string            `json:"stdout"`
}

// onlyGroup reports whether groups (getgroups(2)) holds no group but gid: the
// engines list the primary group there (Docker does), or nothing.
func onlyGroup(groups []int, gid int) bool {
	for _, g := range groups {
		if g != gid {
			return false
		}
	}
	return true
}

// Lambda's sbx_user1051, whom a container sandbox runs as by default.
const sandboxUID, sandboxGID = 993, 990

// testUser checks the user a confined sandbox runs as and where it can write:
// /tmp and a volume open to every user, not the root file system, its code or
// a volume only root may write to.
func (k *kindSuite) testUser(t *testing.T) {
	if !k.opts.Confined {
		t.Skip("sandboxes of this runtime run as the server's user")
	}
	rt := k.runtime(t)
	open, rootOnly := t.TempDir(), t.TempDir()
	// Portico's function volumes are open to every user (functions.VolumeDir).
	if err := os.Chmod(open, 0o777); err != nil { //nolint:gosec // G302: the volume a sandbox user must write to
		t.Fatal(err)
	}
	if err := os.Chmod(rootOnly, 0o755); err != nil { //nolint:gosec // G302: readable by the sandbox, not writable
		t.Fatal(err)
	}
	api := NewAPIServer(t, rt.HostAddr())
	spec := k.spec(api)
	spec.Mounts = []runtimes.Mount{{Source: open, Target: "/mnt/open"}, {Source: rootOnly, Target: "/mnt/root-only"}}
	b := k.start(t, rt, api, spec)
	var got identity
	b.mustInvoke(map[string]any{"op": "identity", "paths": []string{"/tmp", "/mnt/open", "/", "/var", "/var/task", "/mnt/root-only"}}, &got)
	if got.UID != sandboxUID || got.EUID != sandboxUID || got.GID != sandboxGID || got.EGID != sandboxGID {
		t.Errorf("the sandbox runs as uid %d (effective %d) gid %d (effective %d); want %d:%d", got.UID, got.EUID, got.GID, got.EGID, sandboxUID, sandboxGID)
	}
	if !onlyGroup(got.Groups, got.GID) {
		t.Errorf("supplementary groups %v, want none (beyond the primary group)", got.Groups)
	}
	for dir, want := range map[string]bool{"/tmp": true, "/mnt/open": true, "/": false, "/var": false, "/var/task": false, "/mnt/root-only": false} {
		if w := got.Writes[dir]; (w == "ok") != want {
			t.Errorf("writing a file in %s: %q; want it to succeed: %v", dir, w, want)
		}
	}
	if got.Stdout != "ok" {
		t.Errorf("reopening /dev/stdout: %s", got.Stdout)
	}
	waitForLog(t, b, "sandbox: stdout reopened")
	// What the sandbox wrote to the volume is its user's on the host.
	ents, err := os.ReadDir(open)
	if err != nil || len(ents) != 1 {
		t.Fatalf("the open volume holds %v (%v), want the sandbox's one file", ents, err)
	}
	if fi, err := ents[0].Info(); err != nil {
		t.Error(err)
	} else if st, ok := fi.Sys().(*syscall.Stat_t); ok && (st.Uid != sandboxUID || st.Gid != sandboxGID) {
		t.Errorf("the sandbox's file on the volume belongs to %d:%d, want %d:%d", st.Uid, st.Gid, sandboxUID, sandboxGID)
	}
	b.stop()
	if k.kind == "Image" {
		k.testImageUsers(t, rt)
	}
}

// testImageUsers checks that an Image sandbox runs as its image's USER when
// that is not root, resolved as the engines resolve it, and as sbx_user1051
// otherwise. An image without USER is the suite's base image, whose sandbox
// testUser checks before calling it.
func (k *kindSuite) testImageUsers(t *testing.T, rt runtimes.Runtime) {
	imp, ok := rt.(runtimes.ImageImporter)
	if !ok {
		return
	}
	files := map[string]string{ //nolint:gosec // G101: passwd and group files of a test image, no credentials
		"etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\napp:x:2000:2001::/home/app:/sbin/nologin\nrooty:x:2002:0::/:/sbin/nologin\n",
		"etc/group":  "root:x:0:\nwheel:x:10:app,rooty\napp:x:2001:\nstaff:x:50:\n",
	}
	for _, c := range []struct {
		user     string
		files    bool
		uid, gid int // 0: the start is refused as ErrInvalid
	}{
		// No USER at all is the suite's own image, which testUser ran above.
		{"0", false, sandboxUID, sandboxGID},
		{"0:0", false, sandboxUID, sandboxGID},
		{"root", true, sandboxUID, sandboxGID},
		{"1234:1234", false, 1234, 1234},
		{"1234", false, 1234, sandboxGID},
		{"1234:0", false, 1234, sandboxGID},
		{"app", true, 2000, 2001},
		{"2000", true, 2000, 2001},
		{"app:staff", true, 2000, 50},
		{"rooty", true, 2002, sandboxGID},
		{"nosuch", true, 0, 0},
		// A FROM scratch image has no passwd file: root needs none to be
		// replaced, a name is refused, in the same words on every
		// runtime (r-rt27 #6).
		{"root", false, sandboxUID, sandboxGID},
		{"root:root", false, sandboxUID, sandboxGID},
		{"nobody", false, 0, 0},
		{"app:nogroup", true, 0, 0},
		{"1234:staff", false, 0, 0},
	} {
		name := "USER=" + c.user
		if !c.files {
			name += "/no_passwd"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			ic := imageConfig{entrypoint: []string{"/bootstrap"}, user: c.user}
			if c.files {
				ic.files = files
			}
			ref := "portico-test/user:" + randHex(6)
			if _, err := imp.ImportImage(ctx, bytes.NewReader(imageArchiveOf(t, k.bin, ref, ic))); err != nil {
				t.Fatalf("ImportImage: %v", err)
			}
			if k.opts.RemoveImage != nil {
				t.Cleanup(func() { _ = k.opts.RemoveImage(context.Background(), rt, ref) })
			}
			api := NewAPIServer(t, rt.HostAddr())
			spec := k.spec(api)
			spec.Image = ref
			if c.uid == 0 {
				// Named as the function names it (its ImageUri).
				spec.ImageRef = "registry.example/fn:" + randHex(4)
				sb, err := rt.Start(ctx, spec)
				if err == nil {
					_ = sb.Stop(ctx)
				}
				if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), spec.ImageRef) ||
					!strings.Contains(err.Error(), "use a numeric USER") {
					t.Fatalf("Start of an image whose USER is unknown: %v, want ErrInvalid naming the function's image and the fix", err)
				}
				// The same words on every runtime (r-rt29 #5): the user or
				// group named, no engine's own detail.
				what, part := "user", c.user
				if _, g, ok := strings.Cut(c.user, ":"); ok {
					what, part = "group", g
				}
				want := fmt.Sprintf("image %s cannot run as function %s: USER %q: %s %q: not in the image's passwd or group file; use a numeric USER",
					spec.ImageRef, spec.Function, c.user, what, part)
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Start of an image whose USER is unknown: %v\nwant the words %q", err, want)
				}
				return
			}
			b := k.start(t, rt, api, spec)
			var got identity
			b.mustInvoke(map[string]any{"op": "identity"}, &got)
			if got.UID != c.uid || got.GID != c.gid || !onlyGroup(got.Groups, got.GID) {
				t.Errorf("USER %q ran as %d:%d groups %v, want %d:%d and no groups", c.user, got.UID, got.GID, got.Groups, c.uid, c.gid)
			}
		})
	}
}

// testImageVolume checks that a path the image declares as a VOLUME is not
// writable, even when the image gives the sandbox's user that directory:
// Docker would make it a volume on its own disk, of no bounded size (r-rt27
// #5); on Lambda only /tmp is writable.
func (k *kindSuite) testImageVolume(t *testing.T) {
	rt := k.runtime(t)
	imp, ok := rt.(runtimes.ImageImporter)
	if !ok || !k.opts.Confined {
		t.Skip("the runtime imports no images, or runs sandboxes as the server's user")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ref := "portico-test/volume:" + randHex(6)
	if _, err := imp.ImportImage(ctx, bytes.NewReader(imageArchiveOf(t, k.bin, ref, imageConfig{entrypoint: []string{"/bootstrap"}, volume: "/data"}))); err != nil {
		t.Fatalf("ImportImage: %v", err)
	}
	if k.opts.RemoveImage != nil {
		t.Cleanup(func() { _ = k.opts.RemoveImage(context.Background(), rt, ref) })
	}
	api := NewAPIServer(t, rt.HostAddr())
	spec := k.spec(api)
	spec.Image = ref
	b := k.start(t, rt, api, spec)
	var got identity
	b.mustInvoke(map[string]any{"op": "identity", "paths": []string{"/data", "/tmp"}}, &got)
	if w := got.Writes["/data"]; w == "ok" {
		t.Errorf("writing a file in the image's VOLUME /data: %q; want it refused", w)
	}
	if w := got.Writes["/tmp"]; w != "ok" {
		t.Errorf("writing a file in /tmp: %q", w)
	}
	b.stop()
}

// testMetadataUnreachable checks that a sandbox cannot reach a cloud host's
// metadata service (and the host's credentials through it). Where the host
// has no route to it the dial fails anyway; where it has one (a cloud VM, or
// a network that answers every address), only the runtime's rules stop it.
func (k *kindSuite) testMetadataUnreachable(t *testing.T) {
	if !k.opts.NetworkIsolated {
		t.Skip("sandboxes of this runtime share the host's network namespace")
	}
	b, _ := k.plainBox(t)
	addrs := []string{"169.254.169.254:80", "169.254.170.2:80"}
	var got map[string]string
	b.mustInvoke(map[string]any{"op": "dial", "addrs": addrs}, &got)
	for _, a := range addrs {
		if got[a] == "ok" {
			t.Errorf("the sandbox reached the metadata endpoint %s", a)
		}
	}
}

// testSandboxesUnreachable checks that a sandbox cannot connect to another
// (a function's own server, say, such as a web adapter's): one listens on
// every address it has, IPv4 and IPv6 alike, and the other dials each.
func (k *kindSuite) testSandboxesUnreachable(t *testing.T) {
	if !k.opts.NetworkIsolated {
		t.Skip("sandboxes of this runtime share the host's network namespace")
	}
	rt := k.runtime(t)
	server, client := k.newBox(t, rt), k.newBox(t, rt)
	var listening struct {
		Addrs []string `json:"addrs"`
		Error string   `json:"error"`
	}
	server.mustInvoke(map[string]any{"op": "listen", "port": 8080}, &listening)
	if listening.Error != "" || len(listening.Addrs) == 0 {
		t.Fatalf("the listening sandbox: %+v", listening)
	}
	var got map[string]string
	client.mustInvoke(map[string]any{"op": "dial", "addrs": listening.Addrs}, &got)
	for _, a := range listening.Addrs {
		if got[a] == "ok" {
			t.Errorf("a sandbox reached another's listener at %s", a)
		}
	}
	if k.opts.Neighbour != nil {
		t.Run("AcrossBridges", func(t *testing.T) { k.testAcrossBridges(t, rt, server, listening.Addrs) })
	}
}

// testAcrossBridges checks that a sandbox of the neighbouring runtime cannot
// connect to server (a sandbox of rt listening on addrs, port 8080), nor
// server's runtime's sandbox to one of the neighbour's: each runtime lets its
// sandboxes out of the host, and the host routes between its bridges.
func (k *kindSuite) testAcrossBridges(t *testing.T, rt runtimes.Runtime, server *box, addrs []string) {
	nrt := k.opts.Neighbour(t)
	zip := &kindSuite{suite: k.suite, kind: "Zip"}
	other := zip.newBox(t, nrt)
	var got map[string]string
	other.mustInvoke(map[string]any{"op": "dial", "addrs": addrs}, &got)
	for _, a := range addrs {
		if got[a] == "ok" {
			t.Errorf("a %s sandbox reached a %s sandbox's listener at %s", nrt.Name(), rt.Name(), a)
		}
	}
	var listening struct {
		Addrs []string `json:"addrs"`
		Error string   `json:"error"`
	}
	other.mustInvoke(map[string]any{"op": "listen", "port": 8081}, &listening)
	if listening.Error != "" || len(listening.Addrs) == 0 {
		t.Fatalf("the listening %s sandbox: %+v", nrt.Name(), listening)
	}
	got = nil
	server.mustInvoke(map[string]any{"op": "dial", "addrs": listening.Addrs}, &got)
	for _, a := range listening.Addrs {
		if got[a] == "ok" {
			t.Errorf("a %s sandbox reached a %s sandbox's listener at %s", rt.Name(), nrt.Name(), a)
		}
	}
	// Both still reach the host beyond their bridges: the other bridge's
	// address (the host's own, as the gateway's Runtime API is) answers.
	hostLn, err := net.Listen("tcp", net.JoinHostPort(nrt.HostAddr(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hostLn.Close() }()
	go func() {
		for {
			c, err := hostLn.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	got = nil
	server.mustInvoke(map[string]any{"op": "dial", "addrs": []string{hostLn.Addr().String()}}, &got)
	if got[hostLn.Addr().String()] != "ok" {
		t.Errorf("a %s sandbox could not reach the host's address on the %s bridge: %v", rt.Name(), nrt.Name(), got)
	}
}

func (k *kindSuite) testPeerVerifier(t *testing.T) {
	b, _ := k.plainBox(t)
	if _, ok := b.Sandbox.(runtimes.PeerVerifier); !ok {
		t.Skip("sandboxes are not PeerVerifiers")
	}
	b.mustInvoke(map[string]any{"op": "env"}, nil)
	checkPeers(t, b)
}

// checkPeers checks that the sandbox owns the connections its endpoint saw, and
// not one the test makes from the host.
func checkPeers(t *testing.T, b *box) {
	t.Helper()
	pv := b.Sandbox.(runtimes.PeerVerifier)
	peers := b.api.Peers()
	if len(peers) == 0 {
		t.Fatal("the endpoint saw no connection")
	}
	for _, p := range peers {
		if !pv.OwnsConn(p) {
			t.Errorf("OwnsConn(%v) = false for the sandbox's own connection", p)
		}
	}
	c, err := net.Dial("tcp", b.api.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if pv.OwnsConn(c.LocalAddr()) {
		t.Errorf("OwnsConn(%v) = true for a connection from outside the sandbox", c.LocalAddr())
	}
}

func (k *kindSuite) testMemory(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	mr, ok := b.Sandbox.(runtimes.MemoryReporter)
	if !ok {
		t.Skip("sandboxes are not MemoryReporters")
	}
	b.mustInvoke(map[string]any{"op": "alloc", "mb": 48}, nil)
	if pr, ok := b.Sandbox.(runtimes.PeakMemoryReader); ok {
		// Read first: MaxMemoryMB's figure would hide a read that lags.
		if mb := pr.ReadPeakMemoryMB(); mb != 0 && mb < 48 {
			t.Errorf("ReadPeakMemoryMB() = %d after touching 48 MB", mb)
		}
	}
	if mb := mr.MaxMemoryMB(); mb < 48 {
		t.Errorf("MaxMemoryMB() = %d after touching 48 MB", mb)
	}
	t.Run("OutOfMemory", k.testOutOfMemory)
}

// testOutOfMemory checks the peak a sandbox killed for memory reports once it
// has gone: its limit (the spec's MemoryMB), not what was last measured
// before its cgroup was removed.
func (k *kindSuite) testOutOfMemory(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	mr := b.Sandbox.(runtimes.MemoryReporter)
	b.ready()
	_ = mr.MaxMemoryMB() // a first, small figure
	limit := b.spec.MemoryMB
	if _, err := b.invoke(map[string]any{"op": "alloc", "mb": limit * 3}); !errors.Is(err, ErrSandboxExited) {
		t.Skipf("a sandbox touching %d MB was not killed (%v): the runtime sets no memory limit", limit*3, err)
	}
	b.waitDone()
	if mb := mr.MaxMemoryMB(); mb < limit*9/10 {
		t.Errorf("MaxMemoryMB() = %d after a sandbox of %d MB was killed for memory, want about %d", mb, limit, limit)
	}
	b.stop()
}

func (k *kindSuite) testPause(t *testing.T) {
	rt := k.runtime(t)
	b := k.newBox(t, rt)
	p, ok := b.Sandbox.(runtimes.Pauser)
	if !ok {
		t.Skip("sandboxes are not Pausers")
	}
	b.ready()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.Pause(ctx); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	if err := p.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	b.mustInvoke(map[string]any{"op": "env"}, nil)
	// A paused sandbox stops too.
	if err := p.Pause(ctx); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	b.stop()
	k.expectCount(t, rt, 0, "after stopping a paused sandbox")
}

func (k *kindSuite) testPrepare(t *testing.T) {
	rt := k.runtime(t)
	pr, ok := rt.(runtimes.Preparer)
	if !ok {
		t.Skip("the runtime is not a Preparer")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	// Prepared, then started: a working sandbox.
	api := NewAPIServer(t, rt.HostAddr())
	spec := k.spec(api)
	p, err := pr.Prepare(ctx, spec)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if api.Nexts() != 0 {
		t.Fatalf("a prepared sandbox called next before Start")
	}
	sb, err := p.Start(ctx)
	if err != nil {
		t.Fatalf("Start of a prepared sandbox: %v", err)
	}
	b := k.adopt(t, sb, api, spec)
	b.mustInvoke(map[string]any{"op": "log", "stdout": "prepared-out", "stderr": "prepared-err"}, nil)
	if _, ok := sb.(runtimes.PeerVerifier); ok {
		checkPeers(t, b)
	}
	if k.opts.NetworkIsolated {
		var got map[string]string
		own := api.Addr()
		b.mustInvoke(map[string]any{"op": "dial", "addrs": []string{own}}, &got)
		if got[own] != "ok" {
			t.Errorf("a prepared sandbox cannot reach its own endpoint: %s", got[own])
		}
	}
	b.stop()
	if logs := b.allLogs(); !strings.Contains(logs, "prepared-out") || !strings.Contains(logs, "prepared-err") {
		t.Errorf("Logs of a prepared sandbox lack its output; got:\n%s", logs)
	}
	if err := p.Discard(ctx); err != nil {
		t.Errorf("Discard after Start: %v", err)
	}

	// Prepared, then discarded: nothing left. Prepared and forgotten: Cleanup removes it.
	api2 := NewAPIServer(t, rt.HostAddr())
	p2, err := pr.Prepare(ctx, k.spec(api2))
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if err := p2.Discard(ctx); err != nil {
		t.Fatalf("Discard: %v", err)
	}
	if err := p2.Discard(ctx); err != nil {
		t.Fatalf("second Discard: %v", err)
	}
	if _, err := p2.Start(ctx); err == nil {
		t.Fatalf("Start after Discard succeeded")
	}
	k.expectCount(t, rt, 0, "after Discard")
	if _, err := pr.Prepare(ctx, k.spec(NewAPIServer(t, rt.HostAddr()))); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if err := k.runtime(t).Cleanup(ctx); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	k.expectCount(t, rt, 0, "after Cleanup of a prepared sandbox")
}

func (k *kindSuite) testImagePin(t *testing.T) {
	rt := k.runtime(t)
	res, ok := rt.(runtimes.ImageResolver)
	if !ok {
		t.Skip("the runtime is not an ImageResolver")
	}
	imp := rt.(runtimes.ImageImporter)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ref := "portico-test/pinned:" + randHex(4)
	load := func(marker string) string {
		t.Helper()
		if _, err := imp.ImportImage(ctx, bytes.NewReader(ImageArchive(t, k.bin, ref, "PORTICO_TEST_IMAGE="+marker))); err != nil {
			t.Fatalf("ImportImage: %v", err)
		}
		id, err := res.ResolveImage(ctx, ref)
		if err != nil {
			t.Fatalf("ResolveImage(%q): %v", ref, err)
		}
		if !strings.HasPrefix(id, "sha256:") {
			t.Fatalf("ResolveImage(%q) = %q, want an id sha256:...", ref, id)
		}
		return id
	}
	one := load("one")
	two := load("two") // the tag moves
	if k.opts.RemoveImage != nil {
		t.Cleanup(func() {
			for _, r := range []string{ref, one, two} {
				if err := k.opts.RemoveImage(context.Background(), rt, r); err != nil {
					t.Logf("removing %s: %v", r, err)
				}
			}
		})
	}
	if one == two {
		t.Fatalf("two different images resolved to the same id %s", one)
	}
	for _, c := range []struct{ image, want string }{{one, "one"}, {ref, "two"}, {two, "two"}} {
		api := NewAPIServer(t, rt.HostAddr())
		spec := k.spec(api)
		spec.Image = c.image
		b := k.start(t, rt, api, spec)
		var got struct {
			Env map[string]string `json:"env"`
		}
		b.mustInvoke(map[string]any{"op": "env"}, &got)
		if got.Env["PORTICO_TEST_IMAGE"] != c.want {
			t.Errorf("Image %s ran image %q, want %q", c.image, got.Env["PORTICO_TEST_IMAGE"], c.want)
		}
		b.stop()
	}
	if _, err := res.ResolveImage(ctx, "127.0.0.1:1/portico-test/never-imported:"+randHex(4)); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("ResolveImage of a missing image: %v, want ErrInvalid", err)
	}
}

func (k *kindSuite) testMissingImage(t *testing.T) {
	rt := k.runtime(t)
	api := NewAPIServer(t, rt.HostAddr())
	spec := k.spec(api)
	spec.Image = "127.0.0.1:1/portico-test/missing:" + randHex(4)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := rt.Start(ctx, spec)
	if err == nil {
		t.Fatalf("Start of a missing image from an unreachable registry succeeded")
	}
	if !strings.Contains(err.Error(), spec.Image) {
		t.Errorf("the error does not name the image %s: %v", spec.Image, err)
	}
	// The caller's to fix (bring the image in), not a fault of the server's to
	// retry: ErrInvalid, saying how.
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "portico image import") {
		t.Errorf("Start of a missing image: %v, want ErrInvalid saying how to bring it in", err)
	}
	spec.Image = "not a reference!"
	if _, err := rt.Start(ctx, spec); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("Start of an unparsable reference: %v, want ErrInvalid", err)
	}
	if imp, ok := rt.(runtimes.ImageImporter); ok {
		spec.Image = "portico-test/no-entrypoint:" + randHex(4)
		if _, err := imp.ImportImage(ctx, bytes.NewReader(imageArchive(t, k.bin, spec.Image, nil, nil))); err != nil {
			t.Fatalf("ImportImage: %v", err)
		}
		if k.opts.RemoveImage != nil {
			defer func() { _ = k.opts.RemoveImage(context.Background(), rt, spec.Image) }()
		}
		// Every runtime says it in the same words, its own (not the
		// daemon's "No command specified").
		_, err := rt.Start(ctx, spec)
		want := fmt.Sprintf("image %s cannot run as function %s: it has no ENTRYPOINT or CMD", spec.Image, spec.Function)
		if !errors.Is(err, errdefs.ErrInvalid) || err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("Start of an image without an entrypoint: %v, want ErrInvalid saying %q", err, want)
		}
		// Pinned to its id, as a published version is, the error names
		// the image as the function does (ImageRef), not its id.
		if res, ok := rt.(runtimes.ImageResolver); ok {
			id, err := res.ResolveImage(ctx, spec.Image)
			if err != nil {
				t.Fatalf("ResolveImage(%s): %v", spec.Image, err)
			}
			if k.opts.RemoveImage != nil {
				// The id's own record (containerd's pin), removed before the tag.
				defer func() { _ = k.opts.RemoveImage(context.Background(), rt, id) }()
			}
			spec.Image, spec.ImageRef = id, spec.Image
			_, err = rt.Start(ctx, spec)
			want := fmt.Sprintf("image %s cannot run as function %s: it has no ENTRYPOINT or CMD", spec.ImageRef, spec.Function)
			if !errors.Is(err, errdefs.ErrInvalid) || err == nil || !strings.HasSuffix(err.Error(), want) {
				t.Errorf("Start of a pinned image without an entrypoint: %v, want ErrInvalid saying %q", err, want)
			}
			spec.Image = spec.ImageRef
		}
	}
	// An image id no longer on the host (a published version's pin) is
	// gone: bring it back or point the function elsewhere, in the same words
	// on every runtime; not "build it with `portico build DIR -t sha256:…`",
	// which is no tag.
	if res, ok := rt.(runtimes.ImageResolver); ok {
		id := "sha256:" + strings.Repeat("d4", 32)
		_, err := res.ResolveImage(ctx, id)
		var gone *runtimes.ImageGoneError
		if !errors.As(err, &gone) || gone.Image != id || strings.Contains(err.Error(), "portico build") {
			t.Errorf("ResolveImage of an id not on the host: %v; want a *runtimes.ImageGoneError naming it", err)
		}
	}
	k.expectCount(t, rt, 0, "after failed starts")
}

// waitForLog waits until the sandbox's output holds s.
func waitForLog(t *testing.T, b *box, s string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !strings.Contains(b.output(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("output never held %q; got:\n%s", s, b.output())
		}
		select {
		case <-b.Done():
			if !strings.Contains(b.allLogs(), s) {
				t.Fatalf("sandbox exited (%v) before printing %q; output:\n%s", b.Err(), s, b.output())
			}
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// SandboxUser starts a Zip sandbox of the test program on rt and returns the
// uid and gid it runs as, for checks of a runtime's configuration beyond the
// suite's (the operator's opt-out of the non-root rule, the process runtime's
// server user).
func SandboxUser(t *testing.T, rt runtimes.Runtime) (uid, gid int) {
	t.Helper()
	bin := BuildSandbox(t)
	k := &kindSuite{suite: &suite{bin: bin, codeDir: CodeDir(t, bin)}, kind: "Zip"}
	api := NewAPIServer(t, rt.HostAddr())
	b := k.start(t, rt, api, k.spec(api))
	var got identity
	b.mustInvoke(map[string]any{"op": "identity"}, &got)
	b.stop()
	return got.UID, got.GID
}

// VolumeSandbox starts a Zip sandbox of the test sandbox program on rt with
// mounts (function volumes). The sandbox is stopped when the test ends.
func VolumeSandbox(t *testing.T, rt runtimes.Runtime, mounts []runtimes.Mount) *VolumeBox {
	t.Helper()
	bin := BuildSandbox(t)
	k := &kindSuite{suite: &suite{bin: bin, codeDir: CodeDir(t, bin)}, kind: "Zip"}
	api := NewAPIServer(t, rt.HostAddr())
	spec := k.spec(api)
	spec.Mounts = mounts
	return &VolumeBox{t: t, b: k.start(t, rt, api, spec)}
}

// VolumeBox is a sandbox VolumeSandbox started.
type VolumeBox struct {
	t *testing.T
	b *box
}

// Write has the sandbox write a probe file in each of dirs and read it back,
// and reports "ok" or "error: ..." by dir.
func (v *VolumeBox) Write(dirs ...string) map[string]string {
	v.t.Helper()
	var got identity
	v.b.mustInvoke(map[string]any{"op": "identity", "paths": dirs}, &got)
	return got.Writes
}

// Confinement reports what confines the sandbox, from its
// /proc/self/status: "CapEff", "CapBnd", "Seccomp", "NoNewPrivs" (and
// "userns": whether it could make a user namespace, "nofile": its open-file
// limit).
func (v *VolumeBox) Confinement() map[string]string {
	v.t.Helper()
	var got map[string]string
	v.b.mustInvoke(map[string]any{"op": "confinement"}, &got)
	return got
}
