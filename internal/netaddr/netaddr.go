// Package netaddr answers questions about listen addresses and the listener a
// request came in on.
package netaddr

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
)

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

// NotLoopback says why a listen address (host:port) is not one IsLoopback
// takes, as a clause to follow the address in a message ("" when it is).
// Host names other than localhost are not resolved (a name could resolve
// elsewhere later), and neither are short forms such as 127.1, which only
// a resolver reads as an address: the message says to give the IP address.
func NotLoopback(listen string) string {
	if IsLoopback(listen) {
		return ""
	}
	host, _, err := net.SplitHostPort(listen)
	switch ip := net.ParseIP(host); {
	case err != nil:
		return "which is not host:port"
	case host == "" || ip != nil && ip.IsUnspecified():
		return "which listens on every interface, not on loopback only"
	case ip != nil:
		return "which is not a loopback address"
	}
	return "whose host " + strconv.Quote(host) + " is not an IP address: names other than localhost are not resolved " +
		"(a name could resolve elsewhere later), nor short forms such as 127.1; give the IP address (127.0.0.1 or ::1)"
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

// ForwardedPort is a request's X-Forwarded-Port: the port of the listener
// that received r (its connection's local address, which servers put in the
// request's context under http.LocalAddrContextKey), as API Gateway reports
// the port it received a request on, whatever the Host header says. A request
// with no local address (a handler called without a server) gets its scheme's
// default port. Safe for concurrent use.
func ForwardedPort(r *http.Request) string {
	switch la := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		return portString(la.Port)
	case net.Addr:
		if _, p, err := net.SplitHostPort(la.String()); err == nil {
			return p
		}
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// lastPort caches the string of the port ForwardedPort spelled last: a server
// has few listeners, and the string costs no allocation per request.
var lastPort atomic.Pointer[spelledPort]

type spelledPort struct {
	n int
	s string
}

func portString(n int) string {
	if p := lastPort.Load(); p != nil && p.n == n {
		return p.s
	}
	p := &spelledPort{n: n, s: strconv.Itoa(n)}
	lastPort.Store(p)
	return p.s
}

// ForwardedFor is the X-Forwarded-For chain a request's integration gets: the
// client's X-Forwarded-For lines (prior, every one, in order, joined with ", "
// as one header; empty lines carry nothing and are left out) with peer, the
// address the request came from, appended. It keeps every line as
// httputil.ProxyRequest.SetXForwarded does, and as the source IP, which is
// read from all of them, needs. One line costs one concatenation.
func ForwardedFor(prior []string, peer string) string {
	switch {
	case len(prior) == 0:
		return peer
	case len(prior) == 1:
		if prior[0] == "" {
			return peer
		}
		return prior[0] + ", " + peer
	}
	n := len(peer)
	for _, p := range prior {
		n += len(p) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range prior {
		if p != "" {
			b.WriteString(p)
			b.WriteString(", ")
		}
	}
	b.WriteString(peer)
	return b.String()
}

// InPrefixes reports whether ip, an IP address (IPv4-mapped IPv6 taken as
// IPv4), is in one of prefixes (the trusted proxies); a malformed ip is in
// none.
func InPrefixes(ip string, prefixes []netip.Prefix) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Unmapped is ip, an address as a request's peer or X-Forwarded-For names
// it, in the form API Gateway reports a source IP in: an IPv4-mapped IPv6
// address (::ffff:198.51.100.7) as its IPv4 form (198.51.100.7); anything
// else as it is. An IPv4 address costs one scan.
func Unmapped(ip string) string {
	if strings.IndexByte(ip, ':') < 0 {
		return ip
	}
	if a, err := netip.ParseAddr(ip); err == nil && a.Is4In6() {
		return a.Unmap().String()
	}
	return ip
}

// WebSocketURL is the URL WebSocket clients connect to at the stage URL u:
// ws:// for http://, wss:// (over TLS) for https://; any other u as it is.
func WebSocketURL(u string) string {
	if rest, ok := strings.CutPrefix(u, "https://"); ok {
		return "wss://" + rest
	}
	if rest, ok := strings.CutPrefix(u, "http://"); ok {
		return "ws://" + rest
	}
	return u
}
