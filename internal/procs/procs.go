// Package procs fits the Go scheduler's processor count (GOMAXPROCS) to the
// CPU a busy host leaves the process.
//
// Go runs GOMAXPROCS processors (Ps), one per core by default. When the host's
// cores are all busy (Portico shares them with its sandboxes, and on a small
// host with backends and clients) and the process uses less than its Ps, the
// spare P costs more than it gives: each goroutine made ready (a backend's
// answer, a sandbox's result) wakes a second thread on another core, which
// finds the core taken, and the process that wrote the answer pays in the
// kernel for waking a thread that sleeps instead of one that runs. On a
// two-core host running a proxy, its client and its backend, one P instead of
// two cut the proxy's CPU per request by a third and its backend's by as much
// (docs/performance.md, session 14).
//
// Fit watches the process's CPU and the host's idle CPU over short windows. It
// takes a P away when the host had no idle core to speak of for a few windows
// in a row (State.Hold) and the process used less than one P fewer could give;
// it gives one back, in a single window, when the process uses nearly all its
// Ps and the host has a core idle, or fills them on the busy host (then a P is
// its share of the host, and the next P is taken only after twice as many
// calm windows, up to a minute's); and it gives all of them back once the host
// has had a core idle for as many windows as it takes one away after. A host with cores to spare (the usual case, or
// a container whose CPU quota is below the host's cores) never loses a P, and
// GOMAXPROCS set in the environment turns it off: the operator's count wins.
package procs

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/clock"
)

// Thresholds, in cores over a window.
const (
	// busyShare of its Ps used means the process could use another.
	busyShare = 0.85
	// fullShare of its Ps used means the process is held back by their number.
	fullShare = 0.95
	// growIdle is the host's idle CPU that a P given back can run on.
	growIdle = 0.5
	// shrinkIdle: a host with less idle CPU than this is busy.
	shrinkIdle = 0.25
	// shrinkSpare is what one P fewer must still leave unused.
	shrinkSpare = 0.1
	// maxHold is the most calm windows a P is taken away after (a minute of
	// the default windows).
	maxHold = 240
)

// Sample is what a window is measured from: cumulative CPU times.
type Sample struct {
	// Process is the CPU the process has used (user and system, all threads).
	Process time.Duration
	// Idle is the CPU the host has left idle, summed over its CPUs.
	Idle time.Duration
}

// State is what the Fitter carries from window to window.
type State struct {
	// P is the processor count.
	P int
	// Calm counts the windows in a row after which a P could have been taken.
	Calm int
	// Spare counts the windows in a row, below the most Ps, in which the host
	// had a core idle.
	Spare int
	// Hold is how many calm windows take a P away. It doubles (up to a minute's
	// windows) each time the process fills its Ps on a busy host, which is what
	// follows a P taken that the process needed, and goes back to the base
	// when the host has a core idle.
	Hold int
}

// Next returns the state after a window in which the process used `used`
// cores and the host left `idle` cores idle. most bounds the count (the
// runtime's default); base is the least Hold, and the windows with a core
// idle that give all the Ps back.
func Next(s State, most, base int, used, idle float64) State {
	p := float64(s.P)
	if idle >= growIdle {
		s.Hold = base
	}
	switch {
	case s.P < most && used >= busyShare*p && idle >= growIdle:
		// A core idles that the process could use.
		return State{P: s.P + 1, Hold: s.Hold}
	case s.P < most && used >= fullShare*p:
		// A busy host, and the process fills its Ps: a P is its share.
		return State{P: s.P + 1, Hold: min(max(2*s.Hold, base), maxHold)}
	case s.P < most && idle >= growIdle:
		// The host is no longer busy: what made the Ps too many has gone.
		s.Calm = 0
		s.Spare++
		if s.Spare >= base {
			return State{P: most, Hold: s.Hold}
		}
		return s
	case s.P > 1 && idle < shrinkIdle && used <= p-1-shrinkSpare:
		s.Spare = 0
		s.Calm++
		if s.Calm >= s.Hold {
			return State{P: s.P - 1, Hold: s.Hold}
		}
		return s
	}
	s.Calm, s.Spare = 0, 0
	return s
}

// Options configure a Fitter. The zero value of each field is its default.
type Options struct {
	// Max is the most processors (default: runtime.GOMAXPROCS(0) when the
	// Fitter starts, which honours a container's CPU quota).
	Max int
	// Window is how often the CPU is measured (default 250 ms).
	Window time.Duration
	// ShrinkAfter is how many busy-host windows in a row take a P away at
	// first (default 4); see State.Hold.
	ShrinkAfter int
	// Clock runs the windows (default clock.Real).
	Clock clock.Clock
	// Read measures (default: the process's rusage and the host's /proc/stat;
	// Linux only).
	Read func() (Sample, error)
	// Set changes the processor count (default runtime.GOMAXPROCS, and
	// runtime.SetDefaultGOMAXPROCS for Max).
	Set func(n int)
	// Log gets a debug line for every change (default: none).
	Log *slog.Logger
}

// Fitter changes the processor count window by window. Create it with Start.
type Fitter struct {
	opts Options

	mu      sync.Mutex
	stopped bool
	state   State
	last    Sample
	lastAt  time.Time
	cancel  func() bool
}

// Fit starts a Fitter with the defaults, unless GOMAXPROCS is set in the
// environment, the host has a single processor, or the host's CPU cannot be
// read (not Linux); then it does nothing. stop ends it and restores the
// processor count it started from.
//
// One Fit runs at a time (two servers in one process, as in tests, share
// one processor count): a second does nothing until the first stops.
func Fit(log *slog.Logger) (stop func()) {
	if !enabled() || !fitting.CompareAndSwap(false, true) {
		return func() {}
	}
	f := Start(Options{Log: log})
	var once sync.Once
	return func() {
		once.Do(func() {
			f.Stop()
			fitting.Store(false)
		})
	}
}

// fitting is set while a Fit runs.
var fitting atomic.Bool

func enabled() bool {
	if os.Getenv("GOMAXPROCS") != "" || runtime.GOMAXPROCS(0) < 2 {
		return false
	}
	_, err := readHost()
	return err == nil
}

// Start measures a first sample and runs the windows until Stop. A Read error
// in a window skips that window.
func Start(opts Options) *Fitter {
	if opts.Max <= 0 {
		opts.Max = runtime.GOMAXPROCS(0)
	}
	if opts.Window <= 0 {
		opts.Window = 250 * time.Millisecond
	}
	if opts.ShrinkAfter <= 0 {
		opts.ShrinkAfter = 4
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Read == nil {
		opts.Read = readHost
	}
	if opts.Set == nil {
		most := opts.Max
		opts.Set = func(n int) {
			if n >= most {
				// Back to the runtime's own count, which also follows a
				// change of the CPU quota or affinity again.
				runtime.SetDefaultGOMAXPROCS()
				return
			}
			runtime.GOMAXPROCS(n)
		}
	}
	f := &Fitter{opts: opts, state: State{P: opts.Max, Hold: opts.ShrinkAfter}}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last, _ = opts.Read()
	f.lastAt = opts.Clock.Now()
	f.cancel = opts.Clock.AfterFunc(opts.Window, f.window)
	return f
}

// Procs returns the processor count the Fitter last set (Max until it changes).
func (f *Fitter) Procs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.P
}

// Stop ends the windows and gives the process back Max processors.
func (f *Fitter) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	f.stopped = true
	f.cancel()
	if f.state.P != f.opts.Max {
		f.state.P = f.opts.Max
		f.opts.Set(f.opts.Max)
	}
}

func (f *Fitter) window() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	defer func() { f.cancel = f.opts.Clock.AfterFunc(f.opts.Window, f.window) }()
	s, err := f.opts.Read()
	now := f.opts.Clock.Now()
	if err != nil {
		return
	}
	dt := now.Sub(f.lastAt).Seconds()
	prev := f.last
	f.last, f.lastAt = s, now
	if dt <= 0 || s.Process < prev.Process || s.Idle < prev.Idle {
		return
	}
	used := (s.Process - prev.Process).Seconds() / dt
	idle := (s.Idle - prev.Idle).Seconds() / dt
	from := f.state.P
	f.state = Next(f.state, f.opts.Max, f.opts.ShrinkAfter, used, idle)
	if f.state.P == from {
		return
	}
	if f.opts.Log != nil {
		f.opts.Log.Debug("GOMAXPROCS changed", "from", from, "to", f.state.P,
			"process_cores", round2(used), "host_idle_cores", round2(idle), "hold_windows", f.state.Hold)
	}
	f.opts.Set(f.state.P)
}

func round2(x float64) float64 { return float64(int(x*100+0.5)) / 100 }

// userHZ is the unit of /proc/stat's times: USER_HZ, 100 in Linux's ABI.
const userHZ = 100

// parseIdle reads idle+iowait from /proc/stat ("cpuN user nice system idle
// iowait irq ...", in USER_HZ ticks), summed over the CPUs mine reports true
// for, or from the all-CPUs line when mine is nil.
func parseIdle(b []byte, mine func(cpu int) bool) (time.Duration, error) {
	var ticks uint64
	found := false
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		f := bytes.Fields(line)
		if len(f) == 0 || !bytes.HasPrefix(f[0], []byte("cpu")) {
			continue
		}
		name := string(f[0][3:])
		if mine == nil && name != "" || mine != nil && name == "" {
			continue
		}
		if mine != nil {
			n, err := strconv.Atoi(name)
			if err != nil || !mine(n) {
				continue
			}
		}
		if len(f) < 6 {
			return 0, errors.New("procs: /proc/stat's " + string(f[0]) + " line is short")
		}
		for _, s := range f[4:6] {
			n, err := strconv.ParseUint(string(s), 10, 64)
			if err != nil {
				return 0, errors.New("procs: /proc/stat's " + string(f[0]) + " line: " + err.Error())
			}
			ticks += n
		}
		found = true
	}
	if !found {
		return 0, errors.New("procs: /proc/stat has no line for this process's CPUs")
	}
	return time.Duration(ticks) * (time.Second / userHZ), nil
}
