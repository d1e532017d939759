package ctrbase

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// LogSync carries a container's output from its streams (Stream) to its Logs
// reader, and implements runtimes.LogSyncer for the container's sandbox.
//
// A container's output reaches Portico through a daemon (the shim's copy, then
// dockerd's attach or containerd's FIFOs), with nothing to say when what the
// process wrote before a given moment has all arrived. So Sync writes a marker,
// random and unique to the sandbox, into the container process's own stdout and
// stderr pipes (through /proc/<pid>/fd/1 and 2, once Attach named the process):
// it travels behind everything written before it. The streams drop the
// markers; one counts as delivered once the reader of Logs has come back for
// more after every byte before it, as the process runtime's SyncLogs counts.
//
// The runtime calls Attach once for every sandbox, with pid 0 when it could
// not learn the process: Sync waits for it first.
//
// Safe for concurrent use; Read by one goroutine at a time.
type LogSync struct {
	token    []byte
	attached chan struct{} // closed by Attach
	once     sync.Once

	mu   sync.Mutex
	cond *sync.Cond
	q    []logChunk // output and markers, in the order they arrived
	size int        // bytes in q
	done bool       // no more output: Read ends at the end of q
	err  error      // what Read returns then (nil: io.EOF)

	sent, delivered uint64 // markers written, markers the reader has passed

	pid  int
	inos [2]uint64 // the pipe inodes of the process's fd 1 and 2
}

// logChunk is output, or a marker (data nil).
type logChunk struct {
	data   []byte
	marker bool
}

// logQueueMax bounds the output queued for the reader: past it the streams
// wait, as a pipe's writer does, so a container whose output is not read
// blocks on its writes instead of growing Portico's memory.
const logQueueMax = 1 << 20

// NewLogSync returns a LogSync with a fresh marker.
func NewLogSync() *LogSync {
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	// The marker's first byte occurs nowhere else in it, which lets a stream
	// match it one byte at a time with no backtracking.
	tok := append([]byte("\x00portico-logsync-"), hex.EncodeToString(raw[:])...)
	l := &LogSync{token: append(tok, '\n'), attached: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// Stream returns a writer for one of the container's output streams. Close it
// when the stream ends (it hands over a partial marker match as output).
func (l *LogSync) Stream() io.WriteCloser { return &logStream{l: l} }

// CloseWithError ends the output: Read returns what is queued, then err (nil:
// io.EOF). Streams' writes fail from then on.
func (l *LogSync) CloseWithError(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.done, l.err = true, err
	}
	l.cond.Broadcast()
}

// Read implements io.Reader: the container's output, without the markers.
func (l *LogSync) Read(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		// The reader is back: markers at the head have every byte before
		// them handled.
		for len(l.q) > 0 && l.q[0].marker {
			l.q = l.q[1:]
			l.delivered++
			l.cond.Broadcast()
		}
		if len(l.q) > 0 {
			c := &l.q[0]
			n := copy(b, c.data)
			if c.data = c.data[n:]; len(c.data) == 0 {
				l.q = l.q[1:]
			}
			l.size -= n
			l.cond.Broadcast()
			return n, nil
		}
		if l.done {
			if l.err != nil {
				return 0, l.err
			}
			return 0, io.EOF
		}
		l.cond.Wait()
	}
}

// push queues output, then a marker if marker is set.
func (l *LogSync) push(data []byte, marker bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.size > logQueueMax && !l.done {
		l.cond.Wait()
	}
	if l.done {
		return io.ErrClosedPipe
	}
	if len(data) > 0 {
		l.q = append(l.q, logChunk{data: data})
		l.size += len(data)
	}
	if marker {
		l.q = append(l.q, logChunk{marker: true})
	}
	l.cond.Broadcast()
	return nil
}

// Attach names the container's process (its pid as seen from this host's
// /proc), whose output pipes Sync writes its markers to. id is the
// container's id: a process whose cgroup does not name it (another pid
// namespace than the daemon's, or a pid already reused) is not attached, and
// Sync then does not wait.
func (l *LogSync) Attach(pid int, id string) {
	defer l.once.Do(func() { close(l.attached) })
	if pid <= 0 || id == "" {
		return
	}
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil || !strings.Contains(string(cg), id) {
		return
	}
	var inos [2]uint64
	for i := range inos {
		var st syscall.Stat_t
		if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/fd/"+strconv.Itoa(i+1), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
			return
		}
		inos[i] = st.Ino
	}
	l.mu.Lock()
	l.pid, l.inos = pid, inos
	l.mu.Unlock()
}

// Sync implements runtimes.LogSyncer's SyncLogs: it waits until the output
// the container wrote before the call has been read from Logs, or ctx ends.
// It returns at once when the process is not attached, has exited, or its
// pipes are full (its output is not being read).
func (l *LogSync) Sync(ctx context.Context) {
	select {
	case <-l.attached:
	case <-ctx.Done():
		return
	}
	l.mu.Lock()
	pid, inos, done := l.pid, l.inos, l.done
	l.mu.Unlock()
	if pid == 0 || done {
		return
	}
	n := uint64(0)
	for i, ino := range inos {
		if i == 1 && ino == inos[0] {
			break // stdout and stderr share a pipe: one marker covers both
		}
		if l.mark(pid, i+1, ino) {
			n++
		}
	}
	if n == 0 {
		return
	}
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent += n
	target := l.sent
	for l.delivered < target && !l.done && ctx.Err() == nil {
		l.cond.Wait()
	}
	if l.delivered < target && ctx.Err() != nil {
		// A marker lost on its way (the process's pipe gone with it) must
		// not hold every later Sync: count from what has arrived.
		l.sent = l.delivered
	}
}

// mark writes the marker to the process's file descriptor fd, if it is still
// the pipe with inode ino; it reports whether the marker went in whole.
func (l *LogSync) mark(pid, fd int, ino uint64) bool {
	f, err := os.OpenFile("/proc/"+strconv.Itoa(pid)+"/fd/"+strconv.Itoa(fd), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || st.Ino != ino || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return false
	}
	// Shorter than PIPE_BUF: written whole or not at all.
	k, err := syscall.Write(int(f.Fd()), l.token)
	return err == nil && k == len(l.token)
}

// logStream is one output stream: it passes output on and turns markers into
// queue entries, matching them across writes.
type logStream struct {
	l       *LogSync
	mu      sync.Mutex // a stream's copier may still write when it is closed
	matched int        // bytes of the marker matched at the end of the last write
}

func (s *logStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.l.token
	out := make([]byte, 0, len(p)+s.matched)
	for _, c := range p {
		if c == tok[s.matched] {
			if s.matched++; s.matched == len(tok) {
				s.matched = 0
				if err := s.l.push(out, true); err != nil {
					return 0, err
				}
				out = make([]byte, 0, len(p))
			}
			continue
		}
		if s.matched > 0 {
			// Not a marker after all: what matched was output.
			out = append(out, tok[:s.matched]...)
			s.matched = 0
			if c == tok[0] {
				s.matched = 1
				continue
			}
		}
		out = append(out, c)
	}
	if err := s.l.push(out, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close hands over a partial marker match as output.
func (s *logStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.matched == 0 {
		return nil
	}
	m := s.matched
	s.matched = 0
	return s.l.push(append([]byte(nil), s.l.token[:m]...), false)
}
