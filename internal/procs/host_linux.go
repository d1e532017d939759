package procs

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// readHost measures the process's CPU (getrusage) and the host's idle CPU
// (idle and iowait in /proc/stat) on the CPUs the process may run on (its
// affinity: a container's cpuset), or on all of them when that is unknown.
func readHost() (Sample, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Sample{}, err
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Sample{}, err
	}
	var mine func(int) bool
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() > 0 {
		mine = set.IsSet
	}
	idle, err := parseIdle(b, mine)
	if err != nil {
		return Sample{}, err
	}
	return Sample{
		Process: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Idle:    idle,
	}, nil
}
