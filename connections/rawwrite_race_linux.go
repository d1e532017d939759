//go:build linux && race

package connections

import "syscall"

// sysWrite is syscall.Write under the race detector, which then knows what the
// kernel read from p (the raw call of rawwrite_linux.go would hide it).
func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	if err != nil {
		return n, err.(syscall.Errno) //nolint:errorlint,forcetypeassert // syscall.Write returns an Errno
	}
	return n, 0
}
