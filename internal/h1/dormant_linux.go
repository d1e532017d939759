//go:build linux

package h1

import (
	"time"

	"github.com/portico-dev/portico/internal/idlepoll"
	"github.com/portico-dev/portico/internal/rawio"
)

// Dormant connections (Options.DormantAfter). A keep-alive connection waiting
// for its next request holds a goroutine, whose stack grew through the
// handler's calls, and a read buffer: most of what an idle connection costs
// (docs/performance.md). A sweep, every half DormantAfter, tells the
// connections that have read no request since its last look to go dormant
// (tryDoze: a past read deadline ends their wait); the goroutine gives back
// the read buffer, arms the socket in the process's idle poller and ends
// (sleep). When the client sends again (or leaves), the poller starts a new
// goroutine for it (awaken). The sweep closes a dormant connection at its idle
// deadline, as the wait's own deadline would have.
//
// Who owns a connection: its goroutine while it is active, idle or dozing;
// while it is dormant, whoever moves it out of stateDormant (awaken to
// stateIdle, the sweep, Shutdown or Close to stateClosed). The sweep's
// deadline and the goroutine's own are ordered by dozeMu.

// startSweep starts the server's sweep, every half DormantAfter.
func (s *Server) startSweep() {
	s.sweeper.Start(s.opts.DormantAfter/2, s.base.Done(), func(now time.Time) bool {
		if s.set.Stopping() {
			return false
		}
		s.sweep(now)
		return true
	})
}

// sweep tells the connections idle since its last look to go dormant, and
// closes the dormant ones whose idle deadline is before now. One sweep runs
// at a time (the server's, or Sweep's).
func (s *Server) sweep(now time.Time) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	s.swept = s.set.Snapshot(s.swept[:0])
	for _, c := range s.swept {
		switch c.state.Load() {
		case stateIdle:
			n := c.served.Load()
			if n != 0 && n == c.seen {
				c.tryDoze()
			}
			c.seen = n
		case stateDormant:
			if end := c.dormantUntil.Load(); end != 0 && now.UnixNano() >= end {
				c.closeIfDormant()
			}
		}
	}
	clear(s.swept)
}

// tryDoze ends c's wait for its next request, if it is still waiting, with a
// past read deadline: its goroutine then goes dormant (doze).
func (c *conn) tryDoze() {
	c.dozeMu.Lock()
	if !c.noDoze && c.state.CompareAndSwap(stateIdle, stateDozing) {
		_ = c.rwc.SetReadDeadline(aLongTimeAgo)
	}
	c.dozeMu.Unlock()
}

// doze finishes a wait that ended with c dozing (err: the wait's). When the
// sweep's deadline ended it, with nothing read, c goes dormant: true, and the
// caller returns at once without touching c. Otherwise (a request came first,
// the client left, or c cannot go dormant) c is idle again with its wait's
// deadline, and err is the wait's outcome.
func (c *conn) doze(err error) (dormant bool, _ error) {
	if err != nil && isDeadline(err) && c.br.Buffered() == 0 && c.sleep() {
		return true, nil
	}
	c.dozeMu.Lock() // after the sweep's deadline
	c.state.CompareAndSwap(stateDozing, stateIdle)
	retry := err != nil && isDeadline(err)
	if retry {
		c.noDoze = true // sleep refused it: it will again
	}
	c.dozeMu.Unlock()
	c.setReadDeadline(c.idleEnd)
	if retry {
		if c.s.set.Stopping() {
			return false, err // Shutdown found it dozing: not idle, not dormant
		}
		_, err = c.br.Peek(1)
	}
	return false, err
}

// sleep makes c dormant: its read buffer goes back to the pool and its socket
// is armed in the idle poller. False (c unchanged) when it has no socket to
// watch.
func (c *conn) sleep() bool {
	raw := c.parkRaw
	if raw == nil {
		raw = rawio.RawConnOf(c.rwc)
	}
	p, err := idlepoll.Shared()
	if raw == nil || err != nil {
		return false
	}
	c.waiter = p.Add(raw, c.awaken)
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.br = nil
	// Nor does it keep its last request (which its context is part of) or
	// the header map responses reuse.
	c.reqCtx = nil
	c.hdr = nil
	var until int64
	if !c.idleEnd.IsZero() {
		until = c.idleEnd.UnixNano()
	}
	c.dormantUntil.Store(until)
	c.state.Store(stateDormant)
	if err := c.waiter.Arm(); err != nil {
		c.closeIfDormant() // a socket that cannot be watched has failed
		return true
	}
	if c.s.set.Stopping() {
		c.closeIfDormant() // Shutdown may have looked before the Store
	}
	return true
}

// awaken serves c again once its socket is readable (the idle poller's call).
func (c *conn) awaken() {
	if !c.state.CompareAndSwap(stateDormant, stateIdle) {
		return // closed meanwhile
	}
	// Off the poller while awake: a handler that hijacks the connection
	// (a WebSocket) may hand its socket to the poller itself.
	c.unwatch()
	// The sweep's past deadline is still set: the wait's own again.
	c.setReadDeadline(c.idleEnd)
	c.run(false, true)
}

// closeIfDormant closes c if it is dormant.
func (c *conn) closeIfDormant() bool {
	if !c.state.CompareAndSwap(stateDormant, stateClosed) {
		return false
	}
	c.unwatch()
	c.cancel()
	_ = c.rwc.Close()
	c.s.forget(c)
	return true
}

// unwatch takes c's socket off the idle poller.
func (c *conn) unwatch() {
	c.waiter.Remove()
	c.waiter = nil
}
