// Package ownaddr keeps the addresses Portico's own non-gateway listeners are
// bound to (the admin API, the metrics endpoint, the sandbox-facing
// @connections callback, each sandbox's Runtime API), so that an integration
// can be refused a target that would expose one of them through the public
// gateway.
package ownaddr

import (
	"net"
	"net/netip"
	"strings"
	"sync"

	"go.uber.org/fx"
)

// Set is the set of bound listener addresses. It is safe for concurrent use;
// the zero value is empty and ready, and a nil *Set holds nothing.
type Set struct {
	mu   sync.RWMutex
	next uint64
	m    map[uint64]bound
}

type bound struct {
	name string
	ap   netip.AddrPort
}

// Add records that the listener name is bound to addr (as net.Listener.Addr
// writes it, "ip:port") and returns the func that forgets it, for when the
// listener closes (calling it again does nothing). An address that is not an
// IP and port is not recorded.
func (s *Set) Add(name, addr string) (remove func()) {
	if s == nil {
		return func() {}
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[uint64]bound{}
	}
	s.next++
	id := s.next
	s.m[id] = bound{name: name, ap: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}
	return func() {
		s.mu.Lock()
		delete(s.m, id)
		s.mu.Unlock()
	}
}

// Owner names the listener that a connection to ip:port would reach, if any:
// one bound to that very address, or one bound to the unspecified address
// (0.0.0.0, [::]) on that port when ip is local (a loopback or unspecified
// address, or one of the host's interface addresses).
func (s *Set) Owner(ip netip.Addr, port uint16) (string, bool) {
	if s == nil {
		return "", false
	}
	ip = ip.Unmap()
	s.mu.RLock()
	defer s.mu.RUnlock()
	local := -1 // unknown until asked
	for _, b := range s.m {
		if b.ap.Port() != port {
			continue
		}
		if b.ap.Addr() == ip || ip.IsUnspecified() {
			return b.name, true
		}
		if b.ap.Addr().IsUnspecified() {
			if local < 0 {
				local = 0
				if isLocal(ip) {
					local = 1
				}
			}
			if local == 1 {
				return b.name, true
			}
		}
	}
	return "", false
}

// OwnerOfHost is Owner for a host as an integration URI names it: an IP
// address, or a loopback name ("localhost", "*.localhost"), which stands for
// 127.0.0.1 and ::1. Other names need resolving and are not matched here.
func (s *Set) OwnerOfHost(host string, port uint16) (string, bool) {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		if name, ok := s.Owner(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port); ok {
			return name, true
		}
		return s.Owner(netip.IPv6Loopback(), port)
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i] // an IPv6 zone
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", false
	}
	return s.Owner(ip, port)
}

// isLocal reports whether ip is an address of this host.
func isLocal(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}

// Module provides the app's one *Set, which the listeners record themselves
// in and the gateway and the API service read.
var Module = fx.Module("ownaddr", fx.Provide(func() *Set { return &Set{} }))
