package rawio

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EpollWait collects the ready events of the epoll instance epfd without
// waiting (epoll_pwait(2) with a zero timeout), as a raw call: it never
// blocks, so it does not tell the scheduler that the goroutine enters a
// system call (Conn says why that matters). Callers wait for epfd through
// the network poller (os.NewFile on the non-blocking descriptor).
func EpollWait(epfd int, events []unix.EpollEvent) (int, syscall.Errno) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), //nolint:gosec // G103: epoll_pwait(2) fills the caller's events
		uintptr(len(events)), 0, 0, 0)
	return int(n), errno
}

// EpollCtl is epoll_ctl(2) as a raw call (it does not block).
func EpollCtl(epfd, op, fd int, ev *unix.EpollEvent) syscall.Errno {
	_, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0) //nolint:gosec // G103: epoll_ctl(2) reads the caller's event
	return errno
}
