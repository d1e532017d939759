package e2e_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/latency"
	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/docker"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// BenchmarkInvoke measures, per runtime, invocations of the hello sample (a Zip
// function) through the invoker of the whole server started in-process, beside
// the runtime's own start measured in the same run:
//
//   - warm: an invocation handed to an idle warm sandbox (p50/p99 in µs);
//   - cold: the first invocation of a new $LATEST revision of a function in use
//     (made untimed by changing an environment variable): no warm sandbox; on
//     docker and containerd the invoker has prepared a spare for the new
//     revision, on process it is a full start. From Invoke until its result
//     (p50/p99 in ms);
//   - runtime-start: the runtime's Start of the same code until the sandbox's
//     first call to next, without the invoker (runtimetest.BenchColdStart);
//   - runtime-prepared: the same from Prepared.Start (docker, containerd).
//
// Docker's and containerd's raw floors (ContainerCreate+Start, NewTask+Start)
// are runtimes/docker's and runtimes/containerd's BenchmarkColdStart/floor, in
// the same `make bench` run. Cold starts are capped at PORTICO_BENCH_COLDSTARTS
// (50) per sub-benchmark.
func BenchmarkInvoke(b *testing.B) {
	for _, rt := range []struct {
		name    string
		require func(testing.TB)
	}{
		{"process", func(testing.TB) {}},
		{"docker", runtimetest.RequireDocker},
		{"containerd", runtimetest.RequireContainerd},
	} {
		b.Run(rt.name, func(b *testing.B) {
			rt.require(b)
			benchRuntime(b, rt.name)
		})
	}
}

func benchRuntime(b *testing.B, name string) {
	var inv *invoker.Invoker
	var fns *functions.Service
	dataDir := b.TempDir()
	if name != "process" {
		sweepInstanceB(b, name, dataDir)
	}
	apptest.Start(b, apptest.Options{Runtime: name, DataDir: dataDir, Populate: []any{&inv, &fns}})
	ctx := context.Background()
	fn := "bench"
	if _, err := fns.Create(ctx, functions.CreateInput{
		FunctionName: fn, Runtime: "provided.al2023", Handler: "bootstrap",
		ZipFile: apptest.ZipSample(b, "hello"), Environment: map[string]string{"GREETING": "bench"},
	}); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"path":"/bench"}`)
	invoke := func(cfg *functions.Config) *invoker.Result {
		res, err := inv.Invoke(ctx, invoker.Request{Function: cfg, Payload: payload})
		if err != nil || res.FunctionError != "" {
			b.Fatalf("Invoke: %v %+v", err, res)
		}
		return res
	}

	b.Run("warm", func(b *testing.B) {
		cfg, err := fns.Get(ctx, fn, functions.Latest)
		if err != nil {
			b.Fatal(err)
		}
		invoke(cfg) // the cold start, untimed
		var rec latency.Recorder
		b.ResetTimer()
		for range b.N {
			rec.Time(func() { invoke(cfg) })
		}
		b.StopTimer()
		rec.Report(b, "")
	})

	// A cold start that fails (its sandbox never became ready) is counted and
	// reported as failed-inits rather than ending the run, so that the figures of
	// the others still come out; the first failure is logged.
	b.Run("cold", func(b *testing.B) {
		n := runtimetest.ColdStarts(b)
		lat := make([]time.Duration, 0, n)
		failed := 0
		b.ResetTimer()
		for i := range n {
			b.StopTimer()
			env := map[string]string{"GREETING": "bench", "REVISION": fmt.Sprint(time.Now().UnixNano(), i)}
			cfg, err := fns.UpdateConfig(ctx, fn, functions.ConfigPatch{Environment: &env})
			if err != nil {
				b.Fatal(err)
			}
			// The update retires the previous revision's sandbox and spare and,
			// the function being in use, prepares a spare for the new revision
			// (where the runtime can). Let that settle, so the timed start does
			// not share the daemon with it.
			settle(b, inv)
			b.StartTimer()
			t0 := time.Now()
			res, err := inv.Invoke(ctx, invoker.Request{Function: cfg, Payload: payload})
			d := time.Since(t0)
			b.StopTimer()
			switch {
			case err != nil:
				b.Fatalf("Invoke: %v", err)
			case !res.ColdStart:
				b.Fatalf("invocation %d of a new revision was not a cold start", i)
			case res.FunctionError != "":
				if failed == 0 {
					b.Logf("cold start %d failed: %s", i, res.Payload)
				}
				failed++
			default:
				lat = append(lat, d)
			}
		}
		runtimetest.ReportLatencies(b, lat)
		b.ReportMetric(float64(failed), "failed-inits")
	})

	// first-call: the first invocation of a function created just before (and
	// never called): no sandbox and no spare of its version exist, so on docker
	// and containerd this is the runtime's plain Start, with whatever it keeps
	// ready that is not tied to a version (docker's spare network holders).
	// Each function is deleted afterwards; between iterations the run waits,
	// untimed, for the invoker to settle and a second for the runtime's own
	// background work.
	b.Run("first-call", func(b *testing.B) {
		n := min(runtimetest.ColdStarts(b), 20)
		lat := make([]time.Duration, 0, n)
		zip := apptest.ZipSample(b, "hello")
		b.ResetTimer()
		for i := range n {
			b.StopTimer()
			name := fmt.Sprintf("first%d", i)
			cfg, err := fns.Create(ctx, functions.CreateInput{
				FunctionName: name, Runtime: "provided.al2023", Handler: "bootstrap", ZipFile: zip,
			})
			if err != nil {
				b.Fatal(err)
			}
			settleTo(b, inv, 1)
			time.Sleep(time.Second)
			b.StartTimer()
			t0 := time.Now()
			res, err := inv.Invoke(ctx, invoker.Request{Function: cfg, Payload: payload})
			d := time.Since(t0)
			b.StopTimer()
			if err != nil || res.FunctionError != "" || !res.ColdStart {
				b.Fatalf("first call of %s: %v %+v", name, err, res)
			}
			lat = append(lat, d)
			if err := fns.Delete(ctx, name, ""); err != nil {
				b.Fatal(err)
			}
		}
		runtimetest.ReportLatencies(b, lat)
	})

	direct := directRuntime(b, name)
	spec := runtimetest.ZipSpec(runtimetest.CodeDir(b, filepath.Join(apptest.Sample(b, "hello"), "bootstrap")))
	b.Run("runtime-start", func(b *testing.B) { runtimetest.BenchColdStart(b, direct, spec, false) })
	if _, ok := direct.(runtimes.Preparer); ok {
		b.Run("runtime-prepared", func(b *testing.B) { runtimetest.BenchColdStart(b, direct, spec, true) })
	}
}

// directRuntime makes a runtime of its own, outside the server, with an instance
// of its own that it cleans up when the benchmark ends.
func directRuntime(b *testing.B, name string) runtimes.Runtime {
	b.Helper()
	ctx := context.Background()
	rt, err := openRuntime(ctx, b, name, "bench-"+randHex(6))
	if err != nil {
		b.Fatalf("%s runtime: %v", name, err)
	}
	b.Cleanup(func() {
		_ = rt.Cleanup(context.Background())
		_ = rt.Close()
	})
	return rt
}

// sweepInstanceB is sweepInstance for benchmarks: the server's leftovers are
// removed through the runtime's Cleanup once it stopped.
func sweepInstanceB(b *testing.B, name, dataDir string) {
	b.Helper()
	b.Cleanup(func() {
		ctx := context.Background()
		inst := docker.InstanceFor(dataDir)
		rt, err := openRuntime(ctx, b, name, inst)
		if err != nil {
			b.Logf("sweeping instance %s: %v", inst, err)
			return
		}
		_ = rt.Cleanup(ctx)
		_ = rt.Close()
	})
}

// settle waits until the invoker has no sandboxes and nothing starting, being
// prepared or being stopped, polling its Stats. A prepared spare may remain.
func settle(b *testing.B, inv *invoker.Invoker) { settleTo(b, inv, 0) }

// settleTo is settle allowing up to sandboxes warm sandboxes to remain.
func settleTo(b *testing.B, inv *invoker.Invoker, sandboxes int) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st := inv.Stats()
		if st.Sandboxes <= sandboxes && st.Preparing == 0 && st.Starting == 0 && st.Stopping == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("sandboxes did not settle: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
