package invoker

import (
	"context"
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
	subs      map[chan []byte]struct{}
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
		fl = &fnLog{path: filepath.Join(l.dir, fn+".log"), limit: l.limit / 2, subs: map[chan []byte]struct{}{}}
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

func (fl *fnLog) write(p []byte) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.pending = append(fl.pending, p...)
	for ch := range fl.subs {
		select {
		case ch <- append([]byte(nil), p...):
		default: // a slow follower misses output rather than slowing sandboxes
		}
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
// channel is closed then.
func (l *Logs) Follow(ctx context.Context, fn string) <-chan []byte {
	fl := l.get(fn)
	ch := make(chan []byte, 256)
	fl.mu.Lock()
	fl.subs[ch] = struct{}{}
	fl.mu.Unlock()
	go func() {
		<-ctx.Done()
		fl.mu.Lock()
		delete(fl.subs, ch)
		fl.mu.Unlock()
		close(ch)
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
