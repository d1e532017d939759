package invoker

import "golang.org/x/sys/unix"

// hostMemoryMB returns the host's total memory in MB, or 0 when unknown.
func hostMemoryMB() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit) >> 20
}
