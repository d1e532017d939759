package fastproxy

import (
	"errors"
	"net"
	"os"
	"syscall"

	"github.com/portico-dev/portico/internal/rawio"
)

// connAlive probes an idle connection without blocking: it is alive when a peek
// finds nothing to read yet. EOF (the backend closed it), an error or unasked
// bytes make it dead. The probe ignores the connection's deadline, which may
// have passed while it was idle. A TLS connection's socket is probed: a
// backend's close_notify is bytes, and what a TLS 1.3 server sends after its
// handshake (session tickets) came before the first response, which read it.
func connAlive(nc net.Conn) bool {
	raw := rawConn(rawio.SocketOf(nc))
	if raw == nil {
		return true
	}
	alive := false
	if err := raw.Control(func(fd uintptr) { alive = !rawio.PeekReadable(fd) }); err != nil {
		return false
	}
	return alive
}

// rawConn returns nc's RawConn, or nil when it has none.
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// sender writes the last bytes of a request and then waits, without reading,
// until the response can be read (see backendConn.sendThenWait).
//
// Go reads a socket by trying a read and, when it fails with EAGAIN, parking
// the goroutine until the poller reports the socket readable. A backend
// never answers before it has the request, so the read right after the
// request's write is sure to fail: one wasted system call per exchange.
// syscall.RawConn.Read arms the poller's readiness first and then calls its
// function; a function that writes and returns false waits for readiness
// with no read, and a readiness that comes while (or right after) it writes
// is not lost, since the poller was armed before the write. The write is
// non-blocking: what the socket does not take at once is left to the
// caller's ordinary write.
type sender struct {
	raw  syscall.RawConn
	fn   func(fd uintptr) bool // s.send, bound once (no allocation per request)
	p    []byte
	n    int   // bytes of p written
	err  error // the write's error, EAGAIN included
	sent bool  // all of p went out
}

// newSender returns nc's sender, or nil when nc is not a plain socket (tests
// wrap connections).
func newSender(nc net.Conn) *sender {
	raw := rawConn(nc)
	if raw == nil {
		return nil
	}
	s := &sender{raw: raw}
	s.fn = s.send
	return s
}

// send is RawConn.Read's function: first the write (false to wait for
// readability once all of it went out), then, woken, true.
func (s *sender) send(fd uintptr) bool {
	if s.sent {
		return true
	}
	for s.n < len(s.p) {
		n, errno := rawio.Write(fd, s.p[s.n:]) // raw, as the reads are (rawio.Conn)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			s.err = errno
			return true
		}
		if n <= 0 {
			s.err = syscall.EAGAIN
			return true
		}
		s.n += n
	}
	s.sent = true
	return false
}

// sendThenWait writes p and waits until the connection is readable (or its
// deadline passed: the next read finds out). It returns how much of p it
// wrote; an error is a failed write that was not a full socket buffer
// (EAGAIN), as net.Conn.Write would return it. When it wrote all of p, the
// wait's own error is dropped: the read that follows meets it again.
func (s *sender) sendThenWait(nc net.Conn, p []byte) (int, error) {
	s.p, s.n, s.err, s.sent = p, 0, nil, false
	_ = s.raw.Read(s.fn) // an error before send ran leaves n at 0: the caller writes
	n, err := s.n, s.err
	s.p, s.err = nil, nil
	if err == nil || errors.Is(err, syscall.EAGAIN) {
		return n, nil
	}
	return n, &net.OpError{Op: "write", Net: nc.LocalAddr().Network(), Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: os.NewSyscallError("write", err)}
}
