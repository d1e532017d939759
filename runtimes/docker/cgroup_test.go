package docker

import "testing"

func TestGuessPeakFile(t *testing.T) {
	a, b := "aaaa1111", "bbbb2222"
	for _, tc := range []struct {
		name, learnt, id, want string
	}{
		{"nothing learnt", "", a, ""},
		{"v1 cgroupfs", "/sys/fs/cgroup/memory/docker/" + a + "/memory.max_usage_in_bytes", a,
			"/sys/fs/cgroup/memory/docker/" + b + "/memory.max_usage_in_bytes"},
		{"v2 systemd", "/sys/fs/cgroup/system.slice/docker-" + a + ".scope/memory.peak", a,
			"/sys/fs/cgroup/system.slice/docker-" + b + ".scope/memory.peak"},
		{"path without the id", "/sys/fs/cgroup/memory.peak", a, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Runtime
			r.learnPeakFile(tc.learnt, tc.id)
			if got := r.guessPeakFile(b); got != tc.want {
				t.Errorf("guessPeakFile = %q, want %q", got, tc.want)
			}
		})
	}
}
