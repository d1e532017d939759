// Package connset keeps a server's listeners and connections for its Serve,
// Shutdown and Close: the bookkeeping internal/h1 and internal/h2 share.
package connset

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/fx"
)

// Module provides nothing: servers embed a Set.
var Module = fx.Module("connset")

// Set is a server's listeners and connections. The zero value is ready; safe
// for concurrent use.
type Set[C comparable] struct {
	stopping atomic.Bool

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[C]struct{}
	drained   chan struct{} // closed when conns empties after Stop
}

// Serve accepts connections on ln and hands each to accepted, which
// registers it (Add) and serves it, until the set stops (then it returns
// http.ErrServerClosed) or ln fails. Accept errors worth retrying (a timeout,
// a full file table) are retried after a growing pause, as net/http does.
// accepted returns false when the set stopped: the connection is closed and
// Serve returns. Serve closes ln on return.
func (s *Set[C]) Serve(ln net.Listener, log *slog.Logger, accepted func(net.Conn) bool) error {
	if !s.track(&ln, true) {
		_ = ln.Close()
		return http.ErrServerClosed
	}
	defer s.track(&ln, false)
	defer func() { _ = ln.Close() }()
	var delay time.Duration
	for {
		rwc, err := ln.Accept()
		if err != nil {
			if s.stopping.Load() {
				return http.ErrServerClosed
			}
			if temporaryAcceptError(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !accepted(rwc) {
			_ = rwc.Close()
			return http.ErrServerClosed
		}
	}
}

// temporaryAcceptError reports an accept error worth retrying: a timeout or a
// full file table.
func temporaryAcceptError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// track adds or removes a listener; false when the set stopped.
func (s *Set[C]) track(ln *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.listeners, ln)
		return true
	}
	if s.stopping.Load() {
		return false
	}
	if s.listeners == nil {
		s.listeners = map[*net.Listener]struct{}{}
	}
	s.listeners[ln] = struct{}{}
	return true
}

// Add registers a connection; false once the set stopped.
func (s *Set[C]) Add(c C) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = map[C]struct{}{}
	}
	s.conns[c] = struct{}{}
	return true
}

// Forget removes a connection (closed, or no longer the server's).
func (s *Set[C]) Forget(c C) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if len(s.conns) == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
}

// Snapshot appends the connections in the set to dst and returns it.
func (s *Set[C]) Snapshot(dst []C) []C {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		dst = append(dst, c)
	}
	return dst
}

// ListenerConns are the connections one of a server's listeners holds now. A
// connection is Dormant when it has waited idle long enough to give back its
// goroutine and buffers; it wakes when its client sends again.
type ListenerConns struct {
	Listener string `json:"listener"`
	Addr     string `json:"addr"`
	Open     int    `json:"open"`
	Dormant  int    `json:"dormant"`
}

// Len returns how many connections the set holds.
func (s *Set[C]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Count returns how many of the set's connections f holds true for, without
// copying the set (f runs with the set locked: it must not call the set).
func (s *Set[C]) Count(f func(C) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if f(c) {
			n++
		}
	}
	return n
}

// Stopping reports whether Stop was called.
func (s *Set[C]) Stopping() bool { return s.stopping.Load() }

// Stop stops the set: its listeners close and Add refuses from now on. It
// returns the connections registered, and a channel closed once every one of
// them is forgotten (nil when there is none).
func (s *Set[C]) Stop() ([]C, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping.Store(true)
	for ln := range s.listeners {
		_ = (*ln).Close()
	}
	if len(s.conns) == 0 {
		return nil, nil
	}
	if s.drained == nil {
		s.drained = make(chan struct{})
	}
	conns := make([]C, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns, s.drained
}
