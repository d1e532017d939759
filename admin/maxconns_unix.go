//go:build unix

package admin

import "syscall"

// MaxConns is how many connections the admin API holds open at once: a
// sixteenth of the process's file descriptor limit (RLIMIT_NOFILE), at least
// 64 and at most 1,024 (64 where the limit cannot be read). One past it is
// closed as soon as it is accepted, unanswered, after idle keep-alive
// connections are closed to make room for the clients that connect again,
// as at the gateway's bound (docs/operations.md, "Connection floods").
func MaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 64
	}
	return int(min(max(rl.Cur/16, 64), 1024))
}
