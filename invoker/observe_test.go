package invoker

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

type fakeObserver struct {
	mu          sync.Mutex
	invocations []Invocation
	throttles   []string
	concurrency map[string]int
	maxConc     int
	async       []AsyncOutcome
}

func (f *fakeObserver) OnInvoke(i Invocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invocations = append(f.invocations, i)
}

func (f *fakeObserver) OnThrottle(fn, version, alias string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles = append(f.throttles, fn+":"+version+":"+alias)
}

func (f *fakeObserver) OnConcurrency(fn string, d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.concurrency == nil {
		f.concurrency = map[string]int{}
	}
	f.concurrency[fn] += d
	f.maxConc = max(f.maxConc, f.concurrency[fn])
}

func (f *fakeObserver) OnAsync(_ string, what AsyncOutcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.async = append(f.async, what)
}

func TestObserverSeesInvocationsThrottlesAndEvents(t *testing.T) {
	e := newEnv(t, nil)
	obs := &fakeObserver{}
	e.inv.obs = obs
	cfg := e.fns.add(&functions.Config{FunctionName: "watched"})
	arn := functions.ARN("watched", "live")
	var results []*Result
	for _, payload := range []string{`{"echo":1}`, `{"fail":"nope"}`} {
		res, err := e.inv.Invoke(context.Background(), Request{Function: cfg, Payload: []byte(payload), InvokedARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	zero := 0
	off := e.fns.add(&functions.Config{FunctionName: "off", ReservedConcurrency: &zero})
	if _, err := e.inv.Invoke(context.Background(), Request{Function: off}); !errors.Is(err, errdefs.ErrThrottled) {
		t.Fatalf("want a throttle, got %v", err)
	}
	obs.mu.Lock()
	if len(obs.invocations) != 2 {
		t.Fatalf("invocations %+v, want 2", obs.invocations)
	}
	first, second := obs.invocations[0], obs.invocations[1]
	if first.Function != "watched" || first.Version != functions.Latest || first.Alias != "live" || first.Error || !first.ColdStart || first.Duration != results[0].Duration {
		t.Errorf("first invocation %+v", first)
	}
	if !second.Error || second.ColdStart || second.InitDuration != 0 || second.Duration != results[1].Duration {
		t.Errorf("second invocation (a function error on a warm sandbox) %+v", second)
	}
	if len(obs.throttles) != 1 || obs.throttles[0] != "off:$LATEST:" {
		t.Errorf("throttles %v", obs.throttles)
	}
	obs.mu.Unlock()
	// A call's concurrency is held until its sandbox is back in next, which
	// may come after the next call took its own: the peak may be 2.
	waitFor(t, "the concurrency given back", func() bool {
		obs.mu.Lock()
		defer obs.mu.Unlock()
		return obs.concurrency["watched"] == 0
	})
	obs.mu.Lock()
	if obs.maxConc < 1 || obs.maxConc > 2 {
		t.Errorf("concurrency peak %d, want 1 or 2 (two calls in a row)", obs.maxConc)
	}
	obs.mu.Unlock()

	if _, err := e.inv.InvokeAsync(context.Background(), Request{Function: cfg, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.async) == 0 || obs.async[0] != AsyncQueued {
		t.Errorf("async outcomes %v, want queued first", obs.async)
	}
}

func TestAliasOf(t *testing.T) {
	for arn, want := range map[string]string{
		functions.ARN("f", "live"):                         "live",
		functions.ARN("f", "3"):                            "",
		functions.ARN("f", functions.Latest):               "",
		"arn:aws:lambda:us-east-1:000000000000:function:f": "",
		"": "",
	} {
		if got := aliasOf(arn); got != want {
			t.Errorf("aliasOf(%q) = %q, want %q", arn, got, want)
		}
	}
}

// TestNewTraceHeader: an invocation that comes without a trace gets an
// unsampled X-Ray header of its own, rooted at the invocation's time.
func TestNewTraceHeader(t *testing.T) {
	now := time.Unix(0x5f000000, 0)
	re := regexp.MustCompile(`^Root=1-5f000000-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	a, b := newTraceHeader(now), newTraceHeader(now)
	if !re.MatchString(a) || !re.MatchString(b) {
		t.Fatalf("trace headers %q, %q", a, b)
	}
	if a == b {
		t.Fatalf("two invocations share the trace %q", a)
	}
	// The Parent is random apart from the Root: it began with the Root's
	// last 8 hex digits (the two overlapped in one random draw).
	overlap := 0
	for range 8 {
		h := newTraceHeader(now)
		m := regexp.MustCompile(`Root=1-5f000000-([0-9a-f]{24});Parent=([0-9a-f]{16})`).FindStringSubmatch(h)
		if m[1][16:] == m[2][:8] {
			overlap++
		}
	}
	if overlap > 1 {
		t.Errorf("%d of 8 Parents begin with their Root's last 8 hex digits", overlap)
	}
}
