package invoker

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// daemonText is what a container runtime's broken wait says of the daemon:
// nothing a caller should read.
const daemonText = "rpc error: code = Unavailable desc = error reading from server: EOF"

// lostWaitErr is the Err of a sandbox whose runtime lost its watch on it, as the
// containerd runtime reports a wait broken by containerd going away.
func lostWaitErr() error {
	return fmt.Errorf("%w: %w", runtimes.ErrWaitLost, &runtimes.DaemonDownError{Runtime: "containerd", Daemon: "containerd",
		Address: "/run/containerd/containerd.sock", Op: "waiting on sandbox sbx-1", Err: errors.New(daemonText)})
}

// wantServiceUnavailable checks that err is the 503 ServiceException of a
// call cut off by a runtime that lost its sandbox, and that neither what the
// caller is told nor the function's log holds the daemon's text, which the
// server's log does.
func wantServiceUnavailable(t *testing.T, e *env, fn string, err error) {
	t.Helper()
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrUnavailable) || !errors.As(err, &k) || k.Type != "ServiceException" {
		t.Fatalf("error %v, want ErrUnavailable, ServiceException", err)
	}
	var told interface{ ClientMessage() string }
	if !errors.As(err, &told) {
		t.Fatalf("error %T has no message for the caller", err)
	}
	for what, text := range map[string]string{"caller's message": told.ClientMessage(), "Kinded message": k.Message} {
		if strings.Contains(text, "rpc error") || strings.Contains(text, "containerd.sock") {
			t.Errorf("the %s holds the daemon's text: %q", what, text)
		}
	}
	if log, _ := e.inv.Logs().Read(fn, -1); strings.Contains(string(log), "Runtime.ExitError") || strings.Contains(string(log), "rpc error") {
		t.Errorf("the function log reads as the function's exit:\n%s", log)
	}
	waitFor(t, "the details in the server log", func() bool { return strings.Contains(e.logs.String(), daemonText) })
}

// TestLostSandboxIsNoFunctionError: a sandbox whose runtime lost its watch on
// it (the daemon went away) during an invocation fails the call with 503
// ServiceException, not 200 with Runtime.ExitError and the daemon's words.
func TestLostSandboxIsNoFunctionError(t *testing.T) {
	ce := newClientEnv(t)
	type r struct {
		res *Result
		err error
	}
	got := make(chan r, 1)
	go func() {
		res, err := ce.inv.Invoke(context.Background(), Request{Function: ce.cfg, Payload: []byte(`{"n":1}`)})
		got <- r{res, err}
	}()
	c := dialRAPI(t, ce.addr)
	if _, payload := c.next(t); payload != `{"n":1}` {
		t.Fatalf("next delivered %s", payload)
	}
	ce.rsb.err = lostWaitErr()
	ce.rsb.exit()
	g := <-got
	if g.err == nil {
		t.Fatalf("result %s (fe %q), want an error", g.res.Payload, g.res.FunctionError)
	}
	wantServiceUnavailable(t, ce.env, ce.cfg.FunctionName, g.err)
	wantInvocationID(t, ce.env, ce.cfg.FunctionName, g.err)
}

// wantInvocationID checks that err, a call's error after its invocation
// began, names the invocation's request ID, the one of the function log's
// START line, for the API surfaces to answer with.
func wantInvocationID(t *testing.T, e *env, fn string, err error) {
	t.Helper()
	var ie *InvocationError
	if !errors.As(err, &ie) {
		t.Fatalf("error %T (%v) names no invocation", err, err)
	}
	log, _ := e.inv.Logs().Read(fn, -1)
	if ie.RequestID == "" || !strings.Contains(string(log), "START RequestId: "+ie.RequestID+" ") {
		t.Errorf("the error names request %q; the function log has:\n%s", ie.RequestID, log)
	}
}

// TestLostSandboxDuringInitIsNoFunctionError: the same for a cold start whose
// sandbox the runtime loses before its init ends.
func TestLostSandboxDuringInitIsNoFunctionError(t *testing.T) {
	e := newEnv(t, nil)
	rt := &clientRuntime{Runtime: e.inv.rt, specs: make(chan runtimes.Spec, 1), started: make(chan *clientSandbox, 1)}
	e.inv.rt = rt
	cfg := e.fns.add(&functions.Config{FunctionName: "lostinit"})
	got := make(chan error, 1)
	go func() {
		res, err := e.inv.Invoke(context.Background(), Request{Function: cfg})
		if err == nil {
			err = fmt.Errorf("a result: %s", res.Payload)
		}
		got <- err
	}()
	<-rt.specs
	sb := <-rt.started
	sb.err = lostWaitErr()
	sb.exit()
	err := <-got
	if !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("%v, want ErrUnavailable", err)
	}
	wantServiceUnavailable(t, e, cfg.FunctionName, err)
}

// TestEventCutOffByLostSandboxStaysQueued: an Event invocation whose sandbox
// the runtime lost is no failed attempt, even with MaximumRetryAttempts 0: it
// stays queued with its retries untouched, to run again once the runtime
// answers (after a backoff, as a throttled one).
func TestEventCutOffByLostSandboxStaysQueued(t *testing.T) {
	ce := newClientEnv(t)
	zero := 0
	ce.fns.setEventInvoke(ce.cfg.FunctionName, functions.Latest, &zero, nil)
	if _, err := ce.inv.InvokeAsync(context.Background(), Request{Function: ce.cfg, Payload: []byte(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	c := dialRAPI(t, ce.addr)
	if _, payload := c.next(t); payload != `{"n":1}` {
		t.Fatalf("next delivered %s", payload)
	}
	ce.rsb.err = lostWaitErr()
	ce.rsb.exit()
	waitFor(t, "the attempt recorded", func() bool {
		evs := ce.queuedEvents()
		return len(evs) == 1 && evs[0].Throttles == 1
	})
	if ev := ce.queuedEvents()[0]; ev.Attempt != 0 || !ev.NotBefore.After(ce.clock.Now().Add(-time.Millisecond)) {
		t.Fatalf("event %+v, want it queued with no attempt used, backing off", ev)
	}
	if log := ce.logs.String(); strings.Contains(log, "will retry") || strings.Contains(log, "dropping") {
		t.Fatalf("the lost sandbox counted as the function's failure:\n%s", log)
	}
	// An Event has no caller to answer 503: the warning says it runs again.
	if log := ce.logs.String(); !strings.Contains(log, "invocation cut off") || strings.Contains(log, "caller gets 503") ||
		!strings.Contains(log, "Event invocation stays queued") {
		t.Errorf("the warning tells of a caller the Event does not have, or not that it runs again:\n%s", log)
	}
}

// slowStartRuntime is a runtime whose Start takes wait of the invoker's
// clock before the sandbox runs, as a start that waits for a daemon
// coming back does.
type slowStartRuntime struct {
	runtimes.Runtime
	clock *fakeClock
	wait  time.Duration
}

func (r slowStartRuntime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	r.clock.Advance(r.wait)
	return r.Runtime.Start(ctx, spec)
}

// TestInitDurationIsTheSandboxsOwn: the REPORT's Init Duration counts the
// sandbox's own init, from its start to its first next, as the init timeout
// does; not the wait for the runtime to start it (a daemon coming back after
// an outage), which made it 13545 ms, past the 10 s init limit.
func TestInitDurationIsTheSandboxsOwn(t *testing.T) {
	e := newEnv(t, nil)
	e.inv.rt = slowStartRuntime{Runtime: e.inv.rt, clock: e.clock, wait: 13 * time.Second}
	cfg := e.fns.add(&functions.Config{FunctionName: "slowstart"})
	res, _ := invokeTail(t, e, cfg, `{}`)
	m := regexp.MustCompile(`Init Duration: ([0-9.]+) ms`).FindStringSubmatch(string(res.LogTail))
	if m == nil {
		t.Fatalf("no Init Duration in the cold start's REPORT:\n%s", res.LogTail)
	}
	if d, _ := strconv.ParseFloat(m[1], 64); d >= 13000 {
		t.Errorf("Init Duration %s ms counts the runtime's start, want the sandbox's own init (none of the fake clock's time)", m[1])
	}
}

// TestCodeMissingNamesCLIFlags is the ops11 tester's: the caller was sent to
// `portico fn update --zip-file`, the AWS CLI's flag, which portico has not.
func TestCodeMissingNamesCLIFlags(t *testing.T) {
	msg := (&codeMissingError{arn: "arn:aws:lambda:us-east-1:000000000000:function:m1:1"}).ClientMessage()
	if !strings.Contains(msg, "portico fn update --dir DIR, or --zip FILE") || strings.Contains(msg, "--zip-file") {
		t.Fatalf("the caller is told %q", msg)
	}
}
