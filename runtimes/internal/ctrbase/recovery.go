package ctrbase

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

// Sweeper is a container runtime's record of the containers a daemon outage
// left behind (their removal failed for want of the daemon), and the watcher
// that removes them as soon as the daemon answers again. It counts outages
// too (its epoch), for what a runtime made before one and must not trust
// after it.
//
// Set the exported fields, then use the methods; the fields must not change
// after. Safe for concurrent use.
type Sweeper struct {
	// Daemon names the daemon in logs ("containerd", "the Docker daemon").
	Daemon string
	// Attrs are the daemon's address as log attributes ("socket", path).
	Attrs []any
	// Log receives the watcher's progress.
	Log *slog.Logger
	// Ping reports whether the daemon answers; it is called with a limit of
	// 2 s, at most every second while the daemon is away.
	Ping func(ctx context.Context) error
	// Remove removes one container noted lost, given what was noted with it.
	// What is already gone is not an error. An error wrapping
	// errdefs.ErrUnavailable says the daemon went away again: the container
	// stays noted and the next return of the daemon tries again.
	Remove func(ctx context.Context, id, note string) error
	// More, when set, returns more containers to remove on each sweep (the
	// instance's exited ones, say), noted with "".
	More func(ctx context.Context) []string
	// After, when set, runs at the end of a sweep through which the daemon
	// answered, for what the outage can have left that no container
	// records (a containerd shim whose task delete was cut off).
	After func(ctx context.Context)
	// Timeout bounds a sweep.
	Timeout time.Duration
	// OnOutage, when set, is called when a watch starts: the first failure
	// of an outage.
	OnOutage func()

	mu       sync.Mutex
	epoch    uint64            // watches started: outages noticed
	lost     map[string]string // container id -> note
	watching bool              // a watcher waits for the daemon to return
	closed   bool
	stop     chan struct{}  // closed by Close: the watcher gives up
	wg       sync.WaitGroup // the watcher, until its sweep ends
}

// Epoch returns the number of outages noticed so far.
func (s *Sweeper) Epoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// Note remembers containers to remove once the daemon answers again, each
// with note (a network namespace's path, say); empty ids are skipped. It does
// not start a watch: Watch does.
func (s *Sweeper) Note(note string, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.lost == nil {
		s.lost = map[string]string{}
	}
	for _, id := range ids {
		if id != "" {
			s.lost[id] = note
		}
	}
}

// Watch starts waiting for the daemon to answer again, then sweeps, unless a
// watch is on or the Sweeper is closed. It reports whether it started one,
// a new outage: the epoch has moved on and OnOutage has run.
func (s *Sweeper) Watch() bool {
	s.mu.Lock()
	if s.watching || s.closed {
		s.mu.Unlock()
		return false
	}
	s.watching = true
	s.epoch++
	if s.stop == nil {
		s.stop = make(chan struct{})
	}
	stop := s.stop
	s.wg.Add(1)
	s.mu.Unlock()
	if s.OnOutage != nil {
		s.OnOutage()
	}
	go s.watch(stop)
	return true
}

// Close stops the watcher, and waits for a sweep in progress to end (it
// stops between containers).
func (s *Sweeper) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		if s.stop != nil {
			close(s.stop)
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// watch pings the daemon, a little less often each time (up to once a
// second), until it answers, then sweeps.
func (s *Sweeper) watch(stop chan struct{}) {
	defer s.wg.Done()
	wait := 100 * time.Millisecond
	for {
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := s.Ping(ctx)
		cancel()
		if err == nil {
			break
		}
		wait = min(2*wait, time.Second)
	}
	s.Log.Info(s.Daemon+" answers again", s.Attrs...)
	s.mu.Lock()
	s.watching = false
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), s.Timeout)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	s.sweep(ctx)
}

// sweep removes the containers noted lost and those More returns. One that
// cannot be removed for want of the daemon stays noted, and the next return
// of the daemon tries again.
func (s *Sweeper) sweep(ctx context.Context) {
	s.mu.Lock()
	todo := make(map[string]string, len(s.lost))
	for id, note := range s.lost {
		todo[id] = note
	}
	s.mu.Unlock()
	if s.More != nil {
		for _, id := range s.More(ctx) {
			if _, ok := todo[id]; !ok {
				todo[id] = ""
			}
		}
	}
	removed := 0
	for id, note := range todo {
		if ctx.Err() != nil {
			return // closed: the next Cleanup removes the rest
		}
		if err := s.Remove(ctx, id, note); err != nil {
			if errors.Is(err, errdefs.ErrUnavailable) {
				s.Watch() // gone again: the next return sweeps
				return
			}
			s.Log.Warn("removing a container left by an outage of "+s.Daemon, "container", id, "err", err)
			continue // still noted: the next sweep tries again
		}
		removed++
		s.mu.Lock()
		delete(s.lost, id)
		s.mu.Unlock()
	}
	if removed > 0 {
		s.Log.Info("removed containers left by an outage of "+s.Daemon, "containers", removed)
	}
	if s.After != nil && ctx.Err() == nil {
		s.After(ctx)
	}
}
