package docker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// testInstance scopes a test's containers (and its Cleanup) to the test.
func testInstance(t testing.TB) string {
	return "test-" + InstanceFor(t.Name()+"/"+strings.TrimPrefix(os.Getenv("DOCKER_HOST"), "x"))
}

func newTestRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.Instance == "" {
		cfg.Instance = testInstance(t)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	testRuntimes.Lock()
	testRuntimes.all = append(testRuntimes.all, rt)
	testRuntimes.Unlock()
	return rt
}

// testRuntimes are the runtimes the tests made, whose spare holders
// countContainers leaves out.
var testRuntimes struct {
	sync.Mutex
	all []*Runtime
}

// spareNames returns the container names of r's spare holders, ready or being
// started.
func (r *Runtime) spareNames() []string {
	p := &r.spares
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for _, h := range p.ready {
		names = append(names, h.name)
	}
	if p.starting != "" {
		names = append(names, p.starting)
	}
	return names
}

// countContainers counts the runtime instance's sandboxes, of any state, and
// the network holders no sandbox uses that are not spares of a runtime of the
// tests (a runtime can refill its pool after another one's Cleanup, as in the
// leftover case): a holder left behind by a sandbox is counted, a spare is not.
//
// The spares are read before and after the listing: a refill that starts a
// holder while the list is taken (Start asks for it as it returns, and its
// goroutine may run late on a loaded machine) names it only in the second.
func countContainers(ctx context.Context, rt runtimes.Runtime) (int, error) {
	r := rt.(*Runtime)
	spare := map[string]bool{}
	noteSpares := func() {
		testRuntimes.Lock()
		defer testRuntimes.Unlock()
		for _, x := range testRuntimes.all {
			for _, name := range x.spareNames() {
				spare[name] = true
			}
		}
	}
	noteSpares()
	f := client.Filters{}.Add("label", LabelPortico+"=1", LabelInstance+"="+r.cfg.Instance)
	res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return 0, err
	}
	noteSpares()
	used := map[string]bool{}
	n := 0
	for _, c := range res.Items {
		if c.Labels[LabelRole] != "netns" {
			n++
			if id, ok := strings.CutPrefix(c.HostConfig.NetworkMode, "container:"); ok {
				used[id] = true
			}
		}
	}
	for _, c := range res.Items {
		if c.Labels[LabelRole] == "netns" && !used[c.ID] && (len(c.Names) == 0 || !spare[strings.TrimPrefix(c.Names[0], "/")]) {
			n++
		}
	}
	return n, nil
}

func TestConformance(t *testing.T) {
	runtimetest.RequireDocker(t)
	runtimetest.Run(t, func(t *testing.T) runtimes.Runtime {
		return newTestRuntime(t, Config{})
	}, runtimetest.Options{
		NetworkIsolated: true,
		Confined:        true,
		CountSandboxes:  countContainers,
		RemoveImage: func(ctx context.Context, rt runtimes.Runtime, ref string) error {
			if ctrbase.IsImageID(ref) {
				// Docker keeps no record of its own for an id (no pin): the
				// tag's removal removes the image, and forcing the id's could
				// remove a concurrent run's tag of the same image.
				return nil
			}
			_, err := rt.(*Runtime).cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
			return err
		},
	})
}

// TestHardening checks the container configuration a sandbox gets.
//
// Its sandbox also shows that a sandbox reads its container's peak memory
// from its cgroup at once (runtimes.PeakMemoryReader), so the first REPORT of
// a cold start shows it: the daemon's statistics, asked for in the background
// at the start, may not have come back by then (Max Memory Used: 0 MB).
func TestHardening(t *testing.T) {
	runtimetest.RequireDocker(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	ctx := context.Background()
	sb := runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: "sbx-hardening", Function: "fn", Version: "7", MemoryMB: 256})
	defer sb.Stop(ctx)
	t.Run("FirstPeakMemoryReadNow", func(t *testing.T) {
		pr, ok := sb.(runtimes.PeakMemoryReader)
		if !ok {
			t.Fatalf("%T reads no peak memory of its own", sb)
		}
		if mb := pr.ReadPeakMemoryMB(); mb <= 0 {
			t.Fatalf("ReadPeakMemoryMB() = %d, want the container's peak", mb)
		}
	})
	res, err := rt.cli.ContainerInspect(ctx, sb.(*sandbox).id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Container
	labels := c.Config.Labels
	for k, want := range map[string]string{LabelPortico: "1", LabelFunction: "fn", LabelVersion: "7", LabelSandbox: "sbx-hardening", LabelInstance: rt.cfg.Instance} {
		if labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, labels[k], want)
		}
	}
	hc := c.HostConfig
	if hc.Memory != 256<<20 || hc.MemorySwap != 256<<20 {
		t.Errorf("memory %d swap %d, want 256 MB and no swap", hc.Memory, hc.MemorySwap)
	}
	if hc.CPUShares != cpuShares(256) || cpuShares(1769) != 1024 {
		t.Errorf("cpu shares %d, want %d", hc.CPUShares, cpuShares(256))
	}
	if !hc.ReadonlyRootfs {
		t.Error("root file system is writable")
	}
	if !strings.Contains(hc.Tmpfs["/tmp"], "size=512m") {
		t.Errorf("tmpfs /tmp = %q", hc.Tmpfs["/tmp"])
	}
	if len(hc.CapDrop) != 1 || hc.CapDrop[0] != "ALL" || len(hc.CapAdd) != 0 {
		t.Errorf("caps: drop %v add %v", hc.CapDrop, hc.CapAdd)
	}
	if len(hc.SecurityOpt) == 0 || !strings.HasPrefix(hc.SecurityOpt[0], "no-new-privileges") {
		t.Errorf("security options %v", hc.SecurityOpt)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != 1024 {
		t.Errorf("pids limit %v", hc.PidsLimit)
	}
	if p := sb.(*sandbox).p; p.holder != "" {
		// The sandbox joined a spare holder's network namespace.
		if string(hc.NetworkMode) != "container:"+p.holder {
			t.Errorf("network %q, want the holder's", hc.NetworkMode)
		}
		h, err := rt.cli.ContainerInspect(ctx, p.holder, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if string(h.Container.HostConfig.NetworkMode) != "portico" {
			t.Errorf("holder's network %q", h.Container.HostConfig.NetworkMode)
		}
	} else if string(hc.NetworkMode) != "portico" {
		t.Errorf("network %q", hc.NetworkMode)
	}
	var ro bool
	for _, m := range c.Mounts {
		if m.Destination == "/var/task" {
			ro = !m.RW
		}
	}
	if !ro {
		t.Errorf("/var/task is not a read-only mount: %+v", c.Mounts)
	}
	if c.Config.User != "993:990" {
		t.Errorf("user %q, want 993:990 (sbx_user1051, with its group: no supplementary groups)", c.Config.User)
	}
	if !strings.Contains(hc.Tmpfs["/tmp"], "mode=1777") {
		t.Errorf("tmpfs /tmp = %q, want it writable by every user", hc.Tmpfs["/tmp"])
	}
}

// TestAllowRoot checks the operator's opt-out of the non-root rule: a Zip
// sandbox (whose base image names no USER) runs as root, as it did before.
func TestAllowRoot(t *testing.T) {
	runtimetest.RequireDocker(t)
	rt := newTestRuntime(t, Config{AllowRoot: true})
	defer rt.Close()
	if uid, gid := runtimetest.SandboxUser(t, rt); uid != 0 || gid != 0 {
		t.Errorf("with AllowRoot a Zip sandbox runs as %d:%d, want 0:0", uid, gid)
	}
}

// TestDaemonGoneAndBack: with the daemon gone, Start fails fast with
// ErrUnavailable and leaves nothing; once it is back the same runtime works.
func TestDaemonGoneAndBack(t *testing.T) {
	runtimetest.RequireDocker(t)
	target := runtimetest.DockerSocketPath(t)
	p := runtimetest.NewSocketProxy(t, target)
	rt := newTestRuntime(t, Config{Host: "unix://" + p.Path()})
	defer rt.Close()
	defer func() { _ = rt.Cleanup(context.Background()) }()
	spec := runtimetest.NamedSpec(runtimetest.CodeDir(t, runtimetest.BuildSandbox(t)))
	ctx := context.Background()

	p.Down()
	api := runtimetest.NewAPIServer(t, rt.HostAddr())
	_, err := rt.Start(ctx, spec("sbx-gone", api))
	if !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("Start with the daemon gone: %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("the error does not say the daemon is gone: %v", err)
	}
	if err := Factory(Config{Host: "unix://" + p.Path()}).Probe(ctx); err == nil {
		t.Errorf("Probe succeeded with the daemon gone")
	}

	p.Up(t)
	// After the deferred Cleanup and Close, which remove the spare holders
	// through the proxy.
	t.Cleanup(p.Down)
	sb, err := rt.Start(ctx, spec("sbx-back", api))
	if err != nil {
		t.Fatalf("Start once the daemon is back: %v", err)
	}
	go io.Copy(io.Discard, sb.Logs())
	if _, err := api.Invoke(ctx, []byte(`{"op":"env"}`), sb.Done()); err != nil {
		t.Fatalf("invoke once the daemon is back: %v", err)
	}
	if err := sb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := countContainers(ctx, rt); err != nil || n != 0 {
		t.Fatalf("%d containers left (%v)", n, err)
	}
}

// TestImportNotAnImage: an archive that holds no image is the caller's
// mistake (400), not a runtime failure.
func TestImportNotAnImage(t *testing.T) {
	runtimetest.RequireDocker(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	runtimetest.ImportRefusesNonImages(t, rt)
}

// TestBadInput: unparsable references and Zip code without a bootstrap get
// errors in Portico's kinds, and leave nothing behind.
func TestBadInput(t *testing.T) {
	runtimetest.RequireDocker(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	ctx := context.Background()
	for name, spec := range map[string]runtimes.Spec{
		"bad reference": {SandboxID: "sbx-bad-ref", PackageType: "Image", Image: "UPPER/case:!"},
		"no bootstrap":  {SandboxID: "sbx-no-bootstrap", PackageType: "Zip", CodeDir: t.TempDir()},
	} {
		_, err := rt.Start(ctx, spec)
		if !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := rt.ResolveImage(ctx, "UPPER/case:!"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("ResolveImage of a bad reference: %v, want ErrInvalid", err)
	}
	if n, err := countContainers(ctx, rt); err != nil || n != 0 {
		t.Fatalf("%d containers left (%v)", n, err)
	}
}

// TestBuildImage builds a FROM scratch image holding the sandbox program and runs
// it as an Image function.
func TestBuildImage(t *testing.T) {
	runtimetest.RequireDocker(t)
	dir := t.TempDir()
	bin := runtimetest.BuildSandbox(t)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY bootstrap /var/task/bootstrap\nENTRYPOINT [\"/var/task/bootstrap\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref := "portico-test/built:" + strings.ToLower(testInstance(t))
	var progress strings.Builder
	id, err := BuildImage(ctx, "", dir, ref, &progress)
	if err != nil {
		t.Fatalf("BuildImage: %v\n%s", err, progress.String())
	}
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	defer rt.cli.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true})
	if !strings.Contains(progress.String(), "Step 1/3") && !strings.Contains(progress.String(), "FROM scratch") {
		t.Errorf("no build progress: %q", progress.String())
	}
	if got, err := rt.ResolveImage(ctx, ref); err != nil || got != id {
		t.Fatalf("ResolveImage = %q, %v; want %q", got, err, id)
	}
	// From the daemon's images alone (deploy --dry-run): the built image,
	// and a missing one is ErrNotFound, not pulled.
	if got, err := rt.ResolveLocalImage(ctx, ref); err != nil || got != id {
		t.Fatalf("ResolveLocalImage = %q, %v; want %q", got, err, id)
	}
	if got, err := rt.ResolveLocalImage(ctx, id); err != nil || got != id {
		t.Fatalf("ResolveLocalImage(id) = %q, %v; want %q", got, err, id)
	}
	if _, err := rt.ResolveLocalImage(ctx, "portico-test/absent:"+strings.ToLower(testInstance(t))); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("ResolveLocalImage of a missing image: %v, want ErrNotFound", err)
	}
	api := runtimetest.NewAPIServer(t, rt.HostAddr())
	sb, err := rt.Start(ctx, runtimes.Spec{SandboxID: "sbx-built", PackageType: "Image", Image: id,
		Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": api.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Stop(ctx)
	go io.Copy(io.Discard, sb.Logs())
	if _, err := api.Invoke(ctx, []byte(`{"op":"env"}`), sb.Done()); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildImage(ctx, "", t.TempDir(), ref, nil); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("BuildImage without a Dockerfile: %v, want ErrInvalid", err)
	}
}

// TestNetworkCreatedOnce: runtimes starting together on a host without the
// network agree on one.
func TestNetworkCreatedOnce(t *testing.T) {
	runtimetest.RequireDocker(t)
	inst := testInstance(t)
	cfg := Config{Network: "portico-" + inst, BridgeName: "ptc" + inst[len(inst)-8:]}
	var wg sync.WaitGroup
	addrs := make([]string, 4)
	for i := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt := newTestRuntime(t, cfg)
			addrs[i] = rt.HostAddr()
			rt.Close()
		}()
	}
	wg.Wait()
	cli, err := newClient("")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	defer cli.NetworkRemove(context.Background(), cfg.Network, client.NetworkRemoveOptions{})
	for _, a := range addrs {
		if a == "" || a != addrs[0] {
			t.Fatalf("runtimes disagree on the gateway: %v", addrs)
		}
	}
	list, err := cli.NetworkList(context.Background(), client.NetworkListOptions{Filters: client.Filters{}.Add("name", cfg.Network)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d networks named %s", len(list.Items), cfg.Network)
	}
}

// TestBuildImageSaysWhatIsMissing: a directory that does not exist, or that
// is a file, is said to be so, not to lack a Dockerfile; one without a
// Dockerfile is said to lack one, with the sample's to copy. None needs
// Docker: the checks come first.
func TestBuildImageSaysWhatIsMissing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	for dir, want := range map[string]string{
		filepath.Join(t.TempDir(), "nonexist"): "does not exist",
		file:                                   "is not a directory",
		empty:                                  "has no Dockerfile: put one in it (samples/hello/Dockerfile",
	} {
		_, err := BuildImage(context.Background(), "", dir, "portico-test/x:1", nil)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), dir+" "+want) {
			t.Errorf("BuildImage(%s): %v, want ErrInvalid saying %q", dir, err, want)
		}
	}
}

// TestImageHealthcheckNotRun checks that a sandbox never runs its image's
// HEALTHCHECK (r-rt27 #7): the daemon would run it inside the sandbox between
// invocations, and an image whose check runs its entrypoint lost every idle
// sandbox at the first check. Lambda and containerd ignore it.
func TestImageHealthcheckNotRun(t *testing.T) {
	runtimetest.RequireDocker(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	ctx := context.Background()
	ref := "portico-test/healthcheck:" + strings.ToLower(rt.cfg.Instance)
	if _, err := rt.ImportImage(ctx, bytes.NewReader(runtimetest.HealthcheckImageArchive(t, runtimetest.BuildSandbox(t), ref, []string{"CMD", "/bootstrap"}))); err != nil {
		t.Fatalf("ImportImage: %v", err)
	}
	t.Cleanup(func() {
		_, _ = rt.cli.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	sb, _ := startBox(t, rt, runtimetest.ImageSpec(ref))
	res, err := rt.cli.ContainerInspect(ctx, sb.(*sandbox).id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Container
	if c.Config.Healthcheck == nil || len(c.Config.Healthcheck.Test) != 1 || c.Config.Healthcheck.Test[0] != "NONE" {
		t.Errorf("the sandbox's health check is %+v, want the image's turned off (NONE)", c.Config.Healthcheck)
	}
	if c.State != nil && c.State.Health != nil {
		t.Errorf("the daemon runs a health check in the sandbox: %+v", c.State.Health)
	}
}

// TestImageVolumeMount checks how an image's VOLUME is mounted: an empty
// read-only tmpfs, and no Docker volume (r-rt27 #5). The conformance case
// Image/ImageVolumeReadOnly checks that the sandbox cannot write there.
func TestImageVolumeMount(t *testing.T) {
	hc := &container.HostConfig{Tmpfs: map[string]string{"/tmp": "rw"}, Mounts: []mount.Mount{{Type: mount.TypeBind, Target: "/mnt/vol"}}}
	readOnlyVolumes(hc, []string{"/data", "/data/", "/tmp", "/mnt/vol/", "relative", "/"})
	want := map[string]string{"/tmp": "rw", "/data": "ro,nosuid,nodev,noexec,size=4k"}
	if len(hc.Tmpfs) != len(want) {
		t.Fatalf("tmpfs mounts %v, want %v", hc.Tmpfs, want)
	}
	for k, v := range want {
		if hc.Tmpfs[k] != v {
			t.Errorf("tmpfs %s = %q, want %q", k, hc.Tmpfs[k], v)
		}
	}
}

// TestCleanupRemovesFormerInstance checks that Cleanup also removes the
// containers of Config.FormerInstance: those a crashed run of an earlier
// Portico left under the digest of the data directory's path as spelt,
// before the instance resolved symbolic links (r-rt27 #2).
func TestCleanupRemovesFormerInstance(t *testing.T) {
	runtimetest.RequireDocker(t)
	former := testInstance(t) + "-former"
	rt := newTestRuntime(t, Config{FormerInstance: former})
	defer rt.Close()
	ctx := context.Background()
	image, err := rt.baseImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := testInstance(t) + "-other" // another installation's: kept
	var ids []string
	for _, inst := range []string{former, other} {
		res, err := rt.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config: &container.Config{Image: image, Entrypoint: []string{"/portico-never-started"},
				Labels: map[string]string{LabelPortico: "1", LabelInstance: inst}},
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
		t.Cleanup(func() { rt.removeContainer(res.ID) })
	}
	if err := rt.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.cli.ContainerInspect(ctx, ids[0], client.ContainerInspectOptions{}); err == nil {
		t.Error("the former instance's container is left after Cleanup")
	}
	if _, err := rt.cli.ContainerInspect(ctx, ids[1], client.ContainerInspectOptions{}); err != nil {
		t.Errorf("another instance's container was removed: %v", err)
	}
}
