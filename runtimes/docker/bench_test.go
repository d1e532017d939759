package docker

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// BenchmarkColdStart measures, in one run and through one client:
//
//   - floor: ContainerCreate+ContainerStart of the same image and configuration,
//     until the start returns (Docker's own cost, nothing of Portico's);
//   - Start: runtime Start until the sandbox calls next (ready for its first
//     invocation), so it includes the sandbox program's own init;
//   - Prepared: the same from the Start of a sandbox prepared beforehand.
//
// Each sub-benchmark makes at most PORTICO_BENCH_COLDSTARTS (50) cold starts.
func BenchmarkColdStart(b *testing.B) {
	runtimetest.RequireDocker(b)
	rt := newTestRuntime(b, Config{})
	defer rt.Close()
	defer func() { _ = rt.Cleanup(context.Background()) }()
	bin := runtimetest.BuildSandbox(b)
	spec := runtimetest.ZipSpec(runtimetest.CodeDir(b, bin))
	ctx := context.Background()

	b.Run("floor", func(b *testing.B) {
		image, err := rt.baseImage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n := runtimetest.ColdStarts(b)
		lat := make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			api := runtimetest.NewAPIServer(b, rt.HostAddr())
			s := spec(api)
			cfg, hc := rt.containerConfig(s, image)
			t0 := time.Now()
			res, err := rt.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, Name: containerName(s.SandboxID)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rt.cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
			if _, err := rt.cli.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
				b.Fatal(err)
			}
		}
		runtimetest.ReportLatencies(b, lat)
	})
	b.Run("Start", func(b *testing.B) { runtimetest.BenchColdStart(b, rt, spec, false) })
	b.Run("Prepared", func(b *testing.B) { runtimetest.BenchColdStart(b, rt, spec, true) })
}

// BenchmarkWarmInvoke measures a warm sandbox's invocation round trip through
// the bridge network (compare runtimes/process's BenchmarkWarmInvoke).
func BenchmarkWarmInvoke(b *testing.B) {
	runtimetest.RequireDocker(b)
	rt := newTestRuntime(b, Config{})
	defer rt.Close()
	bin := runtimetest.BuildSandbox(b)
	runtimetest.BenchWarmInvoke(b, rt, runtimetest.ZipSpec(runtimetest.CodeDir(b, bin)))
}
