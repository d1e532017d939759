package invoker

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/clock"
)

// fakeClock is the invoker tests' clock: clock.Fake with a wait for timers,
// and a hook that runs before a timer is set.
type fakeClock struct {
	*clock.Fake
	beforeTimer atomic.Pointer[func(d time.Duration)]
	// beforeStop, when set as a timer is made, runs when its stop function
	// is called (with the timer's duration), before it stops the timer.
	beforeStop atomic.Pointer[func(d time.Duration)]
}

func newFakeClock() *fakeClock { return &fakeClock{Fake: clock.NewFake(time.Now())} }

// AfterFunc implements Clock: clock.Fake's, after the beforeTimer hook, its
// stop function behind the beforeStop hook when one is set.
func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	if h := c.beforeTimer.Load(); h != nil {
		(*h)(d)
	}
	stop := c.Fake.AfterFunc(d, f)
	if h := c.beforeStop.Load(); h != nil {
		return func() bool {
			(*h)(d)
			return stop()
		}
	}
	return stop
}

// expectTimer notes the timers due d from now; the function it returns waits
// until one more is set (the clock must not move in between).
func (c *fakeClock) expectTimer(d time.Duration) func(t *testing.T) {
	at := c.Now().Add(d)
	before := c.PendingAt(at)
	return func(t *testing.T) {
		t.Helper()
		waitFor(t, "a timer due in "+d.String(), func() bool { return c.PendingAt(at) > before })
	}
}

// tick advances the clock by one maintenance period and waits until the
// invoker's maintenance pass (provisioning and reaping) has run.
func (e *env) tick(t testing.TB) {
	t.Helper()
	n := e.inv.ticks.Load()
	e.clock.Advance(e.inv.tickPeriod())
	waitFor(t, "a maintenance pass", func() bool { return e.inv.ticks.Load() > n })
}
