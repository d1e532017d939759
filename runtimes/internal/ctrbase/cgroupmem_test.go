package ctrbase

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPeakFileOf: the peak file is v1's memory.max_usage_in_bytes where the
// memory controller is on v1, else v2's memory.peak, of the cgroup that
// names the container; "" when none exists or none names it.
func TestPeakFileOf(t *testing.T) {
	root := t.TempDir()
	saved := cgroupRoot
	cgroupRoot = root
	defer func() { cgroupRoot = saved }()
	const id = "0123456789abcdef"
	touch := func(rel string) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("4194304\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v1 := touch("memory/docker/" + id + "/memory.max_usage_in_bytes")
	v2 := touch("system.slice/docker-" + id + ".scope/memory.peak")
	for _, tc := range []struct {
		name, cgroups, want string
	}{
		{"v1 (cgroupfs)", "4:memory:/docker/" + id + "\n0::/\n", v1},
		{"v1, controllers joined", "4:memory,hugetlb:/docker/" + id + "\n", v1},
		{"v2 (systemd)", "0::/system.slice/docker-" + id + ".scope\n", v2},
		{"another container's", "4:memory:/docker/fedcba9876543210\n", ""},
		{"no file", "0::/docker/" + id + "\n", ""},
	} {
		if got := peakFileOf(tc.cgroups, id); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if n, ok := ReadBytesFile(v1); !ok || n != 4<<20 {
		t.Errorf("ReadBytesFile = %d, %v", n, ok)
	}
}

// TestPeakMemoryNeverPastLimit: a cgroup's peak can pass its limit by the
// pages charged in one batch (seen as 128 MB + a few pages for a 128 MB
// sandbox killed for memory), which rounded up read 129 MB. With Limit set,
// the peak reads the limit at most, as Lambda's Max Memory Used never passes
// the memory size; below the limit it is the sample, rounded up.
func TestPeakMemoryNeverPastLimit(t *testing.T) {
	over := func() (uint64, bool) { return 128<<20 + 3*4096, true }
	done := make(chan struct{})
	close(done)

	var last PeakMemory
	last.Limit = 128
	last.Last(over) // at the exit of a sandbox killed for memory
	last.AtLeast(128)
	if got := last.MB(done, over); got != 128 {
		t.Errorf("after an exit whose peak passed the limit: %d MB, want 128", got)
	}

	var running PeakMemory
	running.Limit = 128
	if got := running.MB(make(chan struct{}), over); got != 128 {
		t.Errorf("a sample past the limit while running: %d MB, want 128", got)
	}
	if got := running.MB(make(chan struct{}), func() (uint64, bool) { return 9<<20 + 1, true }); got != 128 {
		t.Errorf("the peak fell: %d MB, want 128 kept", got)
	}

	var small PeakMemory
	small.Limit = 128
	if got := small.MB(make(chan struct{}), func() (uint64, bool) { return 9<<20 + 1, true }); got != 10 {
		t.Errorf("a sample below the limit: %d MB, want 10 (rounded up)", got)
	}
	var unlimited PeakMemory
	unlimited.Last(over)
	if got := unlimited.MB(done, over); got != 129 {
		t.Errorf("no limit: %d MB, want 129", got)
	}
}
