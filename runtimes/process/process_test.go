package process_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/process"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

func TestConformance(t *testing.T) {
	// Runtimes made within one test share a state directory, as successive runs of
	// Portico on one data directory do.
	dirs := map[string]string{}
	runtimetest.Run(t, func(t *testing.T) runtimes.Runtime {
		dir, ok := dirs[t.Name()]
		if !ok {
			dir = filepath.Join(t.TempDir(), "run")
			dirs[t.Name()] = dir
		}
		rt, err := process.New(dir, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}, runtimetest.Options{})
}

// BenchmarkWarmInvoke measures a warm sandbox's invocation round trip on the
// host's loopback: the baseline for the container runtimes' figures.
func BenchmarkWarmInvoke(b *testing.B) {
	rt, err := process.New(b.TempDir(), 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	bin := runtimetest.BuildSandbox(b)
	runtimetest.BenchWarmInvoke(b, rt, runtimetest.ZipSpec(runtimetest.CodeDir(b, bin)))
}

// BenchmarkColdStart measures Start until the sandbox's first call to next.
func BenchmarkColdStart(b *testing.B) {
	rt, err := process.New(b.TempDir(), 2*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	bin := runtimetest.BuildSandbox(b)
	runtimetest.BenchColdStart(b, rt, runtimetest.ZipSpec(runtimetest.CodeDir(b, bin)), false)
}
