package h1

import (
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/rawio"
)

// Park lets a handler whose answer another goroutine writes wait without being
// woken when it is written. The handler's goroutine waits in the network
// poller on its own client's connection (Wait), the other goroutine writes the
// answer through the handler's ResponseWriter and says so (Answered), and the
// handler wakes when the client sends its next request or goes away (when the
// server would have woken to read anyway), when Wake is called, or once the
// connection has been idle for the server's idle timeout after Answered. The
// admin API's Invoke uses it, so that a warm invocation's result goes to the
// client from the goroutine that read it from the sandbox and no goroutine is
// made runnable on the way (docs/performance.md).
//
// The rules: the handler has read its request body to the end; between
// NewPark and its return it touches the ResponseWriter only before it hands
// the answer over (the hand-over must order its writes before the other
// goroutine's, as an atomic or a channel does), and it returns only after the
// other goroutine's Answered has returned (ordered the same way: the client
// may have its answer, and send again, a little before). Wake follows a
// change that the waiter looks at when Wait returns (Wait may return without
// one).
type Park struct {
	c        *conn
	raw      syscall.RawConn
	answered atomic.Bool
	mu       sync.Mutex
	over     bool // the handler has returned: Wake must not touch the connection
	poked    bool // a Wake's deadline is set and no Wait has taken it yet
}

// NewPark returns a Park for the request w answers, or nil when it cannot
// have one: w is not this package's, the connection has no file descriptor
// (TLS), has more of the client's bytes buffered (a pipelined request: no
// readiness would come for it), is not kept after this response, or its
// request body has not been read to its end.
func NewPark(w http.ResponseWriter) *Park {
	p := new(Park)
	if !p.Init(w) {
		return nil
	}
	return p
}

// Init makes p, a zero Park, the Park of the request w answers, as NewPark
// does (so that a Park can live inside its user's own value); false when it
// cannot be one.
func (p *Park) Init(w http.ResponseWriter) bool {
	rw, ok := w.(*response)
	if !ok || rw.c.hijacked || rw.closeAfter || rw.wroteHeader || rw.c.br.Buffered() > 0 || rw.c.s.set.Stopping() ||
		!rw.req.ProtoAtLeast(1, 1) || rw.req.Close || (rw.body != nil && !rw.body.sawEOFLocked()) {
		return false
	}
	c := rw.c
	if c.parkRaw == nil {
		// Made once per connection: a Park per request costs no more.
		if c.parkRaw = rawio.RawConnOf(c.rwc); c.parkRaw == nil {
			return false
		}
		c.parkLook = func(fd uintptr) bool {
			c.parkReadable = rawio.PeekReadable(fd)
			return c.parkReadable
		}
	}
	if c.tls != nil && !c.tlsHoldsNothing() {
		return false
	}
	p.c, p.raw = c, c.parkRaw
	c.deadlineSet.Store(true) // Wake and Answered set the read deadline
	c.park.Store(p)
	return true
}

// tlsHoldsNothing reports whether crypto/tls holds none of the client's bytes
// beyond the request's: records it read from the socket with the request's (a
// pipelined request, or the start of one) would never make the socket
// readable again. A read with a past deadline takes only what it holds: a
// whole record is decrypted into c's reader (and the Park refused, as for a
// pipelined request), the start of one leaves the socket to announce the
// rest, and the socket itself is not read.
func (c *conn) tlsHoldsNothing() bool {
	c.setReadDeadline(aLongTimeAgo)
	c.draining = true
	_, err := c.br.Peek(1)
	c.draining = false
	c.setReadDeadline(time.Time{})
	return c.br.Buffered() == 0 && isDeadline(err)
}

// Wait waits as Park describes. It reports whether the connection was
// readable (the client's next request, its leaving, or a failed connection);
// false after a Wake or the idle timeout.
func (p *Park) Wait() (readable bool) {
	p.c.parkReadable = false
	err := p.raw.Read(p.c.parkLook)
	switch {
	case err == nil:
		return p.c.parkReadable
	case isDeadline(err):
		// Clear it, so that the next Wait waits; the caller looks at what
		// the Wake was for after this.
		p.mu.Lock()
		p.poked = false
		_ = p.c.rwc.SetReadDeadline(time.Time{})
		p.mu.Unlock()
		return false
	default:
		return true
	}
}

// Wake ends the Wait in progress, or the next one. Safe from any goroutine,
// also after the handler has returned (it then does nothing: the server has
// the connection's deadline again).
func (p *Park) Wake() {
	p.mu.Lock()
	if !p.over {
		p.poked = true
		_ = p.c.rwc.SetReadDeadline(aLongTimeAgo)
	}
	p.mu.Unlock()
}

// end marks the handler returned (the server, before it sets the
// connection's idle deadline).
func (p *Park) end() {
	p.mu.Lock()
	p.over = true
	p.mu.Unlock()
}

// Ready reports whether the client's connection has nothing left to send or
// to have acknowledged: then an answer of a few kilobytes is written at once
// and cannot wait for a client that does not read.
func (p *Park) Ready() bool {
	ready := false
	_ = p.raw.Control(func(fd uintptr) {
		n, ok := rawio.Unsent(fd)
		ready = ok && n == 0
	})
	return ready
}

// Answered says that the answer was written and flushed: the connection's idle
// time starts, and a server shutting down wakes the handler (it would
// otherwise wait for the client).
func (p *Park) Answered() { p.answer(0) }

// AnsweredWithin is Answered for a handler with work left after its answer
// (its access log line, its metrics): the handler wakes at most d after it
// (or at the idle timeout, if that is sooner) even when the client sends
// nothing.
func (p *Park) AnsweredWithin(d time.Duration) { p.answer(d) }

func (p *Park) answer(within time.Duration) {
	idle := p.c.s.opts.IdleTimeout
	if within > 0 && (idle <= 0 || within < idle) {
		idle = within
	}
	if idle > 0 {
		// Not over a Wake that no Wait has taken yet (the client may have
		// its answer, and a Wake come, before this).
		p.mu.Lock()
		if !p.poked {
			_ = p.c.rwc.SetReadDeadline(time.Now().Add(idle))
		}
		p.mu.Unlock()
	}
	p.answered.Store(true)
	if p.c.s.set.Stopping() {
		p.Wake()
	}
}

// wakeAnswered wakes c's parked handler if its answer is out (Shutdown).
func (c *conn) wakeAnswered() {
	if p := c.park.Load(); p != nil && p.answered.Load() {
		p.Wake()
	}
}
