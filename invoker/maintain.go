package invoker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

func isThrottle(err error) bool    { return errors.Is(err, errdefs.ErrThrottled) }
func isUnavailable(err error) bool { return errors.Is(err, errdefs.ErrUnavailable) }

// maintain reaps idle sandboxes and keeps provisioned ones warm until Stop.
func (i *Invoker) maintain() {
	defer close(i.reaperDone)
	for {
		select {
		case <-i.stopReaper:
			return
		case <-i.tick:
			i.provision()
			i.reap()
			i.stopOverdueReturns()
			i.watchLongNexts()
			i.scheduleTick()
			i.ticks.Add(1)
		}
	}
}

// tickPeriod is the time between maintenance ticks: a quarter of the shortest
// idle timeout, between 10 ms and 1 s.
func (i *Invoker) tickPeriod() time.Duration {
	return min(max(i.p.Config.IdleTimeout/4, 10*time.Millisecond), time.Second)
}

// scheduleTick arranges the next maintenance tick on the invoker's clock.
func (i *Invoker) scheduleTick() {
	i.clock.AfterFunc(i.tickPeriod(), func() {
		select {
		case i.tick <- struct{}{}:
		default:
		}
	})
}

// stopOverdueReturns stops each sandbox that posted its invocation's result
// and has not come back to next by the invocation's deadline. As on Lambda,
// the function's timeout bounds the whole invoke phase, which ends with the
// runtime's next; and a call waiting in the pool counts such a sandbox as on
// its way back (no start is made for it), so without this the call would wait
// as long as the runtime never calls next. Its exit lets the pool start
// another for the call. Retired pools' sandboxes are checked too.
//
// A sandbox goes when two passes in a row find it overdue: a next that is on
// its way when the first pass runs (the result came just before the
// deadline, or the clock jumped) is not mistaken for one that never comes.
func (i *Invoker) stopOverdueReturns() {
	now := i.clock.Now()
	i.mu.Lock()
	pools := i.allPoolsLocked()
	i.mu.Unlock()
	type late struct {
		sb *sandbox
		id string // the request whose invoke phase overran
	}
	var overdue []late
	for _, p := range pools {
		p.mu.Lock()
		if p.returning+p.late > 0 {
			for sb := range p.all {
				sb.mu.Lock()
				if cur := sb.cur; sb.state == stReturning && cur != nil && now.After(cur.deadline) {
					if sb.overdue == cur {
						overdue = append(overdue, late{sb, cur.id})
					}
					sb.overdue = cur
				}
				sb.mu.Unlock()
			}
		}
		p.mu.Unlock()
	}
	for _, o := range overdue {
		sb := o.sb
		i.log.Warn("sandbox did not call next again within its invocation's timeout after posting the result; stopping it (a call waiting for it gets another sandbox)",
			"function", sb.cfg.FunctionName, "version", sb.cfg.Version, "sandbox", sb.id, "requestId", o.id)
		// The function's log says it too: its REPORT, written at the
		// result, does not cover the time the sandbox held its concurrency
		// after it (r-invoker28 #1).
		i.logs.get(sb.cfg.FunctionName).writeFrame([]byte(fmt.Sprintf(
			"RequestId: %s Error: the runtime did not call next within the function's timeout after posting its response; sandbox stopped\n",
			o.id)))
		sb.stop()
	}
}

// watchLongNexts gives each next that has waited long a watch on its
// connection (sandbox.watchLongNext).
func (i *Invoker) watchLongNexts() {
	var sbs []*sandbox
	for _, p := range i.poolList() {
		p.mu.Lock()
		for sb := range p.all {
			sbs = append(sbs, sb)
		}
		p.mu.Unlock()
	}
	for _, sb := range sbs {
		sb.watchLongNext()
	}
}

// reap stops sandboxes idle for longer than IdleTimeout, keeping each pool's
// provisioned minimum, and idle sandboxes whose credentials near expiry (provision
// then starts their successors). A version that is not in use (Usage) and that no call used
// in the last UnusedIdleTimeout keeps its idle sandboxes only UnusedIdleTimeout.
func (i *Invoker) reap() {
	now := i.clock.Now()
	cutoff := now.Add(-i.p.Config.IdleTimeout)
	unusedCutoff := now.Add(-i.p.Config.UnusedIdleTimeout)
	for _, p := range i.poolList() {
		if i.unused(p, unusedCutoff) {
			p.reapIdle(unusedCutoff, now)
		} else {
			p.reapIdle(cutoff, now)
		}
	}
}

// unused reports whether p's version is not in use and has idle sandboxes, or a
// spare, that the short idle time would stop.
func (i *Invoker) unused(p *pool, cutoff time.Time) bool {
	if i.p.Usage == nil {
		return false
	}
	p.mu.Lock()
	candidate := !p.lastUsed.After(cutoff) && (p.spare != nil || len(p.idle) > 0 && (len(p.all) > p.minWarm || p.provisionedLocked() < len(p.all)))
	p.mu.Unlock()
	if !candidate {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return !i.p.Usage.InUse(ctx, p.cfg.FunctionName, p.cfg.Version)
}

// reapIdle stops the pool's sandboxes idle since before cutoff (its
// provisioned ones only down to its provisioned minimum; on-demand ones
// whatever the minimum), and those retiring at now, and its spare if the pool
// was last used before cutoff.
func (p *pool) reapIdle(cutoff, now time.Time) {
	var old []*sandbox
	p.mu.Lock()
	keep := p.idle[:0]
	prov := p.provisionedLocked()
	for _, sb := range p.idle {
		sb.mu.Lock()
		expired := sb.idleSince.Before(cutoff)
		retiring := sb.retiring(now)
		sb.mu.Unlock()
		// On-demand sandboxes go when idle too long, whatever the minimum;
		// provisioned ones only down to it.
		if retiring || expired && (!sb.provisioned || prov > p.minWarm) {
			old = append(old, sb)
			if sb.provisioned {
				prov--
			}
			continue
		}
		keep = append(keep, sb)
	}
	p.idle = keep
	var sp *spare
	if p.spare != nil && p.lastUsed.Before(cutoff) {
		sp, p.spare = p.spare, nil
	}
	p.mu.Unlock()
	for _, sb := range old {
		sb.stop()
	}
	if sp != nil {
		go discardSpare(sp)
	}
}

// provision starts sandboxes for versions with provisioned concurrency until each
// has its target alive.
func (i *Invoker) provision() {
	ctx := context.Background()
	cfgs, err := i.p.Functions.ListProvisioned(ctx)
	if err != nil {
		return
	}
	want := map[poolKeyT]int{}
	for _, pc := range cfgs {
		shares, err := i.provisionedShares(ctx, pc)
		if err != nil {
			continue
		}
		for j, n := range splitProvisioned(pc.Requested, shares) {
			if n > 0 {
				p := i.pool(shares[j].Config)
				want[p.key] += n
			}
		}
	}
	i.mu.Lock()
	pools := make([]*pool, 0, len(i.pools))
	for _, p := range i.pools {
		pools = append(pools, p)
	}
	closing := i.closing
	i.mu.Unlock()
	if closing {
		return
	}
	now := i.clock.Now()
	for _, p := range pools {
		p.mu.Lock()
		if p.minWarm != want[p.key] {
			p.provFails, p.provRetryAt = 0, time.Time{} // a new setting starts afresh
		}
		p.minWarm = want[p.key]
		for !p.stale && p.provisionedLocked() < p.minWarm && !now.Before(p.provRetryAt) {
			p.starting++
			p.provPending++
			i.starts.Add(1)
			go p.start(true)
		}
		p.mu.Unlock()
	}
}
