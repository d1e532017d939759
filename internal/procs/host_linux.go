package procs

import (
	"os"
	"syscall"
	"time"
)

// readHost measures the process's CPU (getrusage) and the host's idle CPU
// (idle and iowait of /proc/stat's cpu line).
func readHost() (Sample, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Sample{}, err
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Sample{}, err
	}
	idle, err := parseIdle(b)
	if err != nil {
		return Sample{}, err
	}
	return Sample{
		Process: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Idle:    idle,
	}, nil
}
