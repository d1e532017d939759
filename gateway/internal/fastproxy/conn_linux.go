package fastproxy

import (
	"errors"
	"net"
	"syscall"
)

// connAlive probes an idle connection without blocking: it is alive when a peek
// finds nothing to read yet. EOF (the backend closed it), an error or unasked
// bytes make it dead. The probe ignores the connection's deadline, which may
// have passed while it was idle.
func connAlive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	var p peek
	if err := raw.Control(p.probe); err != nil {
		return false
	}
	return p.alive
}

// peek is connAlive's probe.
type peek struct {
	b     [1]byte
	alive bool
}

func (p *peek) probe(fd uintptr) {
	_, _, err := syscall.Recvfrom(int(fd), p.b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	p.alive = errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR)
}
