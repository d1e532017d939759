package containerd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/docker"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestAdoptDockerPin: a sandbox pinned to the Docker runtime's image id (a
// data directory that ran on docker before) runs the image its ImageUri names
// where that image has this id (copied from the Docker daemon), pinned under
// the id and logged; an ImageUri naming another image leaves the pin missing
// (r-rt29 #1).
func TestAdoptDockerPin(t *testing.T) {
	runtimetest.RequireContainerd(t)
	runtimetest.RequireDocker(t)
	ctx := context.Background()
	drt, err := docker.New(ctx, docker.Config{Instance: testInstance(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer drt.Close()
	bin := runtimetest.BuildSandbox(t)
	stamp := strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
	ref := "portico-test/adopt:" + stamp
	other := "portico-test/adopt-other:" + stamp
	for _, r := range []struct{ ref, env string }{{ref, "PORTICO_TEST_IMAGE=docker"}, {other, "PORTICO_TEST_IMAGE=other"}} {
		if _, err := drt.ImportImage(ctx, strings.NewReader(string(runtimetest.ImageArchive(t, bin, r.ref, r.env)))); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = exec.Command("docker", "rmi", r.ref).Run() })
	}
	dockerID, err := drt.ResolveImage(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedLog
	rt := newTestRuntime(t, Config{Images: docker.Images{}, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	defer rt.Close()
	defer removeImage(ctx, rt, ref)
	defer removeImage(ctx, rt, dockerID)

	t.Run("another image under the name", func(t *testing.T) {
		_, err := rt.Start(ctx, runtimes.Spec{SandboxID: "sbx-adopt-other", Function: "fn", Version: "$LATEST", PackageType: "Image",
			Image: dockerID, ImageRef: other, Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}})
		var gone *runtimes.ImageGoneError
		if !errors.As(err, &gone) || gone.Image != dockerID {
			t.Fatalf("Start pinned to %s under %s: %v; want an ImageGoneError naming the id", dockerID, other, err)
		}
	})
	for i := range 2 {
		api := runtimetest.NewAPIServer(t, rt.HostAddr())
		sb, err := rt.Start(ctx, runtimes.Spec{SandboxID: "sbx-adopt-" + string(rune('a'+i)), Function: "fn", Version: "$LATEST", PackageType: "Image",
			Image: dockerID, ImageRef: ref, Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": api.Addr()}})
		if err != nil {
			t.Fatalf("Start %d pinned to Docker's id %s of %s: %v", i, dockerID, ref, err)
		}
		go io.Copy(io.Discard, sb.Logs())
		r, err := api.Invoke(ctx, []byte(`{"op":"env"}`), sb.Done())
		_ = sb.Stop(ctx)
		if err != nil || !strings.Contains(string(r.Body), `"PORTICO_TEST_IMAGE":"docker"`) {
			t.Fatalf("invoke: %s, %v", r.Body, err)
		}
	}
	if n := strings.Count(logs.String(), "pinned to a Docker image id"); n != 1 {
		t.Errorf("logged the adoption %d times, want once (then the pin holds it); log:\n%s", n, logs.String())
	}
	if _, err := rt.cli.GetImage(rt.ctx(ctx), rt.pinName(dockerID)); err != nil {
		t.Errorf("no pin under the Docker id: %v", err)
	}
}
