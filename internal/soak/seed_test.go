package soak

import (
	"slices"
	"testing"
	"time"
)

// TestCrashScheduleReplays: the crash soak's kill schedule comes from a seed
// it logs, and CRASH_SEED gives the same schedule again (a failing run's
// kills replayed); without it each run draws a new one.
func TestCrashScheduleReplays(t *testing.T) {
	t.Setenv("CRASH_SEED", "12345")
	seed, err := crashSeed()
	if err != nil || seed != 12345 {
		t.Fatalf("CRASH_SEED=12345: seed %d, %v", seed, err)
	}
	a, b := killWaits(seed, 20), killWaits(seed, 20)
	if !slices.Equal(a, b) {
		t.Errorf("seed %d gave %v, then %v", seed, a, b)
	}
	for _, w := range a {
		if w < 100*time.Millisecond || w >= time.Second {
			t.Errorf("a kill %v into the load, want 100 ms to 1 s: %v", w, a)
		}
	}
	if c := killWaits(seed+1, 20); slices.Equal(a, c) {
		t.Errorf("seeds %d and %d gave the same schedule %v", seed, seed+1, a)
	}
	for _, bad := range []string{"x", "-1", "1.5"} {
		t.Setenv("CRASH_SEED", bad)
		if _, err := crashSeed(); err == nil {
			t.Errorf("CRASH_SEED=%q: no error", bad)
		}
	}
	t.Setenv("CRASH_SEED", "")
	s1, err1 := crashSeed()
	s2, err2 := crashSeed()
	if err1 != nil || err2 != nil || s1 == s2 {
		t.Errorf("without CRASH_SEED: seeds %d (%v), %d (%v), want two new ones", s1, err1, s2, err2)
	}
}
