//go:build linux

package connections

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/idlepoll"
	"github.com/portico-dev/portico/internal/rawio"
	"golang.org/x/sys/unix"
)

// watch starts reading c through the process's idle poller (internal/idlepoll),
// so that an idle connection costs no goroutine and no buffer
// (docs/performance.md): a plain socket's bytes, or a TLS connection's records
// once its socket has bytes. Each time the socket is ready a short-lived
// goroutine reads what there is and arms it again. A connection without a
// socket to watch is read by a goroutine of its own.
func (c *Conn) watch() {
	raw := c.raw
	if raw == nil {
		raw = c.tlsRaw
	}
	if raw == nil {
		go c.readBlocking()
		return
	}
	p, err := idlepoll.Shared()
	if err != nil {
		c.m.log.Warn("websocket poller unavailable: reading with a goroutine per connection", "err", err)
		go c.readBlocking()
		return
	}
	w := p.Add(raw, c.readable)
	c.waiter.Store(w)
	if c.hasEnded() {
		w.Remove() // unwatch may have looked before the Store
		return
	}
	if c.raw == nil {
		// crypto/tls may hold records it read behind the upgrade request,
		// which no readiness of the socket would announce: they are read
		// first, and the socket armed after them.
		go c.readableTLS(false)
		return
	}
	if err := w.Arm(); err != nil {
		w.Remove()
		c.end(websocket1006, "")
	}
}

// unwatch takes c off the poller (before its socket closes).
func (c *Conn) unwatch() {
	if w := c.waiter.Load(); w != nil {
		w.Remove()
	}
}

// readable reads what c's socket holds, without waiting, and arms it again.
func (c *Conn) readable() {
	if c.raw == nil {
		c.readableTLS(true)
		return
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	c.readMu.Lock()
	for {
		var n int
		var rerr error
		err := c.raw.Read(func(fd uintptr) bool {
			for {
				var errno syscall.Errno
				n, errno = rawio.Read(fd, buf)
				if errno != unix.EINTR {
					if errno != 0 {
						n, rerr = 0, errno
					}
					return true
				}
			}
		})
		if n > 0 {
			if ferr := c.rd.feed(buf[:n], c); ferr != nil {
				c.readMu.Unlock()
				c.readEnded(ferr)
				return
			}
		}
		if err == nil && errors.Is(rerr, unix.EAGAIN) {
			break
		}
		if err != nil || rerr != nil || n == 0 {
			c.readMu.Unlock()
			c.end(websocket1006, "")
			return
		}
		if n < len(buf) {
			break // the rest, if any, arms the socket again
		}
	}
	c.readMu.Unlock()
	c.arm()
}

// arm arms c's socket in the poller, unless c has ended.
func (c *Conn) arm() {
	if c.hasEnded() {
		return
	}
	if err := c.waiter.Load().Arm(); err != nil && !errors.Is(err, net.ErrClosed) {
		c.end(websocket1006, "")
	}
}

// readableTLS reads the records a TLS connection has, then arms its socket. When its socket has bytes
// (wait), the first read waits for a whole record; the next ones, with a read
// deadline already past, take only what crypto/tls holds read and decrypted,
// or a record whose bytes it had, and end at the first that would need the
// socket (a deadline error does not break a tls.Conn). Bytes that come
// meanwhile make the socket ready again when it is armed.
func (c *Conn) readableTLS(wait bool) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	c.readMu.Lock()
	for {
		if !wait {
			_ = c.nc.SetReadDeadline(aLongTimeAgo)
		}
		n, err := c.nc.Read(buf)
		if n > 0 {
			if ferr := c.rd.feed(buf[:n], c); ferr != nil {
				c.readMu.Unlock()
				c.readEnded(ferr)
				return
			}
		}
		if err != nil {
			if !wait && errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			c.readMu.Unlock()
			c.end(websocket1006, "")
			return
		}
		wait = false
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	c.readMu.Unlock()
	c.arm()
}

// aLongTimeAgo is a read deadline that has passed.
var aLongTimeAgo = time.Unix(1, 0)

// writeFD writes w.buf to fd once (again only when interrupted); true tells
// RawConn.Write not to wait for the socket.
func (w *frameWriter) writeFD(fd uintptr) bool {
	for {
		n, errno := rawio.Write(fd, w.buf)
		switch errno {
		case 0:
			w.n = n
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			w.err = errWouldBlock
		default:
			w.err = errno
		}
		return true
	}
}
