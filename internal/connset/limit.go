package connset

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limit bounds the connections that the servers sharing it hold open
// together: the process's public listeners, kept below its file descriptor
// limit so that a client holding thousands of idle connections cannot leave
// none for the admin API, the Runtime API, the store and the sandboxes. A
// server counts a connection as it accepts it (AcquireShedding) and gives the
// count back when the connection closes or leaves it (a hijacked connection:
// Release; the WebSocket it became counts again, connections.Endpoint.Conns).
// At the limit, a new connection takes the place of one idle keep-alive
// connection, which is closed (of any server sharing the limit: AddShedder),
// as nginx reuses an idle connection at its worker_connections; only when
// none can be shed is the new one closed as soon as it is accepted
// (Refused). Safe for concurrent use.
type Limit struct {
	max int64
	n   atomic.Int64
	// upgrading counts the handshakes between AcquireUpgrade and
	// UpgradeDone: each is in n twice (its HTTP connection, and the
	// WebSocket it becomes), and counts once against the limit.
	upgrading  atomic.Int64
	shedding   atomic.Bool
	refusedLog rate.Sometimes
	shedLog    rate.Sometimes

	// refusedMsg is the refusal's log line and holder what holds the
	// connections (Named); "" for the public listeners.
	refusedMsg, holder string

	mu       sync.Mutex
	shedders map[*Shedder]struct{}
}

// Shedder is one server's way to close its idle connections, registered
// with a Limit (AddShedder).
type Shedder struct {
	l    *Limit
	shed func(n int) int
}

// Remove unregisters the shedder (when its server stops). A nil Shedder is
// none.
func (s *Shedder) Remove() {
	if s == nil {
		return
	}
	s.l.mu.Lock()
	delete(s.l.shedders, s)
	s.l.mu.Unlock()
}

// NewLimit returns a limit of n connections (at least 1).
func NewLimit(n int) *Limit {
	return &Limit{max: int64(max(n, 1)), refusedLog: rate.Sometimes{First: 1, Interval: time.Minute},
		shedLog: rate.Sometimes{First: 1, Interval: time.Minute}}
}

// Named has the refusal's log line say that holder (a single server, such
// as "the admin API") holds as many connections as it may, and returns l.
func (l *Limit) Named(holder string) *Limit {
	l.holder = holder
	l.refusedMsg = "connection refused: " + holder + " holds as many connections as it may, and no idle keep-alive connection among them could be closed for it"
	return l
}

// Max returns the limit; 0 for a nil Limit (no limit).
func (l *Limit) Max() int {
	if l == nil {
		return 0
	}
	return int(l.max)
}

// Open returns the connections counted against the limit.
func (l *Limit) Open() int { return int(l.n.Load()) }

// Acquire counts one more connection; false at the limit (nothing is
// counted then).
func (l *Limit) Acquire() bool {
	if l.n.Add(1)-l.upgrading.Load() > l.max {
		l.n.Add(-1)
		return false
	}
	return true
}

// AcquireShedding counts a new connection as Acquire does; at the limit it
// closes one idle keep-alive connection of the servers sharing it (self's,
// which may be nil, first) and counts the new one in its place, since the
// closed one's count is given back as its server sees it close (until then
// the count is one past the limit). It logs that (once a minute). False when
// no idle connection could be shed: the caller closes the new one and calls
// Refused.
func (l *Limit) AcquireShedding(log *slog.Logger, server string, self *Shedder) bool {
	if l.Acquire() {
		return true
	}
	if l.shedOne(self) == 0 {
		return false
	}
	l.n.Add(1)
	l.shedLog.Do(func() {
		holders := "the public listeners hold as many connections as they may"
		if l.holder != "" {
			holders = l.holder + " holds as many connections as it may"
		}
		log.Warn(holders+": closing an idle keep-alive connection for each new one",
			"server", server, "max", l.Max())
	})
	return true
}

// shedOne closes one idle keep-alive connection, self's first, and returns
// how many it closed (0 or 1).
func (l *Limit) shedOne(self *Shedder) int {
	if self != nil && self.shed(1) > 0 {
		return 1
	}
	others := l.others(self)
	for _, shed := range others {
		if shed(1) > 0 {
			return 1
		}
	}
	return 0
}

// AcquireUpgrade counts the WebSocket that an HTTP connection's upgrade
// makes, while that connection still holds its own count (given back when it
// is hijacked): until UpgradeDone the two count once against the limit, so
// that the limit's n connections may all be WebSockets, however many
// handshakes are under way at once. False when the limit is passed even so
// (nothing is counted then).
func (l *Limit) AcquireUpgrade() bool {
	up := l.upgrading.Add(1)
	if l.n.Add(1)-up > l.max {
		l.n.Add(-1)
		l.upgrading.Add(-1)
		return false
	}
	return true
}

// UpgradeDone ends an upgrade AcquireUpgrade counted (its HTTP connection
// has given its count back, or the handshake is over either way); the
// WebSocket's own count stays until Release.
func (l *Limit) UpgradeDone() { l.upgrading.Add(-1) }

// Release gives back the count of a connection Acquire counted.
func (l *Limit) Release() { l.n.Add(-1) }

// ShedBatch is how many idle keep-alive connections Refused closes at most.
const ShedBatch = 64

// AddShedder registers shed, which closes up to n idle connections of one
// server and returns how many it closed; Refused calls it. Remove the
// Shedder when the server stops.
func (l *Limit) AddShedder(shed func(n int) int) *Shedder {
	s := &Shedder{l: l, shed: shed}
	l.mu.Lock()
	if l.shedders == nil {
		l.shedders = map[*Shedder]struct{}{}
	}
	l.shedders[s] = struct{}{}
	l.mu.Unlock()
	return s
}

// Refused is called by a server that closed a connection past the limit,
// which AcquireShedding found no idle keep-alive connection to take the place
// of: it logs that (once a minute).
func (l *Limit) Refused(log *slog.Logger, server string) {
	l.refusedLog.Do(func() {
		msg := l.refusedMsg
		if msg == "" {
			msg = "connection refused: the public listeners hold as many connections as they may, and no idle keep-alive connection among them could be closed for it (nbio's and HTTP/2 connections under net/http never are)"
		}
		log.Warn(msg, "server", server, "max", l.Max())
	})
}

// Shed closes up to ShedBatch idle keep-alive connections across the servers
// sharing the limit, self's (which may be nil) first, one shedding at a time,
// for a caller that logs its own refusals (a WebSocket handshake refused at
// the limit).
func (l *Limit) Shed(self *Shedder) {
	if !l.shedding.CompareAndSwap(false, true) {
		return
	}
	defer l.shedding.Store(false)
	left := ShedBatch
	if self != nil {
		left -= self.shed(left)
	}
	others := l.others(self)
	for _, shed := range others {
		if left <= 0 {
			return
		}
		left -= shed(left)
	}
}

// others returns the shedding functions of the servers sharing the limit but
// self (which may be nil).
func (l *Limit) others(self *Shedder) []func(int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	others := make([]func(int) int, 0, len(l.shedders))
	for s := range l.shedders {
		if s != self {
			others = append(others, s.shed)
		}
	}
	return others
}
