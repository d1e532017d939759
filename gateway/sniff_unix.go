//go:build unix

package gateway

import (
	"io"
	"net"
	"syscall"
)

// peekFirst waits for c's first byte and returns it without consuming it
// (recv(2) with MSG_PEEK, through the network poller, within c's read
// deadline); ok is false when c has no socket to peek at.
func peekFirst(c net.Conn) (b byte, ok bool, err error) {
	sc, isSock := c.(syscall.Conn)
	if !isSock {
		return 0, false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	var buf [1]byte
	var n int
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, perr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK) //nolint:gosec // G115: a socket descriptor fits an int
		return perr != syscall.EAGAIN && perr != syscall.EINTR
	})
	switch {
	case err != nil:
		return 0, true, err
	case perr != nil:
		return 0, true, perr
	case n == 0:
		return 0, true, io.EOF
	}
	return buf[0], true, nil
}
