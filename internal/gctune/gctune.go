// Package gctune gives a process with a small heap room to allocate between
// garbage collections.
//
// With Go's default pacing (GOGC=100) the heap goal is twice the live heap, at
// least 4 MB. The gateway's live heap under load is 3 MB: serving 40,000
// requests a second at 2.7 KB each it collected 22 times a second, each
// collection with its fixed costs (two stop-the-world pauses, stack and root
// scans, the sweep) and mark assists on the request path. Headroom keeps the
// goal at least a fixed amount above the live heap, which for a small heap is
// a few collections a second, and leaves larger heaps (beyond the headroom's
// size of live data, such as tens of thousands of idle WebSockets) paced
// exactly as before: the extra memory is bounded by the headroom, not
// multiplied by the heap.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// DefaultHeadroom is the headroom `portico serve` keeps.
const DefaultHeadroom = 32 << 20

// basePercent is Go's default GOGC.
const basePercent = 100

// PercentFor is the GC percentage that makes the heap goal at least
// live+headroom, and never less than Go's default of 100.
func PercentFor(live, headroom uint64) int {
	if live == 0 || headroom <= live {
		return basePercent
	}
	p := (headroom*100 + live - 1) / live
	const most = 1 << 20
	if p > most {
		return most
	}
	return max(basePercent, int(p))
}

// tuner sets the GC percentage after every collection.
type tuner struct {
	headroom uint64
	mu       sync.Mutex
	stopped  bool
	percent  int
	sample   []metrics.Sample
	// cycled, when set (tests), is told the percentage set after each collection.
	cycled func(percent int)
}

// sentinel is an object that only a cleanup refers to: it is found
// unreachable by the next collection, whose end that cleanup marks.
type sentinel struct {
	_ *byte
	_ [2]uintptr
}

// Headroom keeps the garbage collector's heap goal at least headroom bytes
// above the live heap, by setting the GC percentage after each collection to
// PercentFor(live heap, headroom). A memory limit (GOMEMLIMIT,
// debug.SetMemoryLimit) still bounds the heap. It does nothing, and returns a
// stop that does nothing, when headroom is 0 or GOGC is set in the
// environment (the operator's pacing wins), or while an earlier Headroom has
// not been stopped. stop ends the tuning and restores the percentage Headroom
// found.
func Headroom(headroom uint64) (stop func()) {
	if headroom == 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	return start(headroom, nil)
}

// active is set while a tuner runs: one at a time.
var active atomic.Bool

func start(headroom uint64, cycled func(int)) (stop func()) {
	if !active.CompareAndSwap(false, true) {
		return func() {}
	}
	t := &tuner{headroom: headroom, percent: -2, cycled: cycled,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	orig := debug.SetGCPercent(basePercent)
	debug.SetGCPercent(orig)
	t.arm()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.stopped = true
			debug.SetGCPercent(orig)
			active.Store(false)
		})
	}
}

// arm has the end of the next collection call cycle.
func (t *tuner) arm() {
	runtime.AddCleanup(&sentinel{}, (*tuner).cycle, t)
}

func (t *tuner) cycle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	metrics.Read(t.sample)
	if v := t.sample[0].Value; v.Kind() == metrics.KindUint64 {
		if p := PercentFor(v.Uint64(), t.headroom); p != t.percent {
			debug.SetGCPercent(p)
			t.percent = p
		}
	}
	if t.cycled != nil {
		t.cycled(t.percent)
	}
	t.arm()
}
