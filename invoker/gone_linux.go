package invoker

import (
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// goneWatch watches a Runtime API connection while one of its requests waits
// (a long-poll next): the Runtime API server does not read connections in the
// background, so without it a client that goes away is not noticed until the
// server next writes to it. It peeks (MSG_PEEK) and so consumes nothing.
type goneWatch struct {
	c    net.Conn
	gone chan struct{} // closed when the client closed, failed or sent more
	done chan struct{} // closed when the watching goroutine has returned
}

// watchGone starts watching c; nil when c cannot be watched.
func watchGone(c net.Conn) *goneWatch {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	// The header's read deadline still holds for a request without a body.
	if c.SetReadDeadline(time.Time{}) != nil {
		return nil
	}
	w := &goneWatch{c: c, gone: make(chan struct{}), done: make(chan struct{})}
	go w.run(rc)
	return w
}

func (w *goneWatch) run(rc syscall.RawConn) {
	defer close(w.done)
	readable := false
	err := rc.Read(func(fd uintptr) bool {
		readable = peekReadable(fd)
		return readable // else wait for the poller
	})
	// A deadline error is stop's doing; any other error means a broken connection.
	if readable || err != nil && !isDeadline(err) {
		close(w.gone)
	}
}

// peekReadable reports, without waiting or consuming anything, whether the
// socket has something to read: EOF, an error, or bytes the client sent behind
// a request that is still waiting for its answer. No Runtime API client
// pipelines, so all three mean that the request's client is not waiting for it.
func peekReadable(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return !errors.Is(err, unix.EAGAIN)
	}
}

// peerGone reports whether the client of a request on c has gone (or sent
// more than its request): then an answer written to c would be lost. It costs
// one system call and does not wait. False when c cannot be looked at.
func peerGone(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	if rc.Control(func(fd uintptr) { gone = peekReadable(fd) }) != nil {
		return false
	}
	return gone
}

func isDeadline(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// goneCh is closed when the client has gone; nil (never ready) without a watch.
func (w *goneWatch) goneCh() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.gone
}

// stop ends the watch and reports whether the client had gone. The connection
// is readable by its server again when it returns. A nil watch reports false.
func (w *goneWatch) stop() bool {
	if w == nil {
		return false
	}
	_ = w.c.SetReadDeadline(aLongTimeAgo)
	<-w.done
	_ = w.c.SetReadDeadline(time.Time{})
	select {
	case <-w.gone:
		return true
	default:
		return false
	}
}

// aLongTimeAgo is a deadline in the past: it wakes a blocked read at once.
var aLongTimeAgo = time.Unix(1, 0)
