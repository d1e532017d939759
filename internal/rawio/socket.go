package rawio

import "net"

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
