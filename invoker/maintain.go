package invoker

import (
	"context"
	"errors"
	"time"

	"github.com/portico-dev/portico/functions"
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

// reap stops sandboxes idle for longer than IdleTimeout, keeping each pool's
// provisioned minimum.
func (i *Invoker) reap() {
	cutoff := i.clock.Now().Add(-i.p.Config.IdleTimeout)
	i.mu.Lock()
	pools := make([]*pool, 0, len(i.pools))
	for _, p := range i.pools {
		pools = append(pools, p)
	}
	i.mu.Unlock()
	for _, p := range pools {
		var old []*sandbox
		p.mu.Lock()
		keep := p.idle[:0]
		alive := len(p.all)
		for _, sb := range p.idle {
			sb.mu.Lock()
			expired := sb.idleSince.Before(cutoff)
			sb.mu.Unlock()
			if expired && alive > p.minWarm {
				old = append(old, sb)
				alive--
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
}

// provision starts sandboxes for versions with provisioned concurrency until each
// has its target alive.
func (i *Invoker) provision() {
	ctx := context.Background()
	cfgs, err := i.p.Functions.ListProvisioned(ctx)
	if err != nil {
		return
	}
	want := map[string]int{}
	for _, pc := range cfgs {
		var v *functions.Config
		ref := functions.Ref{Name: pc.FunctionName, Qualifier: pc.Qualifier}
		switch {
		case ref.IsVersion():
			v, err = i.p.Functions.Get(ctx, pc.FunctionName, pc.Qualifier)
		case i.p.Resolver != nil:
			v, err = i.p.Resolver.Resolve(ctx, ref)
		default:
			continue
		}
		if err != nil || v == nil {
			continue
		}
		p := i.pool(v)
		want[p.key] += pc.Requested
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
	for _, p := range pools {
		p.mu.Lock()
		p.minWarm = want[p.key]
		for !p.stale && len(p.all)+p.starting < p.minWarm {
			p.starting++
			go p.start()
		}
		p.mu.Unlock()
	}
}
