package rawio

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn reads and writes a TCP connection's socket with raw system calls
// (read(2) and write(2) on the non-blocking socket: they never block), going
// to the network poller only when a call would block, as net.Conn's own Read
// and Write do, deadlines included. Unlike them it does not tell the scheduler
// that the goroutine enters a system call. On loopback a write also runs the
// receiver's TCP input and wakes the receiver, and the kernel often preempts
// the writing thread on its way out; a P left in a system call across two of
// sysmon's looks (20 µs) is taken back and handed to another thread: a futex
// wake-up and a thread switch, more threads than Ps, and sysmon kept polling
// every 20 µs. A goroutine preempted in a raw call keeps its P, whose waiting
// goroutines the other Ps steal as they would from any busy P.
//
// Calls of more than Max bytes go through net.Conn (a long copy in the
// kernel is a system call worth handing the P off for). Under the race
// detector the calls are syscall.Read and syscall.Write, which tell the
// detector what the kernel read and wrote (sys_race_linux.go).
//
// One Read and one Write may run at once (the connection's reader and its
// response's writer), not two of either.
type Conn struct {
	nc net.Conn
	rc syscall.RawConn
	// The calls in progress.
	rp, wp     []byte
	rn, wn     int
	rerr, werr syscall.Errno
	wzero      bool // write(2) wrote nothing
	readFn     func(fd uintptr) bool
	writeFn    func(fd uintptr) bool
}

// Max is the largest read or write Conn makes with a raw system call.
const Max = 64 << 10

// New returns c's raw I/O, nil when c is not a *net.TCPConn (tests wrap
// connections to watch them).
func New(c net.Conn) *Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	x := &Conn{nc: c, rc: rc}
	x.readFn, x.writeFn = x.read, x.write
	return x
}

func (x *Conn) read(fd uintptr) bool {
	for {
		n, errno := Read(fd, x.rp)
		switch errno {
		case 0:
			x.rn = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		x.rerr = errno
		return true
	}
}

func (x *Conn) write(fd uintptr) bool {
	for x.wn < len(x.wp) {
		n, errno := Write(fd, x.wp[x.wn:])
		switch errno {
		case 0:
			if n == 0 {
				x.wzero = true
				return true
			}
			x.wn += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			x.werr = errno
			return true
		}
	}
	return true
}

// Read reads like net.Conn's Read, errors included.
func (x *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) > Max {
		return x.nc.Read(p)
	}
	x.rp, x.rn, x.rerr = p, 0, 0
	err := x.rc.Read(x.readFn)
	n, errno := x.rn, x.rerr
	x.rp = nil
	switch {
	case err != nil:
		return 0, x.opError("read", err)
	case errno != 0:
		return 0, x.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes like net.Conn's Write, errors included.
func (x *Conn) Write(p []byte) (int, error) {
	if len(p) > Max {
		return x.nc.Write(p)
	}
	x.wp, x.wn, x.werr, x.wzero = p, 0, 0, false
	err := x.rc.Write(x.writeFn)
	n, errno := x.wn, x.werr
	x.wp = nil
	switch {
	case err != nil:
		return n, x.opError("write", err)
	case errno != 0:
		return n, x.opError("write", os.NewSyscallError("write", errno))
	case x.wzero:
		return n, x.opError("write", io.ErrUnexpectedEOF) // as internal/poll says it
	}
	return n, nil
}

// opError is the error net.Conn's Read or Write returns: the raw connection
// wraps its own (a deadline, a closed connection) as "raw-read" or
// "raw-write".
//
// The raw connection's own error is fresh for this call and nobody else's: it
// is reshaped in place rather than copied (a deadline's wake-up, which h1's
// Park and crypto/tls's readers meet on every request, allocates once).
func (x *Conn) opError(op string, err error) error {
	oe, ok := err.(*net.OpError) //nolint:errorlint // the raw connection's own wrapping
	if !ok {
		oe = &net.OpError{Err: err}
	}
	oe.Op, oe.Net, oe.Source, oe.Addr = op, x.nc.LocalAddr().Network(), x.nc.LocalAddr(), x.nc.RemoteAddr()
	return oe
}

// PeekReadable reports, without waiting or consuming anything, whether the
// socket fd has something to read: bytes, EOF or an error (for a connection
// that waits for no more bytes, all three mean its peer has gone or broken
// the protocol). recv(2) is called directly, with MSG_PEEK and MSG_DONTWAIT:
// it never blocks, so it needs no scheduler hand-off, and unix.Recvfrom would
// allocate the sender's address.
func PeekReadable(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1, //nolint:gosec // G103: a one-byte buffer on the stack for recv(2)
			unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		return errno != unix.EAGAIN
	}
}

// PeekState is PeekReadable that also tells bytes from the end: ready is
// false while nothing waits; data is true when bytes wait (a client's next,
// pipelined request), false for EOF or an error (the peer has gone).
func PeekState(fd uintptr) (ready, data bool) {
	var b [1]byte
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1, //nolint:gosec // G103: a one-byte buffer on the stack for recv(2)
			unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno == unix.EAGAIN {
			return false, false
		}
		return true, errno == 0 && n > 0
	}
}

// Wrap returns c with rawio's Read and Write (everything else is c's), for a
// TCP connection another layer reads and writes (crypto/tls): its system calls
// then skip the scheduler's system-call path too, which wakes sysmon on entry
// whenever it sleeps (docs/performance.md, session 16). Anything that is not a
// *net.TCPConn is returned as it is. The wrapper does not offer the socket
// (syscall.Conn), as what reads it is the other layer; NetConn returns c, for
// whoever only watches the socket's readiness (the WebSocket poller), and
// CloseWrite is c's (a proxied upgrade half-closes its backend). The gateway's
// backend transport dials through it too.
func Wrap(c net.Conn) net.Conn {
	x := New(c)
	if x == nil {
		return c
	}
	return &wrapped{Conn: c, x: x}
}

type wrapped struct {
	net.Conn
	x *Conn
}

func (w *wrapped) Read(p []byte) (int, error)  { return w.x.Read(p) }
func (w *wrapped) Write(p []byte) (int, error) { return w.x.Write(p) }
func (w *wrapped) NetConn() net.Conn           { return w.Conn }
func (w *wrapped) CloseWrite() error           { return w.Conn.(*net.TCPConn).CloseWrite() }
