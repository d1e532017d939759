//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system, all threads, so the garbage
// collector's included) this process has used, as node's process.cpuUsage
// reports its own.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
