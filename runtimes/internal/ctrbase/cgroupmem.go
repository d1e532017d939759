package ctrbase

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupRoot is where the cgroup hierarchies are mounted (a variable for
// tests).
var cgroupRoot = "/sys/fs/cgroup"

// PeakMemoryFile returns the file that holds the peak memory use, in bytes,
// of the cgroup of process pid (as seen from this host's /proc), or "" when
// there is none to read: cgroup v1's memory.max_usage_in_bytes under the
// memory hierarchy, else cgroup v2's memory.peak (kernel 5.19 and later). id
// is the container's id: a process whose cgroup does not name it (another pid
// namespace than the daemon's, a remote daemon, a pid already reused) has
// none.
func PeakMemoryFile(pid int, id string) string {
	if pid <= 0 || id == "" {
		return ""
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil || !strings.Contains(string(raw), id) {
		return ""
	}
	return peakFileOf(string(raw), id)
}

// peakFileOf picks the peak file from the lines of /proc/PID/cgroup
// ("HIERARCHY-ID:CONTROLLERS:PATH"), keeping only a path that names id.
func peakFileOf(cgroups, id string) string {
	var v2 string
	for _, line := range strings.Split(strings.TrimSpace(cgroups), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.Contains(parts[2], id) {
			continue
		}
		path := filepath.Clean("/" + parts[2])
		if parts[0] == "0" && parts[1] == "" {
			v2 = filepath.Join(cgroupRoot, path, "memory.peak")
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				if f := filepath.Join(cgroupRoot, "memory", path, "memory.max_usage_in_bytes"); exists(f) {
					return f
				}
			}
		}
	}
	if v2 != "" && exists(v2) {
		return v2
	}
	return ""
}

func exists(path string) bool {
	_, err := os.Stat(path) //nolint:gosec // G703: a path under cgroupRoot, from /proc/PID/cgroup
	return err == nil
}

// ReadBytesFile reads a cgroup file that holds one number of bytes, and
// whether it could.
func ReadBytesFile(path string) (uint64, bool) {
	if path == "" {
		return 0, false
	}
	raw, err := os.ReadFile(path) //nolint:gosec // G304: a cgroup file PeakMemoryFile chose
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	return n, err == nil
}
