//go:build linux && race

package rawio

import "syscall"

// Read is syscall.Read, which tells the race detector what the kernel
// wrote into p (the raw call of sys_linux.go would hide it).
func Read(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return n, errnoOf(err)
}

// Write is syscall.Write, which tells the race detector what the kernel
// read from p.
func Write(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	return n, errnoOf(err)
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return err.(syscall.Errno) //nolint:errorlint,forcetypeassert // syscall.Read and Write return an Errno
}
