//go:build unix

package main

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// processAlive reports whether process pid runs on this host (signal 0
// checks without sending; EPERM means it exists under another user). A
// zombie, a process that ended and that its parent has not yet reaped
// (/proc/PID/stat's state Z, where there is a /proc), runs no more: signal 0
// still finds it.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && errors.Is(err, syscall.ESRCH) {
		return false
	}
	return !zombie(pid)
}

// zombie reports whether /proc says process pid has ended (state Z, or X:
// dead). Without /proc (not Linux) it says no.
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, so the
	// state follows the last ')'.
	k := bytes.LastIndexByte(b, ')')
	if k < 0 || k+2 >= len(b) {
		return false
	}
	s := b[k+2]
	return s == 'Z' || s == 'X'
}
