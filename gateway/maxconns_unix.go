//go:build unix

package gateway

import "syscall"

// DefaultMaxConns is Config.MaxConns's default: the process's file
// descriptor limit (RLIMIT_NOFILE) less a reserve of an eighth of it, at
// least 1024, for everything else (the admin API, the Runtime API and the
// sandboxes' endpoints, the store, logs, backend connections), and never less
// than half the limit; 0 (no bound) when the limit is unknown or unlimited.
func DefaultMaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 || rl.Cur > 1<<30 {
		return 0
	}
	nofile := int(rl.Cur)
	return max(nofile-max(1024, nofile/8), nofile/2)
}
