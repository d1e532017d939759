package h1

import "github.com/portico-dev/portico/internal/connset"

// ConnLimit bounds the connections that the servers sharing it
// (Options.Conns) hold open together: connset.Limit, which internal/h2 and
// the gateway's other engines share too. A hijacked connection (a WebSocket)
// no longer counts.
type ConnLimit = connset.Limit

// NewConnLimit returns a limit of n connections (at least 1).
func NewConnLimit(n int) *ConnLimit { return connset.NewLimit(n) }

// acquire counts a new connection against the shared limit, closing an idle
// keep-alive connection (s's, self, first) to make room at it; false, logged,
// when there was none to close.
func (s *Server) acquire(self *connset.Shedder) bool {
	if s.opts.Conns.AcquireShedding(s.opts.Log, "h1", self) {
		return true
	}
	s.opts.Conns.Refused(s.opts.Log, "h1")
	return false
}

// ShedIdle closes up to n of s's idle (or dormant) keep-alive connections and
// returns how many (one that became busy meanwhile is not closed, nor counted). A connection that has sent no request yet is not one:
// it is new, its request most likely on its way (a burst of connections at
// the bound lost those it had taken, before they could send anything), and
// the read header timeout bounds how long it may stay silent.
func (s *Server) ShedIdle(n int) int {
	shed := 0
	for _, c := range s.set.Snapshot(nil) {
		if shed >= n {
			break
		}
		if st := c.state.Load(); (st == stateIdle || st == stateDormant) && c.served.Load() > 0 && c.closeIfIdle() {
			shed++
		}
	}
	return shed
}
