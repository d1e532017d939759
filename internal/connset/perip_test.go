package connset

import (
	"net"
	"net/netip"
	"testing"
)

// addrConn is a net.Conn with a remote address and nothing else.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

func TestPerIPBoundsEachAddress(t *testing.T) {
	p := NewPerIP(2)
	a := addrConn{remote: &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}}
	mapped := addrConn{remote: &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 2}}
	b := addrConn{remote: &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 3}}
	ip1, ok1 := p.Admit(a, nil, "test")
	ip2, ok2 := p.Admit(mapped, nil, "test") // the same address, IPv4-mapped
	if !ok1 || !ok2 || ip1 != ip2 || ip1 != netip.MustParseAddr("192.0.2.1") {
		t.Fatalf("admits: %v %v %v %v", ip1, ok1, ip2, ok2)
	}
	if _, ok := p.Admit(a, nil, "test"); ok {
		t.Fatal("a third connection from one address was admitted under a bound of two")
	}
	if _, ok := p.Admit(b, nil, "test"); !ok {
		t.Fatal("another address was refused")
	}
	p.Release(ip1)
	if _, ok := p.Admit(a, nil, "test"); !ok {
		t.Fatal("a released count did not come back")
	}
	if n := p.Open(ip1); n != 2 {
		t.Fatalf("%d counted, want 2", n)
	}
	var none *PerIP
	if ip, ok := none.Admit(a, nil, "test"); !ok || ip.IsValid() {
		t.Fatal("a nil PerIP refused or counted")
	}
	none.Release(ip1)
	if NewPerIP(0) != nil || NewPerIP(-1) != nil {
		t.Fatal("a bound of 0 or less is not none")
	}
}

// TestPerIPAdmitUpgrade: the WebSocket an upgrade makes is counted under its
// address while the HTTP connection still holds its own count, the two
// counting once against the bound until UpgradeDone, however many of the
// address's handshakes are under way at once, so that an address's n
// connections may all be WebSockets and no more.
func TestPerIPAdmitUpgrade(t *testing.T) {
	p := NewPerIP(2)
	a := addrConn{remote: &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}}
	other := netip.MustParseAddr("192.0.2.2")
	ip, _ := p.Admit(a, nil, "test")
	if _, ok := p.Admit(a, nil, "test"); !ok {
		t.Fatal("a second connection under a bound of two refused")
	}
	for i := range 2 {
		if !p.AdmitUpgrade(ip) {
			t.Fatalf("the upgrade of counted connection %d at the bound was refused", i+1)
		}
	}
	if _, ok := p.Admit(a, nil, "test"); ok {
		t.Fatal("a third connection was admitted while two upgraded")
	}
	if !p.AdmitUpgrade(other) {
		t.Fatal("another address's upgrade was refused")
	}
	for range 2 {
		p.Release(ip)     // the upgraded connection is hijacked
		p.UpgradeDone(ip) // and its handshake ends
	}
	if got := p.Open(ip); got != 2 {
		t.Fatalf("%d counted, want the two WebSockets", got)
	}
	if _, ok := p.Admit(a, nil, "test"); ok {
		t.Fatal("a connection past two WebSockets from one address was admitted")
	}
	p.Release(ip) // a WebSocket closes
	if _, ok := p.Admit(a, nil, "test"); !ok {
		t.Fatal("a connection under the bound again was refused")
	}
	var none *PerIP
	if !none.AdmitUpgrade(ip) || !p.AdmitUpgrade(netip.Addr{}) {
		t.Fatal("no bound, or no address, refused an upgrade")
	}
	none.UpgradeDone(ip)
	p.UpgradeDone(netip.Addr{})
}
