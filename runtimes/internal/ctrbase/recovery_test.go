package ctrbase

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

// fakeDaemon is a daemon that answers or not, and records removals.
type fakeDaemon struct {
	mu      sync.Mutex
	up      bool
	removed map[string]string // id -> note
	flaky   map[string]int    // id -> removals that fail for want of the daemon
	swept   chan struct{}     // a removal happened
}

func (d *fakeDaemon) set(up bool) { d.mu.Lock(); d.up = up; d.mu.Unlock() }

func (d *fakeDaemon) sweeper() *Sweeper {
	return &Sweeper{
		Daemon: "the fake daemon", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeout: time.Minute,
		Ping: func(context.Context) error {
			d.mu.Lock()
			defer d.mu.Unlock()
			if !d.up {
				return errdefs.ErrUnavailable
			}
			return nil
		},
		Remove: func(_ context.Context, id, note string) error {
			d.mu.Lock()
			defer d.mu.Unlock()
			defer func() { d.swept <- struct{}{} }()
			if d.flaky[id] > 0 {
				d.flaky[id]--
				d.up = false // it went away again
				return errdefs.ErrUnavailable
			}
			d.removed[id] = note
			return nil
		},
		More: func(context.Context) []string { return []string{"exited"} },
	}
}

// TestSweeper: containers noted during an outage are removed, with what More
// adds, once the daemon answers; one whose removal finds the daemon gone again
// is removed after the next return; epochs count the outages; After runs once,
// at the end of the sweep that the daemon answered through, after every
// removal.
func TestSweeper(t *testing.T) {
	d := &fakeDaemon{removed: map[string]string{}, flaky: map[string]int{"b": 1}, swept: make(chan struct{}, 16)}
	s := d.sweeper()
	defer s.Close()
	var outages atomic.Int32
	s.OnOutage = func() { outages.Add(1) }
	afters := make(chan int, 4)
	s.After = func(context.Context) {
		d.mu.Lock()
		defer d.mu.Unlock()
		afters <- len(d.removed)
	}
	s.Note("ns-a", "a")
	s.Note("", "b", "")
	if !s.Watch() || s.Watch() {
		t.Fatal("Watch: the first call starts the watch, the second does not")
	}
	d.set(true)
	for {
		<-d.swept
		d.mu.Lock()
		n := len(d.removed)
		d.mu.Unlock()
		if n == 3 {
			break
		}
		d.set(true) // back again after "b" found it gone
	}
	want := map[string]string{"a": "ns-a", "b": "", "exited": ""}
	for id, note := range want {
		if got, ok := d.removed[id]; !ok || got != note {
			t.Errorf("container %q: removed %v with note %q, want note %q", id, ok, got, note)
		}
	}
	if s.Epoch() != 2 || outages.Load() != 2 {
		t.Errorf("epoch %d, OnOutage ran %d times; want 2 outages", s.Epoch(), outages.Load())
	}
	if n := <-afters; n != 3 {
		t.Errorf("After ran with %d containers removed, want all 3", n)
	}
	s.Close() // the watcher has ended: no After is still to come
	if len(afters) != 0 {
		t.Errorf("After ran %d more times: the sweep the daemon left part-way ran it", len(afters))
	}
}

// TestSweeperClose: Close stops a watch that waits, and nothing is noted or
// watched after it.
func TestSweeperClose(t *testing.T) {
	d := &fakeDaemon{removed: map[string]string{}, swept: make(chan struct{}, 16)}
	s := d.sweeper()
	s.Note("", "a")
	s.Watch()
	s.Close() // returns: the watcher gave up
	if s.Watch() {
		t.Error("Watch started a watch after Close")
	}
	d.set(true)
	if len(d.removed) != 0 {
		t.Errorf("removed %v after Close", d.removed)
	}
}
