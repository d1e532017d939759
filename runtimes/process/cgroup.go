package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Sandboxes in cgroups. A process group holds a sandbox's processes only while
// they stay in it: a handler that calls setsid (or double-forks into a new
// session) leaves it, and killing the group then leaves that process running.
// A cgroup holds every descendant whatever it does, so where the host lets
// Portico create cgroup v2 groups, each sandbox starts in its own (placed there
// by clone3 as the bootstrap is created, CLONE_INTO_CGROUP, so no process runs
// outside it even for a moment), is stopped with cgroup.kill, and its cgroup is
// removed when it has stopped. The groups go under Portico's own cgroup, in a
// "portico" directory: with Portico at the hierarchy's root (a container
// without a cgroup namespace, or a host service run by hand), that is
// /sys/fs/cgroup/portico. No controller is enabled (none is needed to kill or
// to list processes), so the "no internal processes" rule does not stand in
// the way of Portico itself staying where it is.
//
// Where Portico may not (not root, cgroup v1 only, a kernel before 5.14, which
// has no cgroup.kill), the process group is all there is: the runtime says so
// once in the log, and docs/runtimes.md says what that leaves open.

// cgroupKillTimeout bounds the wait for a killed cgroup to empty before it is
// removed.
const cgroupKillTimeout = 5 * time.Second

// cgroupParent returns the directory under which sandboxes' cgroups go, made
// if need be, or why there is none: the cgroup v2 hierarchy's mount point and
// Portico's own cgroup in it (/proc/self/mountinfo, /proc/self/cgroup), then a
// probe that a child cgroup can be made there, with cgroup.kill, and that its
// cgroup.procs is writable.
func cgroupParent() (string, error) {
	mount, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	own, err := ownCgroup()
	if err != nil {
		return "", err
	}
	parent := filepath.Join(mount, own, "portico")
	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) { //nolint:gosec // G301: a cgroup directory, as cgroupfs makes them
		return "", fmt.Errorf("make %s: %w", parent, err)
	}
	probe := filepath.Join(parent, "probe."+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(probe, 0o755); err != nil && !errors.Is(err, os.ErrExist) { //nolint:gosec // G301: as above
		return "", fmt.Errorf("make %s: %w", probe, err)
	}
	defer func() { _ = unix.Rmdir(probe) }()
	if _, err := os.Stat(filepath.Join(probe, "cgroup.kill")); err != nil {
		return "", fmt.Errorf("%s has no cgroup.kill (Linux 5.14 or later has): %w", probe, err)
	}
	if err := unix.Access(filepath.Join(probe, "cgroup.procs"), unix.W_OK); err != nil {
		return "", fmt.Errorf("%s/cgroup.procs is not writable: %w", probe, err)
	}
	return parent, nil
}

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted with its root
// (/sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified on a hybrid one).
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mount-point options [optional...] - fstype source super-options
		line := sc.Text()
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) >= 5 && len(qf) >= 1 && qf[0] == "cgroup2" && pf[3] == "/" {
			return pf[4], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no cgroup v2 hierarchy is mounted (cgroup v1 only)")
}

// ownCgroup returns Portico's cgroup in the v2 hierarchy ("0::/path").
func ownCgroup() (string, error) {
	raw, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			if strings.HasSuffix(p, " (deleted)") || !strings.HasPrefix(p, "/") {
				break
			}
			return p, nil
		}
	}
	return "", errors.New("portico is in no cgroup v2 group (/proc/self/cgroup)")
}

// sandboxCgroup is one sandbox's cgroup.
type sandboxCgroup struct {
	dir string
	fd  int // open (O_PATH) until the bootstrap has started in it; -1 after
	// memPeak says the cgroup has memory.peak: the memory controller is
	// enabled for Portico's sandboxes (Portico does not enable it).
	memPeak bool
}

// newSandboxCgroup makes the cgroup dir and opens it for clone3.
func newSandboxCgroup(dir string) (*sandboxCgroup, error) {
	if err := os.Mkdir(dir, 0o755); err != nil { //nolint:gosec // G301: a cgroup directory
		return nil, err
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Rmdir(dir)
		return nil, err
	}
	_, err = os.Stat(filepath.Join(dir, "memory.peak"))
	return &sandboxCgroup{dir: dir, fd: fd, memPeak: err == nil}, nil
}

// cgroupPeakMB reads the peak memory of the cgroup dir, all its processes
// together, from its memory.peak (bytes), in MB rounded up; ok is false
// when it has none (no memory controller).
func cgroupPeakMB(dir string) (mb int, ok bool) {
	raw, err := os.ReadFile(filepath.Join(dir, "memory.peak")) //nolint:gosec // G304: a cgroup this runtime made
	if err != nil {
		return 0, false
	}
	return parsePeakBytes(raw)
}

// parsePeakBytes reads memory.peak's contents (bytes, a decimal number and a
// newline) as MB, rounded up, without allocating.
func parsePeakBytes(raw []byte) (mb int, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || len(raw) > 19 {
		return 0, false
	}
	var b int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		b = b*10 + int64(c-'0')
	}
	return int((b + 1<<20 - 1) >> 20), true
}

// started closes the directory's descriptor once the bootstrap is in it.
func (cg *sandboxCgroup) started() {
	if cg.fd >= 0 {
		_ = unix.Close(cg.fd)
		cg.fd = -1
	}
}

// kill sends SIGKILL to every process in the cgroup: cgroup.kill, or each pid
// of cgroup.procs where that fails.
func (cg *sandboxCgroup) kill() {
	killCgroup(cg.dir)
}

func killCgroup(dir string) {
	// dir is a cgroup this runtime made (Cleanup checks a recorded one).
	if os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0) == nil { //nolint:gosec // G703: see above
		return
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")) //nolint:gosec // G703: as above
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(raw)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// remove kills what is left in the cgroup and removes it once it is empty,
// waiting for that at most cgroupKillTimeout.
func (cg *sandboxCgroup) remove() error {
	cg.started()
	return removeCgroup(cg.dir)
}

func removeCgroup(dir string) error {
	killCgroup(dir)
	wait := time.Millisecond
	deadline := time.Now().Add(cgroupKillTimeout)
	for {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		// SIGKILL is delivered; the processes are on their way out.
		time.Sleep(wait)
		wait = min(2*wait, 50*time.Millisecond)
		killCgroup(dir)
	}
}
