package fastproxy

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawReader reads a backend connection's socket with read(2) on the
// non-blocking socket, going to the network poller only when nothing is there
// yet, as net.Conn's Read does, deadlines included; but without telling the
// scheduler that the goroutine enters a system call. On loopback, a backend's
// answer is often read on a thread the kernel preempts on its way out of the
// call; a P left in a system call across two of sysmon's looks is handed to
// another thread (a futex wake-up and a thread switch) and keeps sysmon
// polling every 20 µs. A goroutine preempted in a raw call keeps its P. This is
// internal/h1's raw I/O (rawio_linux.go there), for the proxy's side of the
// exchange; the sender's write is raw too.
//
// Reads of more than rawMax bytes go through net.Conn. Under the race
// detector the call is syscall.Read, which tells the detector what the
// kernel wrote (rawio_race_linux.go).
//
// One Read at a time.
type rawReader struct {
	nc    net.Conn
	rc    syscall.RawConn
	p     []byte // the call in progress
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool // x.read, bound once
}

// rawMax is the largest read rawReader makes with a raw system call: a long
// copy in the kernel is worth handing the P off for.
const rawMax = 64 << 10

// newRawReader returns nc's raw reader, nil when nc is not a *net.TCPConn
// (tests wrap connections to watch their reads).
func newRawReader(nc net.Conn) *rawReader {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	x := &rawReader{nc: nc, rc: rc}
	x.fn = x.read
	return x
}

func (x *rawReader) read(fd uintptr) bool {
	for {
		n, errno := sysRead(fd, x.p)
		switch errno {
		case 0:
			x.n = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		x.errno = errno
		return true
	}
}

// Read reads like net.Conn's Read, errors included.
func (x *rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(p) > rawMax {
		return x.nc.Read(p)
	}
	x.p, x.n, x.errno = p, 0, 0
	err := x.rc.Read(x.fn)
	n, errno := x.n, x.errno
	x.p = nil
	switch {
	case err != nil:
		return 0, opError(x.nc, "read", err)
	case errno != 0:
		return 0, opError(x.nc, "read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// opError is the error net.Conn's Read or Write returns: the raw connection
// wraps its own (a deadline, a closed connection) as "raw-read" or
// "raw-write".
func opError(nc net.Conn, op string, err error) error {
	if oe, ok := err.(*net.OpError); ok { //nolint:errorlint // the raw connection's own wrapping
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: nc.LocalAddr().Network(), Source: nc.LocalAddr(), Addr: nc.RemoteAddr(), Err: err}
}
