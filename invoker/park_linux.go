package invoker

import (
	"errors"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// canPark reports whether a next on v's connection can park in the poller.
func (v *peerVerdict) canPark() bool {
	if v.raw != nil {
		return true
	}
	sc, ok := v.conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	v.raw = raw
	v.wait = func(fd uintptr) bool {
		if v.parked.taken.Load() {
			return true
		}
		v.readable = peekReadable(fd)
		return v.readable
	}
	return true
}

// park waits in the poller until nw is taken, the connection is readable
// (the runtime's next request once nw is answered; else its client has gone,
// or sent more than its request) or a read deadline passes (a poke). It
// reports whether the connection was readable with nw not taken, and whether
// a deadline woke it.
func (v *peerVerdict) park(nw *nextWait) (readable, deadline bool) {
	v.parked, v.readable = nw, false
	err := v.raw.Read(v.wait)
	v.parked = nil
	switch {
	case err == nil:
		return v.readable, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, true
	default:
		return true, false // a broken or closed connection: its client is gone
	}
}

// peekReadable reports, without waiting or consuming anything, whether the
// socket has something to read (h1's look: recv(2) with MSG_PEEK and
// MSG_DONTWAIT, called directly).
func peekReadable(fd uintptr) bool {
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
