// Package idlepoll tells the owners of idle sockets when their sockets have
// bytes, so that an idle connection need not keep a goroutine (and the buffers
// that goroutine holds) waiting for them. One epoll instance and one goroutine
// serve every socket of the process; each socket is armed one-shot, and its
// owner's ready function runs on a new goroutine when it is readable, hung up
// or failed. The owner reads what there is and arms it again when it wants to
// hear of more. WebSocket connections (package connections) and the HTTP/1.1
// server's dormant keep-alive connections (package h1) wait here
// (docs/performance.md).
package idlepoll

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/fx"
)

// Module provides nothing: the poller is the process's, started on first use.
var Module = fx.Module("idlepoll")

// ErrUnsupported is Shared's error where there is no epoll (not Linux).
var ErrUnsupported = errors.New("idlepoll: no epoll on this system")

// A Waiter is one socket's place in the poller, from Add to Remove.
type Waiter struct {
	p     *Poller
	raw   syscall.RawConn
	ready func()
	token uint64 // 0 once removed; guarded by p.mu
	// added: Arm has added the socket to the epoll set. Arm's callers order
	// their calls, through the kernel's readiness (which the race detector
	// cannot see): hence atomic.
	added atomic.Bool
}

// A Sweeper runs a server's sweep of its connections (which tells the idle
// ones to wait here) every period, on a goroutine of its own.
type Sweeper struct{ once sync.Once }

// Start starts the sweeps, once: when period is positive and the poller is
// there (Shared), sweep runs every period until done closes or it returns
// false.
func (sw *Sweeper) Start(period time.Duration, done <-chan struct{}, sweep func(now time.Time) (more bool)) {
	if period <= 0 {
		return
	}
	if _, err := Shared(); err != nil {
		return
	}
	sw.once.Do(func() {
		go func() {
			t := time.NewTicker(period)
			defer t.Stop()
			for {
				select {
				case now := <-t.C:
					if !sweep(now) {
						return
					}
				case <-done:
					return
				}
			}
		}()
	})
}
