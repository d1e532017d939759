package runtimetest

import (
	"context"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/portico-dev/portico/runtimes"
)

// SpecFunc makes the spec of one sandbox whose Runtime API endpoint is api.
type SpecFunc func(api *APIServer) runtimes.Spec

// ZipSpec returns a SpecFunc for Zip sandboxes running the code in codeDir.
func ZipSpec(codeDir string) SpecFunc {
	return func(api *APIServer) runtimes.Spec {
		id := "sbx-bench-" + randHex(6)
		return runtimes.Spec{
			SandboxID: id, Function: "bench", Version: "1", PackageType: "Zip", CodeDir: codeDir, MemoryMB: 128,
			Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": api.Addr(), "AWS_LAMBDA_FUNCTION_NAME": "bench"},
		}
	}
}

// ImageSpec returns a SpecFunc for Image sandboxes running image.
func ImageSpec(image string) SpecFunc {
	return func(api *APIServer) runtimes.Spec {
		s := ZipSpec("")(api)
		s.PackageType, s.CodeDir, s.Image = "Image", "", image
		return s
	}
}

// ColdStarts is how many cold starts a benchmark makes: b.N, capped by
// PORTICO_BENCH_COLDSTARTS (default 50), as each costs a container.
func ColdStarts(b *testing.B) int {
	limit := 50
	if v, err := strconv.Atoi(os.Getenv("PORTICO_BENCH_COLDSTARTS")); err == nil && v > 0 {
		limit = v
	}
	return min(b.N, limit)
}

// ReportLatencies reports the mean as ns/op and the p50 and p99 in milliseconds.
// Benchmarks that measure fewer samples than b.N (ColdStarts) report through it,
// so ns/op is the mean of what was measured.
func ReportLatencies(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	b.ReportMetric(float64(sum)/float64(len(d)), "ns/op")
	b.ReportMetric(ms(d[len(d)/2]), "p50-ms")
	b.ReportMetric(ms(d[int(math.Ceil(0.99*float64(len(d))))-1]), "p99-ms")
}

// BenchColdStart measures cold starts on rt: from Start (or, with prepared, from
// the Start of a sandbox prepared beforehand, untimed) until the sandbox's first
// call to next, when it is ready for its first invocation. Stops are untimed.
func BenchColdStart(b *testing.B, rt runtimes.Runtime, spec SpecFunc, prepared bool) {
	BenchColdStartSettled(b, rt, spec, prepared, nil)
}

// BenchColdStartSettled is BenchColdStart with settle, when not nil, called
// untimed before each timed start (after the Prepare, with prepared): for a
// runtime's own background work (a refill, say) to finish first.
func BenchColdStartSettled(b *testing.B, rt runtimes.Runtime, spec SpecFunc, prepared bool, settle func()) {
	ctx := context.Background()
	var pr runtimes.Preparer
	if prepared {
		var ok bool
		if pr, ok = rt.(runtimes.Preparer); !ok {
			b.Skip("the runtime is not a Preparer")
		}
	}
	n := ColdStarts(b)
	lat := make([]time.Duration, 0, n)
	b.ResetTimer()
	for i := 0; i < n; i++ {
		b.StopTimer()
		api := NewAPIServer(b, rt.HostAddr())
		s := spec(api)
		var p runtimes.Prepared
		if prepared {
			var err error
			if p, err = pr.Prepare(ctx, s); err != nil {
				b.Fatalf("Prepare: %v", err)
			}
		}
		if settle != nil {
			settle()
		}
		b.StartTimer()
		t0 := time.Now()
		var sb runtimes.Sandbox
		var err error
		if prepared {
			sb, err = p.Start(ctx)
		} else {
			sb, err = rt.Start(ctx, s)
		}
		if err != nil {
			b.Fatalf("Start: %v", err)
		}
		go func() { _, _ = io.Copy(io.Discard, sb.Logs()) }()
		select {
		case <-api.Ready():
		case <-sb.Done():
			b.Fatalf("sandbox exited: %v", sb.Err())
		}
		lat = append(lat, time.Since(t0))
		b.StopTimer()
		if err := sb.Stop(ctx); err != nil {
			b.Fatalf("Stop: %v", err)
		}
	}
	ReportLatencies(b, lat)
}

// BenchWarmInvoke measures invocations of one warm sandbox: from queueing the
// event until its response arrives, through the runtime's network path.
func BenchWarmInvoke(b *testing.B, rt runtimes.Runtime, spec SpecFunc) {
	ctx := context.Background()
	api := NewAPIServer(b, rt.HostAddr())
	sb, err := rt.Start(ctx, spec(api))
	if err != nil {
		b.Fatalf("Start: %v", err)
	}
	defer func() { _ = sb.Stop(ctx) }()
	go func() { _, _ = io.Copy(io.Discard, sb.Logs()) }()
	payload := []byte(`{"op":"nope"}`)
	if _, err := api.Invoke(ctx, payload, sb.Done()); err != nil {
		b.Fatalf("first invoke: %v", err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := api.Invoke(ctx, payload, sb.Done()); err != nil {
			b.Fatalf("invoke: %v", err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	ReportLatencies(b, lat)
}

// SandboxSpec returns a ZipSpec running the sandbox program (BuildSandbox).
func SandboxSpec(tb testing.TB) SpecFunc { return ZipSpec(CodeDir(tb, BuildSandbox(tb))) }

// BenchFloor measures a container engine's own cost of a cold start, to set
// beside BenchColdStart: for each of ColdStarts(b) sandboxes, start makes the
// container of the spec untimed, starts it, returns how long the start took and
// removes the container.
func BenchFloor(b *testing.B, rt runtimes.Runtime, spec SpecFunc, start func(s runtimes.Spec) time.Duration) {
	n := ColdStarts(b)
	lat := make([]time.Duration, 0, n)
	for range n {
		api := NewAPIServer(b, rt.HostAddr())
		lat = append(lat, start(spec(api)))
	}
	ReportLatencies(b, lat)
}

// NamedSpec returns the specs the runtimes' own tests start: sandbox id of
// function fn, version 1, running the code in codeDir against api.
func NamedSpec(codeDir string) func(id string, api *APIServer) runtimes.Spec {
	return func(id string, api *APIServer) runtimes.Spec {
		return runtimes.Spec{SandboxID: id, Function: "fn", Version: "1", PackageType: "Zip", CodeDir: codeDir,
			Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": api.Addr()}}
	}
}

// StartSandbox starts the sandbox program (BuildSandbox) on rt as the Zip
// sandbox spec names (its SandboxID, Function, Version and MemoryMB), against a
// Runtime API server of its own, and drains its output. A failed start fails
// tb; the caller stops the sandbox.
func StartSandbox(tb testing.TB, rt runtimes.Runtime, spec runtimes.Spec) runtimes.Sandbox {
	tb.Helper()
	api := NewAPIServer(tb, rt.HostAddr())
	spec.PackageType, spec.CodeDir = "Zip", CodeDir(tb, BuildSandbox(tb))
	spec.Env = map[string]string{"AWS_LAMBDA_RUNTIME_API": api.Addr()}
	sb, err := rt.Start(context.Background(), spec)
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, sb.Logs()) }()
	return sb
}
