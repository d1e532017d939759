package invoker

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Logs keeps each function's log: sandbox output framed by START, END and REPORT
// lines, in a file under the data directory that is rotated at half the configured
// size (the previous half kept as NAME.log.1). Safe for concurrent use.
type Logs struct {
	dir   string
	limit int64

	mu   sync.Mutex
	logs map[string]*fnLog
}

type fnLog struct {
	path  string
	limit int64

	mu   sync.Mutex
	f    *os.File
	size int64
	// pending is what was written and not yet flushed to the file: START,
	// END and REPORT lines and sandbox output reach the file in batches, not
	// in a write system call each on the invocation's path. Read and close
	// flush first; otherwise a flush runs logFlushDelay after the first
	// pending write, or at once past logFlushSize.
	pending   []byte
	scheduled bool
	subs      map[*follower]struct{}
	// midLine is set when what was written last does not end in a newline.
	midLine bool
}

// maxFollowBuffer bounds what waits for one follower (Follow) that reads more
// slowly than the function writes: past it, output is skipped for that
// follower, and it is told how much, rather than memory growing without bound
// or sandboxes slowing down.
const maxFollowBuffer = 1 << 20

// follower is one Follow: output waiting for its reader, at most
// maxFollowBuffer bytes, and how much was skipped since it last read.
type follower struct {
	mu      sync.Mutex
	buf     []byte
	skipped int
	wake    chan struct{} // capacity 1: output is waiting
}

// add queues p for the follower, or counts it skipped when the follower is
// too far behind. It never blocks.
func (f *follower) add(p []byte) {
	f.mu.Lock()
	if len(f.buf)+len(p) > maxFollowBuffer {
		f.skipped += len(p)
	} else {
		f.buf = append(f.buf, p...)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// take returns what is waiting, with a line that says how much was skipped
// first, if any was.
func (f *follower) take() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, skipped := f.buf, f.skipped
	f.buf, f.skipped = nil, 0
	if skipped > 0 {
		b = append(b, fmt.Sprintf("[portico: %d bytes of log output skipped here: this reader fell behind]\n", skipped)...)
	}
	return b
}

// logFlushDelay bounds how long written log output waits for the file;
// logFlushSize is the most that waits.
const (
	logFlushDelay = 20 * time.Millisecond
	logFlushSize  = 64 << 10
)

func newLogs(dir string, limit int64) *Logs {
	_ = os.MkdirAll(dir, 0o750)
	return &Logs{dir: dir, limit: limit, logs: map[string]*fnLog{}}
}

func (l *Logs) get(fn string) *fnLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	fl := l.logs[fn]
	if fl == nil {
		fl = &fnLog{path: filepath.Join(l.dir, fn+".log"), limit: l.limit / 2, subs: map[*follower]struct{}{}}
		l.logs[fn] = fl
	}
	return fl
}

func (l *Logs) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, fl := range l.logs {
		fl.mu.Lock()
		fl.flushLocked()
		if fl.f != nil {
			_ = fl.f.Close()
			fl.f = nil
		}
		fl.mu.Unlock()
	}
}

// newline starts a line after output that did not end one.
var newline = []byte{'\n'}

// write appends p, a sandbox's output, as it is.
func (fl *fnLog) write(p []byte) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.writeLocked(p)
}

// writeFrame appends Portico's own lines (START, END and REPORT, a timeout's
// or an exit's note), each ending in a newline, on lines of their own: after
// a newline when the output so far does not end in one.
func (fl *fnLog) writeFrame(p []byte) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.midLine {
		fl.writeLocked(newline)
	}
	fl.writeLocked(p)
}

func (fl *fnLog) writeLocked(p []byte) {
	if len(p) == 0 {
		return
	}
	fl.midLine = p[len(p)-1] != '\n'
	fl.pending = append(fl.pending, p...)
	for f := range fl.subs {
		f.add(p) // a slow follower misses output rather than slowing sandboxes
	}
	switch {
	case len(fl.pending) >= logFlushSize:
		fl.flushLocked()
	case !fl.scheduled:
		fl.scheduled = true
		time.AfterFunc(logFlushDelay, fl.flush)
	}
}

// flush writes what is pending to the file.
func (fl *fnLog) flush() {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.scheduled = false
	fl.flushLocked()
}

// flushLocked appends what is pending to the file, rotating it first when it
// would outgrow its half of the limit.
func (fl *fnLog) flushLocked() {
	p := fl.pending
	if len(p) == 0 {
		return
	}
	fl.pending = fl.pending[:0]
	if cap(fl.pending) > logFlushSize {
		fl.pending = nil // a burst's buffer is not kept
	}
	if fl.f == nil {
		f, err := os.OpenFile(fl.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return
		}
		st, _ := f.Stat()
		fl.f, fl.size = f, st.Size()
	}
	if fl.size+int64(len(p)) > fl.limit && fl.size > 0 {
		_ = fl.f.Close()
		_ = os.Rename(fl.path, fl.path+".1")
		f, err := os.OpenFile(fl.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			fl.f = nil
			return
		}
		fl.f, fl.size = f, 0
	}
	n, _ := fl.f.Write(p)
	fl.size += int64(n)
}

// Read returns up to the last n bytes of fn's log (n <= 0: all that is kept).
func (l *Logs) Read(fn string, n int) ([]byte, error) {
	fl := l.get(fn)
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.flushLocked()
	var out []byte
	for _, p := range []string{fl.path + ".1", fl.path} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		out = append(out, b...)
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out, nil
}

// Follow streams what is written to fn's log from now on until ctx ends; the
// channel is closed then. Each value is all the output that waited since the
// last one. A reader that falls more than maxFollowBuffer behind misses output,
// and a line in the stream says how much.
func (l *Logs) Follow(ctx context.Context, fn string) <-chan []byte {
	fl := l.get(fn)
	ch := make(chan []byte)
	f := &follower{wake: make(chan struct{}, 1)}
	fl.mu.Lock()
	fl.subs[f] = struct{}{}
	fl.mu.Unlock()
	go func() {
		defer close(ch)
		defer func() {
			fl.mu.Lock()
			delete(fl.subs, f)
			fl.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			}
			b := f.take()
			if len(b) == 0 {
				continue
			}
			select {
			case ch <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// WriteTo copies fn's whole kept log to w.
func (l *Logs) WriteTo(fn string, w io.Writer) error {
	b, err := l.Read(fn, 0)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
