package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/portico-dev/portico/gateway/pipeline"
)

// Mapping template renders are bounded one by one (mapping.Limits: the lists
// and maps a render holds, its output), not together: sixty $input.json('$')
// renders of 5 MB bodies held 1.8 GB, a hundred $util.parseJson($input.body)
// 6 GB. templateBudget bounds them together: a render of a large body takes
// an estimate of what it holds from a gateway-wide budget before it starts
// and gives it back when it ends; one that cannot get it within a short wait
// is answered 429 Too Many Requests (THROTTLED), as a throttle is, and its
// client may retry.

const (
	// templateMemoryFactor is what a render of a body of n bytes is taken to
	// hold, as a multiple of n: the body decoded (about four times its size
	// for small records), the rendered output and the copies between them.
	templateMemoryFactor = 8
	// templateBudgetMinBody is the least body a render counts against the
	// budget: smaller ones hold little, and counting them would only make
	// every request pay for the semaphore.
	templateBudgetMinBody = 64 << 10
	// DefaultTemplateMemoryWait is Config.TemplateMemoryWait's default.
	DefaultTemplateMemoryWait = time.Second
	// minTemplateMemory is the least default budget, whatever the body limit.
	minTemplateMemory = 256 << 20
)

// DefaultTemplateMemory is Config.TemplateMemory's default for a body limit
// of maxBody bytes: 64 bodies' worth (640 MiB for the default 10 MB), room
// for eight renders of the largest body at once, and at least 256 MiB.
func DefaultTemplateMemory(maxBody int64) int64 {
	return max(64*maxBody, minTemplateMemory)
}

// templateBudget is the gateway-wide budget of template render memory; nil
// bounds nothing. Safe for concurrent use.
type templateBudget struct {
	sem  *semaphore.Weighted
	size int64
	wait time.Duration
	log  *slog.Logger
	// lastWarn is when (Unix seconds) the log last said a render was
	// refused: at most a line a second under a flood.
	lastWarn atomic.Int64
}

// newTemplateBudget returns a budget of size bytes whose renders wait up to
// wait for it; nil when size is negative (no bound).
func newTemplateBudget(size int64, wait time.Duration, log *slog.Logger) *templateBudget {
	if size < 0 {
		return nil
	}
	return &templateBudget{sem: semaphore.NewWeighted(size), size: size, wait: wait, log: log}
}

// acquire takes from b what a render of a body of n bytes is taken to hold
// and returns it, for release; 0 (nothing to release) when the body is
// small or b is nil. A render that cannot get it within b's wait is a
// THROTTLED error (429); one whose request ends first, ctx's error.
func (b *templateBudget) acquire(ctx context.Context, n int) (int64, error) {
	if b == nil || n < templateBudgetMinBody {
		return 0, nil
	}
	w := min(int64(n)*templateMemoryFactor, b.size) // a render larger than the budget runs alone
	if b.sem.TryAcquire(w) {
		return w, nil
	}
	wctx, cancel := context.WithTimeout(ctx, b.wait)
	err := b.sem.Acquire(wctx, w)
	cancel()
	if err == nil {
		return w, nil
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if now := time.Now().Unix(); b.lastWarn.Swap(now) != now {
		b.log.Warn("mapping template renders refused with 429: the renders in flight hold the gateway's template memory budget (gateway-template-memory); raise it if the host has the memory",
			"budget", b.size, "wanted", w, "body", n)
	}
	return 0, &pipeline.Error{Type: pipeline.Throttled,
		Cause: fmt.Errorf("mapping template render of a %d-byte body: the template memory budget (%d bytes) stayed in use for %s", n, b.size, b.wait)}
}

// release gives back what acquire took.
func (b *templateBudget) release(w int64) {
	if w > 0 {
		b.sem.Release(w)
	}
}
