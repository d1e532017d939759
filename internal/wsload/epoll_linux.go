package wsload

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"
)

// epollConns is the client's cheap reader mode: after the handshakes, every
// socket leaves the Go runtime (a duplicate of its descriptor is kept and the
// net.Conn closed, which takes it off the runtime's poller without closing the
// socket) and one goroutine reads them all from an epoll instance of its own,
// many ready sockets per epoll_wait, one read(2) per ready socket, and no
// goroutine woken per message. It parses the server's frames itself (unmasked,
// RFC 6455 section 5), answers pings, and writes masked frames.
type epollConns struct {
	epfd int
	fds  []int
	pend [][]byte // an incomplete frame's bytes, per connection
	gone []bool   // the socket ended or sent its close frame
	mask [4]byte
	buf  []byte
}

// batchWait is how long collect lets sockets become ready when epoll_wait
// found few.
const batchWait = 500 * time.Microsecond

func newEpollConns(conns []*websocket.Conn) (*epollConns, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	e := &epollConns{epfd: epfd, fds: make([]int, len(conns)), pend: make([][]byte, len(conns)),
		gone: make([]bool, len(conns)), buf: make([]byte, 4096)}
	_, _ = rand.Read(e.mask[:])
	for i, c := range conns {
		tc, ok := c.NetConn().(*net.TCPConn)
		if !ok {
			return nil, fmt.Errorf("connection %d is not a TCP connection", i)
		}
		rc, err := tc.SyscallConn()
		if err != nil {
			return nil, err
		}
		var fd int
		var derr error
		if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
			return nil, err
		}
		if derr != nil {
			return nil, fmt.Errorf("dup: %w", derr)
		}
		// The duplicate shares the socket (and its O_NONBLOCK); closing the
		// original takes it off the runtime's poller and sends nothing.
		_ = tc.Close()
		e.fds[i] = fd
		// Edge-triggered: epoll_wait does not poll a reported socket again;
		// collect reads until a read comes back short.
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(i)} //nolint:gosec // G115: an index below the descriptor limit
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return nil, fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	return e, nil
}

// write writes one masked client frame, whole, or fails.
func (e *epollConns) write(i, op int, payload []byte) bool {
	f := make([]byte, 0, 14+len(payload))
	f = append(f, 0x80|byte(op))
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = binary.BigEndian.AppendUint16(append(f, 0x80|126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, 0x80|127), uint64(n))
	}
	f = append(f, e.mask[:]...)
	start := len(f)
	f = append(f, payload...)
	for j := range f[start:] {
		f[start+j] ^= e.mask[j&3]
	}
	for len(f) > 0 {
		n, err := unix.Write(e.fds[i], f)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			// A client writes rarely and little; wait for room.
			pfd := []unix.PollFd{{Fd: int32(e.fds[i]), Events: unix.POLLOUT}} //nolint:gosec // G115: a descriptor
			if _, err := unix.Poll(pfd, int(timeout.Milliseconds())); err != nil && !errors.Is(err, unix.EINTR) {
				return false
			}
			continue
		case err != nil || n <= 0:
			return false
		}
		f = f[n:]
	}
	return true
}

// collect reads until every connection not yet settled got a message (onMsg
// says whether it was the right one) or its close frame (onClose, with the
// status code; -1 when the socket ended without one), or until the timeout.
// It returns how many were settled with true.
func (e *epollConns) collect(onMsg func(i int, msg []byte) bool, onClose func(i, code int) bool) int64 {
	settled := make([]bool, len(e.fds))
	left := 0
	for i := range e.fds {
		if e.gone[i] {
			settled[i] = true
		} else {
			left++
		}
	}
	var ok int64
	settle := func(i int, good bool) {
		if !settled[i] {
			settled[i] = true
			left--
			if good {
				ok++
			}
		}
	}
	events := make([]unix.EpollEvent, 1024)
	deadline := time.Now().Add(timeout)
	for left > 0 {
		wait := time.Until(deadline)
		if wait <= 0 {
			break
		}
		n, err := unix.EpollWait(e.epfd, events, int(wait.Milliseconds())+1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			break
		}
		if n < len(events)/8 && left > n {
			// Few sockets were ready: let more become ready before the next
			// epoll_wait (a reader woken per message would cost both sides a
			// wake-up per message). The last message waits at most this long.
			time.Sleep(batchWait)
		}
		for _, ev := range events[:n] {
			i := int(ev.Fd)
			for !e.gone[i] {
				r, err := unix.Read(e.fds[i], e.buf)
				if errors.Is(err, unix.EINTR) {
					continue
				}
				if errors.Is(err, unix.EAGAIN) {
					break
				}
				if err != nil || r <= 0 {
					e.end(i)
					settle(i, onClose(i, -1))
					break
				}
				e.frames(i, e.buf[:r], onMsg, onClose, settle)
				if r < len(e.buf) {
					break // drained: more bytes make another edge
				}
			}
		}
	}
	return ok
}

// frames handles the bytes read from connection i: whole frames go to onMsg
// and onClose (through settle), pings are answered, the rest of an incomplete
// frame is kept.
func (e *epollConns) frames(i int, data []byte, onMsg func(int, []byte) bool, onClose func(int, int) bool, settle func(int, bool)) {
	if len(e.pend[i]) > 0 {
		data = append(e.pend[i], data...)
		e.pend[i] = nil
	}
	for len(data) > 0 && !e.gone[i] {
		op, payload, size := parseFrame(data)
		if size == 0 { // incomplete
			e.pend[i] = append([]byte(nil), data...)
			return
		}
		data = data[size:]
		switch op {
		case websocket.TextMessage, websocket.BinaryMessage:
			settle(i, onMsg(i, payload))
		case websocket.PingMessage:
			e.write(i, websocket.PongMessage, payload)
		case websocket.CloseMessage:
			code := websocket.CloseNoStatusReceived
			if len(payload) >= 2 {
				code = int(binary.BigEndian.Uint16(payload))
			}
			e.end(i)
			settle(i, onClose(i, code))
		case -1:
			e.end(i)
			settle(i, false)
		}
	}
}

// end stops reading connection i.
func (e *epollConns) end(i int) {
	e.gone[i] = true
	e.pend[i] = nil
	_ = unix.EpollCtl(e.epfd, unix.EPOLL_CTL_DEL, e.fds[i], nil)
}

// parseFrame parses one whole unmasked, final frame at the start of b: its
// opcode, payload and size; size 0 when b holds only part of it, op -1 for a
// frame this client does not take (masked, fragmented).
func parseFrame(b []byte) (op int, payload []byte, size int) {
	if len(b) < 2 {
		return 0, nil, 0
	}
	if b[0]&0x80 == 0 || b[1]&0x80 != 0 {
		return -1, nil, len(b)
	}
	op, n, h := int(b[0]&0x0f), int(b[1]&0x7f), 2
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, nil, 0
		}
		n, h = int(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return 0, nil, 0
		}
		n, h = int(binary.BigEndian.Uint64(b[2:])), 10 //nolint:gosec // G115: a server's frame, bounded by its limits
	}
	if len(b) < h+n {
		return 0, nil, 0
	}
	return op, b[h : h+n], h + n
}

// await has every connection wait for one message and counts those that got
// exactly want.
func (e *epollConns) await(want string) int64 {
	w := []byte(want)
	return e.collect(func(_ int, msg []byte) bool { return bytes.Equal(msg, w) }, func(int, int) bool { return false })
}

// ping sends "ping-I" on every connection I and counts the answers that
// contain it.
func (e *epollConns) ping() int64 {
	for i := range e.fds {
		if !e.gone[i] && !e.write(i, websocket.TextMessage, []byte("ping-"+strconv.Itoa(i))) {
			e.end(i)
		}
	}
	return e.collect(func(i int, msg []byte) bool {
		return bytes.Contains(msg, []byte("ping-"+strconv.Itoa(i)))
	}, func(int, int) bool { return false })
}

// close sends every connection a close frame (1000), waits for the server's,
// closes the sockets and counts the connections whose close frame said 1000.
func (e *epollConns) close() int64 {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	for i := range e.fds {
		if !e.gone[i] && !e.write(i, websocket.CloseMessage, msg) {
			e.end(i)
		}
	}
	clean := e.collect(func(int, []byte) bool { return false }, func(_, code int) bool { return code == websocket.CloseNormalClosure })
	for _, fd := range e.fds {
		_ = unix.Close(fd)
	}
	_ = unix.Close(e.epfd)
	return clean
}
