// Package netaddr answers questions about listen addresses.
package netaddr

import "net"

// IsLoopback reports whether a listen address (host:port) binds a loopback
// address only: "localhost", 127.0.0.0/8 or ::1. An empty host (all interfaces),
// 0.0.0.0, any other address or a malformed one is not loopback. A connection's
// local address says nothing about this: a listener on 0.0.0.0 accepts
// connections to 127.0.0.1 too.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DialURL turns a bound listen address into a URL a local client can call: an
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") becomes 127.0.0.1;
// an address without a port is used as it is.
func DialURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
