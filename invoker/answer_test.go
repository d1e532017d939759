package invoker

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
)

// testAnswer is a caller's client for Request.Answer: Wait returns when the
// test makes the client readable (its next request) or on Wake.
type testAnswer struct {
	t        *testing.T
	ready    bool
	answered chan *Result  // what Answer wrote
	readable chan struct{} // closed: the client sent its next request
	wake     chan struct{} // a Wake not yet seen by a Wait
	waits    atomic.Int32
	wakes    atomic.Int32
	onAnswer func() // runs in Answer, before it reports
	decline  bool   // Answer writes nothing and reports false
}

func newTestAnswer(t *testing.T, ready bool) *testAnswer {
	return &testAnswer{t: t, ready: ready, answered: make(chan *Result, 1), readable: make(chan struct{}), wake: make(chan struct{}, 1)}
}

func (a *testAnswer) Ready() bool { return a.ready }

func (a *testAnswer) Answer(res *Result) bool {
	if a.onAnswer != nil {
		a.onAnswer()
	}
	a.answered <- res
	return !a.decline
}

func (a *testAnswer) Wait() bool {
	a.waits.Add(1)
	select {
	case <-a.readable:
		return true
	case <-a.wake:
		return false
	case <-time.After(10 * time.Second): // a guard against a hang, not a timing
		a.t.Error("a parked caller was not woken in 10 s")
		return true
	}
}

func (a *testAnswer) Wake() {
	a.wakes.Add(1)
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// callAnswer invokes with ans as the caller's client, in the background.
func (ce *clientEnv) callAnswer(t *testing.T, payload string, ans Answerer) <-chan *Result {
	t.Helper()
	ch := make(chan *Result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := ce.inv.Invoke(ctx, Request{Function: ce.cfg, Payload: []byte(payload), Answer: ans})
		if err != nil {
			t.Errorf("invoke %s: %v", payload, err)
		}
		ch <- res
	}()
	return ch
}

// answeredNow returns the Result Answer had: it must have come before the
// runtime's 202, which the test has read.
func (a *testAnswer) answeredNow(t *testing.T) *Result {
	t.Helper()
	select {
	case r := <-a.answered:
		return r
	default:
		t.Fatal("the runtime had its 202 before the client had its answer")
		return nil
	}
}

// callBeforeNext starts a call with ans while the sandbox's next is not back
// (it waits for its sandbox), then polls: the next takes the call's
// invocation (pool.ready). It returns the call, the runtime's connection and
// the invocation's id.
func (ce *clientEnv) callBeforeNext(t *testing.T, ans Answerer) (<-chan *Result, *rapiClient, string) {
	t.Helper()
	res := ce.callAnswer(t, `{"n":1}`, ans)
	p := ce.inv.pool(ce.cfg)
	waitFor(t, "the call to wait for its sandbox", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.waiters) == 1
	})
	c := dialRAPI(t, ce.addr)
	id, payload := c.next(t)
	if payload != `{"n":1}` {
		t.Fatalf("next: %s", payload)
	}
	return res, c, id
}

// deliverParked starts a call with ans to a parked next and returns the
// invocation's id, as the runtime read it, once the caller waits in ans's
// Wait: from there only a Wake or its client wakes it (before, it could see a
// result, or its sandbox gone, by itself).
func (ce *clientEnv) deliverParked(t *testing.T, c *rapiClient, payload string, ans *testAnswer) (<-chan *Result, string) {
	t.Helper()
	waitFor(t, "the next to park", ce.parkedNext)
	res := ce.callAnswer(t, payload, ans)
	resp, body := c.read(t)
	if resp.StatusCode != http.StatusOK || body != payload {
		t.Fatalf("next: %d %s", resp.StatusCode, body)
	}
	waitFor(t, "the caller to park", func() bool { return ans.waits.Load() > 0 })
	return res, resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
}

// TestResultAnsweredFromItsGoroutine checks the answer path of a warm call:
// the result goes to the caller's client (Answer) before the runtime has its
// 202, with END and REPORT logged; the concurrency slot stays with the
// sandbox until its runtime is back in next. The result does not wake the
// caller, which returns the answered Result once its client sends again.
func TestResultAnsweredFromItsGoroutine(t *testing.T) {
	ce := newClientEnv(t)
	c := ce.poll(t)
	ans := newTestAnswer(t, true)
	var logged []byte
	slotsHeld := 0
	ans.onAnswer = func() {
		logged, _ = ce.inv.Logs().Read(ce.cfg.FunctionName, -1)
		slotsHeld = ce.inv.Slots().InUse
	}
	res, id := ce.deliverParked(t, c, `{"n":1}`, ans)
	c.respond(t, id, `"one"`) // returns once the 202 is read

	got := ans.answeredNow(t)
	if string(got.Payload) != `"one"` || !got.Answered || got.RequestID != id || got.FunctionError != "" {
		t.Fatalf("answer: %+v %s", got, got.Payload)
	}
	if !strings.Contains(string(logged), "END RequestId: "+id) || !strings.Contains(string(logged), "REPORT RequestId: "+id) {
		t.Fatalf("END and REPORT not logged before the answer:\n%s", logged)
	}
	if slotsHeld != 1 {
		t.Fatalf("%d concurrency slots held when the client had its answer, want 1 (the sandbox's, until its next)", slotsHeld)
	}
	select {
	case <-res:
		t.Fatal("the caller returned before its client woke it")
	default:
	}
	if n := ans.wakes.Load(); n != 0 {
		t.Fatalf("the caller was woken %d times", n)
	}
	close(ans.readable) // the client's next request
	r := <-res
	if r != got {
		t.Fatalf("the caller returned %+v, not the answered result", r)
	}

	// The sandbox is ready for the next call, which is answered the same way.
	ce.answeredAgain(t)
}

// TestAnswerTakesTheChannels checks the cases a parked caller answers itself,
// as before: it is woken (or its client is readable first), Answer is never
// called, and the Result is the usual one.
func TestAnswerTakesTheChannels(t *testing.T) {
	big := `"` + strings.Repeat("x", AnswerMax) + `"`
	cases := []struct {
		name  string
		ready bool
		// act plays the runtime (c, the invocation's id) and the test's side;
		// it returns the payload the caller must get.
		act func(t *testing.T, ce *clientEnv, c *rapiClient, id string, ans *testAnswer) string
		// woken: the caller must have been woken (not readable first).
		woken bool
	}{
		{"a result over AnswerMax", true, func(t *testing.T, _ *clientEnv, c *rapiClient, id string, _ *testAnswer) string {
			c.respond(t, id, big)
			return big
		}, true},
		{"a client that cannot take the answer at once", false, func(t *testing.T, _ *clientEnv, c *rapiClient, id string, _ *testAnswer) string {
			c.respond(t, id, `"slow client"`)
			return `"slow client"`
		}, true},
		{"a client that sends before the result", true, func(t *testing.T, ce *clientEnv, c *rapiClient, id string, ans *testAnswer) string {
			close(ans.readable)
			waitFor(t, "the caller to take its call back", func() bool {
				ce.sb.mu.Lock()
				defer ce.sb.mu.Unlock()
				return ce.sb.cur != nil && ce.sb.cur.reply.Load() == replyBack
			})
			c.respond(t, id, `"late"`)
			return `"late"`
		}, false},
		{"the deadline", true, func(t *testing.T, ce *clientEnv, _ *rapiClient, _ string, _ *testAnswer) string {
			ce.clock.Advance(time.Duration(functions.DefaultTimeout) * time.Second)
			return "Sandbox.Timedout"
		}, true},
		{"a sandbox that exits", true, func(t *testing.T, ce *clientEnv, _ *rapiClient, _ string, _ *testAnswer) string {
			ce.rsb.exit()
			return "Runtime.ExitError"
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ce := newClientEnv(t)
			c := ce.poll(t)
			ans := newTestAnswer(t, tc.ready)
			deadlineSet := ce.clock.expectTimer(time.Duration(functions.DefaultTimeout) * time.Second)
			res, id := ce.deliverParked(t, c, `{"n":1}`, ans)
			deadlineSet(t)
			want := tc.act(t, ce, c, id, ans)
			r := <-res
			if r.Answered {
				t.Fatal("Answered on the channels' path")
			}
			select {
			case a := <-ans.answered:
				t.Fatalf("Answer was called: %s", a.Payload)
			default:
			}
			if strings.HasPrefix(want, "Sandbox.") || strings.HasPrefix(want, "Runtime.") {
				if r.FunctionError != "Unhandled" || !strings.Contains(string(r.Payload), want) {
					t.Fatalf("want %s, got %q %s", want, r.FunctionError, r.Payload)
				}
			} else if string(r.Payload) != want {
				t.Fatalf("payload: %.60s, want %.60s", r.Payload, want)
			}
			if woken := ans.wakes.Load() > 0; woken != tc.woken {
				t.Fatalf("woken %v, want %v", woken, tc.woken)
			}
		})
	}
}

// TestFunctionErrorAnswered checks that an /error result is answered inline
// with Lambda's error document and FunctionError.
func TestFunctionErrorAnswered(t *testing.T) {
	ce := newClientEnv(t)
	c := ce.poll(t)
	ans := newTestAnswer(t, true)
	res, id := ce.deliverParked(t, c, `{"n":1}`, ans)
	c.send(t, http.MethodPost, pathInvPrefix+id+"/error", `{"errorMessage":"boom","errorType":"MyError"}`)
	if resp, body := c.read(t); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("error: %d %s", resp.StatusCode, body)
	}
	a := ans.answeredNow(t)
	if a.FunctionError != "Unhandled" || !strings.Contains(string(a.Payload), `"boom"`) {
		t.Fatalf("answer: %+v %s", a, a.Payload)
	}
	close(ans.readable)
	if r := <-res; r != a {
		t.Fatalf("caller: %+v", r)
	}
}

// TestAnsweredWhenNextComesLater checks a call that waits for its sandbox (the
// runtime's next not back yet): the next takes the call's invocation
// (pool.ready), and the result is answered inline all the same, the caller
// not woken by it.
func TestAnsweredWhenNextComesLater(t *testing.T) {
	ce := newClientEnv(t)
	ans := newTestAnswer(t, true)
	res, c, id := ce.callBeforeNext(t, ans)
	c.respond(t, id, `"later"`)
	if a := ans.answeredNow(t); string(a.Payload) != `"later"` || !a.Answered {
		t.Fatalf("answer: %+v %s", a, a.Payload)
	}
	if n := ans.wakes.Load(); n != 0 {
		t.Fatalf("the caller was woken %d times", n)
	}
	close(ans.readable)
	if r := <-res; !r.Answered {
		t.Fatalf("caller: %+v", r)
	}
}

// TestParkedCallerWokenWhenSandboxExitsLater checks that a caller armed while
// its sandbox's next was on its way back (its invocation not yet written) is
// woken when that sandbox exits, with Runtime.ExitError.
func TestParkedCallerWokenWhenSandboxExitsLater(t *testing.T) {
	ce := newClientEnv(t)
	ans := newTestAnswer(t, true)
	res, _, _ := ce.callBeforeNext(t, ans)
	waitFor(t, "the caller to park", func() bool { return ans.waits.Load() > 0 })
	ce.rsb.exit()
	r := <-res
	if r.Answered || r.FunctionError != "Unhandled" || !strings.Contains(string(r.Payload), "Runtime.ExitError") {
		t.Fatalf("caller: %+v %s", r, r.Payload)
	}
	if ans.wakes.Load() == 0 {
		t.Fatal("the caller was not woken")
	}
}

// TestAnswerDeclined checks a result the caller's Answer leaves to the caller
// (the gateway's, for a proxy result its client must not be given as it is):
// the caller is woken without its client sending, and returns the settled
// Result with Answered false, once.
func TestAnswerDeclined(t *testing.T) {
	ce := newClientEnv(t)
	c := ce.poll(t)
	ans := newTestAnswer(t, true)
	ans.decline = true
	res, id := ce.deliverParked(t, c, `{"n":1}`, ans)
	c.respond(t, id, `"declined"`)
	got := ans.answeredNow(t)
	r := <-res // woken: the test's client never sends
	if r != got || r.Answered || string(r.Payload) != `"declined"` || r.RequestID != id {
		t.Fatalf("the caller returned %+v %s (Answer had %p)", r, r.Payload, got)
	}
	if n := ans.wakes.Load(); n != 1 {
		t.Fatalf("the caller was woken %d times, want once", n)
	}
	// The sandbox serves the next call as usual.
	ce.answeredAgain(t)
}

// answeredAgain checks that the sandbox takes the next call, answered from the
// result's goroutine.
func (ce *clientEnv) answeredAgain(t *testing.T) {
	t.Helper()
	c := ce.poll(t)
	ans := newTestAnswer(t, true)
	res, id := ce.deliverParked(t, c, `{"n":2}`, ans)
	c.respond(t, id, `"two"`)
	if a := ans.answeredNow(t); string(a.Payload) != `"two"` {
		t.Fatalf("second answer: %s", a.Payload)
	}
	close(ans.readable)
	if r := <-res; !r.Answered {
		t.Fatalf("second call: %+v", r)
	}
}
