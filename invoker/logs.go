package invoker

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
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
	subs map[chan []byte]struct{}
}

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
	for ch := range fl.subs {
		select {
		case ch <- append([]byte(nil), p...):
		default: // a slow follower misses output rather than slowing sandboxes
		}
	}
}

// Read returns up to the last n bytes of fn's log (n <= 0: all that is kept).
func (l *Logs) Read(fn string, n int) ([]byte, error) {
	fl := l.get(fn)
	fl.mu.Lock()
	defer fl.mu.Unlock()
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
