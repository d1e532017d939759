package invoker

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
)

// TestFirstReportShowsInvocationPeak: the REPORT line of a sandbox's first
// (cold) invocation shows the memory the invocation used, not the memory the
// sandbox had after its init.
func TestFirstReportShowsInvocationPeak(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.fns.add(&functions.Config{FunctionName: "alloc", MemorySize: 1024})
	res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{"allocMB":200}`), LogTail: true})
	if err != nil || res.FunctionError != "" {
		t.Fatalf("invoke: %v %s", err, res.Payload)
	}
	m := regexp.MustCompile(`Max Memory Used: (\d+) MB`).FindSubmatch(res.LogTail)
	if m == nil {
		t.Fatalf("no REPORT line with Max Memory Used in the tail:\n%s", res.LogTail)
	}
	if mb, _ := strconv.Atoi(string(m[1])); mb < 200 {
		t.Fatalf("first invocation's REPORT says Max Memory Used: %d MB; the handler allocated 200 MB", mb)
	}
}

// memSandbox is a clientSandbox that reports a small peak while it runs and
// its limit once it has gone, as a container killed for memory does (its
// runtime learns the kill at its exit).
type memSandbox struct{ *clientSandbox }

func (s memSandbox) MaxMemoryMB() int {
	select {
	case <-s.Done():
		return 128
	default:
		return 6
	}
}

type memRuntime struct{ *clientRuntime }

func (r memRuntime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	sb, err := r.clientRuntime.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return memSandbox{sb.(*clientSandbox)}, nil
}

// TestReportOfKilledSandboxReadsPeakAtExit checks the REPORT of an invocation
// whose sandbox died under it: its Max Memory Used is the runtime's figure
// once the sandbox has gone (for a sandbox killed for memory, its limit), not
// the last measurement made while it ran.
func TestReportOfKilledSandboxReadsPeakAtExit(t *testing.T) {
	e := newEnv(t, nil)
	rt := &clientRuntime{Runtime: e.inv.rt, specs: make(chan runtimes.Spec, 1), started: make(chan *clientSandbox, 1)}
	e.inv.rt = memRuntime{rt}
	cfg := e.fns.add(&functions.Config{FunctionName: "oom", MemorySize: 128})
	call := func(payload string) <-chan *Result {
		ch := make(chan *Result, 1)
		go func() {
			res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(payload)})
			if err != nil {
				t.Error(err)
			}
			ch <- res
		}()
		return ch
	}
	first := call(`{"n":1}`)
	addr := (<-rt.specs).Env["AWS_LAMBDA_RUNTIME_API"]
	rsb := <-rt.started
	c := dialRAPI(t, addr)
	id, _ := c.next(t)
	c.respond(t, id, `"ok"`)
	if r := <-first; r == nil || r.FunctionError != "" {
		t.Fatalf("first call: %+v", r)
	}
	second := call(`{"n":2}`)
	id, _ = c.next(t)
	rsb.exit() // killed while it runs the second call
	r := <-second
	if r == nil || r.FunctionError == "" {
		t.Fatalf("second call: %+v, want the sandbox's exit", r)
	}
	log, _ := e.inv.Logs().Read("oom", -1)
	want := "REPORT RequestId: " + id + "\t"
	i := strings.Index(string(log), want)
	if i < 0 {
		t.Fatalf("no REPORT for %s:\n%s", id, log)
	}
	if line, _, _ := strings.Cut(string(log[i:]), "\n"); !strings.Contains(line, "\tMax Memory Used: 128 MB") {
		t.Errorf("REPORT of the killed sandbox's call: %q, want Max Memory Used: 128 MB", line)
	}
}

// peakSandbox is a clientSandbox whose runtime reads its peak memory at once
// (runtimes.PeakMemoryReader: the figure the test sets in peak) while its
// background measurement (MaxMemoryMB) lags at the init's figure.
type peakSandbox struct {
	*clientSandbox
	peak *atomic.Int64
}

func (s peakSandbox) MaxMemoryMB() int      { return 4 }
func (s peakSandbox) ReadPeakMemoryMB() int { return int(s.peak.Load()) }

type peakRuntime struct {
	*clientRuntime
	peak *atomic.Int64
}

func (r peakRuntime) Start(ctx context.Context, spec runtimes.Spec) (runtimes.Sandbox, error) {
	sb, err := r.clientRuntime.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	return peakSandbox{sb.(*clientSandbox), r.peak}, nil
}

// TestWarmReportShowsInvocationPeak: every REPORT line, warm invocations'
// too, shows the sandbox's peak with the invocation it reports on in it,
// read at the end of the invocation (r-rt22 #1: warm REPORTs were one
// invocation behind, a containerd cold start showed the init's 4 MB).
func TestWarmReportShowsInvocationPeak(t *testing.T) {
	e := newEnv(t, nil)
	peak := new(atomic.Int64)
	rt := &clientRuntime{Runtime: e.inv.rt, specs: make(chan runtimes.Spec, 1), started: make(chan *clientSandbox, 1)}
	e.inv.rt = peakRuntime{rt, peak}
	cfg := e.fns.add(&functions.Config{FunctionName: "peaks", MemorySize: 1024})
	call := func() <-chan *Result {
		ch := make(chan *Result, 1)
		go func() {
			res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(`{}`), LogTail: true})
			if err != nil {
				t.Error(err)
			}
			ch <- res
		}()
		return ch
	}
	re := regexp.MustCompile(`Max Memory Used: (\d+) MB`)
	var c *rapiClient
	for i, mb := range []int64{304, 505, 505, 700} {
		res := call()
		if i == 0 {
			addr := (<-rt.specs).Env["AWS_LAMBDA_RUNTIME_API"]
			<-rt.started
			c = dialRAPI(t, addr)
		}
		id, _ := c.next(t)
		peak.Store(mb) // what the handler brought the sandbox to
		c.respond(t, id, `"ok"`)
		r := <-res
		if r == nil || r.FunctionError != "" {
			t.Fatalf("call %d: %+v", i, r)
		}
		m := re.FindSubmatch(r.LogTail)
		if m == nil {
			t.Fatalf("call %d: no Max Memory Used in the tail:\n%s", i, r.LogTail)
		}
		if got, _ := strconv.ParseInt(string(m[1]), 10, 64); got != mb {
			t.Errorf("call %d: REPORT says Max Memory Used: %d MB, the sandbox's peak is %d MB", i, got, mb)
		}
	}
}
