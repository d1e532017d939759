package rawio

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Unsent returns how many bytes a TCP socket still holds to send or to have
// acknowledged (SIOCOUTQ), without the scheduler's system-call hand-off (the
// ioctl never blocks). ok is false when the socket cannot say.
func Unsent(fd uintptr) (n int, ok bool) {
	var v int32
	_, _, errno := syscall.RawSyscall(syscall.SYS_IOCTL, fd, unix.SIOCOUTQ, uintptr(unsafe.Pointer(&v))) //nolint:gosec // G103: ioctl(2) into a local
	return int(v), errno == 0
}
