package procs

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/clock"
)

func TestNext(t *testing.T) {
	st := func(p, calm, hold int) State { return State{P: p, Calm: calm, Hold: hold} }
	for _, c := range []struct {
		name       string
		s          State
		max        int
		used, idle float64
		want       State
	}{
		// The side-by-side proxy: two Ps, 0.78 cores used, the host's two cores taken.
		{"busy host, one P fewer is enough: calm counts", st(2, 0, 4), 2, 0.78, 0.02, st(2, 1, 4)},
		{"busy host, the fourth calm window takes a P", st(2, 3, 4), 2, 0.78, 0.02, st(1, 0, 4)},
		{"busy host, the process needs its Ps", st(2, 3, 4), 2, 0.95, 0.0, st(2, 0, 4)},
		{"host with a core idle keeps its Ps", st(2, 3, 4), 2, 0.30, 1.2, st(2, 0, 4)},
		{"one P, a core idle: spare counts", st(1, 0, 4), 2, 0.30, 1.2, State{P: 1, Spare: 1, Hold: 4}},
		{"one P, the fourth window with a core idle: all back", State{P: 1, Spare: 3, Hold: 4}, 2, 0.1, 1.5, st(2, 0, 4)},
		{"three of eight, an idle host: all eight back", State{P: 3, Spare: 3, Hold: 4}, 8, 0.5, 5.0, st(8, 0, 4)},
		{"a busy window ends the spare count", State{P: 1, Spare: 3, Hold: 4}, 2, 0.5, 0.3, st(1, 0, 4)},
		{"a little idle is still busy", st(2, 0, 4), 2, 0.50, 0.2, st(2, 1, 4)},
		{"never below one", st(1, 9, 4), 2, 0.10, 0.0, st(1, 0, 4)},
		{"saturated P with a core idle: one more at once", st(1, 2, 4), 2, 0.90, 0.9, st(2, 0, 4)},
		{"a busy window after a spare one: calm starts", State{P: 2, Spare: 2, Hold: 4}, 2, 0.5, 0.0, st(2, 1, 4)},
		{"a P used to 0.9 on a busy host stays one", st(1, 0, 4), 2, 0.90, 0.1, st(1, 0, 4)},
		{"a full P on a busy host: one more, and a longer hold", st(1, 0, 4), 2, 0.97, 0.1, st(2, 0, 8)},
		{"the hold doubles up to a minute", st(1, 0, 200), 2, 0.99, 0.0, st(2, 0, maxHold)},
		{"a core idle brings the hold back to the base", st(2, 0, 64), 2, 0.2, 1.5, st(2, 0, 4)},
		{"a longer hold: calm counts on", st(2, 7, 8), 2, 0.7, 0.0, st(1, 0, 8)},
		{"not above max", st(2, 0, 4), 2, 2.0, 1.0, st(2, 0, 4)},
		{"eight Ps, three used, busy: calm", st(8, 0, 4), 8, 3.0, 0.1, st(8, 1, 4)},
		{"four Ps, three used, busy: one fewer would not leave a tenth", st(4, 5, 4), 8, 3.0, 0.1, st(4, 0, 4)},
		{"four Ps, 2.8 used, busy: taken", st(4, 3, 4), 8, 2.8, 0.1, st(3, 0, 4)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Next(c.s, c.max, 4, c.used, c.idle); got != c.want {
				t.Fatalf("Next(%+v, max %d, used %.2f, idle %.2f) = %+v; want %+v", c.s, c.max, c.used, c.idle, got, c.want)
			}
		})
	}
}

// host is a scripted host: each window adds used and idle cores' worth of CPU.
type host struct {
	mu      sync.Mutex
	s       Sample
	err     error
	set     []int
	window  time.Duration
	clk     *clock.Fake
	fitter  *Fitter
	readsOK int
}

func newHost(t *testing.T, max int) *host {
	t.Helper()
	h := &host{window: 250 * time.Millisecond, clk: clock.NewFake(time.Unix(1_700_000_000, 0))}
	h.fitter = Start(Options{
		Max: max, Window: h.window, Clock: h.clk,
		Read: func() (Sample, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.err != nil {
				return Sample{}, h.err
			}
			h.readsOK++
			return h.s, nil
		},
		Set: func(n int) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.set = append(h.set, n)
		},
	})
	t.Cleanup(h.fitter.Stop)
	return h
}

// step runs one window in which the process used `used` cores and the host left
// `idle` idle, and waits until the Fitter has armed the next.
func (h *host) step(t *testing.T, used, idle float64) {
	t.Helper()
	h.mu.Lock()
	h.s.Process += time.Duration(used * float64(h.window))
	h.s.Idle += time.Duration(idle * float64(h.window))
	h.mu.Unlock()
	h.clk.Advance(h.window)
	deadline := time.After(10 * time.Second)
	for h.clk.Pending() != 1 {
		select {
		case <-deadline:
			t.Fatal("the next window was not armed")
		default:
			runtime.Gosched()
		}
	}
}

// steps runs n windows alike.
func (h *host) steps(t *testing.T, n int, used, idle float64) {
	t.Helper()
	for range n {
		h.step(t, used, idle)
	}
}

// wantProcs fails the test unless the Fitter runs want Ps; when says after what.
func (h *host) wantProcs(t *testing.T, want int, when string) {
	t.Helper()
	if got := h.fitter.Procs(); got != want {
		t.Fatalf("%s: %d Ps, want %d", when, got, want)
	}
}

// wantSets fails the test unless GOMAXPROCS was set to exactly want, in order
// (nothing when want is empty); when says after what.
func (h *host) wantSets(t *testing.T, when string, want ...int) {
	t.Helper()
	if got := h.sets(); !slices.Equal(got, want) {
		t.Fatalf("%s: GOMAXPROCS set to %v, want %v", when, got, want)
	}
}

func (h *host) sets() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.set...)
}

func TestFitterBusyHostThenIdleHost(t *testing.T) {
	h := newHost(t, 2)
	for i := range 3 {
		h.step(t, 0.78, 0.02)
		h.wantProcs(t, 2, fmt.Sprintf("after %d busy windows (a P goes after four)", i+1))
	}
	h.step(t, 0.78, 0.02)
	h.wantProcs(t, 1, "after four busy windows")
	// Under load on one P, not full, with the host still busy: it stays.
	h.steps(t, 5, 0.9, 0.05)
	h.wantProcs(t, 1, "one P used to 0.9 on a busy host")
	// A core idles while the process wants more: the P comes back at once.
	h.step(t, 0.99, 0.9)
	h.wantProcs(t, 2, "saturated with a core idle")
	h.wantSets(t, "a P taken and given back", 1, 2)
}

func TestFitterHoldsLongerAfterTakingAPNeeded(t *testing.T) {
	h := newHost(t, 2)
	// A busy host where one P is not enough: 0.85 of two, 0.97 of one.
	for round, hold := range []int{4, 8, 16} {
		for i := range hold {
			h.wantProcs(t, 2, fmt.Sprintf("round %d, window %d of a hold of %d", round, i, hold))
			h.step(t, 0.85, 0.0)
		}
		h.wantProcs(t, 1, fmt.Sprintf("round %d, after %d calm windows", round, hold))
		h.step(t, 0.97, 0.0)
		h.wantProcs(t, 2, fmt.Sprintf("round %d, the one P full", round))
	}
	// A core idles: the hold is back to four windows.
	h.step(t, 0.5, 1.0)
	h.steps(t, 4, 0.85, 0.0)
	h.wantProcs(t, 1, "four calm windows after the host idled")
}

func TestFitterGivesThePsBackOnceTheHostIdles(t *testing.T) {
	h := newHost(t, 4)
	h.steps(t, 4, 2.5, 0.1)
	h.wantProcs(t, 3, "four calm windows on a busy host")
	// Light load on an idle host: a P held back could run now.
	h.steps(t, 3, 0.2, 3.5)
	h.wantProcs(t, 3, "three windows with cores idle")
	h.step(t, 0.2, 3.5)
	h.wantProcs(t, 4, "four windows with cores idle")
	h.wantSets(t, "a P taken and all given back", 3, 4)
}

func TestFitterKeepsPsOnAHostWithIdleCores(t *testing.T) {
	h := newHost(t, 4)
	h.steps(t, 20, 0.5, 2.5)
	h.steps(t, 20, 0.0, 4.0)
	h.wantSets(t, "a host with idle cores")
}

func TestFitterInterruptedCalmStartsOver(t *testing.T) {
	h := newHost(t, 2)
	h.steps(t, 3, 0.7, 0.0)
	h.step(t, 0.7, 0.8) // a core idle: not calm
	h.steps(t, 3, 0.7, 0.0)
	h.wantProcs(t, 2, "after 3+3 busy windows split by an idle one")
	h.step(t, 0.7, 0.0)
	h.wantProcs(t, 1, "after four busy windows in a row")
}

func TestFitterSkipsWindowsItCannotRead(t *testing.T) {
	h := newHost(t, 2)
	h.mu.Lock()
	h.err = errors.New("no /proc")
	h.mu.Unlock()
	h.steps(t, 6, 0.5, 0.0)
	h.wantSets(t, "no reading")
	h.mu.Lock()
	h.err = nil
	h.mu.Unlock()
	// The first reading after the gap measures the whole gap (the counters
	// are cumulative): one calm window.
	h.steps(t, 3, 0.5, 0.0)
	h.wantProcs(t, 2, "after three read windows")
	h.step(t, 0.5, 0.0)
	h.wantProcs(t, 1, "after four read windows")
}

func TestFitterStopRestoresMax(t *testing.T) {
	h := newHost(t, 2)
	h.steps(t, 4, 0.6, 0.0)
	h.wantProcs(t, 1, "after four calm windows")
	h.fitter.Stop()
	h.fitter.Stop()
	if got := h.sets(); len(got) != 2 || got[1] != 2 {
		t.Fatalf("GOMAXPROCS set to %v, want [1 2]: Stop gives Max back", got)
	}
	if n := h.clk.Pending(); n != 0 {
		t.Fatalf("%d windows still armed after Stop", n)
	}
}

func TestFitIsOffWhenTheOperatorSetsGOMAXPROCS(t *testing.T) {
	t.Setenv("GOMAXPROCS", "2")
	if enabled() {
		t.Fatal("Fit would run with GOMAXPROCS set in the environment")
	}
}

func TestParseIdle(t *testing.T) {
	stat := []byte("cpu  4705 356 584 3699 23 23 0 0 0 0\n" +
		"cpu0 1393 32966 572056 1000 6 0 17875 0 23933 0\n" +
		"cpu1 1393 32966 572056 2000 7 0 17875 0 23933 0\n" +
		"cpu2 1393 32966 572056 699 10 0 17875 0 23933 0\n" +
		"intr 1 2 3\nctxt 99\n")
	for _, c := range []struct {
		name  string
		mine  func(int) bool
		ticks int
	}{
		{"all CPUs", nil, 3699 + 23},
		{"cpu1 only (a cpuset)", func(n int) bool { return n == 1 }, 2000 + 7},
		{"cpu0 and cpu2", func(n int) bool { return n != 1 }, 1000 + 6 + 699 + 10},
	} {
		got, err := parseIdle(stat, c.mine)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if want := time.Duration(c.ticks) * 10 * time.Millisecond; got != want {
			t.Errorf("%s: idle %v, want %v", c.name, got, want)
		}
	}
	if _, err := parseIdle(stat, func(n int) bool { return n == 7 }); err == nil {
		t.Error("no line for cpu7: no error")
	}
	for _, bad := range []string{"", "intr 1 2 3\n", "cpu 1 2 3\n", "cpu 1 2 3 x 5 6\n"} {
		if _, err := parseIdle([]byte(bad), nil); err == nil {
			t.Errorf("parseIdle(%q): no error", bad)
		}
	}
}

func TestFitOneAtATime(t *testing.T) {
	if !enabled() {
		// A single-CPU host (or not Linux): Fit starts nothing.
		Fit(nil)()
		if fitting.Load() {
			t.Fatal("Fit started where it is off")
		}
		return
	}
	before := runtime.GOMAXPROCS(0)
	stop1 := Fit(nil)
	if !fitting.Load() {
		t.Fatal("Fit did not start")
	}
	stop2 := Fit(nil)
	stop2() // the second does nothing: the first still runs
	if !fitting.Load() {
		t.Fatal("a second Fit's stop stopped the first")
	}
	stop1()
	stop1()
	if fitting.Load() {
		t.Fatal("Fit still running after stop")
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("GOMAXPROCS %d after stop, want %d", got, before)
	}
}
