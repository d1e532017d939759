package h1

import (
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/rawio"
)

// GoneWatch watches a connection while a request on it waits (a long poll, a
// stream): the server does not read connections in the background, so without
// it a client that goes away is not noticed until the server next writes to
// it. It peeks (MSG_PEEK) and so consumes nothing, from one goroutine parked in
// the network poller.
type GoneWatch struct {
	c      net.Conn
	onGone func()
	// pipelined: bytes from the client (its next request, pipelined) end
	// the watch without onGone; the client is there. Else they count as gone.
	pipelined bool
	gone      atomic.Bool
	done      chan struct{} // closed when the watching goroutine has returned
}

// WatchGone starts watching c; onGone runs (on the watch's goroutine) if the
// client goes away, or sends more, before Stop. Nil when c cannot be watched.
// Nothing else may read c until Stop has returned.
func WatchGone(c net.Conn, onGone func()) *GoneWatch {
	return watch(c, onGone, false)
}

// WatchClosed is WatchGone for a connection that may carry the client's next
// request before this one is answered (HTTP/1.1 pipelining): only the
// connection's end (EOF, a reset) is the client going away. Bytes end the
// watch as net/http's background read does: the client is there, and what
// it does after them is noticed at the next write.
func WatchClosed(c net.Conn, onGone func()) *GoneWatch {
	return watch(c, onGone, true)
}

func watch(c net.Conn, onGone func(), pipelined bool) *GoneWatch {
	rc := rawConn(c)
	if rc == nil {
		return nil
	}
	// The header's read deadline still holds for a request without a body.
	if c.SetReadDeadline(time.Time{}) != nil {
		return nil
	}
	w := &GoneWatch{c: c, onGone: onGone, pipelined: pipelined, done: make(chan struct{})}
	go w.run(rc)
	return w
}

func (w *GoneWatch) run(rc syscall.RawConn) {
	defer close(w.done)
	readable, data := false, false
	err := rc.Read(func(fd uintptr) bool {
		readable, data = rawio.PeekState(fd)
		return readable // else wait for the poller
	})
	if readable && data && w.pipelined {
		return
	}
	// A deadline error is Stop's doing; any other error means a broken connection.
	if readable || err != nil && !isDeadline(err) {
		w.gone.Store(true)
		w.onGone()
	}
}

// Stop ends the watch and reports whether the client had gone. The connection
// is readable by its server again when it returns. A nil watch reports false.
func (w *GoneWatch) Stop() bool {
	if w == nil {
		return false
	}
	_ = w.c.SetReadDeadline(aLongTimeAgo)
	<-w.done
	_ = w.c.SetReadDeadline(time.Time{})
	return w.gone.Load()
}

// rawConn returns c's file descriptor access, nil if it has none.
func rawConn(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// ConnPeek looks at one connection without waiting: one system call, and no
// allocation after the first look. Used by one request at a time.
type ConnPeek struct {
	rc       syscall.RawConn
	look     func(fd uintptr)
	readable bool
}

// Gone reports whether the client of the request on c has gone (or sent more
// than its request): then an answer written to c would be lost. False when c
// cannot be looked at.
func (p *ConnPeek) Gone(c net.Conn) bool {
	if p.rc == nil {
		if p.rc = rawConn(c); p.rc == nil {
			return false
		}
		p.look = func(fd uintptr) { p.readable = rawio.PeekReadable(fd) }
	}
	p.readable = false
	if p.rc.Control(p.look) != nil {
		return false
	}
	return p.readable
}
