package h1

import (
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// ConnLimit bounds the connections that the servers sharing it
// (Options.Conns) hold open together: the process's public listeners, kept
// below its file descriptor limit so that a client holding thousands of idle
// connections cannot leave none for the admin API, the Runtime API, the
// store and the sandboxes. A connection past it is closed as soon as it is
// accepted, and the server that refused it closes some of its idle
// keep-alive connections, to make room for the clients that retry. A
// hijacked connection (a WebSocket) no longer counts. Safe for concurrent use.
type ConnLimit struct {
	max        int64
	n          atomic.Int64
	shedding   atomic.Bool
	refusedLog rate.Sometimes
}

// NewConnLimit returns a limit of n connections (at least 1).
func NewConnLimit(n int) *ConnLimit {
	return &ConnLimit{max: int64(max(n, 1)), refusedLog: rate.Sometimes{First: 1, Interval: time.Minute}}
}

// Max returns the limit; 0 for a nil ConnLimit (no limit).
func (l *ConnLimit) Max() int {
	if l == nil {
		return 0
	}
	return int(l.max)
}

// Open returns the connections counted against the limit.
func (l *ConnLimit) Open() int { return int(l.n.Load()) }

// acquire counts one more connection; false at the limit.
func (l *ConnLimit) acquire() bool {
	if l.n.Add(1) > l.max {
		l.n.Add(-1)
		return false
	}
	return true
}

// release gives back a connection's count.
func (l *ConnLimit) release() { l.n.Add(-1) }

// shedBatch is how many idle keep-alive connections a server closes when the
// limit refuses a connection.
const shedBatch = 64

// shedIdle, called when the shared limit refused a connection, logs it and
// closes up to shedBatch of s's idle keep-alive connections (one shedding at
// a time across the servers of the limit) to make room.
func (s *Server) shedIdle() {
	l := s.opts.Conns
	l.refusedLog.Do(func() {
		s.opts.Log.Warn("connection refused: the public listeners hold as many connections as they may; closing idle keep-alive connections",
			"server", "h1", "max", l.Max())
	})
	if !l.shedding.CompareAndSwap(false, true) {
		return
	}
	defer l.shedding.Store(false)
	shed := 0
	for _, c := range s.set.Snapshot(nil) {
		if shed >= shedBatch {
			break
		}
		if st := c.state.Load(); st == stateIdle || st == stateDormant {
			c.closeIfIdle()
			shed++
		}
	}
}
