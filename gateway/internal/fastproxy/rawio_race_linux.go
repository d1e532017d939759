//go:build race

package fastproxy

import "syscall"

// sysRead is syscall.Read, which tells the race detector what the kernel
// wrote into p (the raw call of rawio_sys_linux.go would hide it).
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return n, errnoOf(err)
}

// sysWrite is syscall.Write, which tells the race detector what the kernel
// read from p.
func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	return n, errnoOf(err)
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return err.(syscall.Errno) //nolint:errorlint,forcetypeassert // syscall.Read and Write return an Errno
}
