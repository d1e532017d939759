package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/process"
	"github.com/portico-dev/portico/store"
)

// codeDir holds the test function built once per test binary.
var codeDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invoker-fn-")
	if err != nil {
		panic(err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), "./testdata/fn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building test function: %v\n%s", err, out)
		os.Exit(1)
	}
	codeDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// fakeFunctions is a hand-written fake of the Functions seam.
type fakeFunctions struct {
	mu    sync.Mutex
	fns   map[string]*functions.Config // name + ":" + version
	prov  []functions.ProvisionedConfig
	subs  []func(string)
	vols  string
	codes map[string]string
	// eic holds event invoke configurations by name + ":" + qualifier.
	eic map[string]*functions.EventInvokeConfig
}

func newFakeFunctions(t testing.TB) *fakeFunctions {
	return &fakeFunctions{fns: map[string]*functions.Config{}, vols: t.TempDir(), codes: map[string]string{}}
}

func (f *fakeFunctions) add(cfg *functions.Config) *functions.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cfg.Version == "" {
		cfg.Version = functions.Latest
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3
	}
	if cfg.MemorySize == 0 {
		cfg.MemorySize = 128
	}
	if cfg.PackageType == "" {
		cfg.PackageType = functions.PackageZip
	}
	if cfg.RevisionID == "" {
		cfg.RevisionID = newID()
	}
	f.fns[cfg.FunctionName+":"+cfg.Version] = cfg
	return cfg
}

func (f *fakeFunctions) Get(_ context.Context, name, version string) (*functions.Config, error) {
	if version == "" {
		version = functions.Latest
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.fns[name+":"+version]
	if !ok {
		return nil, fmt.Errorf("function %s:%s: %w", name, version, errdefs.ErrNotFound)
	}
	return c, nil
}
func (f *fakeFunctions) CodeDir(*functions.Config) string { return codeDir }
func (f *fakeFunctions) VolumeDir(name string) (string, error) {
	d := filepath.Join(f.vols, name)
	return d, os.MkdirAll(d, 0o755)
}
func (f *fakeFunctions) ListProvisioned(context.Context) ([]functions.ProvisionedConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]functions.ProvisionedConfig(nil), f.prov...), nil
}
func (f *fakeFunctions) Subscribe(fn func(string)) { f.subs = append(f.subs, fn) }

// OnDelete implements Functions: the fake's removals are no transactions, and
// run no steps (the tests of purgeEvents use functions.Service).
func (f *fakeFunctions) OnDelete(func(name, version string) store.Step) {}

type env struct {
	inv   *Invoker
	clock *fakeClock
	fns   *fakeFunctions
	st    *store.Store
	dir   string
	logs  *testkit.LockedBuffer // the invoker's log
}

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	return newEnvIn(t, dir, mod)
}

func newEnvIn(t testing.TB, dir string, mod func(*Config)) *env {
	t.Helper()
	return newEnvWith(t, dir, mod)
}

// newEnvWith is newEnvIn with the functions fns known before the invoker
// starts (its Event queue runs what it holds at once).
func newEnvWith(t testing.TB, dir string, mod func(*Config), fns ...*functions.Config) *env {
	t.Helper()
	return newEnvWrapped(t, dir, mod, nil, fns...)
}

// newEnvWrapped is newEnvWith with the process runtime wrapped by wrap, when
// set (a seam around the runtime, such as its sandboxes' output).
func newEnvWrapped(t testing.TB, dir string, mod func(*Config), wrap func(runtimes.Runtime) runtimes.Runtime, fns ...*functions.Config) *env {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := process.New(filepath.Join(dir, "run"), 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.StopGrace = 500 * time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	fake := newFakeFunctions(t)
	for _, fn := range fns {
		fake.add(fn)
	}
	clock := newFakeClock()
	logs := &testkit.LockedBuffer{}
	var r runtimes.Runtime = rt
	if wrap != nil {
		r = wrap(rt)
	}
	inv, err := New(Params{Config: cfg, Runtime: r, Functions: fake, Store: st, Clock: clock, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &env{inv: inv, clock: clock, fns: fake, st: st, dir: dir, logs: logs}
	t.Cleanup(func() { e.stop() })
	return e
}

func (e *env) stop() {
	if e.inv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.inv.Stop(ctx)
	_ = e.st.Close()
	e.inv = nil
}

type out struct {
	Echo     any    `json:"echo"`
	Env      string `json:"env"`
	Version  string `json:"version"`
	Request  string `json:"requestId"`
	Pid      int    `json:"pid"`
	Deadline int64  `json:"deadlineMs"`
	ARN      string `json:"arn"`
	Stolen   string `json:"stolen"`

	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

func invoke(t *testing.T, e *env, cfg *functions.Config, payload string) (*Result, out) {
	t.Helper()
	return invokeReq(t, e, Request{Function: cfg, Payload: []byte(payload)})
}

// invokeTail is invoke with X-Amz-Log-Type: Tail.
func invokeTail(t *testing.T, e *env, cfg *functions.Config, payload string) (*Result, out) {
	t.Helper()
	return invokeReq(t, e, Request{Function: cfg, Payload: []byte(payload), LogTail: true})
}

func invokeReq(t *testing.T, e *env, req Request) (*Result, out) {
	t.Helper()
	payload := req.Payload
	res, err := e.inv.Invoke(context.Background(), req)
	if err != nil {
		t.Fatalf("invoke %s: %v", payload, err)
	}
	var o out
	if err := json.Unmarshal(res.Payload, &o); err != nil {
		t.Fatalf("result %q is not JSON: %v", res.Payload, err)
	}
	return res, o
}

func TestInvokeWarmReuseAndRuntimeAPIHeaders(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "echo", Environment: map[string]string{"GREETING": "hi"}})

	res1, o1 := invoke(t, e, cfg, `{"echo":{"a":1},"env":"GREETING"}`)
	if res1.FunctionError != "" || !res1.ColdStart {
		t.Fatalf("first call: functionError=%q cold=%v payload=%s", res1.FunctionError, res1.ColdStart, res1.Payload)
	}
	if o1.Env != "hi" || o1.Version != "$LATEST" || o1.Request != res1.RequestID {
		t.Fatalf("first call result %+v (request %s)", o1, res1.RequestID)
	}
	if o1.ARN != functions.ARN("echo", "$LATEST") {
		t.Fatalf("invoked ARN %q", o1.ARN)
	}
	// The invoker reads its (fake, still) clock: the deadline is its now + the
	// 3 s default timeout, however long the cold start took in real time.
	if want := e.clock.Now().Add(3 * time.Second).UnixMilli(); o1.Deadline != want {
		t.Fatalf("deadline %d, want the clock's now + 3 s (%d)", o1.Deadline, want)
	}
	res2, o2 := invoke(t, e, cfg, `{"echo":2}`)
	if res2.ColdStart || o2.Pid != o1.Pid {
		t.Fatalf("second call should reuse the warm sandbox: cold=%v pid %d vs %d", res2.ColdStart, o2.Pid, o1.Pid)
	}
	if res2.RequestID == res1.RequestID {
		t.Fatal("request ids repeat")
	}
}

func TestSandboxEnvironment(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "envfn", MemorySize: 256, Timeout: 7})
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "7",
		"_HANDLER":                        "bootstrap",
		"AWS_REGION":                      "us-east-1",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"_LAMBDA_SERVER_PORT":             "",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
	}
	for k, v := range want {
		_, o := invoke(t, e, cfg, `{"env":"`+k+`"}`)
		if o.Env != v {
			t.Errorf("%s = %q, want %q", k, o.Env, v)
		}
	}
	_, o := invoke(t, e, cfg, `{"env":"AWS_LAMBDA_RUNTIME_API"}`)
	if !strings.HasPrefix(o.Env, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q", o.Env)
	}
}

// TestSandboxGOMAXPROCS checks that a sandbox's Go runtime gets the CPUs its
// memory size buys under Lambda's rule (one per 1,769 MB, rounded up, within the
// host's), and that a function's own GOMAXPROCS wins.
func TestSandboxGOMAXPROCS(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		cfg  *functions.Config
		want string
	}{
		{&functions.Config{FunctionName: "small", MemorySize: 128}, "1"},
		{&functions.Config{FunctionName: "onecpu", MemorySize: 1769}, "1"},
		{&functions.Config{FunctionName: "large", MemorySize: 10240}, strconv.Itoa(min(6, runtime.NumCPU()))},
		{&functions.Config{FunctionName: "own", MemorySize: 128, Environment: map[string]string{"GOMAXPROCS": "3"}}, "3"},
	}
	for _, c := range cases {
		_, o := invoke(t, e, e.fns.add(c.cfg), `{"env":"GOMAXPROCS"}`)
		if o.Env != c.want {
			t.Errorf("%s (%d MB): GOMAXPROCS = %q, want %q", c.cfg.FunctionName, c.cfg.MemorySize, o.Env, c.want)
		}
	}
	if got := sandboxProcs(1770, 64); got != 2 {
		t.Errorf("1,770 MB buys %d CPUs, want 2", got)
	}
}

func TestReservedConcurrencyThrottles(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ThrottleWait = 20 * time.Millisecond })
	one := 1
	cfg := e.fns.add(&functions.Config{FunctionName: "limited", ReservedConcurrency: &one, Timeout: 30})
	first := hold(t, e, cfg, "") // the first call holds the only slot

	_, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{}`)})
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrThrottled) || !errors.As(err, &k) || k.Reason != "ReservedFunctionConcurrentInvocationLimitExceeded" {
		t.Fatalf("second call: want throttled with reason, got %v", err)
	}
	if res := first.release(t); res == nil || res.FunctionError != "" {
		t.Fatalf("first call failed: %+v", res)
	}
	// With the slot free again, calls go through.
	if res, _ := invoke(t, e, cfg, `{}`); res.FunctionError != "" {
		t.Fatalf("after release: %s", res.Payload)
	}
	zero := 0
	cfg0 := e.fns.add(&functions.Config{FunctionName: "disabled", ReservedConcurrency: &zero})
	if _, err := e.inv.Invoke(context.Background(), Request{Function: cfg0}); !errors.Is(err, errdefs.ErrThrottled) {
		t.Fatalf("reserved concurrency 0 should throttle every call, got %v", err)
	}
}

func TestAccountConcurrencyThrottles(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AccountConcurrency = 1; c.ThrottleWait = 20 * time.Millisecond })
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 30})
	b := e.fns.add(&functions.Config{FunctionName: "b"})
	busy := hold(t, e, a, "")
	_, err := e.inv.Invoke(context.Background(), Request{Function: b})
	var k *errdefs.Kinded
	if !errors.As(err, &k) || k.Reason != "ConcurrentInvocationLimitExceeded" {
		t.Fatalf("want account throttle, got %v", err)
	}
	busy.release(t)
}

func TestTimeoutReplacesSandbox(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "slow", Timeout: 1})
	_, warm := invoke(t, e, cfg, `{}`)

	type r struct {
		res *Result
		o   out
	}
	got := make(chan r, 1)
	deadlineSet := e.clock.expectTimer(time.Second)
	go func() { res, o := invokeTail(t, e, cfg, `{"sleepMs":60000}`); got <- r{res, o} }()
	deadlineSet(t)
	e.clock.Advance(time.Second)
	g := <-got
	res, o := g.res, g.o
	if !res.TimedOut || res.FunctionError != "Unhandled" || res.CallerTimeout {
		t.Fatalf("want a function timeout, got timedOut=%v fe=%q caller=%v %s", res.TimedOut, res.FunctionError, res.CallerTimeout, res.Payload)
	}
	// The caller gets Lambda's words: the request id, not the log line's time.
	if want := "RequestId: " + res.RequestID + " Error: Task timed out after 1.00 seconds"; o.ErrorMessage != want || o.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("timeout error %q %q, want Sandbox.Timedout %q", o.ErrorType, o.ErrorMessage, want)
	}
	// The log line keeps its time: "<ISO time> <id> Task timed out after 1.00
	// seconds", in the tail as in the log, before END, as Lambda's tail has it.
	stamp := e.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	line := stamp + " " + res.RequestID + " Task timed out after 1.00 seconds\nEND RequestId: " + res.RequestID + "\n"
	if tail := string(res.LogTail); !strings.Contains(tail, line) || !strings.Contains(tail, "Status: timeout") {
		t.Errorf("the tail lacks %q before END, or Status: timeout:\n%s", line, tail)
	}
	if log, _ := e.inv.Logs().Read("slow", -1); !strings.Contains(string(log), line) {
		t.Errorf("the log lacks %q before END:\n%s", line, log)
	}
	waitGone(t, warm.Pid)
	res2, o2 := invoke(t, e, cfg, `{}`)
	if res2.FunctionError != "" || !res2.ColdStart || o2.Pid == warm.Pid {
		t.Fatalf("next call should cold-start a new sandbox: %+v %s", res2, res2.Payload)
	}
}

// TestCallerTimeoutShorterThanFunctionTimeout: a caller's deadline (an API's
// integration timeout) sooner than the function's answers the caller with
// CallerTimeout (the gateway's 504), and, as on AWS, where API Gateway's
// timeout does not end the Lambda invocation, the function runs on: its
// sandbox is not stopped, it sees its own deadline, its log ends with its own
// END and REPORT (no "Task timed out" for a timeout it does not have), and
// the next call finds the same sandbox warm.
func TestCallerTimeoutShorterThanFunctionTimeout(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "slow2", Timeout: 30})
	_, warm := invoke(t, e, cfg, `{}`) // warm: the call's deadline runs from the call, a cold start included
	waitIdle(t, e.inv.pool(cfg), 1)
	gate := filepath.Join(t.TempDir(), "gate")
	got := make(chan callResult, 1)
	deadlineSet := e.clock.expectTimer(200 * time.Millisecond)
	go func() {
		res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"print":"still-running","waitFile":"` + gate + `"}`), Timeout: 200 * time.Millisecond})
		got <- callResult{res, err}
	}()
	deadlineSet(t)
	e.clock.Advance(200 * time.Millisecond)
	g := receive(t, got)
	if g.err != nil {
		t.Fatal(g.err)
	}
	if !g.res.TimedOut || !g.res.CallerTimeout || g.res.RequestID == "" {
		t.Fatalf("want the caller's timeout with the request id, got %+v", g.res)
	}
	id := g.res.RequestID

	writeFile(t, gate) // the function, still running, finishes
	var log string
	waitFor(t, "the invocation's END", func() bool {
		b, _ := e.inv.Logs().Read(cfg.FunctionName, -1)
		log = string(b)
		return strings.Contains(log, "END RequestId: "+id+"\n")
	})
	if missing := inOrder(log, "START RequestId: "+id, "still-running", "END RequestId: "+id, "REPORT RequestId: "+id); missing != "" {
		t.Errorf("the log lacks %q of the invocation that ran on:\n%s", missing, log)
	}
	if strings.Contains(log, "Task timed out") || strings.Contains(log, "Status: timeout") {
		t.Errorf("the log says the function timed out; it did not (the caller's deadline passed):\n%s", log)
	}
	res2, o2 := invoke(t, e, cfg, `{}`)
	if res2.FunctionError != "" || res2.ColdStart || o2.Pid != warm.Pid {
		t.Fatalf("the next call should find the same sandbox warm (pid %d): %+v pid %d", warm.Pid, res2, o2.Pid)
	}
	// Each invocation sees the function's deadline, never the caller's.
	if want := e.clock.Now().Add(30 * time.Second).UnixMilli(); o2.Deadline != want {
		t.Errorf("deadline seen by the function = %d, want %d (its own 30 s)", o2.Deadline, want)
	}
}

func TestKilledSandboxFailsOnlyItsCall(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "victim", Timeout: 30})
	tmp := t.TempDir()
	gate := filepath.Join(tmp, "gate")
	type r struct {
		res *Result
		err error
	}
	calls := make([]chan r, 2)
	for n := range calls {
		calls[n] = make(chan r, 1)
		pf := filepath.Join(tmp, "pid"+strconv.Itoa(n))
		go func() {
			res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"waitFile":"` + gate + `","pidFile":"` + pf + `"}`)})
			calls[n] <- r{res, err}
		}()
	}
	pid0 := waitForFile(t, filepath.Join(tmp, "pid0"))
	pid1 := waitForFile(t, filepath.Join(tmp, "pid1"))
	if pid0 == pid1 {
		t.Fatal("two concurrent calls shared a sandbox")
	}
	if err := syscall.Kill(pid0, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	got0 := <-calls[0]
	if got0.err != nil || got0.res.FunctionError != "Unhandled" || !strings.Contains(string(got0.res.Payload), "Runtime.ExitError") {
		t.Fatalf("killed call: %v %+v", got0.err, got0.res)
	}
	_ = os.WriteFile(gate, nil, 0o600)
	got1 := <-calls[1]
	if got1.err != nil || got1.res.FunctionError != "" {
		t.Fatalf("the other call must succeed: %v %s", got1.err, got1.res.Payload)
	}
	if res, _ := invoke(t, e, cfg, `{}`); res.FunctionError != "" {
		t.Fatalf("after the crash: %s", res.Payload)
	}
}

func TestPanicThenColdStart(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "panicky"})
	res, o := invoke(t, e, cfg, `{"panic":true}`)
	if res.FunctionError != "Unhandled" || o.ErrorMessage != "boom" {
		t.Fatalf("panic result: %s", res.Payload)
	}
	res2, o2 := invoke(t, e, cfg, `{"echo":"after"}`)
	if res2.FunctionError != "" || o2.Echo != "after" || !res2.ColdStart {
		t.Fatalf("after a panic the next call cold-starts and succeeds: cold=%v %s", res2.ColdStart, res2.Payload)
	}
	res3, o3 := invoke(t, e, cfg, `{"fail":"nope"}`)
	if res3.FunctionError != "Unhandled" || o3.ErrorMessage != "nope" || o3.ErrorType != "errorString" {
		t.Fatalf("returned error: %s", res3.Payload)
	}
}

// TestExitDuringInitIsAFunctionError checks the error of a call whose sandbox
// exits during init, as Lambda words it: the call's own request id, and
// "Runtime exited with error: exit status N", or for a clean exit "Runtime
// exited without providing a reason".
func TestExitDuringInitIsAFunctionError(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name, script, reason string
	}{
		{"status", "echo init failing >&2\nexit 3", "Runtime exited with error: exit status 3"},
		{"clean", "exit 0", "Runtime exited without providing a reason"},
		{"signal", "kill -SEGV $$", "Runtime exited with error: signal: segmentation fault"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			useBootstrap(t, "#!/bin/sh\n"+tc.script+"\n")
			cfg := e.fns.add(&functions.Config{FunctionName: "broken-" + tc.name})
			id := newID()
			res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, RequestID: id})
			if err != nil {
				t.Fatal(err)
			}
			var o out
			if err := json.Unmarshal(res.Payload, &o); err != nil {
				t.Fatalf("init exit: %s: %v", res.Payload, err)
			}
			want := "RequestId: " + id + " Error: " + tc.reason
			if res.FunctionError != "Unhandled" || res.RequestID != id || o.ErrorType != "Runtime.ExitError" || o.ErrorMessage != want {
				t.Fatalf("init exit: request %s, fe=%q %s; want Runtime.ExitError %q", res.RequestID, res.FunctionError, res.Payload, want)
			}
		})
	}
}

// useBootstrap makes script the code of the functions the test starts.
func useBootstrap(t *testing.T, script string) {
	t.Helper()
	dir := t.TempDir()
	//nolint:gosec // G306: the sandbox's executable
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	saved := codeDir
	codeDir = dir
	t.Cleanup(func() { codeDir = saved })
}

// TestExitMidInvokeWording checks the error of a call whose sandbox exits
// under it, as Lambda words it: the exit status or the signal in
// os.ProcessState's words, and for a clean exit no reason.
func TestExitMidInvokeWording(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "exits"})
	for _, tc := range []struct {
		name, payload, reason string
	}{
		{"status", `{"exit":5}`, "Runtime exited with error: exit status 5"},
		{"clean", `{"execSh":"exit 0"}`, "Runtime exited without providing a reason"},
		{"segfault", `{"execSh":"kill -SEGV $$"}`, "Runtime exited with error: signal: segmentation fault"},
		{"killed", `{"execSh":"kill -KILL $$"}`, "Runtime exited with error: signal: killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, o := invokeTail(t, e, cfg, tc.payload)
			want := "RequestId: " + res.RequestID + " Error: " + tc.reason
			if res.FunctionError != "Unhandled" || o.ErrorType != "Runtime.ExitError" || o.ErrorMessage != want {
				t.Fatalf("fe=%q %s; want Runtime.ExitError %q", res.FunctionError, res.Payload, want)
			}
			// Lambda logs the error and its type, then END.
			lines := want + "\nRuntime.ExitError\nEND RequestId: " + res.RequestID + "\n"
			if tail := string(res.LogTail); !strings.Contains(tail, lines) {
				t.Errorf("the tail lacks %q:\n%s", lines, tail)
			}
			if log, _ := e.inv.Logs().Read("exits", -1); !strings.Contains(string(log), lines) {
				t.Errorf("the log lacks %q:\n%s", lines, log)
			}
			// And its REPORT says the invocation failed, and how, as
			// Lambda's does (an exit or a memory kill alike).
			report := regexp.MustCompile(`REPORT RequestId: ` + res.RequestID + `\t.*\tStatus: error\tError Type: Runtime\.ExitError\n`)
			if tail := string(res.LogTail); !report.MatchString(tail) {
				t.Errorf("the REPORT lacks Status: error and Error Type: Runtime.ExitError:\n%s", tail)
			}
		})
	}
}

// queueWaitPastInit makes QueueWait differ from InitTimeout, so that a timer
// due at InitTimeout from the call is the init's, not the call's queue bound.
func queueWaitPastInit(c *Config) { c.QueueWait = time.Minute }

func TestInitTimeout(t *testing.T) {
	e := newEnv(t, queueWaitPastInit)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	saved := codeDir
	codeDir = dir
	defer func() { codeDir = saved }()
	cfg := e.fns.add(&functions.Config{FunctionName: "sleepy"})
	type r struct {
		res *Result
		err error
	}
	got := make(chan r, 1)
	init := e.inv.p.Config.InitTimeout
	initBounded := e.clock.expectTimer(init)
	go func() {
		res, err := e.inv.Invoke(context.Background(), Request{Function: cfg})
		got <- r{res, err}
	}()
	initBounded(t) // the sandbox started and its init is bounded
	e.clock.Advance(init)
	g := <-got
	res, err := g.res, g.err
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "Runtime.InitError") {
		t.Fatalf("init timeout: %s", res.Payload)
	}
}

// TestInitErrorEndsInitAtOnce: a runtime that posts /runtime/init/error and
// stays alive fails its init then, not at InitTimeout (the clock never moves
// here): the sandbox is stopped and the call gets the posted error.
func TestInitErrorEndsInitAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "initerror",
		Environment: map[string]string{"INIT_ERROR": "bad init", "INIT_ERROR_STAYS": "1"}})
	type r struct {
		res *Result
		err error
	}
	got := make(chan r, 1)
	go func() {
		res, err := e.inv.Invoke(context.Background(), Request{Function: cfg})
		got <- r{res, err}
	}()
	var g r
	select {
	case g = <-got:
	case <-time.After(20 * time.Second): // a safety net: the init timeout's clock never moves
		t.Fatal("the call still waits 20 s after its runtime posted init/error")
	}
	if g.err != nil {
		t.Fatal(g.err)
	}
	var o out
	if err := json.Unmarshal(g.res.Payload, &o); err != nil || g.res.FunctionError != "Unhandled" || o.ErrorType != "InitFailed" || o.ErrorMessage != "bad init" {
		t.Fatalf("result: fe=%q %s, want the posted InitFailed", g.res.FunctionError, g.res.Payload)
	}
}

// TestInitFailureLogged checks what a call whose sandbox fails its init logs,
// as Lambda does: the init's output, then START, Portico's lines on the
// failure, END and REPORT with the Init Duration and Status: error, in the
// function log and in the call's tail.
func TestInitFailureLogged(t *testing.T) {
	e := newEnv(t, queueWaitPastInit)
	for _, tc := range []struct {
		name    string
		script  string            // the bootstrap; "" for the test function
		env     map[string]string // the function's environment
		timeout bool              // init never ends: the clock passes InitTimeout
		output  string            // what the init printed
		note    string            // Portico's lines on the failure, after RequestId: ID Error:
		errType string
	}{
		{name: "init error", env: map[string]string{"INIT_ERROR": "no config"},
			output: "init: failing with no config", errType: "InitFailed"},
		{name: "exit", script: "#!/bin/sh\necho loading the handler\nexit 4\n",
			output: "loading the handler", note: "Runtime exited with error: exit status 4\nRuntime.ExitError\n", errType: "Runtime.ExitError"},
		// 126 and 127 are an entrypoint that could not be run, or not found.
		{name: "not executable", script: "#!/bin/sh\necho cannot run it\nexit 126\n",
			output: "cannot run it", note: "Runtime exited with error: exit status 126: the entrypoint (or a program it runs) could not be run: " +
				"it is not executable, or the sandbox's user may not read it; make the function's files readable, and its entrypoint executable, " +
				"by any user (chmod 0755), as Lambda requires\nRuntime.InvalidEntrypoint\n", errType: "Runtime.InvalidEntrypoint"},
		{name: "not found", script: "#!/bin/sh\necho no such program\nexit 127\n",
			output: "no such program", note: "Runtime exited with error: exit status 127: the entrypoint (or a program it runs) was not found: " +
				"check the image's ENTRYPOINT or the package's bootstrap\nRuntime.InvalidEntrypoint\n", errType: "Runtime.InvalidEntrypoint"},
		// A container's init (tini) that cannot exec the entrypoint says
		// why, and exits 127: the message quotes it.
		{name: "exec failed", script: "#!/bin/sh\necho '[FATAL tini (7)] exec /var/task/bootstrap failed: Exec format error' >&2\nexit 127\n",
			output: "[FATAL tini (7)] exec /var/task/bootstrap failed: Exec format error", note: "Runtime exited with error: exit status 127: " +
				"the entrypoint could not be run (exec /var/task/bootstrap failed: Exec format error): it is missing, or it is a script without a #! line, " +
				"or one whose #! line names an interpreter the sandbox lacks; check the image's ENTRYPOINT or the package's bootstrap\nRuntime.InvalidEntrypoint\n",
			errType: "Runtime.InvalidEntrypoint"},
		// Not found, in a Zip function: its bootstrap is missing, or its
		// #! names an interpreter the Zip base image lacks, as /bin/sh
		// (r-runtimes19 #2): the message says the base has no shell.
		{name: "zip no shell", script: "#!/bin/sh\necho '[FATAL tini (7)] exec /var/task/bootstrap failed: No such file or directory' >&2\nexit 127\n",
			output: "[FATAL tini (7)] exec /var/task/bootstrap failed: No such file or directory", note: "Runtime exited with error: exit status 127: " +
				"the entrypoint could not be run (exec /var/task/bootstrap failed: No such file or directory): it is missing, or it is a script without a #! line, " +
				"or one whose #! line names an interpreter the sandbox lacks; check the image's ENTRYPOINT or the package's bootstrap" + zipNoShell + "\nRuntime.InvalidEntrypoint\n",
			errType: "Runtime.InvalidEntrypoint"},
		{name: "timeout", script: "#!/bin/sh\necho loading forever\nexec sleep 60\n", timeout: true,
			output: "loading forever", note: "init did not finish within 10s: the runtime never called " + pathNext + "\nRuntime.InitError\n", errType: "Runtime.InitError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.script != "" {
				useBootstrap(t, tc.script)
			}
			name := "initfail-" + strings.ReplaceAll(tc.name, " ", "-")
			cfg := e.fns.add(&functions.Config{FunctionName: name, Environment: tc.env})
			got := make(chan *Result, 1)
			init := e.inv.p.Config.InitTimeout
			initBounded := e.clock.expectTimer(init)
			go func() {
				res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, LogTail: true})
				if err != nil {
					t.Error(err)
				}
				got <- res
			}()
			if tc.timeout {
				initBounded(t)
				// The init printed before its end is in the tail: wait for it
				// to reach the log before the clock ends the init.
				waitFor(t, "the init's output", func() bool {
					log, _ := e.inv.Logs().Read(name, -1)
					return strings.Contains(string(log), tc.output)
				})
				e.clock.Advance(init)
			}
			res := <-got
			if res == nil {
				t.FailNow()
			}
			var o out
			if err := json.Unmarshal(res.Payload, &o); err != nil || res.FunctionError != "Unhandled" || o.ErrorType != tc.errType {
				t.Fatalf("result: fe=%q %s, want %s", res.FunctionError, res.Payload, tc.errType)
			}
			id := res.RequestID
			want := []string{tc.output, "START RequestId: " + id + " Version: $LATEST\n"}
			if tc.note != "" {
				want = append(want, "RequestId: "+id+" Error: "+tc.note)
			}
			want = append(want, "END RequestId: "+id+"\nREPORT RequestId: "+id+"\t", "\tInit Duration: ", " ms\tStatus: error\n")
			log, _ := e.inv.Logs().Read(name, -1)
			for what, text := range map[string]string{"tail": string(res.LogTail), "log": string(log)} {
				at := 0
				for _, w := range want {
					n := strings.Index(text[at:], w)
					if n < 0 {
						t.Errorf("the %s lacks %q after the lines before it:\n%s", what, w, text)
						break
					}
					at += n + len(w)
				}
			}
		})
	}
}

func TestSandboxCannotReadAnotherSandboxsInvocation(t *testing.T) {
	e := newEnv(t, nil)
	a := e.fns.add(&functions.Config{FunctionName: "a", Timeout: 10})
	b := e.fns.add(&functions.Config{FunctionName: "b", Timeout: 30})
	// B's endpoint address, then keep B busy on a secret invocation.
	_, ob := invoke(t, e, b, `{"env":"AWS_LAMBDA_RUNTIME_API"}`)
	busy := hold(t, e, b, `"echo":"secret-of-b",`)
	_, oa := invoke(t, e, a, `{"steal":"`+ob.Env+`"}`)
	// B's endpoint closes A's connection as it accepts it, unanswered.
	if strings.Contains(oa.Stolen, "secret-of-b") || !strings.HasPrefix(oa.Stolen, "error: ") {
		t.Fatalf("sandbox A reached B's endpoint: %q", oa.Stolen)
	}
	res := busy.release(t)
	if res == nil || res.FunctionError != "" || !strings.Contains(string(res.Payload), "secret-of-b") {
		t.Fatalf("B's own call must be unaffected: %+v", res)
	}
	// And B keeps working afterwards.
	if r, _ := invoke(t, e, b, `{}`); r.FunctionError != "" {
		t.Fatalf("B after probe: %s", r.Payload)
	}
}

func TestResponseTooLarge(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxPayload = 1 << 20 })
	cfg := e.fns.add(&functions.Config{FunctionName: "big"})
	res, o := invoke(t, e, cfg, `{"bigOutput":2000000}`)
	// Lambda's words; its limit is 100 bytes over the request limit.
	want := "Response payload size exceeded maximum allowed payload size (1048676 bytes)."
	if res.FunctionError != "Unhandled" || o.ErrorType != "Function.ResponseSizeTooLarge" || o.ErrorMessage != want {
		t.Fatalf("big response: fe=%q %s, want %q", res.FunctionError, truncate(res.Payload), want)
	}
	if _, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: make([]byte, 2<<20)}); !errors.Is(err, errdefs.ErrTooLarge) {
		t.Fatalf("big request: want ErrTooLarge, got %v", err)
	}
}

// TestFrameLinesStartTheirOwnLine: output without a trailing newline is
// followed by one before END (and START, REPORT, Portico's notes), in the
// function log and in the log tail, so that END starts its own line. It
// read "RAW-NO-NEWLINEEND RequestId: ...".
func TestFrameLinesStartTheirOwnLine(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "rawprinter"})
	var ids []string
	for range 2 {
		res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"printRaw":"RAW-NO-NEWLINE"}`), LogTail: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.RequestID)
		if want := "\nRAW-NO-NEWLINE\nEND RequestId: " + res.RequestID + "\n"; !strings.Contains(string(res.LogTail), want) {
			t.Errorf("tail lacks %q:\n%s", want, res.LogTail)
		}
	}
	log, err := e.inv.Logs().Read("rawprinter", -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if want := "\nRAW-NO-NEWLINE\nEND RequestId: " + id + "\nREPORT RequestId: " + id + "\t"; !strings.Contains(string(log), want) {
			t.Errorf("function log lacks %q:\n%s", want, log)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(log), "\n"), "\n") {
		if !strings.HasPrefix(line, "START RequestId: ") && !strings.HasPrefix(line, "END RequestId: ") &&
			!strings.HasPrefix(line, "REPORT RequestId: ") && line != "RAW-NO-NEWLINE" {
			t.Errorf("function log line %q", line)
		}
	}
}

func TestLogsFramedAndTail(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "logger"})
	res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"print":"to-stdout","stderr":"to-stderr"}`), LogTail: true})
	if err != nil {
		t.Fatal(err)
	}
	tail := string(res.LogTail)
	for _, want := range []string{"START RequestId: " + res.RequestID + " Version: $LATEST", "to-stdout", "to-stderr", "END RequestId: " + res.RequestID, "REPORT RequestId: " + res.RequestID, "Init Duration:", "Max Memory Used:"} {
		if !strings.Contains(tail, want) {
			t.Errorf("tail lacks %q:\n%s", want, tail)
		}
	}
	if strings.Index(tail, "START") > strings.Index(tail, "to-stdout") || strings.Index(tail, "to-stdout") > strings.Index(tail, "END") {
		t.Errorf("output is not framed by START and END:\n%s", tail)
	}
	log, err := e.inv.Logs().Read("logger", -1)
	if err != nil || !strings.Contains(string(log), "to-stdout") || !strings.Contains(string(log), "REPORT RequestId: "+res.RequestID) {
		t.Fatalf("function log: %v\n%s", err, log)
	}
}

func TestIdleSandboxesAreReaped(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IdleTimeout = time.Minute })
	cfg := e.fns.add(&functions.Config{FunctionName: "reaped"})
	_, o := invoke(t, e, cfg, `{}`)
	p := e.inv.pool(cfg)
	waitFor(t, "the sandbox idle", func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.idle) == 1 })
	p.mu.Lock()
	expires := p.idle[0].idleSince.Add(time.Minute)
	p.mu.Unlock()
	// Idle for no longer than IdleTimeout: kept.
	for !e.clock.Now().Add(e.inv.tickPeriod()).After(expires) {
		e.tick(t)
	}
	if p.mu.Lock(); len(p.all) != 1 {
		t.Fatalf("reaped before its idle timeout: %d sandboxes", len(p.all))
	}
	p.mu.Unlock()
	e.tick(t) // now idle for longer than IdleTimeout
	waitGone(t, o.Pid)
	res, _ := invoke(t, e, cfg, `{}`)
	if !res.ColdStart {
		t.Fatal("after reaping, the next call must cold-start")
	}
}

func TestProvisionedConcurrencyStartsAhead(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.IdleTimeout = time.Minute })
	cfg := e.fns.add(&functions.Config{FunctionName: "prov", Version: "1"})
	e.fns.mu.Lock()
	e.fns.prov = []functions.ProvisionedConfig{{FunctionName: "prov", Qualifier: "1", Requested: 2}}
	e.fns.mu.Unlock()
	p := e.inv.pool(cfg)
	e.tick(t) // provisioning runs on the maintenance tick
	waitFor(t, "two provisioned sandboxes idle", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle) == 2
	})
	res, o := invoke(t, e, cfg, `{"env":"AWS_LAMBDA_INITIALIZATION_TYPE"}`)
	if res.ColdStart || o.Env != "provisioned-concurrency" {
		t.Fatalf("provisioned call: cold=%v init type %q", res.ColdStart, o.Env)
	}
	// Idle longer than IdleTimeout, they are still kept. (Both idle first: a
	// sandbox still on its way back to next when the clock passes its call's
	// deadline is stopped as overdue.)
	waitIdle(t, p, 2)
	e.clock.Advance(2 * time.Minute)
	e.tick(t)
	p.mu.Lock()
	n := len(p.all)
	p.mu.Unlock()
	if n < 2 {
		t.Fatalf("provisioned sandboxes were reaped: %d left", n)
	}
}

// TestProvisionedInitFailuresAreLogged: a provisioned sandbox whose init fails
// has no caller to report it to, and maintenance starts another: without a
// log line a version whose init always fails crash-loops unseen. The first
// failure is logged, then one line a minute with the count.
func TestProvisionedInitFailuresAreLogged(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "broken", Version: "1", Environment: map[string]string{"INIT_ERROR": "no database"}})
	e.fns.mu.Lock()
	e.fns.prov = []functions.ProvisionedConfig{{FunctionName: "broken", Qualifier: "1", Requested: 1}}
	e.fns.mu.Unlock()
	p := e.inv.pool(cfg)
	const line = "provisioned sandbox failed its init"
	logged := func() int { return strings.Count(e.logs.String(), line) }
	unseen := func() int { p.mu.Lock(); defer p.mu.Unlock(); return p.unseenFails }
	// Maintenance (the tick) replaces each failed sandbox. The clock moves
	// only while no sandbox is starting: a tick during a start that a loaded
	// machine makes slow would take the fake clock past the init timeout, and
	// the failure logged would be a timeout, not the function's init error.
	tick := func() {
		p.mu.Lock()
		starting := p.starting
		p.mu.Unlock()
		if starting == 0 {
			e.tick(t)
		}
	}
	waitFor(t, "the first failure logged", func() bool { tick(); return logged() > 0 })
	if out := e.logs.String(); !strings.Contains(out, "no database") || !strings.Contains(out, "function=broken") {
		t.Fatalf("the log line does not say which function failed and why:\n%s", out)
	}
	waitFor(t, "two more failures", func() bool { tick(); return unseen() >= 2 })
	if n := logged(); n != 1 {
		t.Fatalf("%d lines for failures within a minute, want 1", n)
	}
	e.clock.Advance(provisionedFailLogEvery)
	waitFor(t, "a second line after a minute", func() bool { tick(); return logged() == 2 })
	// The second line counts every failure since the first (at least the
	// two waited for, and the one that logged it).
	var last string
	for l := range strings.Lines(e.logs.String()) {
		if strings.Contains(l, line) {
			last = l
		}
	}
	_, count, _ := strings.Cut(last, "failures=")
	if n, _ := strconv.Atoi(strings.Fields(count + " ")[0]); n < 3 {
		t.Errorf("the second line counts %q failures, want 3 or more:\n%s", count, e.logs.String())
	}
}

// TestProvisionedInitFailuresBackOff (r-invoker28 #4): maintenance starts
// the provisioned sandboxes of a version whose init keeps failing after a
// wait that doubles with each failure in a row (up to five minutes), not at
// every pass; the setting stays FAILED with its reason meanwhile.
func TestProvisionedInitFailuresBackOff(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "crashy", Version: "1", Environment: map[string]string{"INIT_ERROR": "no database"}})
	e.fns.mu.Lock()
	e.fns.prov = []functions.ProvisionedConfig{{FunctionName: "crashy", Qualifier: "1", Requested: 1}}
	e.fns.mu.Unlock()
	p := e.inv.pool(cfg)
	state := func() (fails, starting int, why string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.provFails, p.starting, p.provFailure
	}
	tick := func() {
		if _, starting, _ := state(); starting == 0 {
			e.tick(t)
		}
	}
	waitFor(t, "three failures in a row", func() bool { tick(); f, _, _ := state(); return f >= 3 })
	waitFor(t, "no start in flight", func() bool { _, s, _ := state(); return s == 0 })
	fails, _, why := state()
	if !strings.Contains(why, "no database") {
		t.Fatalf("the failure's reason is %q", why)
	}
	// The next start waits provisionedBackoff(fails): 4 s or more, so the
	// passes of the next three seconds start nothing.
	if provisionedBackoff(fails) < 4*time.Second {
		t.Fatalf("backoff after %d failures is %s", fails, provisionedBackoff(fails))
	}
	// A pass that starts one counts it in starting before it ends; one that
	// failed since counts in provFails. The passes before the backoff ends
	// (at least two: a third failure waits 4 s) start nothing.
	p.mu.Lock()
	retryAt := p.provRetryAt
	p.mu.Unlock()
	passes := 0
	for ; e.clock.Now().Add(e.inv.tickPeriod()).Before(retryAt); passes++ {
		e.tick(t)
		if f, s, _ := state(); f != fails || s != 0 {
			t.Fatalf("a provisioned sandbox started within the backoff after %d failures (%d failures, %d starting)", fails, f, s)
		}
	}
	if passes < 2 {
		t.Fatalf("%d passes within the backoff after %d failures, want 2 or more", passes, fails)
	}
	if got := []time.Duration{provisionedBackoff(1), provisionedBackoff(2), provisionedBackoff(3), provisionedBackoff(20)}; got[0] != time.Second || got[1] != 2*time.Second || got[2] != 4*time.Second || got[3] != provisionedMaxBackoff {
		t.Fatalf("backoffs %v", got)
	}
	// Past it, maintenance starts one again.
	waitFor(t, "a start after the backoff", func() bool {
		tick()
		f, s, _ := state()
		return f > fails || s > 0
	})
}

func TestConcurrentColdCallsShareStarts(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "herd"})
	const n = 8
	var wg sync.WaitGroup
	pids := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, o := invoke(t, e, cfg, `{"sleepMs":50}`)
			pids <- o.Pid
		}()
	}
	wg.Wait()
	close(pids)
	seen := map[int]bool{}
	for p := range pids {
		seen[p] = true
	}
	if len(seen) > n {
		t.Fatalf("%d sandboxes for %d calls", len(seen), n)
	}
	p := e.inv.pool(cfg)
	p.mu.Lock()
	started := len(p.all)
	p.mu.Unlock()
	if started > n {
		t.Fatalf("started %d sandboxes for %d concurrent calls", started, n)
	}
	// Sequential calls afterwards reuse warm sandboxes: no new starts.
	for range 5 {
		if res, _ := invoke(t, e, cfg, `{}`); res.ColdStart {
			t.Fatal("warm pool, yet a cold start")
		}
	}
}

// TestColdStartsBounded checks that a burst of callers starts at most
// MaxStarting sandboxes at once, and that every caller is served once inits end.
func TestColdStartsBounded(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxStarting = 2 })
	gate := filepath.Join(t.TempDir(), "gate")
	cfg := e.fns.add(&functions.Config{FunctionName: "burst", Environment: map[string]string{"INIT_WAIT_FILE": gate}})
	const n = 5
	errs := make(chan error, n)
	for range n {
		go func() {
			res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{}`)})
			if err == nil && res.FunctionError != "" {
				err = fmt.Errorf("function error: %s", res.Payload)
			}
			errs <- err
		}()
	}
	// Starts are decided as callers arrive: with every caller waiting, the
	// starts in flight are all there will be until an init ends.
	waitFor(t, "every caller to wait", func() bool { return e.inv.Stats().Waiting == n })
	if s := e.inv.Stats(); s.Starting != 2 {
		t.Fatalf("%d sandboxes starting for %d callers, want MaxStarting (2)", s.Starting, n)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if s := e.inv.Stats(); s.Started > n {
		t.Fatalf("started %d sandboxes for %d callers", s.Started, n)
	}
}

func TestEventInvocationsSurviveRestartAndRetry(t *testing.T) {
	dir := t.TempDir()
	marks := t.TempDir()
	e := newEnvIn(t, dir, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "ev"})
	// Stop the queue's workers so the event stays queued across the "restart".
	e.inv.async.stop()
	id, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: []byte(`{"pidFile":"` + filepath.Join(marks, "ran") + `"}`)})
	if err != nil || id == "" {
		t.Fatalf("enqueue: %q %v", id, err)
	}
	e.inv.async.start()
	e.stop()

	// The function is there when the new invoker starts, as it is in the
	// store of a restarted Portico: added after, the queue could look it up
	// first, find it gone, and drop the event.
	e2 := newEnvWith(t, dir, nil, cfg)
	// The first invoker may have started the event before it stopped; a run
	// the stop cut off stays as it was, but one that ended otherwise is
	// retried later: move the clock to the retry, only while the event waits
	// for it (moving it during an attempt would time out the sandbox's init).
	ran := filepath.Join(marks, "ran")
	waitFor(t, "the event to run after the restart", func() bool {
		if _, err := os.Stat(ran); err == nil {
			return true
		}
		if ev, ok := e2.onlyEvent(); ok && ev.NotBefore.After(e2.clock.Now()) {
			e2.clock.Advance(ev.NotBefore.Sub(e2.clock.Now()))
		}
		return false
	})
	waitFor(t, "queue empty", func() bool { return e2.queued() == 0 })

	// A failing event is tried three times in all, a minute and then two
	// minutes apart, then dropped.
	fail := e2.fns.add(&functions.Config{FunctionName: "evfail"})
	if _, err := e2.inv.InvokeAsync(context.Background(), Request{Function: fail, Payload: []byte(`{"fail":"always"}`)}); err != nil {
		t.Fatal(err)
	}
	e2.retryAfter(t, 1, time.Minute)
	e2.retryAfter(t, 2, 2*time.Minute)
	waitFor(t, "failing event dropped after retries", func() bool { return e2.queued() == 0 })
	log, _ := e2.inv.Logs().Read("evfail", -1)
	if got := strings.Count(string(log), "START RequestId"); got != 3 {
		t.Fatalf("failing event ran %d times, want 3 (one try, two retries)", got)
	}
	if _, err := e2.inv.InvokeAsync(context.Background(), Request{Function: fail, Payload: []byte(`not json`)}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("non-JSON event: %v", err)
	}
}

// retryAfter waits until the one queued event has failed attempt times, then
// moves the clock by d, when its retry is due.
func (e *env) retryAfter(t *testing.T, attempt int, d time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("attempt %d to fail", attempt), func() bool {
		ev, ok := e.onlyEvent()
		return ok && ev.Attempt == attempt
	})
	e.clock.Advance(d)
}

// onlyEvent returns the queued event when there is exactly one.
func (e *env) onlyEvent() (asyncEvent, bool) {
	evs := e.queuedEvents()
	if len(evs) != 1 {
		return asyncEvent{}, false
	}
	return evs[0], true
}

func (e *env) queued() int {
	n := 0
	_ = e.st.View(context.Background(), func(tx *store.Tx) error {
		return tx.ForEach(bucketAsync, "", func(string, []byte) error { n++; return nil })
	})
	return n
}

func TestLeftoverSandboxesCleanedAtStart(t *testing.T) {
	dir := t.TempDir()
	e := newEnvIn(t, dir, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "left"})
	_, o := invoke(t, e, cfg, `{}`)
	// Simulate a crash of Portico: forget the invoker without stopping it.
	old := e.inv
	e.inv = nil
	_ = e.st.Close()
	e2 := newEnvIn(t, dir, nil)
	_ = e2
	waitGone(t, o.Pid)
	// A crashed Portico's goroutines end with it; this one's still run, and
	// what they write about the killed sandbox (its logs) would land in dir
	// while the test removes it. Stop them now.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = old.Stop(ctx)
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// held is a call whose function holds its sandbox until released.
type held struct {
	pid  int // the sandbox's process
	gate string
	done chan *Result
}

// hold starts a call of fn that holds its sandbox until release (fields, when
// set, are more of the payload: `"echo":"x",`), and returns once the sandbox
// runs it.
func hold(t *testing.T, e *env, fn *functions.Config, fields string) *held {
	t.Helper()
	h := &held{gate: filepath.Join(t.TempDir(), "gate"), done: make(chan *Result, 1)}
	pidFile := filepath.Join(t.TempDir(), "pid")
	go func() {
		res, _ := e.inv.Invoke(context.Background(), Request{Function: fn, Payload: []byte(`{` + fields + `"waitFile":"` + h.gate + `","pidFile":"` + pidFile + `"}`)})
		h.done <- res
	}()
	h.pid = waitForFile(t, pidFile)
	return h
}

// release lets the held call finish and returns its result.
func (h *held) release(t *testing.T) *Result {
	t.Helper()
	if err := os.WriteFile(h.gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return <-h.done
}

func waitForFile(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, "file "+path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, _ = strconv.Atoi(string(b))
		return true
	})
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("process %d to exit", pid), func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		return err != nil || strings.Contains(string(b), ") Z ")
	})
}

// waitFor polls cond until it holds, failing after a generous bound.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSequentialCallsShareOneSandbox checks that a caller that calls again as soon
// as its previous call returned waits for the sandbox on its way back to next
// rather than cold-starting another: sequential calls run on one sandbox.
func TestSequentialCallsShareOneSandbox(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "seq"})
	first, o := invoke(t, e, cfg, `{}`)
	if !first.ColdStart {
		t.Fatal("the first call should be cold")
	}
	for n := range 300 {
		res, on := invoke(t, e, cfg, `{}`)
		if res.ColdStart || on.Pid != o.Pid {
			t.Fatalf("call %d: cold=%v on pid %d, want the warm sandbox %d", n, res.ColdStart, on.Pid, o.Pid)
		}
	}
	p := e.inv.pool(cfg)
	p.mu.Lock()
	n := len(p.all) + p.starting
	p.mu.Unlock()
	if n != 1 {
		t.Fatalf("sequential calls left %d sandboxes started or starting, want 1", n)
	}
}

// TestReportLines: END and REPORT as Lambda writes them (the format the
// formatted version of these lines had).
func TestReportLines(t *testing.T) {
	for _, tc := range []struct {
		dur, init time.Duration
		cold      bool
		status    string
		errorType string
		limit     time.Duration // the function's timeout; 0 for an init's report
	}{
		{1234567 * time.Nanosecond, 0, false, "", "", 0},
		{0, 0, false, "", "", 0},
		{3*time.Second + 5*time.Millisecond, 45678 * time.Microsecond, true, "", "", 0},
		{15 * time.Minute, 999 * time.Microsecond, true, "timeout", "", 0},
		{2 * time.Second, 0, false, "timeout", "", 0},
		{12 * time.Millisecond, 12 * time.Millisecond, true, "error", "", 0},
		{7 * time.Millisecond, 0, false, "error", "Runtime.ExitError", 0},
		{3*time.Second + 760*time.Microsecond, 0, false, "timeout", "", 3 * time.Second},
		{1234567 * time.Nanosecond, 0, false, "", "", 3 * time.Second},
	} {
		billed := tc.dur.Milliseconds() + 1
		if tc.limit > 0 && billed > tc.limit.Milliseconds() {
			billed = tc.limit.Milliseconds() // a timed-out call is billed its timeout
		}
		want := fmt.Sprintf("END RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
			"id-1", "id-1", float64(tc.dur.Microseconds())/1000, billed, 128, 17)
		if tc.cold {
			want += fmt.Sprintf("Init Duration: %.2f ms\t", float64(tc.init.Microseconds())/1000)
		}
		if tc.status != "" {
			want += "Status: " + tc.status
		}
		if tc.errorType != "" {
			want += "\tError Type: " + tc.errorType
		}
		want += "\n"
		if got := string(reportLines("id-1", tc.dur, tc.limit, 128, 17, tc.cold, tc.init, tc.status, tc.errorType)); got != want {
			t.Errorf("reportLines(%+v) = %q, want %q", tc, got, want)
		}
	}
	// Timeout 3, stopped 0.76 ms late: billed 3000 ms, as Lambda bills it and
	// prints it, below Duration (real REPORTs of timed-out calls: "Duration:
	// 18018.26 ms Billed Duration: 18000 ms", "Duration: 120000.64 ms Billed
	// Duration: 120000 ms"), which the lambda16 and lambda19 testers asked
	// about.
	if got := string(reportLines("id-1", 3*time.Second+760*time.Microsecond, 3*time.Second, 128, 17, false, 0, "timeout", "")); !strings.Contains(got, "Duration: 3000.76 ms\tBilled Duration: 3000 ms\t") {
		t.Errorf("a timed-out call's REPORT = %q, want Billed Duration: 3000 ms", got)
	}
}

// The server log tells a timeout in the handler (info) from one whose
// invocation the runtime never took (a warning naming what waited).
func TestTimeoutLogSaysWhetherTheRuntimeTookIt(t *testing.T) {
	for _, taken := range []bool{true, false} {
		var buf strings.Builder
		i := &Invoker{log: slog.New(slog.NewTextHandler(&buf, nil))}
		sb := &sandbox{id: "sbx-1", cfg: &functions.Config{FunctionName: "fn", Version: "$LATEST"}, handback: make(chan *invocation, 1)}
		inv := &invocation{id: "req-1", timeout: 3 * time.Second}
		if taken {
			sb.cur = inv
		} else {
			sb.handback <- inv
		}
		i.logTimeout(sb, inv)
		line := buf.String()
		want, level := "timed out in its handler", "level=INFO"
		if !taken {
			want, level = "timed out before its runtime took it", "level=WARN"
		}
		if !strings.Contains(line, want) || !strings.Contains(line, level) || !strings.Contains(line, "requestId=req-1") || !strings.Contains(line, "sandbox=sbx-1") {
			t.Errorf("taken=%v: log %q, want %s %q with the request and sandbox", taken, line, level, want)
		}
		if !taken && !strings.Contains(line, "handedBack=1") {
			t.Errorf("the warning does not say the invocation was handed back: %q", line)
		}
	}
}

// TestBootstrapCannotBeExecuted checks a process sandbox whose bootstrap the
// system cannot exec: as Lambda, the call gets Runtime.InvalidEntrypoint with
// the exec's own error (not a 503), and the function log says so.
func TestBootstrapCannotBeExecuted(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name, script string
		mode         os.FileMode
		why          string
	}{
		{"no shebang", "echo hi\n", 0o755, "exec format error"},
		{"missing interpreter", "#!/nonexistent/interp\necho hi\n", 0o755, "no such file or directory"},
		{"not executable", "#!/bin/sh\necho hi\n", 0o644, "permission denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			useBootstrap(t, tc.script)
			if err := os.Chmod(filepath.Join(codeDir, "bootstrap"), tc.mode); err != nil {
				t.Fatal(err)
			}
			name := "noexec-" + strings.ReplaceAll(tc.name, " ", "-")
			cfg := e.fns.add(&functions.Config{FunctionName: name})
			res, o := invokeTail(t, e, cfg, `{}`)
			want := "RequestId: " + res.RequestID + " Error: fork/exec " + filepath.Join(codeDir, "bootstrap") + ": " + tc.why
			if res.FunctionError != "Unhandled" || o.ErrorType != "Runtime.InvalidEntrypoint" || o.ErrorMessage != want {
				t.Fatalf("fe=%q %s; want Runtime.InvalidEntrypoint %q", res.FunctionError, res.Payload, want)
			}
			lines := want + "\nRuntime.InvalidEntrypoint\nEND RequestId: " + res.RequestID + "\n"
			if log, _ := e.inv.Logs().Read(name, -1); !strings.Contains(string(log), lines) {
				t.Errorf("the log lacks %q:\n%s", lines, log)
			}
			if !strings.Contains(string(res.LogTail), lines) {
				t.Errorf("the tail lacks %q:\n%s", lines, res.LogTail)
			}
		})
	}
}

// TestSpecEnvDefaults checks the environment a sandbox is started with: Zip
// functions get Lambda's PATH, LANG, TZ and LD_LIBRARY_PATH; Image functions
// keep their image's (the defaults apply only where the image sets none,
// Spec.DefaultEnv); the function's own Environment wins in both. As Lambda,
// AWS_EXECUTION_ENV is not defined for OS-only runtimes (the provided family)
// nor for Image functions.
func TestSpecEnvDefaults(t *testing.T) {
	e := newEnv(t, nil)
	defaults := []string{"PATH", "LANG", "TZ", "LD_LIBRARY_PATH"}
	for _, tc := range []struct {
		name    string
		cfg     functions.Config
		execEnv string // "" for none
	}{
		{"zip provided", functions.Config{FunctionName: "zp", Runtime: "provided.al2023"}, ""},
		{"zip default runtime", functions.Config{FunctionName: "zd"}, ""},
		{"zip nodejs", functions.Config{FunctionName: "zn", Runtime: "nodejs20.x"}, "AWS_Lambda_nodejs20.x"},
		{"image", functions.Config{FunctionName: "im", PackageType: functions.PackageImage, ImageURI: "example/fn:1"}, ""},
		{"image with own PATH", functions.Config{FunctionName: "ip", PackageType: functions.PackageImage, ImageURI: "example/fn:1",
			Environment: map[string]string{"PATH": "/mine/bin"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.fns.add(&tc.cfg)
			spec, err := e.inv.spec(&sandbox{cfg: cfg, id: "sbx-test"}, "127.0.0.1:9001")
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := spec.Env["AWS_EXECUTION_ENV"]; got != tc.execEnv || ok != (tc.execEnv != "") {
				t.Errorf("AWS_EXECUTION_ENV = %q (set: %v), want %q", got, ok, tc.execEnv)
			}
			for _, k := range defaults {
				own, isOwn := cfg.Environment[k]
				switch {
				case isOwn:
					if spec.Env[k] != own {
						t.Errorf("%s = %q, want the function's own %q", k, spec.Env[k], own)
					}
					if _, ok := spec.DefaultEnv[k]; ok {
						t.Errorf("%s is a default although the function sets it", k)
					}
				case cfg.PackageType == functions.PackageImage:
					if _, ok := spec.Env[k]; ok {
						t.Errorf("%s = %q is set over the image's own", k, spec.Env[k])
					}
					if spec.DefaultEnv[k] == "" {
						t.Errorf("%s has no default for an image that sets none", k)
					}
				default:
					if spec.Env[k] == "" {
						t.Errorf("%s is not set", k)
					}
				}
			}
		})
	}
}

// TestSpecHandler checks _HANDLER in the spec: a Zip function's handler
// ("bootstrap" without one); none for an Image function, whose runtime sets
// the first word of its CMD (the ImageConfig Command, else the image's),
// Lambda's handler of an image, which the spec carries as Command.
func TestSpecHandler(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name string
		cfg  functions.Config
		want string // "": not in the spec's Env
	}{
		{"zip", functions.Config{FunctionName: "hz"}, "bootstrap"},
		{"zip with handler", functions.Config{FunctionName: "hh", Runtime: "provided.al2023", Handler: "my.handler"}, "my.handler"},
		{"image", functions.Config{FunctionName: "hi", PackageType: functions.PackageImage, ImageURI: "example/fn:1"}, ""},
		{"image with command", functions.Config{FunctionName: "hc", PackageType: functions.PackageImage, ImageURI: "example/fn:1",
			ImageConfig: &functions.ImageConfig{Command: []string{"app.handler"}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.fns.add(&tc.cfg)
			spec, err := e.inv.spec(&sandbox{cfg: cfg, id: "sbx-test"}, "127.0.0.1:9001")
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := spec.Env["_HANDLER"]; got != tc.want || ok != (tc.want != "") {
				t.Errorf("_HANDLER = %q (set: %v), want %q", got, ok, tc.want)
			}
			if cfg.ImageConfig != nil && !slices.Equal(spec.Command, cfg.ImageConfig.Command) {
				t.Errorf("Command = %q, want %q", spec.Command, cfg.ImageConfig.Command)
			}
		})
	}
}

// endpointsFunc is an EndpointSource.
type endpointsFunc func() map[string]string

func (f endpointsFunc) SandboxEndpoints() map[string]string { return f() }

// TestSpecEnvEndpoints: every sandbox gets the service endpoints the
// EndpointSource names (the sandbox-facing endpoint's CodeDeploy, where hooks
// report) unless its function's environment sets the variable; none while the
// source names none.
func TestSpecEnvEndpoints(t *testing.T) {
	e := newEnv(t, nil)
	var url string
	e.inv.SetEndpoints(endpointsFunc(func() map[string]string {
		if url == "" {
			return nil
		}
		return map[string]string{"AWS_ENDPOINT_URL_CODEDEPLOY": url}
	}))
	plain := e.fns.add(&functions.Config{FunctionName: "plain"})
	own := e.fns.add(&functions.Config{FunctionName: "own", Environment: map[string]string{"AWS_ENDPOINT_URL_CODEDEPLOY": "http://mine:1"}})
	env := func(cfg *functions.Config) map[string]string {
		t.Helper()
		spec, err := e.inv.spec(&sandbox{cfg: cfg, id: "sbx-test"}, "127.0.0.1:9001")
		if err != nil {
			t.Fatal(err)
		}
		return spec.Env
	}
	if v, ok := env(plain)["AWS_ENDPOINT_URL_CODEDEPLOY"]; ok {
		t.Errorf("set to %q before the endpoint listens", v)
	}
	url = "https://172.17.0.1:40001"
	if v := env(plain)["AWS_ENDPOINT_URL_CODEDEPLOY"]; v != url {
		t.Errorf("AWS_ENDPOINT_URL_CODEDEPLOY = %q, want %q", v, url)
	}
	if v := env(own)["AWS_ENDPOINT_URL_CODEDEPLOY"]; v != "http://mine:1" {
		t.Errorf("the function's own AWS_ENDPOINT_URL_CODEDEPLOY became %q", v)
	}
}
