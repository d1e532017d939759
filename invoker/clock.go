package invoker

import (
	"time"

	"github.com/portico-dev/portico/internal/clock"
)

// Clock is the invoker's source of time. Sandbox idle times, invocation deadlines,
// init timeouts and the maintenance ticks (idle reaping, provisioned concurrency)
// all read it, so tests move time with a fake (clock.Fake) instead of sleeping.
// Implementations must be safe for concurrent use.
type Clock = clock.Clock

// since returns the time elapsed since t on the invoker's clock.
func (i *Invoker) since(t time.Time) time.Duration { return i.clock.Now().Sub(t) }
