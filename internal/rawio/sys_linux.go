//go:build linux && !race

package rawio

import (
	"syscall"
	"unsafe"
)

// Read is read(2) without the scheduler's system-call hand-off; p is not
// empty.
func Read(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p))) //nolint:gosec // G103: read(2) into the caller's buffer
	return int(n), errno
}

// Write is write(2) without the scheduler's system-call hand-off; p is not
// empty.
func Write(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p))) //nolint:gosec // G103: write(2) from the caller's buffer
	return int(n), errno
}
