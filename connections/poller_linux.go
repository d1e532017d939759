//go:build linux

package connections

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/rawio"
	"golang.org/x/sys/unix"
)

// poller tells idle connections' readers when their sockets have bytes: one
// epoll instance and one goroutine for every connection of the process, so that
// an idle connection costs no goroutine and no buffer (docs/performance.md).
// Each socket is armed one-shot: its bytes are read by one short-lived
// goroutine, which arms it again when it has read what there was.
type poller struct {
	epfd   int
	file   *os.File // epfd as a file, held so that no finalizer closes it
	polled bool     // the network poller watches file (loop)

	mu    sync.Mutex
	conns map[uint64]*Conn
	next  uint64
}

var (
	pollerOnce sync.Once
	thePoller  *poller
	errPoller  error
)

// sharedPoller starts the process's poller on first use.
func sharedPoller() (*poller, error) {
	pollerOnce.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			errPoller = fmt.Errorf("epoll_create1: %w", err)
			return
		}
		thePoller = &poller{epfd: fd, conns: map[uint64]*Conn{}}
		if unix.SetNonblock(fd, true) == nil {
			// A descriptor the network poller cannot watch has no deadlines.
			thePoller.file = os.NewFile(uintptr(fd), "websocket-epoll")
			thePoller.polled = thePoller.file.SetReadDeadline(time.Time{}) == nil
		}
		go thePoller.loop()
	})
	return thePoller, errPoller
}

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// loop runs the goroutines that read ready sockets. Between events it is a
// goroutine parked in the Go runtime's network poller, which watches the epoll
// descriptor (an epoll instance can be watched by another), and collects the
// events with a raw epoll_pwait(2) that does not wait. A thread blocked in
// epoll_wait instead has its P taken back by sysmon when it leaves work queued,
// the reader it starts then waits for another thread, and each return from the
// call wakes sysmon from its deep sleep into 20 µs polling: 10,000 wake-ups a
// second at a few thousand messages a second (docs/performance.md, session 16).
// Where the runtime cannot watch the descriptor, loop blocks in epoll_wait.
func (p *poller) loop() {
	events := make([]unix.EpollEvent, 256)
	var rc syscall.RawConn
	if p.polled {
		rc, _ = p.file.SyscallConn()
	}
	for rc != nil {
		var n int
		var errno syscall.Errno
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, errno = rawio.EpollWait(int(fd), events)
				if errno != unix.EINTR {
					return errno != 0 || n > 0
				}
			}
		})
		if err != nil {
			break // not pollable after all: wait in epoll_wait
		}
		if errno != 0 {
			panic(fmt.Sprintf("connections: epoll_pwait: %v", errno)) // only on a broken epoll descriptor
		}
		p.ready(events[:n])
	}
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			panic(fmt.Sprintf("connections: epoll_wait: %v", err)) // only on a broken epoll descriptor
		}
		p.ready(events[:n])
	}
}

// ready starts a reader for each connection with bytes.
func (p *poller) ready(events []unix.EpollEvent) {
	for i := range events {
		tok := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
		p.mu.Lock()
		c := p.conns[tok]
		p.mu.Unlock()
		if c != nil {
			go c.readable()
		}
	}
}

func (p *poller) ctl(c *Conn, op int) error {
	ev := unix.EpollEvent{Events: pollEvents, Fd: int32(uint32(c.pollToken)), Pad: int32(uint32(c.pollToken >> 32))}
	var cerr error
	raw := c.raw
	if raw == nil {
		raw = c.tlsRaw
	}
	err := raw.Control(func(fd uintptr) {
		if errno := rawio.EpollCtl(p.epfd, op, int(fd), &ev); errno != 0 {
			cerr = errno
		}
	})
	if err != nil {
		return err
	}
	return cerr
}

// watch starts reading c through the poller: a plain socket's bytes, or a
// TLS connection's records once its socket has bytes. A connection without a
// socket to watch is read by a goroutine of its own.
func (c *Conn) watch() {
	if c.raw == nil && c.tlsRaw == nil {
		go c.readBlocking()
		return
	}
	p, err := sharedPoller()
	if err != nil {
		c.m.log.Warn("websocket poller unavailable: reading with a goroutine per connection", "err", err)
		go c.readBlocking()
		return
	}
	p.mu.Lock()
	p.next++
	c.pollToken = p.next
	p.conns[c.pollToken] = c
	p.mu.Unlock()
	if c.raw == nil {
		// crypto/tls may hold records it read behind the upgrade request,
		// which no readiness of the socket would announce: they are read
		// first, and the socket armed after them.
		go c.readableTLS(false, unix.EPOLL_CTL_ADD)
		return
	}
	if err := p.ctl(c, unix.EPOLL_CTL_ADD); err != nil {
		p.forget(c)
		c.end(websocket1006, "")
	}
}

func (p *poller) forget(c *Conn) {
	p.mu.Lock()
	delete(p.conns, c.pollToken)
	p.mu.Unlock()
}

// unwatch takes c off the poller (before its socket closes). The token is read
// under the poller's lock: a connection can end while watch is still adding it.
func (c *Conn) unwatch() {
	p, err := sharedPoller()
	if err != nil {
		return
	}
	p.mu.Lock()
	watched := c.pollToken != 0
	if watched {
		delete(p.conns, c.pollToken)
	}
	p.mu.Unlock()
	if watched {
		_ = p.ctl(c, unix.EPOLL_CTL_DEL)
	}
}

// readable reads what c's socket holds, without waiting, and arms it again.
func (c *Conn) readable() {
	if c.raw == nil {
		c.readableTLS(true, unix.EPOLL_CTL_MOD)
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
	c.arm(unix.EPOLL_CTL_MOD)
}

// arm arms c's socket in the poller again (op MOD), or the first time (ADD),
// unless c has ended.
func (c *Conn) arm(op int) {
	if c.hasEnded() {
		return
	}
	if err := thePoller.ctl(c, op); err != nil && !errors.Is(err, net.ErrClosed) {
		c.end(websocket1006, "")
	}
}

// readableTLS reads the records a TLS connection has, then arms its socket
// (op: EPOLL_CTL_ADD the first time, then MOD). When its socket has bytes
// (wait), the first read waits for a whole record; the next ones, with a read
// deadline already past, take only what crypto/tls holds read and decrypted,
// or a record whose bytes it had, and end at the first that would need the
// socket (a deadline error does not break a tls.Conn). Bytes that come
// meanwhile make the socket ready again when it is armed.
func (c *Conn) readableTLS(wait bool, op int) {
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
	c.arm(op)
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
