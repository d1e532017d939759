package invoker

import (
	"strings"
	"time"

	"github.com/portico-dev/portico/functions"
)

// Observer learns what the invoker does, for metrics. The invoker declares it;
// the metrics package provides it. The invoker calls it synchronously on the
// invocation's path, so implementations must be quick and must not block. They
// must be safe for concurrent use. Optional (Params.Observer).
type Observer interface {
	// OnInvoke is called once per invocation that reached a sandbox (or whose
	// sandbox failed to start), when it ends.
	OnInvoke(Invocation)
	// OnThrottle is called when a call is refused at a concurrency limit.
	OnThrottle(function, version, alias string)
	// OnConcurrency is called with +1 when a call takes a function's concurrency
	// slot and with -1 when it gives it back.
	OnConcurrency(function string, delta int)
	// OnAsync is called as an Event invocation is queued, retried or dropped.
	OnAsync(function string, what AsyncOutcome)
}

// Invocation describes an ended invocation for an Observer.
type Invocation struct {
	Function string
	// Version is the version that ran (executed_version); Alias the alias the
	// caller named, "" when none.
	Version, Alias string
	// Error says the function failed (an error, a timeout or a crash).
	Error bool
	// Duration is the run's time; InitDuration the sandbox's init for a cold
	// start (ColdStart), else 0.
	Duration     time.Duration
	ColdStart    bool
	InitDuration time.Duration
}

// AsyncOutcome is what became of an Event invocation.
type AsyncOutcome string

// Event invocation outcomes.
const (
	AsyncQueued  AsyncOutcome = "queued"
	AsyncRetried AsyncOutcome = "retried"
	AsyncDropped AsyncOutcome = "dropped"
)

// aliasOf returns the alias an invoked ARN names ("arn:...:function:fn:live"
// gives "live"), "" for a version, $LATEST or no qualifier.
func aliasOf(arn string) string {
	k := strings.LastIndexByte(arn, ':')
	if k < 0 || !strings.Contains(arn[:k], ":function:") {
		return ""
	}
	q := arn[k+1:]
	if q == "" || q == functions.Latest || strings.Trim(q, "0123456789") == "" {
		return ""
	}
	return q
}
