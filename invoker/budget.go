package invoker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

// budget bounds the sandboxes running across all versions, by count and by the
// sum of their functions' memory sizes. A sandbox holds its share from the moment
// its start is decided until the runtime reports it gone. Safe for concurrent use.
type budget struct {
	maxCount int   // 0: no cap
	maxMemMB int64 // 0: no cap

	mu      sync.Mutex
	count   int
	memMB   int64
	changed chan struct{} // closed and replaced when room may have appeared
}

func newBudget(maxCount int, maxMemMB int64) *budget {
	return &budget{maxCount: maxCount, maxMemMB: maxMemMB, changed: make(chan struct{})}
}

// take reserves room for one sandbox of memMB, if there is room.
func (b *budget) take(memMB int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if (b.maxCount > 0 && b.count+1 > b.maxCount) || (b.maxMemMB > 0 && b.memMB+memMB > b.maxMemMB) {
		return false
	}
	b.count++
	b.memMB += memMB
	return true
}

// give returns the room of one sandbox of memMB.
func (b *budget) give(memMB int64) {
	b.mu.Lock()
	b.count--
	b.memMB -= memMB
	b.mu.Unlock()
	b.wake()
}

// wake tells those waiting for room that some may have appeared: a sandbox was
// given back or became idle (and so can be evicted).
func (b *budget) wake() {
	b.mu.Lock()
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// waitCh returns a channel closed at the next wake.
func (b *budget) waitCh() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

// use returns the sandboxes and memory held.
func (b *budget) use() (int, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count, b.memMB
}

// memoryOf is the budget share of a sandbox of cfg: its memory size in MB.
func memoryOf(cfg *functions.Config) int64 {
	if cfg.MemorySize > 0 {
		return int64(cfg.MemorySize)
	}
	return functions.DefaultMemory
}

// errStartUnneeded ends a pool's start that it no longer needs (pool.needsStart).
var errStartUnneeded = errors.New("sandbox start no longer needed")

// reserve takes room in the budget for one sandbox of p. At the budget, the least
// recently used idle sandbox of any version is stopped to make room (a pool's
// provisioned minimum only for a provisioned start and when nothing else is idle), and
// reserve waits until it is gone. When nothing is idle, it waits up to
// ThrottleWait for room, then fails as throttled. It gives up with
// errStartUnneeded once p no longer needs the start (checked at each wake).
func (i *Invoker) reserve(ctx context.Context, p *pool, provision bool) error {
	mem := memoryOf(p.cfg)
	var victim *sandbox // the sandbox this call stopped to make room
	var throttle <-chan time.Time
	for {
		woken := i.budget.waitCh()
		if !p.needsStart(provision) {
			return errStartUnneeded
		}
		if i.budget.take(mem) {
			return nil
		}
		if victim != nil {
			select {
			case <-victim.released:
				victim = nil // gone, yet another took its room: evict again
			default:
			}
		}
		if victim == nil {
			victim = i.evictLRU(provision)
		}
		if victim == nil && throttle == nil {
			t := time.NewTimer(i.p.Config.ThrottleWait)
			defer t.Stop()
			throttle = t.C
		}
		var gone <-chan struct{}
		if victim != nil {
			gone = victim.released
		}
		select {
		case <-woken:
		case <-gone:
		case <-throttle:
			if !p.needsStart(provision) {
				return errStartUnneeded
			}
			if i.budget.take(mem) {
				return nil
			}
			n, m := i.budget.use()
			return throttledf("SandboxBudgetExceeded", "Rate Exceeded. (sandbox budget: %d of %d sandboxes, %d of %d MB in use, none that may be stopped)",
				n, i.budget.maxCount, m, i.budget.maxMemMB)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func throttledf(reason, format string, args ...any) error {
	return &errdefs.Kinded{Kind: errdefs.ErrThrottled, Type: "TooManyRequestsException", Message: fmt.Sprintf(format, args...), Reason: reason}
}

// evictLRU stops the least recently used idle sandbox of any version and returns
// it, or nil when none may go. A pool's provisioned minimum goes last: only when
// evictProvisioned is set and no other sandbox is idle.
func (i *Invoker) evictLRU(evictProvisioned bool) *sandbox {
	for _, provisioned := range []bool{false, true} {
		if provisioned && !evictProvisioned {
			return nil
		}
		var victim *sandbox
		var vp *pool
		var since time.Time
		for _, q := range i.poolList() {
			q.mu.Lock()
			prov := q.provisionedLocked()
			for _, sb := range q.idle {
				// A provisioned sandbox within the minimum is protected.
				if protected := sb.provisioned && prov <= q.minWarm; protected == provisioned {
					sb.mu.Lock()
					s := sb.idleSince
					sb.mu.Unlock()
					if victim == nil || s.Before(since) {
						victim, vp, since = sb, q, s
					}
				}
			}
			q.mu.Unlock()
		}
		if victim == nil {
			continue
		}
		vp.mu.Lock()
		taken := false
		for k, sb := range vp.idle {
			if sb == victim {
				vp.idle = append(vp.idle[:k], vp.idle[k+1:]...)
				taken = true
				break
			}
		}
		vp.mu.Unlock()
		if !taken { // taken by a caller meanwhile: look again
			return i.evictLRU(evictProvisioned)
		}
		i.log.Debug("sandbox budget reached: stopping the least recently used idle sandbox",
			"function", vp.cfg.FunctionName, "version", vp.cfg.Version, "sandbox", victim.id)
		victim.stop()
		return victim
	}
	return nil
}

// poolList returns the pools, for scans that lock each in turn.
func (i *Invoker) poolList() []*pool {
	i.mu.Lock()
	defer i.mu.Unlock()
	pools := make([]*pool, 0, len(i.pools))
	for _, p := range i.pools {
		pools = append(pools, p)
	}
	return pools
}

// CheckProvisioned reports, as an ErrInvalid error, provisioned concurrency that
// the sandbox budget cannot hold: provisioned sandboxes count against the budget,
// so their total count and memory must fit in it. list is every setting, as it
// would be after a change. Safe for concurrent use.
func (i *Invoker) CheckProvisioned(ctx context.Context, list []functions.ProvisionedConfig) error {
	count, mem := 0, int64(0)
	for _, pc := range list {
		count += pc.Requested
		shares, err := i.provisionedShares(ctx, pc)
		if err != nil || len(shares) == 0 {
			mem += int64(pc.Requested) * functions.DefaultMemory
			continue
		}
		for j, n := range splitProvisioned(pc.Requested, shares) {
			mem += int64(n) * memoryOf(shares[j].Config)
		}
	}
	if b := i.budget; b.maxCount > 0 && count > b.maxCount {
		return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", fmt.Sprintf(
			"Provisioned concurrency of %d sandboxes in all exceeds the sandbox budget of %d (invoker: max-sandboxes); lower it or raise the budget", count, b.maxCount))
	}
	if b := i.budget; b.maxMemMB > 0 && mem > b.maxMemMB {
		return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", fmt.Sprintf(
			"Provisioned concurrency needs %d MB of sandbox memory in all, more than the memory budget of %d MB (invoker: max-memory); lower it or raise the budget", mem, b.maxMemMB))
	}
	return nil
}

// provisionedShares returns the versions a provisioned-concurrency setting
// names, with the share of calls each gets: the version itself, or an alias's
// one or two versions.
func (i *Invoker) provisionedShares(ctx context.Context, pc functions.ProvisionedConfig) ([]functions.Share, error) {
	ref := functions.Ref{Name: pc.FunctionName, Qualifier: pc.Qualifier}
	switch {
	case ref.IsVersion():
		cfg, err := i.p.Functions.Get(ctx, pc.FunctionName, pc.Qualifier)
		if err != nil {
			return nil, err
		}
		return []functions.Share{{Config: cfg, Weight: 1}}, nil
	case i.p.Resolver != nil:
		return i.p.Resolver.Shares(ctx, ref)
	default:
		return nil, fmt.Errorf("alias %s: no resolver: %w", pc.Qualifier, errdefs.ErrNotFound)
	}
}

// splitProvisioned spreads n provisioned sandboxes over shares by weight: a
// weighted alias's additional version gets n times its weight, rounded, and
// its main version the rest, as Lambda spreads an alias's provisioned
// concurrency over the versions it routes to.
func splitProvisioned(n int, shares []functions.Share) []int {
	out := make([]int, len(shares))
	rest := n
	for j := 1; j < len(shares); j++ {
		out[j] = min(rest, int(math.Round(float64(n)*shares[j].Weight)))
		rest -= out[j]
	}
	if len(out) > 0 {
		out[0] = rest
	}
	return out
}
