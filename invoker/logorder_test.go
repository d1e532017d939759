package invoker

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
)

// heldPumpRuntime wraps the process runtime so that a test can hold its
// sandboxes' output in the log pump's hands: once hold is called, a chunk the
// pump reads from the pipe is handed over only after the next SyncLogs (or
// release). The output is then still in transit, as the process runtime's
// LogsPending says, when the runtime posts its result.
type heldPumpRuntime struct {
	runtimes.Runtime
	mu   sync.Mutex
	cond *sync.Cond
	held bool
}

func newHeldPumpRuntime(rt runtimes.Runtime) *heldPumpRuntime {
	r := &heldPumpRuntime{Runtime: rt}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *heldPumpRuntime) hold() {
	r.mu.Lock()
	r.held = true
	r.mu.Unlock()
}

func (r *heldPumpRuntime) release() {
	r.mu.Lock()
	r.held = false
	r.cond.Broadcast()
	r.mu.Unlock()
}

func (r *heldPumpRuntime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	sb, err := r.Runtime.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &heldPumpSandbox{Sandbox: sb, r: r, logs: sb.Logs()}, nil
}

type heldPumpSandbox struct {
	runtimes.Sandbox
	r    *heldPumpRuntime
	logs io.Reader
}

func (s *heldPumpSandbox) Logs() io.Reader { return s }

// Read reads a chunk from the pipe and hands it over once not held.
func (s *heldPumpSandbox) Read(b []byte) (int, error) {
	n, err := s.logs.Read(b)
	s.r.mu.Lock()
	for s.r.held {
		s.r.cond.Wait()
	}
	s.r.mu.Unlock()
	return n, err
}

func (s *heldPumpSandbox) LogsPending() bool { return s.Sandbox.(logsPending).LogsPending() }

func (s *heldPumpSandbox) SyncLogs(ctx context.Context) {
	s.r.release()
	s.Sandbox.(runtimes.LogSyncer).SyncLogs(ctx)
}

func (s *heldPumpSandbox) OwnsConn(a net.Addr) bool {
	return s.Sandbox.(runtimes.PeerVerifier).OwnsConn(a)
}

// transitRuntime wraps the process runtime as a container runtime's output
// behaves at its slowest: what a sandbox writes is in transit (the shim's
// copy, the daemon's stream) until a SyncLogs pushes it through, and nothing
// tells at once whether any is (no LogsPending).
type transitRuntime struct{ runtimes.Runtime }

func (r transitRuntime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	sb, err := r.Runtime.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	s := &transitSandbox{Sandbox: sb}
	s.cond = sync.NewCond(&s.mu)
	go s.copy(sb.Logs())
	return s, nil
}

type transitSandbox struct {
	runtimes.Sandbox
	mu      sync.Mutex
	cond    *sync.Cond
	transit []byte // output on its way
	q       []logPiece
	sent    int // markers queued
	passed  int // markers the reader has come back after
	done    bool
}

// logPiece is output handed over to the reader, or a marker (data nil).
type logPiece struct {
	data   []byte
	marker bool
}

// copy takes the sandbox's output into transit.
func (s *transitSandbox) copy(r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		s.mu.Lock()
		s.transit = append(s.transit, buf[:n]...)
		if err != nil {
			s.q = append(s.q, logPiece{data: s.transit})
			s.transit, s.done = nil, true
		}
		s.cond.Broadcast()
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *transitSandbox) Logs() io.Reader { return s }

// Read hands over output pushed through; a marker at the head counts as
// passed once the reader is back for more.
func (s *transitSandbox) Read(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for len(s.q) > 0 && s.q[0].marker {
			s.q = s.q[1:]
			s.passed++
			s.cond.Broadcast()
		}
		if len(s.q) > 0 {
			n := copy(b, s.q[0].data)
			if s.q[0].data = s.q[0].data[n:]; len(s.q[0].data) == 0 {
				s.q = s.q[1:]
			}
			return n, nil
		}
		if s.done {
			return 0, io.EOF
		}
		s.cond.Wait()
	}
}

// SyncLogs pushes the output written so far through and waits until the
// reader has handled it.
func (s *transitSandbox) SyncLogs(ctx context.Context) {
	s.Sandbox.(runtimes.LogSyncer).SyncLogs(ctx) // all of it is in transit
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.q = append(s.q, logPiece{data: s.transit}, logPiece{marker: true})
	s.transit = nil
	s.sent++
	s.cond.Broadcast()
	for target := s.sent; s.passed < target && !s.done; {
		s.cond.Wait()
	}
}

func (s *transitSandbox) OwnsConn(a net.Addr) bool {
	return s.Sandbox.(runtimes.PeerVerifier).OwnsConn(a)
}

// inOrder reports the first of want that text lacks after the ones before it
// ("" when text holds them all in order).
func inOrder(text string, want ...string) string {
	at := 0
	for _, w := range want {
		n := strings.Index(text[at:], w)
		if n < 0 {
			return w
		}
		at += n + len(w)
	}
	return ""
}

// TestQueuedCallsLogsAreTheirOwn checks that a call queued for a busy sandbox
// starts only once the sandbox's previous invocation has its output, END and
// REPORT: each call's log tail holds its own output alone, and the function
// log has START, output, END of one invocation before the next's START. The
// seams make the losing order certain: the first caller is held between its
// result and its return (a stop hook on its deadline's timer), and the
// sandbox's output is still in transit when the runtime posts its result
// (the process runtime's pump held until a log sync; a container runtime's
// stream that delivers only when synced).
func TestQueuedCallsLogsAreTheirOwn(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(runtimes.Runtime) runtimes.Runtime
	}{
		{"process", func(rt runtimes.Runtime) runtimes.Runtime { return newHeldPumpRuntime(rt) }},
		{"container", func(rt runtimes.Runtime) runtimes.Runtime { return transitRuntime{rt} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rt runtimes.Runtime
			e := newEnvWrapped(t, t.TempDir(), func(c *Config) { c.MaxSandboxes = 1 }, func(r runtimes.Runtime) runtimes.Runtime {
				rt = tc.wrap(r)
				return rt
			})
			cfg := e.fns.add(&functions.Config{FunctionName: "order", Timeout: 7})
			invokeTail(t, e, cfg, `{}`) // warm

			if h, ok := rt.(*heldPumpRuntime); ok {
				h.hold()
				t.Cleanup(h.release)
			}
			// The first call's caller (its deadline is its own 5 s, the
			// second's the function's 7 s) waits, once its call has ended,
			// until the second call is back.
			heldCaller, letGo := make(chan struct{}), make(chan struct{})
			var once sync.Once
			hook := func(d time.Duration) {
				if d == 5*time.Second {
					once.Do(func() {
						close(heldCaller)
						<-letGo
					})
				}
			}
			e.clock.beforeStop.Store(&hook)
			t.Cleanup(func() {
				select {
				case <-letGo:
				default:
					close(letGo)
				}
			})

			gate, pidFile := filepath.Join(t.TempDir(), "gate"), filepath.Join(t.TempDir(), "pid")
			first := make(chan callResult, 1)
			go func() {
				res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, LogTail: true, Timeout: 5 * time.Second,
					Payload: []byte(`{"print":"out-first","waitFile":"` + gate + `","pidFile":"` + pidFile + `"}`)})
				first <- callResult{res, err}
			}()
			waitForFile(t, pidFile)
			second := queueCall(t, e, Request{Function: cfg, LogTail: true, Payload: []byte(`{"print":"out-second"}`)})
			writeFile(t, gate)
			<-heldCaller
			g2 := receive(t, second)
			close(letGo)
			g1 := receive(t, first)
			if g1.err != nil || g2.err != nil {
				t.Fatalf("calls: %v, %v", g1.err, g2.err)
			}
			id1, id2 := g1.res.RequestID, g2.res.RequestID
			for _, c := range []struct {
				res        *Result
				own, else_ string
			}{{g1.res, "out-first", "out-second"}, {g2.res, "out-second", "out-first"}} {
				tail := string(c.res.LogTail)
				if missing := inOrder(tail, "START RequestId: "+c.res.RequestID, c.own, "END RequestId: "+c.res.RequestID); missing != "" || strings.Contains(tail, c.else_) {
					t.Errorf("the tail of %s lacks %q or holds %q:\n%s", c.res.RequestID, missing, c.else_, tail)
				}
			}
			log, _ := e.inv.Logs().Read(cfg.FunctionName, -1)
			if missing := inOrder(string(log), "START RequestId: "+id1, "out-first", "END RequestId: "+id1,
				"START RequestId: "+id2, "out-second", "END RequestId: "+id2); missing != "" {
				t.Errorf("the function log lacks %q after the lines before it:\n%s", missing, log)
			}
		})
	}
}

// TestTailAfterUntailedCall checks that with a runtime whose output may be in
// transit after an invocation's END (a container runtime, for a call that asked
// for no log tail), a call that asks for a tail next does not get that
// output: it is synced before the call's START.
func TestTailAfterUntailedCall(t *testing.T) {
	e := newEnvWrapped(t, t.TempDir(), nil, func(r runtimes.Runtime) runtimes.Runtime { return transitRuntime{r} })
	cfg := e.fns.add(&functions.Config{FunctionName: "transit"})
	invoke(t, e, cfg, `{}`) // warm
	a, _ := invoke(t, e, cfg, `{"print":"out-untailed"}`)
	b, _ := invokeTail(t, e, cfg, `{"print":"out-tailed"}`)
	tail := string(b.LogTail)
	if strings.Contains(tail, "out-untailed") || inOrder(tail, "START RequestId: "+b.RequestID, "out-tailed", "END RequestId: "+b.RequestID) != "" {
		t.Errorf("the tail holds the call before's output, or lacks its own:\n%s", tail)
	}
	log, _ := e.inv.Logs().Read(cfg.FunctionName, -1)
	if missing := inOrder(string(log), "START RequestId: "+a.RequestID, "END RequestId: "+a.RequestID, "out-untailed",
		"START RequestId: "+b.RequestID, "out-tailed", "END RequestId: "+b.RequestID); missing != "" {
		t.Errorf("the function log lacks %q after the lines before it:\n%s", missing, log)
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}
