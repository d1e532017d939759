package ctrbase

import (
	"golang.org/x/sys/unix"

	"github.com/portico-dev/portico/runtimes"
)

// ExitErr turns a container's exit status, as the engine reports it, into what
// runtimes.Sandbox.Err says: nil for 0, else an *runtimes.ExitError.
//
// An engine learns no more than a status. It reports a death by signal N as
// 128+N, as a shell does (SIGKILL, and the kernel's out-of-memory kill with
// it, is 137), so a status from 129 to 192 is reported as that signal, in the
// words Lambda uses for it ("signal: killed"). A process that itself exits with
// such a status cannot be told apart and reads the same.
func ExitErr(code int64) error {
	switch {
	case code == 0:
		return nil
	case code > 128 && code <= 128+64:
		return Killed(unix.Signal(code - 128))
	default:
		return &runtimes.ExitError{Code: int(code)}
	}
}

// Killed is the exit of a container killed by sig: what Err says of one
// removed before its exit was seen (sig SIGKILL), too.
func Killed(sig unix.Signal) *runtimes.ExitError {
	return runtimes.SignalExit(sig, unix.SignalName(sig))
}
