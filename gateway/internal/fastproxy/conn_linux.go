package fastproxy

import (
	"errors"
	"net"
	"syscall"
)

// connAlive probes an idle connection without blocking: it is alive when a peek
// finds nothing to read yet. EOF (the backend closed it), an error or unasked
// bytes make it dead.
func connAlive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	alive := true
	var b [1]byte
	err = raw.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EINTR)
		return true
	})
	return alive && err == nil
}
