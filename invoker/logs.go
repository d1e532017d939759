package invoker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

// Logs keeps each function's log: sandbox output framed by START, END and REPORT
// lines, in a file under the data directory that is rotated at half the configured
// size (the previous half kept as NAME.log.1). Safe for concurrent use.
type Logs struct {
	dir   string
	limit int64
	// run names this Logs in its cursors (ReadSince): a cursor of another
	// run of the server is not a place in this one's logs.
	run string

	// log and clock serve the WARN that says a function's log output is not
	// being written (writeFailed); lost counts the bytes not written.
	log   *slog.Logger
	clock Clock
	lost  atomic.Int64

	// full, when set, says the data directory's store refuses writes that
	// add (store.Store.Full: its full-disk reserve is released, or there was
	// no room to make it): output is then dropped, not written, so that the
	// room freed for deletes stays theirs. fullWarned says the drop was
	// logged, once per such spell.
	full       func() bool
	fullWarned atomic.Bool

	mu   sync.Mutex
	logs map[string]*fnLog
}

// logWarnEvery is how often one function log's write failures are logged
// (a full disk fails every flush).
const logWarnEvery = time.Minute

type fnLog struct {
	l     *Logs
	fn    string
	path  string
	limit int64

	mu   sync.Mutex
	f    *os.File
	size int64
	// oldSize is the size of the rotated half (path.1) when f was opened;
	// checked is when the path was last checked to still name f
	// (checkRotated).
	oldSize int64
	checked time.Time
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
	// torn is set when a failed write left the file's last line cut short:
	// the next write starts a new line, so that what follows (a START line)
	// is not glued to the fragment.
	torn bool
	// dropped is how much of the log rotation dropped in this run: the
	// place (ReadSince) of the first byte kept.
	dropped int64
	// failing says the last flush failed; warned is when that was last
	// logged (writeFailed).
	failing bool
	warned  time.Time
}

// maxFollowBuffer bounds what waits for one follower (Follow) that reads more
// slowly than the function writes: past it, the oldest waiting output is
// dropped for that follower (the newest is what a tail -f reader wants), and
// it is told how much, rather than memory growing without bound or sandboxes
// slowing down.
const maxFollowBuffer = 1 << 20

// follower is one Follow: output waiting for its reader, at most
// maxFollowBuffer bytes (the newest), and how much older output was dropped
// since it last read.
type follower struct {
	mu      sync.Mutex
	buf     []byte
	skipped int
	// open says the output handed out last did not end a line: a marker of
	// skipped output then starts on a line of its own.
	open bool
	wake chan struct{} // capacity 1: output is waiting
}

// add queues p for the follower, dropping the oldest waiting output when the
// follower is too far behind (counted as skipped), and then the rest of the
// line the cut lands in, when a whole line follows, so that what is kept
// starts a line. It never blocks.
func (f *follower) add(p []byte) {
	f.mu.Lock()
	over := len(f.buf) + len(p) - maxFollowBuffer
	switch {
	case over <= 0:
		f.buf = append(f.buf, p...)
	case over >= len(f.buf): // all that waited, and p's start
		cut := over - len(f.buf)
		last := byte('\n') // the last byte dropped
		if cut > 0 {
			last = p[cut-1]
		} else if len(f.buf) > 0 {
			last = f.buf[len(f.buf)-1]
		}
		f.buf = append(f.buf[:0], p[cut:]...)
		f.dropped(over, last)
	default:
		last := f.buf[over-1]
		n := copy(f.buf, f.buf[over:])
		f.buf = append(f.buf[:n], p...)
		f.dropped(over, last)
	}
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// dropped counts n bytes dropped from the front of the buffer, the last of
// them last, and drops the rest of the line the cut landed in when a whole
// line follows it. Called with f.mu held.
func (f *follower) dropped(n int, last byte) {
	f.skipped += n
	if last == '\n' {
		return
	}
	if i := bytes.IndexByte(f.buf, '\n'); i >= 0 && i < len(f.buf)-1 {
		k := copy(f.buf, f.buf[i+1:])
		f.buf = f.buf[:k]
		f.skipped += i + 1
	}
}

// take returns what is waiting, after a line that says how much was skipped
// before it, if any was.
func (f *follower) take() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, skipped := f.buf, f.skipped
	f.buf, f.skipped = nil, 0
	if skipped > 0 {
		marker := fmt.Sprintf("[portico: %d bytes of log output skipped here: this reader fell behind]\n", skipped)
		if f.open {
			marker = "\n" + marker
		}
		b = append([]byte(marker), b...)
	}
	if len(b) > 0 {
		f.open = b[len(b)-1] != '\n'
	}
	return b
}

// logFlushDelay bounds how long written log output waits for the file;
// logFlushSize is the most that waits.
const (
	logFlushDelay = 20 * time.Millisecond
	logFlushSize  = 64 << 10
)

// newLogs keeps function logs under dir, each at most limit bytes (its two
// halves); log and clk serve the WARN that says output is not being written.
func newLogs(dir string, limit int64, log *slog.Logger, clk Clock) *Logs {
	_ = os.MkdirAll(dir, 0o750)
	run := make([]byte, 6)
	_, _ = rand.Read(run)
	return &Logs{dir: dir, limit: limit, run: hex.EncodeToString(run), log: log, clock: clk, logs: map[string]*fnLog{}}
}

// Lost is how many bytes of function log output could not be written to the
// files since the server started (a full disk, say): followers and
// invocations' tails got them, the files did not.
func (l *Logs) Lost() int64 { return l.lost.Load() }

func (l *Logs) get(fn string) *fnLog {
	l.mu.Lock()
	defer l.mu.Unlock()
	fl := l.logs[fn]
	if fl == nil {
		fl = &fnLog{l: l, fn: fn, path: filepath.Join(l.dir, fn+".log"), limit: l.limit / 2, subs: map[*follower]struct{}{}}
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
	if fl.l.storeFull(len(p)) {
		fl.failing = true // "function log written again" when it ends
		return
	}
	if fl.f != nil {
		fl.checkRotated()
	}
	if fl.f == nil && !fl.open(len(p)) {
		return
	}
	if fl.size+int64(len(p)) > fl.limit && fl.size > 0 {
		var old int64
		if st, err := os.Stat(fl.path + ".1"); err == nil {
			old = st.Size()
		}
		_ = fl.f.Close()
		fl.f = nil
		if err := os.Rename(fl.path, fl.path+".1"); err != nil {
			// The current half is kept as it is (not truncated): the next
			// flush tries the rotation again.
			fl.writeFailed(len(p), err)
			return
		}
		fl.dropped += old
		fl.torn = false // the fragment is in the rotated half
		if !fl.open(len(p)) {
			return
		}
	}
	if fl.torn && fl.size > 0 {
		n, err := fl.f.Write(newline)
		fl.size += int64(n)
		if err != nil {
			fl.writeFailed(len(p), err)
			return
		}
	}
	fl.torn = false
	n, err := fl.f.Write(p)
	fl.size += int64(n)
	if err != nil {
		fl.torn = n > 0 && p[n-1] != '\n'
		fl.writeFailed(len(p)-n, err)
		return
	}
	if fl.failing {
		fl.failing = false
		fl.l.log.Info("function log written again", "function", fl.fn, "path", fl.path)
	}
}

// storeFull reports whether output is dropped because the store is full
// (Logs.full), counting the n bytes as lost and saying so, once per spell of
// the full state.
func (l *Logs) storeFull(n int) bool {
	if l.full == nil || !l.full() {
		l.fullWarned.Store(false)
		return false
	}
	l.lost.Add(int64(n))
	if !l.fullWarned.Swap(true) {
		l.log.Warn("function log output not written while the data directory's disk is full: the room left is kept for deletes; "+
			"output still reaches log tails and followers, not the log files, until there is room again; "+
			"free space on the disk (old logs/*.log.1 files may go first)",
			"dir", l.dir, "lostBytes", l.lost.Load())
	}
	return true
}

// open opens the log file for appending, and says whether it did (a failure
// counts the n bytes pending as not written). Appending, after a rotation too:
// a file truncated from outside (logrotate's copytruncate) is written at its
// end, not at the old offset past a run of NULs, and what another writer
// appended is not overwritten.
func (fl *fnLog) open(n int) bool {
	f, err := os.OpenFile(fl.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fl.writeFailed(n, err)
		return false
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	fl.f, fl.size = f, size
	fl.oldSize, _ = fileSize(fl.path + ".1")
	fl.checked = fl.l.clock.Now()
	return true
}

// LogReopenCheck is how often at most a function log checks that its path
// still names the file it has open, as an access log file does: after an
// outside rotation (logrotate renaming FUNCTION.log, or removing it) the
// next output goes to a new file at the path, not to the renamed one.
const LogReopenCheck = time.Second

// checkRotated reopens the log file when its path no longer names the file
// open (renamed or removed from outside), at most once per LogReopenCheck.
// The places of ReadSince's cursors go on from where they were: what the
// outside rotation took counts as dropped.
func (fl *fnLog) checkRotated() {
	now := fl.l.clock.Now()
	if now.Sub(fl.checked) < LogReopenCheck {
		return
	}
	fl.checked = now
	st, err := os.Stat(fl.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return // unknown: keep writing where the output goes now
	}
	if err == nil {
		if cur, err := fl.f.Stat(); err != nil || os.SameFile(st, cur) {
			return
		}
	}
	end := fl.dropped + fl.oldSize + fl.size
	_ = fl.f.Close()
	fl.f = nil
	if !fl.open(0) {
		return
	}
	fl.dropped = max(end-fl.oldSize-fl.size, 0)
	fl.torn = false // the fragment is in the renamed file
	fl.l.log.Info("function log reopened: its file was renamed or removed (log rotation)", "function", fl.fn, "path", fl.path)
}

// writeFailed counts n bytes of output that did not reach the log file, for
// err, and says so in the server's log: once when writes start failing, then
// at most every logWarnEvery for this function, never with the output itself.
func (fl *fnLog) writeFailed(n int, err error) {
	fl.l.lost.Add(int64(n))
	now := fl.l.clock.Now()
	if fl.failing && now.Sub(fl.warned) < logWarnEvery {
		return
	}
	fl.failing, fl.warned = true, now
	fl.l.log.Warn("function log output not written: it still reaches log tails and followers, but not the log file; "+
		"free space on the data directory's disk, or check its permissions",
		"function", fl.fn, "path", fl.path, "err", err, "lostBytes", fl.l.lost.Load())
}

// Read returns up to the last n bytes of fn's log (n < 0: all that is kept;
// 0: nothing).
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
	if n >= 0 && len(out) > n {
		out, _ = fromLineStart(out[len(out)-n-1:])
	}
	return out, nil
}

// fromLineStart is b, a read that begins one byte before the place it was
// cut at, from its first whole line on, and the number of bytes that drops
// (the byte before the cut included): a cut by bytes lands mid-line, and a
// reader (portico logs, the console) would print a line's end as if it were
// a line. When no line begins after the cut (it lands in the last line,
// longer than was asked for), that line's end is kept.
func fromLineStart(b []byte) ([]byte, int) {
	if len(b) == 0 {
		return b, 0
	}
	if b[0] == '\n' {
		return b[1:], 1
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 || i == len(b)-1 {
		return b[1:], 1
	}
	return b[i+1:], i + 1
}

// LogChunk is what ReadSince read of a function's log.
type LogChunk struct {
	// Data is the log's output after the cursor asked for (or its end).
	Data []byte
	// Cursor is the place after Data, for the next ReadSince.
	Cursor string
	// Skipped is how much output written after the cursor asked for Data
	// leaves out: rotated away before it was read, or more than was asked
	// for (its last bytes are read).
	Skipped int64
	// Reset says that the cursor asked for was not a place in this log (it
	// is of an earlier run of the server, or the log was removed): Data is
	// the log's end, as without a cursor.
	Reset bool
}

// ReadSince returns what was written to fn's log after cursor (a Cursor of an
// earlier LogChunk; "": up to the last n bytes, as Read), at most its last n
// bytes (n < 0: all that is kept; 0: nothing, the cursor only), and the
// cursor after it. A cursor that does
// not parse is errdefs.ErrInvalid; one of another run of the server, or past the log's
// end, gives the log's end with Reset set.
func (l *Logs) ReadSince(fn, cursor string, n int) (LogChunk, error) {
	var from int64 = -1
	if cursor != "" {
		run, off, ok := strings.Cut(cursor, ".")
		v, err := strconv.ParseInt(off, 10, 64)
		if !ok || err != nil || v < 0 || run == "" {
			return LogChunk{}, fmt.Errorf("log cursor %q is not one that a read of the log returned: %w", truncateCursor(cursor), errdefs.ErrInvalid)
		}
		if run == l.run {
			from = v
		}
	}
	fl := l.get(fn)
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.flushLocked()
	old, err := fileSize(fl.path + ".1")
	if err != nil {
		return LogChunk{}, err
	}
	cur, err := fileSize(fl.path)
	if err != nil {
		return LogChunk{}, err
	}
	start := fl.dropped
	end := start + old + cur
	var c LogChunk
	if from > end || (cursor != "" && from < 0) {
		c.Reset, from = true, -1
	}
	at := from
	if at < start {
		at = start
	}
	if n >= 0 && end-at > int64(n) {
		at = end - int64(n)
	}
	// Cut short of the cursor (or, without one, of the log's start): the
	// read begins a byte early, and the chunk at the next whole line.
	cut := at > start && at > from
	if cut {
		at--
	}
	if at-start < old {
		b, err := readRange(fl.path+".1", at-start, old)
		if err != nil {
			return LogChunk{}, err
		}
		c.Data = b
	}
	b, err := readRange(fl.path, max(at-start-old, 0), cur)
	if err != nil {
		return LogChunk{}, err
	}
	c.Data = append(c.Data, b...)
	if cut {
		var dropped int
		c.Data, dropped = fromLineStart(c.Data)
		at += int64(dropped)
	}
	if from >= 0 {
		c.Skipped = at - from
	}
	c.Cursor = l.run + "." + strconv.FormatInt(end, 10)
	return c, nil
}

// truncateCursor keeps an error's quote of a cursor short.
func truncateCursor(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// fileSize is the size of the file at path, 0 when there is none.
func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// readRange reads the file at path from offset from to offset to (its size
// when it was measured: the caller holds the log's lock, so nothing is
// appended meanwhile).
func readRange(path string, from, to int64) ([]byte, error) {
	if from >= to {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	b := make([]byte, to-from)
	k, err := f.ReadAt(b, from)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:k], nil
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
