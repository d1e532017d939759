package accesslog

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRetiredDestinationsLoseTheirSeries: portico_accesslog_dropped_total and
// portico_accesslog_failed_total have a series per destination while a stage
// writes to it; once the destination is retired (its stage moved to another
// one, or lost its settings) and its writer stopped, its series are removed,
// so that the registry does not keep every destination ever used. They
// were kept forever.
func TestRetiredDestinationsLoseTheirSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(Options{Registerer: reg}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	series := func() int {
		n, err := testutil.GatherAndCount(reg, "portico_accesslog_dropped_total", "portico_accesslog_failed_total")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	line(t, s, deployedWith("$context.requestId", a), "a1")
	ka := s.sinkOf(t, a)
	if n := series(); n != 2 {
		t.Fatalf("%d series while a stage writes to %s, want 2", n, a)
	}
	line(t, s, deployedWith("$context.requestId", b), "b1") // the stage moves to b
	stopped(t, ka, "moved to another destination")
	if n := series(); n != 2 {
		t.Errorf("%d series after the stage moved from %s to %s, want b's 2", n, a, b)
	}
	kb := s.sinkOf(t, b)
	if _, err := s.Compile(deployedWith("", "")); err != nil { // the stage's settings removed
		t.Fatal(err)
	}
	stopped(t, kb, "settings removed")
	if n := series(); n != 0 {
		t.Errorf("%d series after the last destination was retired, want none", n)
	}
	line(t, s, deployedWith("$context.requestId", a), "a2") // a used again: its series come back
	if n := series(); n != 2 {
		t.Errorf("%d series once %s is used again, want 2", n, a)
	}
}
