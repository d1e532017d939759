package gateway

import (
	"slices"
	"sync"

	"github.com/portico-dev/portico/internal/connset"
)

// Listener names in ListenerConns.
const (
	// ListenerHTTP is the plain listener (Config.Listen).
	ListenerHTTP = "http"
	// ListenerHTTPS is the TLS listener (Config.TLSListen): HTTP/1.1 and
	// HTTP/2 connections together.
	ListenerHTTPS = "https"
	// ListenerCallback is the sandbox-facing @connections endpoint.
	ListenerCallback = "callback"
)

// ListenerConns are the HTTP connections one of the gateway's listeners holds
// now (connset.ListenerConns). WebSockets are not counted there: the
// connections manager holds them.
type ListenerConns = connset.ListenerConns

// connCounter is a server whose connections Connections counts: h1's and h2's.
type connCounter interface {
	Open() int
	Dormant() int
}

// countedListener is a bound listener and the servers of its connections.
type countedListener struct {
	name, addr string
	srvs       []connCounter
}

// connCounts are the listeners Connections reports, added as Start binds
// them (the admin API reads them from its own goroutines).
type connCounts struct {
	mu        sync.Mutex
	listeners []countedListener
}

func (c *connCounts) add(name, addr string, srvs ...connCounter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = append(c.listeners, countedListener{name: name, addr: addr, srvs: srvs})
}

// listenerRank orders Connections' answer.
var listenerRank = map[string]int{ListenerHTTP: 0, ListenerHTTPS: 1, ListenerCallback: 2}

// Connections returns the connections each listener holds: the plain
// listener, the TLS one, then the @connections endpoint. Only the h1 engine (the default) counts them: a listener served
// by net/http's server or nbio is not listed.
func (s *Server) Connections() []ListenerConns {
	s.counts.mu.Lock()
	defer s.counts.mu.Unlock()
	out := make([]ListenerConns, 0, len(s.counts.listeners))
	for _, l := range s.counts.listeners {
		lc := ListenerConns{Listener: l.name, Addr: l.addr}
		for _, srv := range l.srvs {
			lc.Open += srv.Open()
			lc.Dormant += srv.Dormant()
		}
		out = append(out, lc)
	}
	slices.SortStableFunc(out, func(a, b ListenerConns) int { return listenerRank[a.Listener] - listenerRank[b.Listener] })
	return out
}
