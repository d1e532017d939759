// Package latency records per-operation latencies in benchmarks and reports
// percentiles through testing.B.ReportMetric.
package latency

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// Recorder collects durations. Safe for concurrent use.
type Recorder struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records one duration.
func (r *Recorder) Add(d time.Duration) {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
}

// Time runs fn and records how long it took.
func (r *Recorder) Time(fn func()) {
	start := time.Now()
	fn()
	r.Add(time.Since(start))
}

// Percentile returns the p-th percentile (0..100) of what was recorded.
func (r *Recorder) Percentile(p float64) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.d) == 0 {
		return 0
	}
	s := slices.Clone(r.d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// Report adds p50 and p99, in microseconds, to the benchmark's output, with an
// optional prefix for the metric names.
func (r *Recorder) Report(b *testing.B, prefix string) {
	b.Helper()
	b.ReportMetric(float64(r.Percentile(50).Nanoseconds())/1e3, prefix+"p50-µs")
	b.ReportMetric(float64(r.Percentile(99).Nanoseconds())/1e3, prefix+"p99-µs")
}
