package gateway

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// OwnListeners names the Portico listener other than the gateway's (the admin
// API, metrics, a sandbox's Runtime API) that a connection to ip:port would
// reach; *ownaddr.Set satisfies it. It must be safe for concurrent use.
type OwnListeners interface {
	Owner(ip netip.Addr, port uint16) (name string, ok bool)
}

// SetOwnListeners gives the gateway Portico's other listeners, which no
// integration may reach; call it before serving.
func (g *Gateway) SetOwnListeners(own OwnListeners) { g.own = own }

// errOwnListener is an integration target that is one of Portico's own
// listeners: the public gateway must not become a way into them.
var errOwnListener = errors.New("the integration's target is one of Portico's own listeners, which no integration may reach")

// ownListener names the Portico listener other than the gateway's that ip:port
// would reach, if any.
func (g *Gateway) ownListener(ip netip.Addr, port uint16) (string, bool) {
	if name, ok := g.self.Owner(ip, port); ok {
		return name, true
	}
	if g.own != nil {
		return g.own.Owner(ip, port)
	}
	return "", false
}

// refuseOwnListener is the backend dialers' Control: it refuses a resolved
// address that is one of Portico's own listeners (an HTTP integration aimed,
// literally or through a stage variable or a name, at the admin API, say),
// with a warning naming it. The request fails as for a backend that cannot
// be reached.
func (g *Gateway) refuseOwnListener(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil
	}
	if name, ok := g.ownListener(ap.Addr(), ap.Port()); ok {
		g.log.Warn("integration refused: its target is Portico's own listener, not a backend", "listener", name, "addr", address)
		return fmt.Errorf("%s is Portico's %s: %w", address, name, errOwnListener)
	}
	return nil
}
