package e2e_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/invoker"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestDockerDaemonGoneAndBack cuts Portico's connection to the Docker daemon
// under a steady trickle of calls from four callers, then restores it: while it
// is away calls fail (none hangs until the client gives up); once it is back
// calls work again, no call hangs, no more sandboxes are started than there are
// callers waiting, and after a clean shutdown no container of the instance is
// left, the sandboxes whose streams the cut broke included.
func TestDockerDaemonGoneAndBack(t *testing.T) {
	runtimetest.RequireDocker(t)
	target := runtimetest.DockerSocketPath(t)
	p := runtimetest.NewSocketProxy(t, target) // down last: the sweeps of the instance go through it
	t.Setenv("DOCKER_HOST", "unix://"+p.Path())
	dataDir := t.TempDir()
	sweepInstance(t, "docker", dataDir)
	var inv *invoker.Invoker
	env := apptest.Start(t, apptest.Options{Runtime: "docker", DataDir: dataDir, Populate: []any{&inv}})
	c := sdk(env.AdminURL)
	ctx := t.Context()
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("trickle"),
		Role:         aws.String("arn:aws:iam::000000000000:role/any"),
		PackageType:  types.PackageTypeZip,
		Code:         &types.FunctionCode{ZipFile: apptest.ZipSample(t, "hello")},
	}); err != nil {
		t.Fatal(err)
	}

	const callers = 4
	const clientTimeout = 20 * time.Second // the client's patience: a call that reaches it hung
	type outcome struct {
		ok, hung bool
	}
	var phase atomic.Int32 // 0 warm, 1 away, 2 back
	var mu sync.Mutex
	got := map[int32][]outcome{}
	record := func(ph int32, o outcome) {
		mu.Lock()
		got[ph] = append(got[ph], o)
		mu.Unlock()
	}
	count := func(ph int32, f func(outcome) bool) (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, o := range got[ph] {
			if f(o) {
				n++
			}
		}
		return n
	}
	tctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			pace := time.NewTicker(50 * time.Millisecond) // a trickle, not a flood
			defer pace.Stop()
			for tctx.Err() == nil {
				ph := phase.Load()
				cctx, cancel := context.WithTimeout(tctx, clientTimeout)
				_, err := c.Invoke(cctx, &lambda.InvokeInput{FunctionName: aws.String("trickle"), Payload: []byte(`{}`)})
				hung := errors.Is(cctx.Err(), context.DeadlineExceeded)
				cancel()
				if tctx.Err() != nil {
					return
				}
				record(ph, outcome{ok: err == nil, hung: hung})
				select {
				case <-pace.C:
				case <-tctx.Done():
				}
			}
		})
	}
	defer func() { stop(); wg.Wait() }()
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute) // a safety net, not what the test waits for
		for !cond() {
			if time.Now().After(deadline) {
				mu.Lock()
				t.Fatalf("waiting for %s: outcomes %v", what, got)
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitUntil("20 calls answered", func() bool { return count(0, func(o outcome) bool { return o.ok }) >= 20 })

	p.Down()
	phase.Store(1)
	waitUntil("20 calls refused while the daemon is away", func() bool { return count(1, func(o outcome) bool { return !o.ok }) >= 20 })
	startedBefore := inv.Stats().Started
	p.Up(t)
	phase.Store(2)
	waitUntil("40 calls answered once the daemon is back", func() bool { return count(2, func(o outcome) bool { return o.ok }) >= 40 })
	started := inv.Stats().Started - startedBefore
	stop()
	wg.Wait()

	if n := count(1, func(o outcome) bool { return o.hung }); n > 0 {
		t.Errorf("%d calls hung while the daemon was away", n)
	}
	if n := count(2, func(o outcome) bool { return o.hung }); n > 0 {
		t.Errorf("%d calls hung after the daemon came back", n)
	}
	if started > callers {
		t.Errorf("%d sandboxes started after the daemon came back, for %d callers", started, callers)
	}
	t.Logf("away: %d calls failed; back: %d calls, %d failed, %d sandboxes started",
		count(1, func(o outcome) bool { return !o.ok }), count(2, func(outcome) bool { return true }),
		count(2, func(o outcome) bool { return !o.ok }), started)

	env.Stop()
	if left := instanceContainers(t, "docker", dataDir); len(left) > 0 {
		t.Errorf("%d containers of the instance left after a clean shutdown: %v", len(left), left)
	}
}
