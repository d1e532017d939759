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
