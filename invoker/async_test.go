package invoker

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/process"
	"github.com/portico-dev/portico/store"
)

// TestEventPayloadLimitIsInclusive: an Event payload of exactly 1 MiB
// (Invoke's asynchronous limit; 256 KB was the deprecated InvokeAsync's, the
// lambda19 tester's finding 2) is taken, one byte more is refused with
// Lambda's message, which says the size and the limit.
func TestEventPayloadLimitIsInclusive(t *testing.T) {
	e := newEnv(t, nil)
	e.inv.async.stop() // keep what is queued queued
	defer e.inv.async.start()
	cfg := e.fns.add(&functions.Config{FunctionName: "big"})
	const limit = 1 << 20
	if got := e.inv.p.Config.MaxAsyncPayload; got != limit {
		t.Fatalf("MaxAsyncPayload %d, want %d", got, limit)
	}
	payload := func(n int) []byte { return append(append([]byte(`"`), bytes.Repeat([]byte("x"), n-2)...), '"') }
	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: payload(limit)}); err != nil {
		t.Fatalf("a payload of exactly %d bytes: %v", limit, err)
	}
	_, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: payload(limit + 1)})
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrTooLarge) || !errors.As(err, &k) || k.Type != "RequestTooLargeException" {
		t.Fatalf("a payload of %d bytes: %v, want RequestTooLargeException", limit+1, err)
	}
	want := "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"
	if k.Message != want {
		t.Fatalf("message %q, want %q", k.Message, want)
	}
}

// TestEventGetsNoClientContext: as on Lambda, the client context reaches the
// handler of a synchronous call only, not an Event's.
func TestEventGetsNoClientContext(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "cc"})
	dir := t.TempDir()
	cc := `{"custom":{"k":"v"}}`
	sync := filepath.Join(dir, "sync")
	invokeReq(t, e, Request{Function: cfg, Payload: []byte(`{"clientContextFile":"` + sync + `"}`), ClientContext: cc})
	if b, _ := os.ReadFile(sync); string(b) != `{"k":"v"}` {
		t.Fatalf("synchronous call's client context %q, want the caller's", b)
	}
	event := filepath.Join(dir, "event")
	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg,
		Payload: []byte(`{"clientContextFile":"` + event + `"}`), ClientContext: cc}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event to run", func() bool { _, err := os.Stat(event); return err == nil })
	if b, _ := os.ReadFile(event); strings.TrimSpace(string(b)) != "null" {
		t.Fatalf("Event's client context %q, want none", b)
	}
}

// queuedEvents returns the events in the queue, in order.
func (e *env) queuedEvents() []asyncEvent {
	var evs []asyncEvent
	_ = e.st.View(context.Background(), func(tx *store.Tx) error {
		return tx.ForEach(bucketAsync, "", func(key string, _ []byte) error {
			var ev asyncEvent
			if getEvent(tx, key, &ev) == nil {
				evs = append(evs, ev)
			}
			return nil
		})
	})
	return evs
}

// TestThrottledEventBacksOff: a throttled Event invocation waits twice as
// long after each throttle, up to five minutes, and its throttles take none of
// its retries.
func TestThrottledEventBacksOff(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ThrottleWait = time.Millisecond })
	cfg := e.fns.add(&functions.Config{FunctionName: "thr"})
	e.fns.setReserved("thr", 0) // every call is throttled
	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, 64 * time.Second, 128 * time.Second, 256 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for n, d := range want {
		var ev asyncEvent
		waitFor(t, fmt.Sprintf("throttle %d", n+1), func() bool {
			evs := e.queuedEvents()
			if len(evs) != 1 {
				return false
			}
			ev = evs[0]
			return ev.NotBefore.After(e.clock.Now())
		})
		if got := ev.NotBefore.Sub(e.clock.Now()); got != d || ev.Attempt != 0 {
			t.Fatalf("after throttle %d: tried again in %v with %d retries made, want %v and none", n+1, got, ev.Attempt, d)
		}
		e.clock.Advance(d)
	}
}

// TestThrottleLeavesTheStoredEventAsItWas is faults25 #1's retry half: each
// throttle of a queued Event invocation rewrote the whole stored event, its
// payload (up to 1 MB) included, so a throttled backlog wrote ~100 MB/s. A
// throttle now writes only the event's small state record: the event's own
// record stays byte for byte as enqueued.
func TestThrottleLeavesTheStoredEventAsItWas(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ThrottleWait = time.Millisecond })
	cfg := e.fns.add(&functions.Config{FunctionName: "thr"})
	e.fns.setReserved("thr", 0) // every call is throttled
	payload := []byte(`{"pad":"` + strings.Repeat("p", 64<<10) + `"}`)
	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	stored := func() (raw []byte) {
		_ = e.st.View(context.Background(), func(tx *store.Tx) error {
			return tx.ForEach(bucketAsync, "", func(_ string, v []byte) error {
				raw = bytes.Clone(v)
				return nil
			})
		})
		return raw
	}
	before := stored()
	for n := range 3 {
		waitFor(t, fmt.Sprintf("throttle %d", n+1), func() bool {
			evs := e.queuedEvents()
			return len(evs) == 1 && evs[0].Throttles == n+1
		})
		e.clock.Advance(throttleBackoff(n))
	}
	if after := stored(); !bytes.Equal(before, after) {
		t.Fatalf("3 throttles rewrote the stored event (%d bytes, payload and all)", len(after))
	}
}

// TestEventCutOffByShutdownRunsAgainAfterRestart: an Event invocation whose
// sandbox the invoker's own Stop ends is no failed attempt: it stays queued as
// it was (no retry counted, due at once) and runs again after the restart.
func TestEventCutOffByShutdownRunsAgainAfterRestart(t *testing.T) {
	dir, marks := t.TempDir(), t.TempDir()
	short := func(c *Config) { c.DrainTimeout = 50 * time.Millisecond }
	e := newEnvIn(t, dir, short)
	cfg := e.fns.add(&functions.Config{FunctionName: "long", Timeout: 900})
	ran, release := filepath.Join(marks, "ran"), filepath.Join(marks, "release")
	// The handler blocks until release exists: it runs until the stop.
	payload := `{"pidFile":"` + ran + `","waitFile":"` + release + `"}`
	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, ran)
	before := e.queuedEvents()
	e.stop()
	log := e.logs.String()
	if strings.Contains(log, "will retry") || strings.Contains(log, "dropping") {
		t.Fatalf("the stop counted the cut-off run as a failure:\n%s", log)
	}

	// Read the queue as the restarted Portico finds it.
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	after := (&env{st: st}).queuedEvents()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if len(before) != 1 || len(after) != 1 {
		t.Fatalf("queued %d events before the stop, %d after; want the one", len(before), len(after))
	}
	if b, a := before[0], after[0]; a.Attempt != 0 || a.Throttles != 0 || !a.NotBefore.Equal(b.NotBefore) {
		t.Fatalf("event after the stop %+v, want it as it was: %+v", a, b)
	}
	if err := os.Remove(ran); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e2 := newEnvWith(t, dir, short, cfg)
	waitForFile(t, ran)
	waitFor(t, "the event done", func() bool { return e2.queued() == 0 })
	if strings.Contains(e2.logs.String(), "will retry") {
		t.Fatalf("the run after the restart failed:\n%s", e2.logs.String())
	}
}

// newServiceEnv is newEnv over a real functions.Service in the same store,
// which deletes functions as the admin API does.
func newServiceEnv(t *testing.T) (*env, *functions.Service) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := functions.NewService(st, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := process.New(filepath.Join(dir, "run"), 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.StopGrace = 500 * time.Millisecond
	clock := newFakeClock()
	logs := &testkit.LockedBuffer{}
	inv, err := New(Params{Config: cfg, Runtime: rt, Functions: svc, Store: st, Clock: clock, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &env{inv: inv, clock: clock, st: st, dir: dir, logs: logs}
	t.Cleanup(func() { e.stop() })
	return e, svc
}

// createTestFunction creates function name, its code the tests' function,
// and publishes version 1.
func createTestFunction(t *testing.T, svc *functions.Service, name string) {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join(codeDir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(bin)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(context.Background(), functions.CreateInput{FunctionName: name, Runtime: "provided.al2023",
		Handler: "bootstrap", ZipFile: buf.Bytes(), Timeout: 60, Publish: true}); err != nil {
		t.Fatal(err)
	}
}

// TestDeletedFunctionsEventsNeverReachItsSuccessor: deleting a function
// deletes its queued Event invocations in the same transaction, so that a
// function created again under its name (whose versions count from 1 again)
// runs none of them, queued or in progress at the deletion.
func TestDeletedFunctionsEventsNeverReachItsSuccessor(t *testing.T) {
	e, svc := newServiceEnv(t)
	ctx := context.Background()
	marks := t.TempDir()
	mark := func(name string) string { return filepath.Join(marks, name) }
	enqueue := func(version, payload string) {
		t.Helper()
		cfg, err := svc.Get(ctx, "f", version)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.inv.InvokeAsync(ctx, Request{Function: cfg, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}

	// Queued: events of $LATEST and of version 1 wait while the function is
	// deleted and created again.
	createTestFunction(t, svc, "f")
	e.inv.async.stop()
	enqueue(functions.Latest, `{"pidFile":"`+mark("old-latest")+`"}`)
	enqueue("1", `{"pidFile":"`+mark("old-1")+`"}`)
	if err := svc.Delete(ctx, "f", ""); err != nil {
		t.Fatal(err)
	}
	if n := e.queued(); n != 0 {
		t.Fatalf("%d events of the deleted function still queued", n)
	}
	createTestFunction(t, svc, "f")
	enqueue("1", `{"pidFile":"`+mark("new")+`"}`)
	e.inv.async.start()
	waitForFile(t, mark("new"))
	waitFor(t, "the queue empty", func() bool { return e.queued() == 0 })
	for _, old := range []string{"old-latest", "old-1"} {
		if _, err := os.Stat(mark(old)); err == nil {
			t.Errorf("the event %s of the deleted function ran in the new one", old)
		}
	}

	// In progress: an attempt running at the deletion fails; it is not
	// retried into the function created again.
	enqueue("1", `{"pidFile":"`+mark("running")+`","waitFile":"`+mark("release")+`","fail":"boom"}`)
	waitForFile(t, mark("running"))
	if err := svc.Delete(ctx, "f", ""); err != nil {
		t.Fatal(err)
	}
	createTestFunction(t, svc, "f")
	if err := os.WriteFile(mark("release"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the attempt's outcome", func() bool {
		l := e.logs.String()
		return strings.Contains(l, "will retry") || strings.Contains(l, "dropping Event invocation")
	})
	if l := e.logs.String(); strings.Contains(l, "will retry") || e.queued() != 0 {
		t.Fatalf("the attempt in progress at the deletion was queued again (%d queued):\n%s", e.queued(), l)
	}
}

// TestEventsRunPerFunctionUpToItsConcurrency: Event invocations are not run
// by a fixed pool of workers: one function's run as many at once as its
// concurrency admits, and a slow function's events never hold back another
// function's; a reservation bounds its function's, the rest staying queued.
func TestEventsRunPerFunctionUpToItsConcurrency(t *testing.T) {
	e := newEnv(t, nil)
	slow := e.fns.add(&functions.Config{FunctionName: "slow", Timeout: 900})
	other := e.fns.add(&functions.Config{FunctionName: "other"})
	capped := e.fns.add(&functions.Config{FunctionName: "capped", Timeout: 900})
	e.fns.setReserved("capped", 2)
	marks := t.TempDir()
	mark := func(name string) string { return filepath.Join(marks, name) }
	send := func(cfg *functions.Config, payload string) {
		t.Helper()
		if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	// Eight events of slow, each until release exists, then one of other.
	for n := range 8 {
		send(slow, fmt.Sprintf(`{"pidFile":%q,"waitFile":%q}`, mark(fmt.Sprint("slow", n)), mark("release")))
	}
	for n := range 4 {
		send(capped, fmt.Sprintf(`{"pidFile":%q,"waitFile":%q}`, mark(fmt.Sprint("capped", n)), mark("release")))
	}
	send(other, `{"pidFile":"`+mark("other")+`"}`)
	for n := range 8 {
		waitForFile(t, mark(fmt.Sprint("slow", n))) // all eight at once
	}
	waitForFile(t, mark("other")) // while slow's still run
	waitFor(t, "other's event done", func() bool { return len(e.queuedEvents()) == 12 })
	running := func(fn string) int {
		e.inv.async.mu.Lock()
		defer e.inv.async.mu.Unlock()
		return e.inv.async.perFn[fn]
	}
	waitFor(t, "two of capped's events running", func() bool { return running("capped") == 2 })
	for _, ev := range e.queuedEvents() {
		if ev.Throttles != 0 || ev.Attempt != 0 {
			t.Fatalf("event of %s throttled %d times, %d retries: an event its function's concurrency does not admit is left waiting",
				ev.Function, ev.Throttles, ev.Attempt)
		}
	}
	if err := os.WriteFile(mark("release"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every event done", func() bool { return e.queued() == 0 })
	for n := range 4 {
		if _, err := os.Stat(mark(fmt.Sprint("capped", n))); err != nil {
			t.Fatalf("capped's event %d never ran: %v", n, err)
		}
	}
}

// faultyRuntime fails every sandbox start with err.
type faultyRuntime struct {
	runtimes.Runtime
	err error
}

func (r faultyRuntime) Start(context.Context, runtimes.Spec) (runtimes.Sandbox, error) {
	return nil, r.err
}

// TestEventPermanentFaultIsAFailedAttempt: an Event invocation that cannot run
// for a fault no wait cures (its image gone, no ENTRYPOINT) is no throttle: it
// was retried silently with a backoff for up to six hours. It is a failed
// attempt, counted against MaximumRetryAttempts, said once at warn in the
// server log and in the function's log, then dropped once its retries are spent.
func TestEventPermanentFaultIsAFailedAttempt(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"image gone", &runtimes.ImageGoneError{Image: "sha256:" + strings.Repeat("d4", 32), Function: "gone"}},
		{"no entrypoint", errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", "image my/img:1 cannot run as function gone: it has no ENTRYPOINT or CMD")},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.inv.rt = faultyRuntime{Runtime: e.inv.rt, err: c.err}
			cfg := e.fns.add(&functions.Config{FunctionName: "gone"})
			if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
			for n, d := range e.inv.p.Config.AsyncRetryDelays {
				var ev asyncEvent
				waitFor(t, fmt.Sprintf("attempt %d", n+1), func() bool {
					evs := e.queuedEvents()
					if len(evs) != 1 {
						return false
					}
					ev = evs[0]
					return ev.NotBefore.After(e.clock.Now())
				})
				if ev.Attempt != n+1 || ev.Throttles != 0 || ev.NotBefore.Sub(e.clock.Now()) != d {
					t.Fatalf("after attempt %d: %d retries made, %d throttles, next in %v; want %d, none, %v",
						n+1, ev.Attempt, ev.Throttles, ev.NotBefore.Sub(e.clock.Now()), n+1, d)
				}
				e.clock.Advance(d)
			}
			waitFor(t, "the event to be dropped", func() bool { return len(e.queuedEvents()) == 0 })
			log := e.logs.String()
			if n := strings.Count(log, "level=WARN msg=\"Event invocation cannot run"); n != 1 {
				t.Errorf("the fault said %d times in the server log, want once at warn:\n%s", n, log)
			}
			fl, err := e.inv.logs.Read("gone", 1<<16)
			if err != nil {
				t.Fatal(err)
			}
			var k *errdefs.Kinded
			if !errors.As(c.err, &k) || strings.Count(string(fl), k.Message) != 1 {
				t.Errorf("the function's log does not tell the fault once:\n%s", fl)
			}
		})
	}
}

// TestQueuedEventPayloadReadOnlyForItsAttempt: the queue's dispatch reads
// what it schedules by from memory; an event's payload is read from the
// store once per attempt, not on every look at the queue (the faults22
// tester's finding 1: 1000 queued 1 MB events cost 2 GB and a third of a
// core while a throttled function's backlog waited).
func TestQueuedEventPayloadReadOnlyForItsAttempt(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ThrottleWait = time.Millisecond })
	cfg := e.fns.add(&functions.Config{FunctionName: "thr"})
	e.fns.setReserved("thr", 0) // every attempt is throttled and backs off
	q := e.inv.async
	q.stop()
	const n = 20
	for range n {
		if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: []byte(`{"pad":"` + strings.Repeat("p", 1000) + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	q.start()
	waitFor(t, "every event throttled once", func() bool {
		for _, ev := range e.queuedEvents() {
			if ev.Throttles != 1 {
				return false
			}
		}
		return true
	})
	for range 10 {
		if next := q.dispatch(); !next.After(e.clock.Now()) {
			t.Fatalf("next due at %v, want after now (%v)", next, e.clock.Now())
		}
	}
	if got := q.loads.Load(); got != n {
		t.Fatalf("%d payload reads for %d attempts, want one per attempt", got, n)
	}
	// A restart's pass keeps no payload either; the events still run.
	q.stop()
	q.start()
	q.dispatch()
	if got := q.loads.Load(); got != n {
		t.Fatalf("%d payload reads after a restart of the queue, want %d", got, n)
	}
}
