package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestPercentFor(t *testing.T) {
	for _, tc := range []struct {
		name           string
		live, headroom uint64
		want           int
	}{
		{"no live heap yet", 0, 32 << 20, 100},
		{"small heap", 3 << 20, 32 << 20, 1067},
		{"exact multiple", 4 << 20, 32 << 20, 800},
		{"heap as large as the headroom", 32 << 20, 32 << 20, 100},
		{"larger heap: Go's default", 90 << 20, 32 << 20, 100},
		{"headroom just over the heap", 32 << 20, 33 << 20, 104},
		{"tiny heap, capped", 1, 1 << 40, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PercentFor(tc.live, tc.headroom); got != tc.want {
				t.Fatalf("PercentFor(%d, %d) = %d, want %d", tc.live, tc.headroom, got, tc.want)
			}
		})
	}
}

// TestHeadroomAfterCollections checks that the percentage is set after a
// collection, and restored by stop.
func TestHeadroomAfterCollections(t *testing.T) {
	before := debug.SetGCPercent(100)
	debug.SetGCPercent(before)
	const headroom = 1 << 40 // more than any live heap here: the cap applies
	set := make(chan int, 100)
	stop := start(headroom, func(p int) {
		select {
		case set <- p:
		default:
		}
	})
	var got int
	for got == 0 {
		runtime.GC()
		select {
		case got = <-set:
		default:
			runtime.Gosched()
		}
	}
	if got != 1<<20 {
		t.Fatalf("percentage after a collection: %d, want %d", got, 1<<20)
	}
	if now := debug.SetGCPercent(before); now != got {
		t.Fatalf("GC percentage in force: %d, want %d", now, got)
	}
	stop()
	if now := debug.SetGCPercent(before); now != before {
		t.Fatalf("after stop: %d, want %d", now, before)
	}
}

func TestHeadroomOffWithGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	before := debug.SetGCPercent(100)
	debug.SetGCPercent(before)
	stop := Headroom(1 << 40)
	runtime.GC()
	runtime.GC()
	stop()
	if now := debug.SetGCPercent(before); now != before {
		t.Fatalf("GOGC set: the percentage changed to %d", now)
	}
}

func TestHeadroomOneAtATime(t *testing.T) {
	stop := start(1<<40, nil)
	defer stop()
	second := Headroom(1 << 40)
	second() // a no-op: the first still runs
	if !active.Load() {
		t.Fatal("the second Headroom's stop ended the first")
	}
	stop()
	if active.Load() {
		t.Fatal("still active after stop")
	}
}
