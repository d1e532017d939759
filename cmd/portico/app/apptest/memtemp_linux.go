package apptest

import (
	"os"

	"golang.org/x/sys/unix"
)

// memTempRoom is the room /dev/shm must have for TempDirInMemory to use it:
// the tests' data directories hold the samples' unpacked code, some megabytes
// a function.
const memTempRoom = 4 << 30

// TempDirInMemory points TMPDIR, and so os.TempDir, t.TempDir and the data
// directories Start makes, at a new directory under /dev/shm when that is a
// tmpfs with 4 GiB free that allows executables, and returns a function that
// removes the directory. It changes nothing (and the function does nothing)
// when TMPDIR is already set or /dev/shm does not qualify. Call it from
// TestMain before m.Run: the store's bbolt file syncs every commit
// (fdatasync), which on a loaded disk makes a test of hundreds of writes
// wait seconds on the disk; on tmpfs the sync is free, and the files are
// still real files a killed server leaves as they were.
func TempDirInMemory() func() {
	if os.Getenv("TMPDIR") != "" {
		return func() {}
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC ||
		st.Flags&unix.ST_NOEXEC != 0 || st.Flags&unix.ST_RDONLY != 0 || st.Bavail*uint64(st.Bsize) < memTempRoom { //nolint:gosec // G115: a block size is positive
		return func() {}
	}
	dir, err := os.MkdirTemp("/dev/shm", "portico-test-")
	if err != nil {
		return func() {}
	}
	if err := os.Setenv("TMPDIR", dir); err != nil {
		_ = os.RemoveAll(dir)
		return func() {}
	}
	return func() {
		_ = os.Unsetenv("TMPDIR")
		_ = os.RemoveAll(dir)
	}
}
