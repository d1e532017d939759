package procs

import (
	"testing"
	"time"
)

func TestReadHostMeasuresTheProcessAndTheHost(t *testing.T) {
	a, err := readHost()
	if err != nil {
		t.Fatal(err)
	}
	// Spin until getrusage has seen CPU spent (its resolution is the tick).
	b := a
	x := 0
	for i := 0; b.Process == a.Process; i++ {
		for j := range 1_000_000 {
			x += j ^ i
		}
		if b, err = readHost(); err != nil {
			t.Fatal(err)
		}
		if i > 100_000 {
			t.Fatalf("process CPU stayed at %v", a.Process)
		}
	}
	_ = x
	if b.Process < a.Process || b.Idle < a.Idle {
		t.Fatalf("readings went back: %+v then %+v", a, b)
	}
	if a.Process <= 0 || a.Idle <= 0 {
		t.Fatalf("reading %+v: a running process and a host that has idled read above zero", a)
	}
	if b.Process-a.Process > time.Hour {
		t.Fatalf("implausible process CPU %v", b.Process-a.Process)
	}
}

// BenchmarkReadHost is what one window costs the server (four a second).
func BenchmarkReadHost(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := readHost(); err != nil {
			b.Fatal(err)
		}
	}
}
