package gateway

import (
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/portico-dev/portico/internal/connset"
)

// stdConns counts the connections of a server that is not h1 or h2 (net/http's,
// under the net/http and nbio engines, and nbio's own) against the public
// listeners' shared limit (Server.conns, Config.MaxConns) and their bound per
// client address (Server.perIP, Config.MaxConnsPerIP), as h1 and h2 count
// theirs: a connection is counted as it is accepted (limitedListener); at the
// limit it takes the place of an idle keep-alive connection, shed across the
// listeners, and one past either bound with none to shed is closed
// unanswered; the counts are given back when
// the connection closes or is hijacked (a WebSocket: the connections manager
// bounds those). Safe for concurrent use.
type stdConns struct {
	lim    *connset.Limit // nil: no limit
	perIP  *connset.PerIP // nil: no bound per address
	log    *slog.Logger
	server string
	self   *connset.Shedder // nil: the server's idle connections are not known (nbio)

	mu   sync.Mutex
	idle map[net.Conn]struct{} // net/http's idle keep-alive connections
}

// newStdConns returns the counting for one server; nil with neither a limit
// nor a bound per address. With shed, the server's idle keep-alive
// connections (connState) may be shed to make room under the limit.
func newStdConns(lim *connset.Limit, perIP *connset.PerIP, log *slog.Logger, server string, shed bool) *stdConns {
	if lim == nil && perIP == nil {
		return nil
	}
	c := &stdConns{lim: lim, perIP: perIP, log: log, server: server, idle: map[net.Conn]struct{}{}}
	if shed && lim != nil {
		c.self = lim.AddShedder(c.shedIdle)
	}
	return c
}

// listener returns ln counting its connections against the limit; ln itself
// for a nil stdConns.
func (c *stdConns) listener(ln net.Listener) net.Listener {
	if c == nil {
		return ln
	}
	return limitedListener{Listener: ln, c: c}
}

// stop unregisters the server's shedding (when it stops).
func (c *stdConns) stop() {
	if c != nil {
		c.self.Remove()
	}
}

// limitedListener is a listener whose connections count against a limit:
// Accept closes those past it and accepts the next.
type limitedListener struct {
	net.Listener
	c *stdConns
}

func (l limitedListener) Accept() (net.Conn, error) {
	for {
		rwc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.c.lim != nil && !l.c.lim.AcquireShedding(l.c.log, l.c.server, l.c.self) {
			_ = rwc.Close()
			l.c.lim.Refused(l.c.log, l.c.server)
			continue
		}
		if _, ok := l.c.perIP.Admit(rwc, l.c.log, l.c.server); !ok {
			_ = rwc.Close()
			l.c.releaseLimit()
			continue
		}
		return rwc, nil
	}
}

// release gives back the counts of conn, which limitedListener accepted.
func (c *stdConns) release(conn net.Conn) {
	c.perIP.Release(connset.Addr(conn))
	c.releaseLimit()
}

func (c *stdConns) releaseLimit() {
	if c.lim != nil {
		c.lim.Release()
	}
}

// connState is a net/http server's ConnState hook: it gives back a
// connection's counts when it closes or is hijacked, and keeps the idle
// keep-alive connections shedIdle may close. (An HTTP/2 connection of
// net/http's reports no states between new and closed: it is counted, never
// shed.)
func (c *stdConns) connState(conn net.Conn, st http.ConnState) {
	switch st {
	case http.StateIdle:
		c.mu.Lock()
		c.idle[conn] = struct{}{}
		c.mu.Unlock()
	case http.StateActive:
		c.mu.Lock()
		delete(c.idle, conn)
		c.mu.Unlock()
	case http.StateHijacked, http.StateClosed:
		c.mu.Lock()
		delete(c.idle, conn)
		c.mu.Unlock()
		c.release(conn)
	}
}

// shedIdle closes up to n idle keep-alive connections and returns how many.
func (c *stdConns) shedIdle(n int) int {
	c.mu.Lock()
	shed := make([]net.Conn, 0, min(n, len(c.idle)))
	for conn := range c.idle {
		if len(shed) >= n {
			break
		}
		shed = append(shed, conn)
		delete(c.idle, conn)
	}
	c.mu.Unlock()
	for _, conn := range shed {
		_ = conn.Close()
	}
	return len(shed)
}

// serve sets srv up to count its connections (ConnState); srv unchanged for
// a nil stdConns.
func (c *stdConns) serve(srv *http.Server) {
	if c != nil {
		srv.ConnState = c.connState
	}
}
