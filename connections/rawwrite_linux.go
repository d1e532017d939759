//go:build linux && !race

package connections

import (
	"syscall"
	"unsafe"
)

// sysWrite is write(2) without the scheduler's system-call hand-off (as
// internal/h1's raw I/O): on loopback a write also runs the receiver's TCP
// input and wakes it, often long enough for sysmon to take the P and hand it
// to another thread. The socket is non-blocking, so the call never waits. p is
// not empty.
func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p))) //nolint:gosec // G103: write(2) from the caller's buffer
	return int(n), errno
}
