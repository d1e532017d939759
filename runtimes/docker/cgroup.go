package docker

import (
	"strings"
	"time"

	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
)

// peakID stands for a container's id in Runtime.peakTmpl.
const peakID = "{container}"

// learnPeakFile remembers where the peak memory file of container id is
// (ctrbase.PeakMemoryFile, which needs its running process to find it), so
// that the next containers' can be found without theirs: a sandbox that
// exits during its init can be gone before its inspect names its process.
func (r *Runtime) learnPeakFile(file, id string) {
	if file == "" || id == "" || strings.Count(file, id) != 1 {
		return
	}
	tmpl := strings.Replace(file, id, peakID, 1)
	if old := r.peakTmpl.Load(); old == nil || *old != tmpl {
		r.peakTmpl.Store(&tmpl)
	}
}

// guessPeakFile returns where container id's peak memory file is, if its
// cgroup is where an earlier container's was (learnPeakFile), else "". The
// file is there only while the container runs: Docker removes its cgroup
// before a wait learns of its exit.
func (r *Runtime) guessPeakFile(id string) string {
	tmpl := r.peakTmpl.Load()
	if tmpl == nil || id == "" {
		return ""
	}
	return strings.Replace(*tmpl, peakID, id, 1)
}

// watchPeak reads the peak memory file every millisecond from before a
// container's start until stop is closed (its start returned), and sends the
// largest reading in bytes (0 for none) once stopped. Docker makes the
// container's cgroup as it starts it and removes it as soon as the process
// exits, which for a sandbox that exits during its init can be before the
// start returns: these readings are then all there is.
func watchPeak(file string, stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if b, ok := ctrbase.ReadBytesFile(file); ok {
				peak = max(peak, b)
			}
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}
