//go:build linux

package idlepoll

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/rawio"
	"golang.org/x/sys/unix"
)

// Poller is the process's epoll instance for idle sockets.
type Poller struct {
	epfd   int
	file   *os.File // epfd as a file, held so that no finalizer closes it
	polled bool     // the network poller watches file (loop)

	mu      sync.Mutex
	waiters map[uint64]*Waiter
	next    uint64
}

var (
	sharedOnce sync.Once
	shared     *Poller
	errShared  error
)

// Shared returns the process's poller, started on first use.
func Shared() (*Poller, error) {
	sharedOnce.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			errShared = fmt.Errorf("epoll_create1: %w", err)
			return
		}
		shared = &Poller{epfd: fd, waiters: map[uint64]*Waiter{}}
		if unix.SetNonblock(fd, true) == nil {
			// A descriptor the network poller cannot watch has no deadlines.
			shared.file = os.NewFile(uintptr(fd), "idlepoll-epoll")
			shared.polled = shared.file.SetReadDeadline(time.Time{}) == nil
		}
		go shared.loop()
	})
	return shared, errShared
}

const events = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// Add registers the socket raw reaches, whose readiness ready is to hear of,
// without arming it: Arm does.
func (p *Poller) Add(raw syscall.RawConn, ready func()) *Waiter {
	w := &Waiter{p: p, raw: raw, ready: ready}
	p.mu.Lock()
	p.next++
	w.token = p.next
	p.waiters[w.token] = w
	p.mu.Unlock()
	return w
}

// Arm arms the socket once: ready runs, on a new goroutine, when it next has
// bytes, hangs up or fails. The socket is not armed again until the next Arm.
// An error means the socket is not watched (closed, say); the caller still
// Removes it.
func (w *Waiter) Arm() error {
	w.p.mu.Lock()
	tok := w.token
	w.p.mu.Unlock()
	if tok == 0 {
		return errRemoved
	}
	// Marked added before the call: the readiness it arms can run ready,
	// and ready Arm again, before the call returns.
	if w.added.CompareAndSwap(false, true) {
		err := w.p.ctl(w.raw, unix.EPOLL_CTL_ADD, tok)
		if err != nil {
			w.added.Store(false)
		}
		return err
	}
	return w.p.ctl(w.raw, unix.EPOLL_CTL_MOD, tok)
}

var errRemoved = errors.New("idlepoll: waiter removed")

// Remove takes the socket off the poller (before it closes): its ready will
// not run for a readiness that comes after. Safe from any goroutine, and more
// than once.
func (w *Waiter) Remove() {
	p := w.p
	p.mu.Lock()
	tok := w.token
	if tok != 0 {
		delete(p.waiters, tok)
		w.token = 0
	}
	p.mu.Unlock()
	if tok != 0 {
		_ = p.ctl(w.raw, unix.EPOLL_CTL_DEL, tok)
	}
}

func (p *Poller) ctl(raw syscall.RawConn, op int, tok uint64) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(uint32(tok)), Pad: int32(uint32(tok >> 32))}
	var cerr error
	err := raw.Control(func(fd uintptr) {
		if errno := rawio.EpollCtl(p.epfd, op, int(fd), &ev); errno != 0 {
			cerr = errno
		}
	})
	if err != nil {
		return err
	}
	return cerr
}

// loop runs the goroutines of ready sockets. Between events it is a goroutine
// parked in the Go runtime's network poller, which watches the epoll
// descriptor (an epoll instance can be watched by another), and collects the
// events with a raw epoll_pwait(2) that does not wait. A thread blocked in
// epoll_wait instead has its P taken back by sysmon when it leaves work queued,
// the goroutine it starts then waits for another thread, and each return from
// the call wakes sysmon from its deep sleep into 20 µs polling: 10,000 wake-ups
// a second at a few thousand messages a second (docs/performance.md, session
// 16). Where the runtime cannot watch the descriptor, loop blocks in epoll_wait.
func (p *Poller) loop() {
	evs := make([]unix.EpollEvent, 256)
	var rc syscall.RawConn
	if p.polled {
		rc, _ = p.file.SyscallConn()
	}
	for rc != nil {
		var n int
		var errno syscall.Errno
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, errno = rawio.EpollWait(int(fd), evs)
				if errno != unix.EINTR {
					return errno != 0 || n > 0
				}
			}
		})
		if err != nil {
			break // not pollable after all: wait in epoll_wait
		}
		if errno != 0 {
			panic(fmt.Sprintf("idlepoll: epoll_pwait: %v", errno)) // only on a broken epoll descriptor
		}
		p.dispatch(evs[:n])
	}
	for {
		n, err := unix.EpollWait(p.epfd, evs, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			panic(fmt.Sprintf("idlepoll: epoll_wait: %v", err)) // only on a broken epoll descriptor
		}
		p.dispatch(evs[:n])
	}
}

// dispatch starts the ready function of each socket with an event.
func (p *Poller) dispatch(evs []unix.EpollEvent) {
	for i := range evs {
		tok := uint64(uint32(evs[i].Fd)) | uint64(uint32(evs[i].Pad))<<32
		p.mu.Lock()
		w := p.waiters[tok]
		p.mu.Unlock()
		if w != nil {
			go w.ready()
		}
	}
}
