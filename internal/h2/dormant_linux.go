//go:build linux

package h2

import (
	"bufio"
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/http2"

	"github.com/portico-dev/portico/internal/idlepoll"
	"github.com/portico-dev/portico/internal/rawio"
)

// Dormant connections (Options.DormantAfter). An idle HTTP/2 connection holds
// its reader goroutine (whose stack grew through the frames it processed), a
// read buffer, the framer's frame buffer and a spare write buffer. A sweep,
// every half DormantAfter, tells the connections without a stream that have
// read no frame since its last look to go dormant: a past read deadline ends
// the reader's wait for the next frame (doze), and the reader gives those
// back, arms the socket in the process's idle poller and ends. When the
// client sends again (or leaves), the poller starts a new reader (awaken).
// What the connection is (its settings, windows, HPACK tables) stays. The
// sweep sends GOAWAY to a dormant connection at its idle deadline and closes
// it, as the reader would have.
//
// The reader owns the connection's reading while it is phaseReading,
// phaseWaiting or phaseDozing; while it is phaseDormant, whoever moves it out
// (awaken, or close) does. The sweep's deadline and the reader's own are
// ordered by mu.

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
// ends the dormant ones whose idle deadline is before now. One sweep runs at
// a time (the server's, or Sweep's).
func (s *Server) sweep(now time.Time) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	s.swept = s.set.Snapshot(s.swept[:0])
	for _, c := range s.swept {
		c.sweep(now)
	}
	clear(s.swept)
}

func (c *conn) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.goneAway {
		return
	}
	if c.phase.Load() == phaseDormant {
		if c.idleArmed && !now.Before(c.idleEnd) && c.phase.CompareAndSwap(phaseDormant, phaseReading) {
			// Taken off the poller, the connection is goAway's (which
			// writes, then reads what the client still sends, then closes
			// it): not the sweep's to wait for.
			c.unwatch()
			go c.goAway(http2.ErrCodeNo, true)
		}
		return
	}
	n := c.frames.Load()
	if n == c.seen && !c.noDoze && c.open == 0 && c.running == 0 && len(c.queued) == 0 &&
		c.phase.CompareAndSwap(phaseWaiting, phaseDozing) {
		_ = c.rwc.SetReadDeadline(aLongTimeAgo)
	}
	c.seen = n
}

// aLongTimeAgo is a deadline in the past: it ends a blocked read at once.
var aLongTimeAgo = time.Unix(1, 0)

// doze finishes a wait for the next frame that ended with the connection
// dozing (err: the wait's). When the sweep's deadline ended it, with nothing
// read and nothing to serve, the connection goes dormant: true, and the reader
// returns at once without touching it. Otherwise (a frame came first, the
// client left, the connection is closing, or it cannot go dormant) the reader
// has it again with its deadline, and err is the wait's outcome.
func (c *conn) doze(err error) (dormant bool, _ error) {
	deadline := err != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.br.Buffered() == 0
	c.mu.Lock()
	if deadline && !c.closed && !c.goneAway && c.open == 0 && c.running == 0 && len(c.queued) == 0 {
		if raw := rawio.RawConnOf(c.rwc); raw != nil {
			if p, perr := idlepoll.Shared(); perr == nil {
				c.sleep(p, raw) // unlocks mu
				return true, nil
			}
		}
		c.noDoze = true
	}
	if !c.closed {
		c.phase.Store(phaseWaiting)
	}
	c.restoreDeadline()
	retry := deadline && !c.closed
	c.mu.Unlock()
	if retry {
		_, err = c.br.Peek(1) // the wait goes on, with its own deadline
	}
	return false, err
}

// restoreDeadline sets the read deadline the reader waits with: the idle
// timeout's, or none while streams are open. Under mu.
func (c *conn) restoreDeadline() {
	if c.idleArmed {
		_ = c.rwc.SetReadDeadline(c.idleEnd)
	} else {
		_ = c.rwc.SetReadDeadline(time.Time{})
	}
}

// sleep makes the connection dormant: its buffers go, and its socket is armed
// in the idle poller. Called under mu, which it unlocks.
func (c *conn) sleep(p *idlepoll.Poller, raw syscall.RawConn) {
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.br, c.fr = nil, nil
	c.streams = map[uint32]*stream{} // a map keeps the room it grew to
	c.waiter = p.Add(raw, c.awaken)
	w := c.waiter
	c.phase.Store(phaseDormant)
	c.mu.Unlock()
	c.fmu.Lock()
	c.spare = nil
	c.fmu.Unlock()
	if err := w.Arm(); err != nil {
		c.close(err) // a socket that cannot be watched has failed
		return
	}
	if c.srv.set.Stopping() {
		go c.goAway(0, false) // Shutdown may have looked before the Store
	}
}

// awaken reads the connection again once its socket is readable (the idle
// poller's call).
func (c *conn) awaken() {
	c.mu.Lock()
	if !c.phase.CompareAndSwap(phaseDormant, phaseWaiting) {
		c.mu.Unlock()
		return // closed meanwhile
	}
	// Off the poller while awake.
	c.unwatch()
	c.restoreDeadline()
	c.mu.Unlock()
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(flushingReader{c})
	c.fr = newReadFramer(c.br)
	if !c.readFrames() {
		c.close(nil)
	}
}

// unwatch takes the connection's socket off the idle poller. Under mu.
func (c *conn) unwatch() {
	if c.waiter != nil {
		c.waiter.Remove()
		c.waiter = nil
	}
}
