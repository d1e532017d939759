package invoker

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when Advance is called.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at   time.Time
	f    func()
	done bool // fired or stopped
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	if d <= 0 {
		t.done = true
		go f()
	} else {
		c.timers = append(c.timers, t)
	}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		stopped := !t.done
		t.done = true
		return stopped
	}
}

// Advance moves the clock by d and runs the timers that fell due, each in its
// own goroutine.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.at.After(c.now):
			t.done = true
			due = append(due, t.f)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

// pendingAt counts the timers due at t.
func (c *fakeClock) pendingAt(t time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, x := range c.timers {
		if !x.done && x.at.Equal(t) {
			n++
		}
	}
	return n
}

// expectTimer notes the timers due d from now; the function it returns waits
// until one more is set (the clock must not move in between).
func (c *fakeClock) expectTimer(d time.Duration) func(t *testing.T) {
	at := c.Now().Add(d)
	before := c.pendingAt(at)
	return func(t *testing.T) {
		t.Helper()
		waitFor(t, "a timer due in "+d.String(), func() bool { return c.pendingAt(at) > before })
	}
}

// tick advances the clock by one maintenance period and waits until the
// invoker's maintenance pass (provisioning and reaping) has run.
func (e *env) tick(t *testing.T) {
	t.Helper()
	n := e.inv.ticks.Load()
	e.clock.Advance(e.inv.tickPeriod())
	waitFor(t, "a maintenance pass", func() bool { return e.inv.ticks.Load() > n })
}
