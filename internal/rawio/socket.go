package rawio

import (
	"net"
	"syscall"
)

// SocketOf returns the connection under c's layers (crypto/tls's, Wrap's:
// anything with a NetConn method), the one with the socket.
func SocketOf(c net.Conn) net.Conn {
	for {
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		c = u.NetConn()
	}
}

// RawConnOf returns the file descriptor access of the socket under c's
// layers (SocketOf), nil when it has none.
func RawConnOf(c net.Conn) syscall.RawConn {
	sc, ok := SocketOf(c).(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
