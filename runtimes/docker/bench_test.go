package docker

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// BenchmarkColdStart measures, in one run and through one client:
//
//   - floor: ContainerCreate+ContainerStart of the same image and configuration,
//     until the start returns (Docker's own cost, nothing of Portico's);
//   - Start: runtime Start until the sandbox calls next (ready for its first
//     invocation), so it includes the sandbox program's own init, with a spare
//     network holder ready (the pool refills between starts, untimed): a cold
//     start of any version, one never called included, once the pool is full;
//   - Start-nospare: the same on a runtime without spare holders
//     (SpareHolders -1), the sandbox's container joining the network itself,
//     as when starts come faster than the pool refills;
//   - Prepared: the same from the Start of a sandbox prepared beforehand (the
//     pool refilled after the Prepare, untimed, as a spare prepared in the
//     background would have it).
//
// Each sub-benchmark makes at most PORTICO_BENCH_COLDSTARTS (50) cold starts.
func BenchmarkColdStart(b *testing.B) {
	runtimetest.RequireDocker(b)
	rt := newTestRuntime(b, Config{})
	defer rt.Close()
	defer func() { _ = rt.Cleanup(context.Background()) }()
	spec := runtimetest.SandboxSpec(b)
	ctx := context.Background()

	b.Run("floor", func(b *testing.B) {
		image, err := rt.baseImage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		runtimetest.BenchFloor(b, rt, spec, func(s runtimes.Spec) time.Duration {
			cfg, hc := rt.containerConfig(s, image, ctrbase.DefaultUser.String())
			t0 := time.Now()
			res, err := rt.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, Name: containerName(s.SandboxID)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rt.cli.ContainerStart(ctx, res.ID, client.ContainerStartOptions{}); err != nil {
				b.Fatal(err)
			}
			took := time.Since(t0)
			if _, err := rt.cli.ContainerRemove(ctx, res.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
				b.Fatal(err)
			}
			return took
		})
	})
	settle := func() { waitSpares(b, rt) }
	b.Run("Start", func(b *testing.B) { runtimetest.BenchColdStartSettled(b, rt, spec, false, settle) })
	b.Run("Start-nospare", func(b *testing.B) {
		plain := newTestRuntime(b, Config{SpareHolders: -1})
		defer plain.Close()
		defer func() { _ = plain.Cleanup(context.Background()) }()
		runtimetest.BenchColdStart(b, plain, spec, false)
	})
	b.Run("Prepared", func(b *testing.B) { runtimetest.BenchColdStartSettled(b, rt, spec, true, settle) })
}

// BenchmarkWarmInvoke measures a warm sandbox's invocation round trip through
// the bridge network (compare runtimes/process's BenchmarkWarmInvoke).
func BenchmarkWarmInvoke(b *testing.B) {
	runtimetest.RequireDocker(b)
	rt := newTestRuntime(b, Config{})
	defer rt.Close()
	runtimetest.BenchWarmInvoke(b, rt, runtimetest.SandboxSpec(b))
}
