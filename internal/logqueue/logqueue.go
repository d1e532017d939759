// Package logqueue puts a bounded queue in front of the server log's output
// (stderr), so that a request that logs never waits for whatever reads it: a
// reader that stops reading (a paused pager, a log driver whose remote is
// down, a stuck journald pipe) fills the queue, and the lines that find it
// full are dropped and counted; once the output takes lines again, a warning
// says how many were lost.
package logqueue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
)

// DefaultMax is the queue's bound in bytes.
const DefaultMax = 1 << 20

// Writer is an io.Writer whose writes are queued and written to out by a
// goroutine of its own. Each Write is kept whole or dropped whole (slog's
// handlers write a record in one Write). Safe for concurrent use.
type Writer struct {
	out  io.Writer
	max  int
	note *slog.Logger // the drop warning, written to out by the writer

	mu      sync.Mutex
	buf     []byte
	lost    int64 // dropped since the last warning
	closing bool
	dropped atomic.Int64

	wake chan struct{}
	done chan struct{}
}

// New returns a Writer in front of out whose queue holds max bytes
// (DefaultMax when max <= 0), and starts its writer.
func New(out io.Writer, max int) *Writer {
	if max <= 0 {
		max = DefaultMax
	}
	w := &Writer{out: out, max: max, note: slog.New(slog.NewTextHandler(out, nil)),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// Write queues p; it never blocks on out. When the queue cannot take p (it
// is full, or the Writer closed), p is dropped and counted.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closing || len(w.buf)+len(p) > w.max {
		w.lost++
		w.mu.Unlock()
		w.dropped.Add(1)
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

var newline = []byte{'\n'}

// Dropped returns how many writes were dropped so far: those the queue could
// not take, and the lines an output that failed did not take.
func (w *Writer) Dropped() int64 { return w.dropped.Load() }

func (w *Writer) run() {
	defer close(w.done)
	var spare []byte
	for {
		w.mu.Lock()
		batch, lost, closing := w.buf, w.lost, w.closing
		w.buf, w.lost = spare[:0], 0
		w.mu.Unlock()
		if len(batch) > 0 {
			if _, err := w.out.Write(batch); err != nil {
				// The output is gone (EPIPE: its reader exited) or failing:
				// the batch's lines are dropped and counted, with no retry
				// and no warning, which would go the same way.
				w.dropped.Add(int64(max(bytes.Count(batch, newline), 1)))
				lost = 0
			}
		}
		if lost > 0 {
			w.note.Warn(fmt.Sprintf("server log: %d lines were dropped because its output (stderr) did not take them; whatever reads it blocked", lost),
				"dropped", lost)
		}
		spare = batch
		if cap(spare) > 2*w.max {
			spare = nil // a queue that grew past its bound once is let go
		}
		if closing && len(batch) == 0 && lost == 0 {
			return
		}
		if len(batch) == 0 && lost == 0 {
			<-w.wake
		}
	}
}

// Close writes what is queued and stops the writer, waiting for it until ctx
// is done (an output that blocks does not hold the exit up). Writes after
// Close are dropped.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
