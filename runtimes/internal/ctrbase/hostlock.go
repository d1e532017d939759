package ctrbase

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// hostLockPath is the file whose flock serialises the changes Portico
// processes make to the host's iptables rules: each checks for a rule and then
// adds it, and two runtimes starting at once (in one process or two) would
// otherwise both add it. iptables -w serialises single commands only.
var hostLockPath = "/run/portico-iptables.lock"

// hostMu serialises this process's changes where the file cannot be locked.
var hostMu sync.Mutex

// lockHost takes the host-wide lock on Portico's iptables changes and returns
// its release. Without the lock file (no right to create it) it serialises
// this process's changes alone.
func lockHost() (unlock func()) {
	hostMu.Lock()
	f, err := os.OpenFile(hostLockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return hostMu.Unlock
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		_ = f.Close()
		return hostMu.Unlock
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		_ = f.Close()
		hostMu.Unlock()
	}
}
