package invoker

import "time"

// Clock is the invoker's source of time. Sandbox idle times, invocation deadlines,
// init timeouts and the maintenance ticks (idle reaping, provisioned concurrency)
// all read it, so tests move time with a fake instead of sleeping.
// Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed. The returned stop
	// function cancels the call and reports whether it did (false: f already ran
	// or is running).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// since returns the time elapsed since t on the invoker's clock.
func (i *Invoker) since(t time.Time) time.Duration { return i.clock.Now().Sub(t) }
