package containerd

import (
	"context"
	"fmt"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// BenchmarkColdStart measures, in one run and through one client:
//
//   - floor: NewTask+Start of a container of the same image and spec made
//     beforehand (containerd's own cost of running it);
//   - Start: runtime Start until the sandbox calls next (image lookup, network
//     namespace, container, task, start, and the sandbox program's init);
//   - Prepared: the same from the Start of a sandbox prepared beforehand.
//
// Each sub-benchmark makes at most PORTICO_BENCH_COLDSTARTS (50) cold starts.
func BenchmarkColdStart(b *testing.B) {
	runtimetest.RequireContainerd(b)
	rt := newTestRuntime(b, Config{})
	defer rt.Close()
	defer func() { _ = rt.Cleanup(context.Background()) }()
	spec := runtimetest.SandboxSpec(b)
	ctx := rt.ctx(context.Background())

	b.Run("floor", func(b *testing.B) {
		ref, err := rt.baseImage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		img, err := rt.image(ctx, ref)
		if err != nil {
			b.Fatal(err)
		}
		runtimetest.BenchFloor(b, rt, spec, func(s runtimes.Spec) time.Duration {
			c, nsPath := newBareContainer(b, rt, ctx, s, img)
			t0 := time.Now()
			task, err := c.NewTask(ctx, cio.NullIO)
			if err != nil {
				b.Fatal(err)
			}
			if err := task.Start(ctx); err != nil {
				b.Fatal(err)
			}
			took := time.Since(t0)
			if err := rt.teardown(ctx, c, nsPath); err != nil {
				b.Fatal(fmt.Errorf("teardown: %w", err))
			}
			return took
		})
	})
	b.Run("Start", func(b *testing.B) { runtimetest.BenchColdStart(b, rt, spec, false) })
	b.Run("Prepared", func(b *testing.B) { runtimetest.BenchColdStart(b, rt, spec, true) })
}

// newBareContainer makes the container of spec s as the runtime would, with
// its network namespace, without starting a task: the floor of a cold start,
// and what tests drive through containerd's client directly.
func newBareContainer(tb testing.TB, rt *Runtime, ctx context.Context, s runtimes.Spec, img containerd.Image) (containerd.Container, string) {
	tb.Helper()
	id := containerID(s.SandboxID)
	nsPath, _, err := rt.net.attach(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := rt.cli.NewContainer(ctx, id, containerd.WithImage(img), containerd.WithNewSnapshot(id, img),
		containerd.WithRuntime(rt.cfg.Runtime, nil), containerd.WithContainerLabels(map[string]string{LabelInstance: rt.cfg.Instance, LabelNetNS: nsPath}),
		containerd.WithNewSpec(rt.specOpts(s, img, nsPath)...))
	if err != nil {
		tb.Fatal(err)
	}
	return c, nsPath
}

// BenchmarkWarmInvoke measures a warm sandbox's invocation round trip through
// the bridge (compare runtimes/process's BenchmarkWarmInvoke).
func BenchmarkWarmInvoke(b *testing.B) {
	runtimetest.RequireContainerd(b)
	rt := newTestRuntime(b, Config{})
	defer rt.Close()
	runtimetest.BenchWarmInvoke(b, rt, runtimetest.SandboxSpec(b))
}
