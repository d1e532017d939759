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
// takes a P away when the host had no idle core to speak of for ShrinkAfter
// windows in a row and the process used less than one P fewer could give; it
// gives one back, in a single window, when the process uses nearly all its Ps
// and the host has a core idle. A host with cores to spare (the usual case, or
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
	// growIdle is the host's idle CPU that a P given back can run on.
	growIdle = 0.5
	// shrinkIdle: a host with less idle CPU than this is busy.
	shrinkIdle = 0.25
	// shrinkSpare is what one P fewer must still leave unused.
	shrinkSpare = 0.1
)

// Sample is what a window is measured from: cumulative CPU times.
type Sample struct {
	// Process is the CPU the process has used (user and system, all threads).
	Process time.Duration
	// Idle is the CPU the host has left idle, summed over its CPUs.
	Idle time.Duration
}

// Next returns the processor count after a window with p processors in which
// the process used `used` cores and the host left `idle` cores idle, given
// calm, the number of windows in a row before this one after which a P could
// have been taken away; it returns the new calm as well. max bounds the count
// (the runtime's default); shrinkAfter is how many calm windows a P is taken
// away after.
func Next(p, max int, used, idle float64, calm, shrinkAfter int) (int, int) {
	if p < max && used >= busyShare*float64(p) && idle >= growIdle {
		return p + 1, 0
	}
	if p > 1 && idle < shrinkIdle && used <= float64(p-1)-shrinkSpare {
		calm++
		if calm >= shrinkAfter {
			return p - 1, 0
		}
		return p, calm
	}
	return p, 0
}

// Options configure a Fitter. The zero value of each field is its default.
type Options struct {
	// Max is the most processors (default: runtime.GOMAXPROCS(0) when the
	// Fitter starts, which honours a container's CPU quota).
	Max int
	// Window is how often the CPU is measured (default 250 ms).
	Window time.Duration
	// ShrinkAfter is how many busy-host windows in a row take a P away
	// (default 4).
	ShrinkAfter int
	// Clock runs the windows (default clock.Real).
	Clock clock.Clock
	// Read measures (default: the process's rusage and the host's /proc/stat;
	// Linux only).
	Read func() (Sample, error)
	// Set changes the processor count (default runtime.GOMAXPROCS).
	Set func(n int)
	// Log gets a debug line for every change (default: none).
	Log *slog.Logger
}

// Fitter changes the processor count window by window. Create it with Start.
type Fitter struct {
	opts Options

	mu      sync.Mutex
	stopped bool
	p       int
	calm    int
	last    Sample
	lastAt  time.Time
	cancel  func() bool
}

// Fit starts a Fitter with the defaults, unless GOMAXPROCS is set in the
// environment, the host has a single processor, or the host's CPU cannot be
// read (not Linux); then it does nothing. stop ends it and restores the
// processor count it started from.
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
		opts.Set = func(n int) { runtime.GOMAXPROCS(n) }
	}
	f := &Fitter{opts: opts, p: opts.Max}
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
	return f.p
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
	if f.p != f.opts.Max {
		f.p = f.opts.Max
		f.opts.Set(f.p)
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
	p, calm := Next(f.p, f.opts.Max, used, idle, f.calm, f.opts.ShrinkAfter)
	f.calm = calm
	if p == f.p {
		return
	}
	if f.opts.Log != nil {
		f.opts.Log.Debug("GOMAXPROCS changed", "from", f.p, "to", p,
			"process_cores", round2(used), "host_idle_cores", round2(idle))
	}
	f.p = p
	f.opts.Set(p)
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
