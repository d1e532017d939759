package accesslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// Destination kinds.
const (
	kindStdout = "stdout"
	kindFile   = "file"
	kindSyslog = "syslog"
)

// Target is a parsed destination: stdout, a file (an absolute path or a
// file:// URL) or a syslog server (syslog://host:port, over UDP).
type Target struct {
	Kind string
	// Path is the file's absolute path; Addr the syslog server's host:port.
	Path, Addr string
}

// String returns the destination's canonical form (the writer's key).
func (t Target) String() string {
	switch t.Kind {
	case kindFile:
		return "file://" + t.Path
	case kindSyslog:
		return "syslog://" + t.Addr
	}
	return t.Kind
}

// ParseDestination parses a stage's destinationArn. CloudWatch Logs and
// Firehose ARNs are refused with the forms Portico writes to.
func ParseDestination(dest string) (Target, error) {
	const forms = `use "stdout", an absolute file path, a file:///path URL or syslog://host:port`
	switch {
	case dest == "":
		return Target{}, fmt.Errorf("access log destination is empty: %s", forms)
	case dest == "stdout":
		return Target{Kind: kindStdout}, nil
	case strings.HasPrefix(dest, "arn:"):
		return Target{}, fmt.Errorf("access log destination %q: Portico does not write to CloudWatch Logs or Firehose: %s", dest, forms)
	case strings.HasPrefix(dest, "/"):
		return fileTarget(dest, dest)
	}
	u, err := url.Parse(dest)
	if err != nil {
		return Target{}, fmt.Errorf("access log destination %q: %w; %s", dest, err, forms)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" || !strings.HasPrefix(u.Path, "/") {
			return Target{}, fmt.Errorf("access log destination %q: a file URL names an absolute local path (file:///var/log/portico/dev.log)", dest)
		}
		return fileTarget(dest, u.Path)
	case "syslog":
		if u.User != nil {
			// Syslog over UDP has no credentials: refused rather than
			// dropped, and the message leaves the password out.
			return Target{}, fmt.Errorf("access log destination %q: syslog carries no user or password: use syslog://host:port", u.Redacted())
		}
		_, port, err := net.SplitHostPort(u.Host)
		if err != nil || port == "" || u.Path != "" && u.Path != "/" {
			return Target{}, fmt.Errorf("access log destination %q: a syslog destination is syslog://host:port", dest)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("access log destination %q: port %s is not a port number (1-65535)", dest, port)
		}
		return Target{Kind: kindSyslog, Addr: u.Host}, nil
	}
	return Target{}, fmt.Errorf("access log destination %q: %s", dest, forms)
}

// fileTarget is the file destination dest names at path, refused when the
// path holds a control character (a NUL no file name can hold, a newline):
// no file could be opened there, and the metric label would carry it.
func fileTarget(dest, path string) (Target, error) {
	if i := strings.IndexFunc(path, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return Target{}, fmt.Errorf("access log destination %q: the path holds the control character %q at byte %d: name a file without one", dest, path[i], i)
	}
	return Target{Kind: kindFile, Path: filepath.Clean(path)}, nil
}

// CheckDestination parses dest (ParseDestination) and, for a file, refuses
// one outside dirs (Dirs.Check; nil dirs: any directory, for tests) or one the
// gateway could never write on this machine: a directory (or a path ending in
// /), or a path under a file. A file that does not exist yet is fine: it is
// created, with its directories, at the first line.
func CheckDestination(dest string, dirs *Dirs) (Target, error) {
	t, err := ParseDestination(dest)
	if err != nil || t.Kind != kindFile {
		return t, err
	}
	if dirs != nil {
		if err := dirs.Check(t.Path); err != nil {
			return Target{}, err
		}
	}
	if strings.HasSuffix(dest, "/") {
		return Target{}, fmt.Errorf("access log destination %q names a directory: name a file in it (%s)", dest, filepath.Join(t.Path, "access.log"))
	}
	if fi, err := os.Stat(t.Path); err == nil && fi.IsDir() {
		return Target{}, fmt.Errorf("access log destination %q is a directory: name a file in it (%s)", dest, filepath.Join(t.Path, "access.log"))
	} else if err == nil && !fi.Mode().IsRegular() {
		return Target{}, errNotRegular(dest, fi)
	}
	for dir := filepath.Dir(t.Path); ; dir = filepath.Dir(dir) {
		if fi, err := os.Stat(dir); err == nil {
			if !fi.IsDir() {
				return Target{}, fmt.Errorf("access log destination %q: %s is a file, not a directory: name a path in a directory", dest, dir)
			}
			break
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	return t, nil
}

// errNotRegular refuses a file destination that exists and is not a regular
// file: a FIFO nobody reads, a device or a socket can block the writer (and
// so a stop) for good.
func errNotRegular(dest string, fi os.FileInfo) error {
	return fmt.Errorf("access log destination %q is not a regular file (%s): name a regular file, or use stdout or syslog://", dest, fileKind(fi.Mode()))
}

// fileKind names a non-regular file's kind.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.Type().String()
}

// ReopenCheck is how often at most a file sink checks that its path still
// names the file it has open: after a rotation (the file renamed, as
// logrotate does by default, or removed) the next line goes to a new file at
// the path.
const ReopenCheck = time.Second

// sink writes lines to one destination from its own goroutine, through a
// bounded queue: a request never waits for it; a line that finds the queue full
// is dropped and counted. A request that will put a line holds the sink
// (acquire, release): a retired sink, one no stage uses any more, writes the
// lines of the requests that still hold it, closes its destination and stops.
// Safe for concurrent use.
type sink struct {
	target Target
	dirs   *Dirs // where a file may be (nil: anywhere)
	log    *slog.Logger
	now    func() time.Time
	queue  chan *[]byte
	// queued is the bytes of the lines in queue, at most maxQueued.
	queued    atomic.Int64
	maxQueued int64
	stdout    io.Writer
	dropped   atomic.Int64
	failed    atomic.Int64
	// state counts the requests holding the sink, with the flags retired and
	// exited.
	state  atomic.Int64
	wake   chan struct{}
	syncs  chan chan struct{}
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	onDrop func()
	onFail func()
	// onExit, when set, is called when the writer stops, before done is
	// closed.
	onExit func()
	// writing is set while the writer writes a line (opening the
	// destination included): a line a stop gives up on.
	writing atomic.Bool
	// torn is set when a failed write left part of a line in the
	// destination: the next line starts with a newline, so that it is not
	// glued to the fragment. Only the writer uses it.
	torn bool
	// fullWarned says the lines dropped for a full data directory were
	// logged (dropFull), once per spell. Only the writer uses it.
	fullWarned bool
}

// Flags of sink.state, above the count of holders.
const (
	sinkRetired = int64(1) << 62
	sinkExited  = int64(1) << 61
	sinkHolders = sinkExited - 1
)

func newSink(t Target, dirs *Dirs, size, bytes int, stdout io.Writer, log *slog.Logger, now func() time.Time, onDrop, onFail, onExit func()) *sink {
	s := &sink{target: t, dirs: dirs, log: log, now: now, queue: make(chan *[]byte, size), maxQueued: int64(bytes), stdout: stdout, wake: make(chan struct{}, 1),
		syncs: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{}), onDrop: onDrop, onFail: onFail, onExit: onExit}
	go s.run()
	return s
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// acquire holds the sink for a request that will put a line; false when it
// has stopped (retired, and its last holder gone).
func (s *sink) acquire() bool {
	for {
		v := s.state.Load()
		if v&sinkExited != 0 {
			return false
		}
		if s.state.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// release lets go of a sink acquire held.
func (s *sink) release() {
	if v := s.state.Add(-1); v&sinkRetired != 0 && v&sinkHolders == 0 {
		s.poke()
	}
}

// retire marks the sink unused: it stops once the lines of the requests
// holding it are written.
func (s *sink) retire() {
	for {
		v := s.state.Load()
		if v&sinkRetired != 0 || s.state.CompareAndSwap(v, v|sinkRetired) {
			break
		}
	}
	s.poke()
}

func (s *sink) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// put queues a line (ending in '\n'); the sink owns it afterwards. A line
// that finds the queue full, in lines or in bytes, is dropped and counted.
func (s *sink) put(line *[]byte) {
	n := int64(len(*line))
	if s.queued.Add(n) <= s.maxQueued {
		select {
		case s.queue <- line:
			return
		default:
		}
	}
	s.queued.Add(-n)
	s.dropped.Add(1)
	if s.onDrop != nil {
		s.onDrop()
	}
	release(line)
}

// take accounts for a line taken off the queue.
func (s *sink) take(line *[]byte) *[]byte {
	s.queued.Add(-int64(len(*line)))
	return line
}

// maxPooled is the largest buffer kept for reuse: a long line's is let go.
const maxPooled = 64 << 10

// release returns a line's buffer to the pool.
func release(line *[]byte) {
	if cap(*line) > maxPooled {
		return
	}
	*line = (*line)[:0]
	bufPool.Put(line)
}

// close stops the writer once it wrote what is queued, waiting for it until
// ctx is done; then it counts the lines not written as failed (a destination
// that blocks, a hung NFS file, does not hold a stop up) and returns how many.
// Lines put later stay in the queue unwritten (the queue is never closed, so a
// late put is safe).
func (s *sink) close(ctx context.Context) int {
	s.once.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		return 0
	case <-ctx.Done():
	}
	lost := len(s.queue)
	if s.writing.Load() {
		lost++
	}
	s.failed.Add(int64(lost))
	if s.onFail != nil {
		for range lost {
			s.onFail()
		}
	}
	return lost
}

// sync returns once the lines queued before it are written (tests).
func (s *sink) sync() {
	c := make(chan struct{})
	select {
	case s.syncs <- c:
		<-c
	case <-s.done:
	}
}

// output is a sink's open destination.
type output struct {
	w      io.Writer
	closer io.Closer
	// file is the file's identity when it was opened, and checked when its
	// path was last compared with it (file destinations).
	file    os.FileInfo
	checked time.Time
}

func (o *output) close() {
	if o.closer != nil {
		_ = o.closer.Close()
	}
	*o = output{}
}

func (s *sink) run() {
	defer close(s.done)
	if s.onExit != nil {
		defer s.onExit()
	}
	var out output
	defer out.close()
	for {
		var line *[]byte
		select {
		case line = <-s.queue:
			s.take(line)
		case c := <-s.syncs:
			for drained := false; !drained; {
				select {
				case l := <-s.queue:
					s.write(&out, s.take(l))
				default:
					drained = true
				}
			}
			close(c)
			continue
		case <-s.wake:
			if s.exit() {
				return
			}
			continue
		case <-s.stop:
			select {
			case line = <-s.queue:
				s.take(line)
			default:
				return
			}
		}
		s.write(&out, line)
		if s.state.Load()&sinkRetired != 0 && s.exit() {
			return
		}
	}
}

// exit reports whether a retired sink may stop: nothing queued and no
// request holding it (every line of the requests that held it is queued
// before they let go), after which acquire fails.
func (s *sink) exit() bool {
	return len(s.queue) == 0 && s.state.CompareAndSwap(sinkRetired, sinkRetired|sinkExited)
}

// write writes one line, opening the destination (again) as needed.
func (s *sink) write(out *output, line *[]byte) {
	s.writing.Store(true)
	defer s.writing.Store(false)
	defer release(line)
	if s.target.Kind == kindFile && s.dirs.dataDirFull(s.target.Path) {
		s.dropFull()
		return
	}
	s.fullWarned = false
	if out.w != nil && out.file != nil {
		s.checkRotated(out)
	}
	if out.w == nil {
		o, err := s.open()
		if err != nil {
			s.fail(err)
			return
		}
		*out = o
		if o.file != nil && o.file.Size() == 0 {
			s.torn = false // a new file: no fragment to end
		}
	}
	if s.torn {
		if _, err := out.w.Write(newline); err != nil {
			s.fail(err)
			out.close()
			return
		}
		s.torn = false
	}
	if n, err := out.w.Write(*line); err != nil {
		if n > 0 && !unwrite(out, n) {
			s.torn = true
		}
		s.fail(err)
		out.close()
	}
}

var newline = []byte{'\n'}

// unwrite takes the n bytes a failed write left at the end of a file
// destination back out (a full disk took part of the line), so that a line
// is in the file whole or not at all; false when it cannot (not a file, or
// the truncation failed).
func unwrite(out *output, n int) bool {
	f, ok := out.closer.(*os.File)
	if !ok || out.file == nil {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Size() < int64(n) {
		return false
	}
	return f.Truncate(st.Size()-int64(n)) == nil
}

// checkRotated closes a file whose path no longer names it (renamed or
// removed by a log rotation), at most once per ReopenCheck, so that the next
// line opens the file now at the path.
func (s *sink) checkRotated(out *output) {
	now := s.now()
	if now.Sub(out.checked) < ReopenCheck {
		return
	}
	out.checked = now
	if fi, err := os.Stat(s.target.Path); err != nil || !os.SameFile(fi, out.file) {
		out.close()
	}
}

// fail counts a line that could not be written and logs the first failure and
// every 1000th after it.
func (s *sink) fail(err error) {
	n := s.failed.Add(1)
	if s.onFail != nil {
		s.onFail()
	}
	if n == 1 || n%1000 == 0 {
		s.log.Warn("access log destination is failing; lines are dropped", "destination", s.target.String(), "failed", n, "err", err)
	}
}

// dropFull counts a line dropped because the data directory's disk is full
// (Dirs.DataDirFull) as a failed one, and logs it once per such spell.
func (s *sink) dropFull() {
	n := s.failed.Add(1)
	if s.onFail != nil {
		s.onFail()
	}
	if !s.fullWarned {
		s.fullWarned = true
		s.log.Warn("access log lines not written while the data directory's disk is full: the room left is kept for deletes; "+
			"lines are dropped until there is room again", "destination", s.target.String(), "failed", n)
	}
}

// checkDirs checks a file destination against the allowed directories.
func (s *sink) checkDirs() error {
	if s.dirs == nil {
		return nil
	}
	return s.dirs.Check(s.target.Path)
}

func (s *sink) open() (output, error) {
	switch s.target.Kind {
	case kindStdout:
		return output{w: s.stdout}, nil
	case kindFile:
		// The directories are checked at each open, not only where the
		// destination was set: a symbolic link may have appeared since, and
		// a destination an older build stored was never checked.
		if err := s.checkDirs(); err != nil {
			return output{}, err
		}
		if err := s.dirs.MkdirFor(s.target.Path); err != nil {
			return output{}, err
		}
		// Non-blocking, so that opening a FIFO with no reader fails rather
		// than waits; a file that is not a regular one is not written
		// (CheckDestination refuses it, but it may have appeared since).
		// O_NOFOLLOW: a symbolic link put at the path after the check is
		// not followed.
		f, err := os.OpenFile(s.target.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0o640) //nolint:gosec // a path Dirs allows
		if err != nil {
			return output{}, err
		}
		fi, err := f.Stat()
		if err == nil && !fi.Mode().IsRegular() {
			err = errNotRegular(s.target.String(), fi)
		}
		if err == nil {
			// A directory on the path swapped for a link between the
			// check and the open: the file opened must be the one the
			// path names once checked again.
			err = s.checkDirs()
			if pfi, serr := os.Stat(s.target.Path); err == nil && (serr != nil || !os.SameFile(fi, pfi)) {
				err = fmt.Errorf("access log destination %s changed while it was opened", s.target.String())
			}
		}
		if err != nil {
			_ = f.Close()
			return output{}, err
		}
		return output{w: f, closer: f, file: fi, checked: s.now()}, nil
	case kindSyslog:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, "udp", s.target.Addr)
		if err != nil {
			return output{}, err
		}
		return output{w: &syslogWriter{c: c}, closer: c}, nil
	}
	return output{}, errors.New("unknown destination kind")
}

// MaxSyslogMessage is the most bytes of one syslog message (its RFC 5424
// header included): 65,507, the most a UDP datagram over IPv4 carries. A
// longer line is cut to fit, as MaxLine cuts, rather than lost whole to a
// write that fails.
const MaxSyslogMessage = 65507

// syslogWriter frames each line as an RFC 5424 message (facility local0,
// severity info, app-name portico) in one datagram, cut to MaxSyslogMessage
// bytes at a character boundary.
type syslogWriter struct {
	c   net.Conn
	buf []byte
}

func (w *syslogWriter) Write(line []byte) (int, error) {
	host, _ := os.Hostname()
	if host == "" {
		host = "-"
	}
	w.buf = append(w.buf[:0], "<134>1 "...)
	w.buf = time.Now().UTC().AppendFormat(w.buf, time.RFC3339Nano)
	w.buf = append(w.buf, ' ')
	w.buf = append(w.buf, host...)
	w.buf = append(w.buf, " portico - access - "...)
	n := len(w.buf)
	w.buf = append(w.buf, bytes.TrimRight(line, "\n")...)
	if len(w.buf) > MaxSyslogMessage {
		end := MaxSyslogMessage
		for end > n && !utf8.RuneStart(w.buf[end]) {
			end--
		}
		w.buf = w.buf[:end]
	}
	if _, err := w.c.Write(w.buf); err != nil {
		return 0, err
	}
	return len(line), nil
}
