package connset

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// PerIP bounds how many connections one client address holds open on the
// servers sharing it (the process's public listeners, whatever their engine):
// a server admits each connection it accepts (Admit) before it reads from it,
// closes one refused at once, and gives the count back when the connection
// closes or leaves it (a hijacked WebSocket: Release). A nil PerIP admits
// every connection. Safe for concurrent use.
type PerIP struct {
	max        int
	refusedLog rate.Sometimes

	mu sync.Mutex
	n  map[netip.Addr]int
	// upgrading counts, by address, the handshakes between AdmitUpgrade
	// and UpgradeDone: each is in n twice (its HTTP connection, and the
	// WebSocket it becomes), and counts once against the bound.
	upgrading map[netip.Addr]int
}

// NewPerIP returns a bound of n connections per client address; nil (no
// bound) for n <= 0.
func NewPerIP(n int) *PerIP {
	if n <= 0 {
		return nil
	}
	return &PerIP{max: n, refusedLog: rate.Sometimes{First: 1, Interval: time.Minute}, n: map[netip.Addr]int{}, upgrading: map[netip.Addr]int{}}
}

// Max returns the bound; 0 for a nil PerIP (none).
func (p *PerIP) Max() int {
	if p == nil {
		return 0
	}
	return p.max
}

// Addr is the client address c is counted under: its remote IP address,
// IPv4-mapped ones unmapped; the zero Addr for a connection that is not an IP
// one (nothing to key on).
func Addr(c net.Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Admit counts c against its client address's bound and returns the address
// to Release it under; false when the address holds as many connections as it
// may (server names the refusing server in the log, which warns at most once
// a minute). A nil PerIP, or a connection with no IP address, is admitted
// under the zero Addr, which Release ignores.
func (p *PerIP) Admit(c net.Conn, log *slog.Logger, server string) (netip.Addr, bool) {
	if p == nil {
		return netip.Addr{}, true
	}
	ip := Addr(c)
	if !ip.IsValid() {
		return ip, true
	}
	p.mu.Lock()
	n := p.n[ip]
	if n-p.upgrading[ip] >= p.max {
		p.mu.Unlock()
		if log != nil {
			p.refusedLog.Do(func() {
				log.Warn("connection refused: the client holds as many connections as it may",
					"server", server, "client", ip.String(), "max", p.max)
			})
		}
		return netip.Addr{}, false
	}
	p.n[ip] = n + 1
	p.mu.Unlock()
	return ip, true
}

// AdmitUpgrade counts the WebSocket that an HTTP connection from ip
// upgrades to, while that connection still holds its own count (given back
// when it is hijacked): until UpgradeDone the two count once against the
// bound, so that an address's n connections may all be WebSockets, however
// many of its handshakes are under way at once (a $connect takes a function
// call). False when the address is past the bound even so (nothing is
// counted then). A nil PerIP, or the zero Addr, admits and counts nothing
// (Release and UpgradeDone ignore it).
func (p *PerIP) AdmitUpgrade(ip netip.Addr) bool {
	if p == nil || !ip.IsValid() {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n, up := p.n[ip], p.upgrading[ip]
	if n-up > p.max {
		return false
	}
	p.n[ip] = n + 1
	p.upgrading[ip] = up + 1
	return true
}

// UpgradeDone ends an upgrade AdmitUpgrade counted: its HTTP connection has
// given its count back (hijacked), or the handshake is over either way. The
// WebSocket's own count stays until Release.
func (p *PerIP) UpgradeDone(ip netip.Addr) {
	if p != nil {
		p.decrement(p.upgrading, ip)
	}
}

// Release gives back a connection's count (Admit); the zero Addr is none.
func (p *PerIP) Release(ip netip.Addr) {
	if p != nil {
		p.decrement(p.n, ip)
	}
}

// decrement takes one from ip's count in m (p.n or p.upgrading), dropping
// the entry at zero. The zero Addr counts nothing.
func (p *PerIP) decrement(m map[netip.Addr]int, ip netip.Addr) {
	if !ip.IsValid() {
		return
	}
	p.mu.Lock()
	if n := m[ip] - 1; n > 0 {
		m[ip] = n
	} else {
		delete(m, ip)
	}
	p.mu.Unlock()
}

// Open returns the connections counted for ip now.
func (p *PerIP) Open(ip netip.Addr) int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[ip]
}
