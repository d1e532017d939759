package containerd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/cio"
	cerrdefs "github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/docker"
	"github.com/portico-dev/portico/runtimes/internal/ctrbase"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// testInstance scopes a test's containers (and its Cleanup) to the test.
func testInstance(t testing.TB) string { return "test-" + docker.InstanceFor(t.Name()) }

func newTestRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.Instance == "" {
		cfg.Instance = testInstance(t)
	}
	if cfg.Socket == "" {
		cfg.Socket = runtimetest.ContainerdSocket()
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
	return rt
}

func countContainers(ctx context.Context, rt runtimes.Runtime) (int, error) {
	ids, err := rt.(*Runtime).list(ctx)
	return len(ids), err
}

func removeImage(ctx context.Context, rt runtimes.Runtime, ref string) error {
	r := rt.(*Runtime)
	name := ref
	if ctrbase.IsImageID(ref) {
		name = r.pinName(ref)
	} else if n, err := normalize(ref); err == nil {
		name = n
	}
	return r.cli.ImageService().Delete(r.ctx(ctx), name, images.SynchronousDelete())
}

func TestConformance(t *testing.T) {
	runtimetest.RequireContainerd(t)
	runtimetest.Run(t, func(t *testing.T) runtimes.Runtime {
		return newTestRuntime(t, Config{})
	}, runtimetest.Options{
		NetworkIsolated: true,
		Confined:        true,
		CountSandboxes:  countContainers,
		RemoveImage:     removeImage,
		Neighbour:       dockerNeighbour,
	})
}

// dockerNeighbour makes a Docker runtime beside containerd's, on its default
// network (bridge portico0), scoped to t; it skips t when Docker does not
// answer, unless REQUIRE_DOCKER=1.
func dockerNeighbour(t *testing.T) runtimes.Runtime {
	t.Helper()
	runtimetest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := docker.New(ctx, docker.Config{Instance: testInstance(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("docker.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rt.Cleanup(ctx); err != nil {
			t.Logf("docker Cleanup: %v", err)
		}
		_ = rt.Close()
	})
	return rt
}

// TestHardening checks the OCI spec a sandbox gets.
func TestHardening(t *testing.T) {
	runtimetest.RequireContainerd(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	ctx := context.Background()
	sb := runtimetest.StartSandbox(t, rt, runtimes.Spec{SandboxID: "sbx-hardening", Function: "fn", Version: "7", MemoryMB: 256})
	defer sb.Stop(ctx)
	c := sb.(*sandbox).p.c
	labels, err := c.Labels(rt.ctx(ctx))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{LabelPortico: "1", LabelFunction: "fn", LabelVersion: "7", LabelSandbox: "sbx-hardening", LabelInstance: rt.cfg.Instance} {
		if labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, labels[k], want)
		}
	}
	s, err := c.Spec(rt.ctx(ctx))
	if err != nil {
		t.Fatal(err)
	}
	res := s.Linux.Resources
	if res.Memory == nil || *res.Memory.Limit != 256<<20 || *res.Memory.Swap != 256<<20 {
		t.Errorf("memory %+v, want 256 MB and no swap", res.Memory)
	}
	if res.CPU == nil || *res.CPU.Shares != cpuShares(256) {
		t.Errorf("cpu %+v", res.CPU)
	}
	if res.Pids == nil || *res.Pids.Limit != 1024 {
		t.Errorf("pids %+v", res.Pids)
	}
	if !s.Root.Readonly {
		t.Error("root file system is writable")
	}
	if !s.Process.NoNewPrivileges {
		t.Error("privilege escalation allowed")
	}
	if caps := s.Process.Capabilities; caps != nil && (len(caps.Bounding)+len(caps.Effective)+len(caps.Permitted)) > 0 {
		t.Errorf("capabilities %+v", caps)
	}
	if sc := s.Linux.Seccomp; sc == nil || sc.DefaultAction != specs.ActErrno {
		t.Errorf("seccomp %+v, want Docker's default profile (deny what it does not list)", sc)
	}
	if s.Linux.Sysctl["net.ipv6.conf.all.disable_ipv6"] != "1" || s.Linux.Sysctl["net.ipv6.conf.default.disable_ipv6"] != "1" {
		t.Errorf("sysctls %v: IPv6 is on in the sandbox's network namespace", s.Linux.Sysctl)
	}
	var tmp, task bool
	for _, m := range s.Mounts {
		switch m.Destination {
		case "/tmp":
			tmp = m.Type == "tmpfs" && strings.Contains(strings.Join(m.Options, ","), "size=512m")
		case "/var/task":
			task = strings.Contains(","+strings.Join(m.Options, ",")+",", ",ro,")
		}
	}
	if !tmp || !task {
		t.Errorf("mounts: tmpfs /tmp %v, read-only /var/task %v: %+v", tmp, task, s.Mounts)
	}
	if u := s.Process.User; u.UID != 993 || u.GID != 990 || len(u.AdditionalGids) != 0 {
		t.Errorf("user %+v, want 993:990 (sbx_user1051) and no supplementary groups", u)
	}
	var netns string
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == "network" {
			netns = ns.Path
		}
	}
	if netns == "" || !strings.HasPrefix(netns, rt.cfg.Network.NetNSDir) {
		t.Errorf("network namespace %q: not one of the sandbox's own", netns)
	}
}

// TestAllowRoot checks the operator's opt-out of the non-root rule: a Zip
// sandbox (whose base image names no USER) runs as root, as it did before.
func TestAllowRoot(t *testing.T) {
	runtimetest.RequireContainerd(t)
	rt := newTestRuntime(t, Config{AllowRoot: true})
	defer rt.Close()
	if uid, gid := runtimetest.SandboxUser(t, rt); uid != 0 || gid != 0 {
		t.Errorf("with AllowRoot a Zip sandbox runs as %d:%d, want 0:0", uid, gid)
	}
}

// TestCopyFromDocker: an image only the Docker daemon has is copied into
// containerd on first use.
func TestCopyFromDocker(t *testing.T) {
	runtimetest.RequireContainerd(t)
	runtimetest.RequireDocker(t)
	ctx := context.Background()
	drt, err := docker.New(ctx, docker.Config{Instance: testInstance(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer drt.Close()
	bin := runtimetest.BuildSandbox(t)
	ref := "portico-test/from-docker:" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
	if _, err := drt.ImportImage(ctx, strings.NewReader(string(runtimetest.ImageArchive(t, bin, ref, "PORTICO_TEST_IMAGE=docker")))); err != nil {
		t.Fatal(err)
	}
	// The tag is Docker's too: take it off there when done, or every run
	// leaves one behind.
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", ref).Run() })
	rt := newTestRuntime(t, Config{Images: docker.Images{}})
	defer rt.Close()
	defer removeImage(ctx, rt, ref)
	api := runtimetest.NewAPIServer(t, rt.HostAddr())
	sb, err := rt.Start(ctx, runtimes.Spec{SandboxID: "sbx-from-docker", Function: "fn", Version: "1", PackageType: "Image", Image: ref,
		Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": api.Addr()}})
	if err != nil {
		t.Fatalf("Start of an image only Docker has: %v", err)
	}
	defer sb.Stop(ctx)
	go io.Copy(io.Discard, sb.Logs())
	r, err := api.Invoke(ctx, []byte(`{"op":"env"}`), sb.Done())
	if err != nil || !strings.Contains(string(r.Body), `"PORTICO_TEST_IMAGE":"docker"`) {
		t.Fatalf("invoke: %s, %v", r.Body, err)
	}
}

// TestUnavailable: a socket nobody answers on gives ErrUnavailable.
func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	sock := t.TempDir() + "/none.sock"
	if err := Ping(ctx, sock); !errors.Is(err, errdefs.ErrUnavailable) {
		t.Errorf("Ping: %v, want ErrUnavailable", err)
	}
	if err := Factory(Config{Socket: sock}).Probe(ctx); err == nil {
		t.Errorf("Probe succeeded")
	}
	_ = os.Remove(sock)
}

// TestImportNotAnImage: an archive that holds no image is the caller's
// mistake (400), not a runtime failure.
func TestImportNotAnImage(t *testing.T) {
	runtimetest.RequireContainerd(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	runtimetest.ImportRefusesNonImages(t, rt)
}

// TestBadInput: unparsable references and code without a bootstrap.
func TestBadInput(t *testing.T) {
	runtimetest.RequireContainerd(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	ctx := context.Background()
	for name, spec := range map[string]runtimes.Spec{
		"bad reference": {SandboxID: "sbx-bad-ref", PackageType: "Image", Image: "UPPER/case:!"},
		"no bootstrap":  {SandboxID: "sbx-no-bootstrap", PackageType: "Zip", CodeDir: t.TempDir()},
	} {
		if _, err := rt.Start(ctx, spec); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if n, err := countContainers(ctx, rt); err != nil || n != 0 {
		t.Fatalf("%d containers left (%v)", n, err)
	}
}

// TestDaemonGoneAndBack: with containerd gone, Start fails fast with
// ErrUnavailable and leaves nothing; once it is back the same runtime works.
func TestDaemonGoneAndBack(t *testing.T) {
	runtimetest.RequireContainerd(t)
	p := runtimetest.NewSocketProxy(t, runtimetest.ContainerdSocket())
	rt := newTestRuntime(t, Config{Socket: p.Path()})
	defer rt.Close()
	spec := runtimetest.NamedSpec(runtimetest.CodeDir(t, runtimetest.BuildSandbox(t)))
	ctx := context.Background()
	if _, err := rt.baseImage(ctx); err != nil {
		t.Fatal(err)
	}

	api := runtimetest.NewAPIServer(t, rt.HostAddr())
	for _, stale := range []bool{false, true} {
		p.Down()
		if stale {
			// A crashed containerd leaves its socket file behind: connections are refused.
			ln, err := net.Listen("unix", p.Path())
			if err != nil {
				t.Fatal(err)
			}
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			ln.Close()
		}
		_, err := rt.Start(ctx, spec("sbx-gone", api))
		if !errors.Is(err, errdefs.ErrUnavailable) {
			t.Fatalf("Start with containerd gone (stale socket %v): %v, want ErrUnavailable", stale, err)
		}
		p.Up(t)
	}
	defer p.Down()
	var err error
	var sb runtimes.Sandbox
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if sb, err = rt.Start(ctx, spec("sbx-back", api)); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("Start once containerd is back: %v", err)
	}
	go io.Copy(io.Discard, sb.Logs())
	if _, err := api.Invoke(ctx, []byte(`{"op":"env"}`), sb.Done()); err != nil {
		t.Fatalf("invoke once containerd is back: %v", err)
	}
	if err := sb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := countContainers(ctx, rt); err != nil || n != 0 {
		t.Fatalf("%d containers left (%v)", n, err)
	}
}

// TestConcurrentTaskDeletes deletes a running sandbox's task from two
// goroutines at once, as a restarted Portico's Cleanup may while the old one
// stops the same sandbox: the shim exits under one of the calls (its ttrpc
// connection closes), and both deletes must still succeed.
func TestConcurrentTaskDeletes(t *testing.T) {
	runtimetest.RequireContainerd(t)
	rt := newTestRuntime(t, Config{})
	t.Cleanup(func() { _ = rt.Cleanup(context.Background()); _ = rt.Close() })
	spec := runtimetest.SandboxSpec(t)
	ctx := rt.ctx(context.Background())
	ref, err := rt.baseImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := rt.image(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		s := spec(runtimetest.NewAPIServer(t, rt.HostAddr()))
		c, nsPath := newBareContainer(t, rt, ctx, s, img)
		task, err := c.NewTask(ctx, cio.NullIO)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j := range errs {
			wg.Go(func() { errs[j] = rt.deleteTask(ctx, c) })
		}
		wg.Wait()
		for j, err := range errs {
			if err != nil {
				t.Errorf("round %d, delete %d: %v", i, j, err)
			}
		}
		if _, err := c.Task(ctx, nil); !cerrdefs.IsNotFound(err) {
			t.Errorf("round %d: the task is still there (%v)", i, err)
		}
		if err := rt.teardown(ctx, c, nsPath); err != nil {
			t.Fatalf("round %d: teardown: %v", i, err)
		}
	}
}

// TestUnpin: ResolveImage pins an image by id; PinnedImages lists the pin once it
// is older than the time asked for; Unpin removes it (twice is not an error), and
// with its tag gone too the id no longer names an image.
func TestUnpin(t *testing.T) {
	runtimetest.RequireContainerd(t)
	ctx := context.Background()
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	ref := "portico-test/unpin:" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
	bin := runtimetest.BuildSandbox(t)
	if _, err := rt.ImportImage(ctx, strings.NewReader(string(runtimetest.ImageArchive(t, bin, ref, "PORTICO_TEST_IMAGE=unpin")))); err != nil {
		t.Fatal(err)
	}
	defer removeImage(ctx, rt, ref)
	before := time.Now().Add(-time.Hour)
	id, err := rt.ResolveImage(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer removeImage(ctx, rt, id)
	if again, err := rt.ResolveImage(ctx, ref); err != nil || again != id { // the pin is touched
		t.Fatalf("ResolveImage again = %s, %v; want %s", again, err, id)
	}
	if ids, err := rt.PinnedImages(ctx, time.Now().Add(time.Minute)); err != nil || !slices.Contains(ids, id) {
		t.Fatalf("PinnedImages = %v, %v; want %s among them", ids, err, id)
	}
	if ids, err := rt.PinnedImages(ctx, before); err != nil || slices.Contains(ids, id) {
		t.Fatalf("PinnedImages(an hour ago) = %v, %v; the pin is newer", ids, err)
	}
	for range 2 {
		if err := rt.Unpin(ctx, id); err != nil {
			t.Fatalf("Unpin: %v", err)
		}
	}
	if ids, _ := rt.PinnedImages(ctx, time.Now().Add(time.Minute)); slices.Contains(ids, id) {
		t.Fatalf("%s still pinned after Unpin", id)
	}
	if err := removeImage(ctx, rt, ref); err != nil {
		t.Fatal(err)
	}
	_, err = rt.image(ctx, id)
	if err == nil || !strings.Contains(err.Error(), "no longer on this host") {
		t.Fatalf("image %s with neither pin nor tag: %v; want it gone", id, err)
	}
	// The caller of an invoke is told what to do, not only that it failed.
	var gone *runtimes.ImageGoneError
	if !errors.As(err, &gone) || !errors.Is(err, errdefs.ErrUnavailable) {
		t.Fatalf("image %s gone: %#v; want a *runtimes.ImageGoneError (ErrUnavailable)", id, err)
	}
	for _, want := range []string{id, "portico image import", "portico fn update"} {
		if !strings.Contains(gone.ClientMessage(), want) || !strings.Contains(err.Error(), want) {
			t.Errorf("image gone: error %q, client message %q; want both to say %q", err, gone.ClientMessage(), want)
		}
	}
}

// TestNoFIFOsLeft is the leak the black-box tester found: every sandbox left
// its output FIFOs' directory under containerd's FIFO directory (20 invokes of
// a function that exits: 20 more directories), since the task was deleted as
// reloaded, without its IO, whose closing removes them. Whoever removes the
// sandbox (its exit, Stop, Discard, or a Cleanup by the next run) removes
// them now.
func TestNoFIFOsLeft(t *testing.T) {
	runtimetest.RequireContainerd(t)
	rt := newTestRuntime(t, Config{})
	defer rt.Close()
	ctx := context.Background()
	defer func() { _ = rt.Cleanup(ctx) }()
	api := runtimetest.NewAPIServer(t, rt.HostAddr())
	spec := func(id string) runtimes.Spec {
		return runtimes.Spec{SandboxID: id, Function: "fn", Version: "1", PackageType: "Zip",
			CodeDir: runtimetest.CodeDir(t, runtimetest.BuildSandbox(t)), Env: map[string]string{"AWS_LAMBDA_RUNTIME_API": api.Addr()}}
	}
	fifoDir := func(t *testing.T, p *prepared) string {
		t.Helper()
		dir := filepath.Dir(p.task.IO().Config().Stdout)
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("the sandbox's FIFO directory: %v", err)
		}
		return dir
	}
	gone := func(t *testing.T, dir string) {
		t.Helper()
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			ents, _ := os.ReadDir(dir)
			t.Errorf("the sandbox is removed, but its FIFO directory %s is left (%v), holding %d files", dir, err, len(ents))
		}
	}
	t.Run("exited", func(t *testing.T) {
		p, err := rt.Prepare(ctx, spec("sbx-fifo-exited"))
		if err != nil {
			t.Fatal(err)
		}
		dir := fifoDir(t, p.(*prepared))
		sb, err := p.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, sb.Logs())
		_, _ = api.Invoke(ctx, []byte(`{"op":"crash"}`), sb.Done())
		<-sb.Done()
		if err := sb.Stop(ctx); err != nil { // waits for the removal the exit started
			t.Fatal(err)
		}
		gone(t, dir)
	})
	t.Run("stopped", func(t *testing.T) {
		p, err := rt.Prepare(ctx, spec("sbx-fifo-stopped"))
		if err != nil {
			t.Fatal(err)
		}
		dir := fifoDir(t, p.(*prepared))
		sb, err := p.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, sb.Logs())
		if err := sb.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		gone(t, dir)
	})
	t.Run("discarded", func(t *testing.T) {
		p, err := rt.Prepare(ctx, spec("sbx-fifo-discarded"))
		if err != nil {
			t.Fatal(err)
		}
		dir := fifoDir(t, p.(*prepared))
		if err := p.Discard(ctx); err != nil {
			t.Fatal(err)
		}
		gone(t, dir)
	})
	t.Run("cleanup", func(t *testing.T) {
		// A sandbox of a run that ended without removing it: the next run's
		// Cleanup has only containerd's record of the task's FIFOs.
		p, err := rt.Prepare(ctx, spec("sbx-fifo-cleanup"))
		if err != nil {
			t.Fatal(err)
		}
		dir := fifoDir(t, p.(*prepared))
		next := newTestRuntime(t, Config{Instance: rt.cfg.Instance})
		defer next.Close()
		if err := next.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
		gone(t, dir)
	})
}

// TestPinsArePerInstallation is the data loss the black-box tester found: a
// second Portico on the same containerd (a fresh data directory, so another
// instance) listed the first one's pins as its own, found no version of its own
// using them and unpinned them, and the first one's published version lost its
// image once its tag had moved. Each installation now lists and removes only its
// own pins; a pin of an older Portico (no instance) is nobody's to remove, and an
// installation whose versions use an image pinned only by others pins it too.
func TestPinsArePerInstallation(t *testing.T) {
	runtimetest.RequireContainerd(t)
	ctx := context.Background()
	a := newTestRuntime(t, Config{Instance: testInstance(t) + "-a"})
	defer a.Close()
	b := newTestRuntime(t, Config{Instance: testInstance(t) + "-b"})
	defer b.Close()
	ref := "portico-test/pins:" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
	bin := runtimetest.BuildSandbox(t)
	if _, err := a.ImportImage(ctx, strings.NewReader(string(runtimetest.ImageArchive(t, bin, ref, "PORTICO_TEST_IMAGE=pins")))); err != nil {
		t.Fatal(err)
	}
	defer removeImage(ctx, a, ref)
	id, err := a.ResolveImage(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer removeImage(ctx, a, id)
	defer removeImage(ctx, b, id)
	later := time.Now().Add(time.Minute)

	// B sees none of A's pins, and its Unpin leaves them.
	if ids, err := b.PinnedImages(ctx, later); err != nil || slices.Contains(ids, id) {
		t.Fatalf("B's PinnedImages = %v, %v; A's pin %s is not B's", ids, err, id)
	}
	if err := b.Unpin(ctx, id); err != nil {
		t.Fatalf("B's Unpin: %v", err)
	}
	if err := removeImage(ctx, a, ref); err != nil { // the tag moves on
		t.Fatal(err)
	}
	if _, err := a.image(ctx, id); err != nil {
		t.Fatalf("A's pinned image after B's Unpin and the tag's removal: %v", err)
	}
	if ids, err := a.PinnedImages(ctx, later); err != nil || !slices.Contains(ids, id) {
		t.Fatalf("A's PinnedImages = %v, %v; want %s", ids, err, id)
	}

	// A pin an older Portico made (no instance label) is listed by no one and
	// removed by no one: only it holds the image once A unpins.
	img, err := a.cli.GetImage(a.ctx(ctx), a.pinName(id))
	if err != nil {
		t.Fatal(err)
	}
	legacy := images.Image{Name: legacyPinName(id), Target: img.Target(), Labels: map[string]string{LabelPortico: "1"}}
	if _, err := a.cli.ImageService().Create(a.ctx(ctx), legacy); err != nil && !cerrdefs.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	defer func() { _ = a.cli.ImageService().Delete(a.ctx(ctx), legacy.Name) }()
	if err := a.Unpin(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, rt := range []*Runtime{a, b} {
		if ids, err := rt.PinnedImages(ctx, later); err != nil || slices.Contains(ids, id) {
			t.Fatalf("%s's PinnedImages = %v, %v; the older Portico's pin is nobody's", rt.cfg.Instance, ids, err)
		}
		if err := rt.Unpin(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.image(ctx, id); err != nil {
		t.Fatalf("the image an older Portico pinned, after both Unpins: %v", err)
	}

	// B's versions use it: B pins it as its own, and keeps it when the older pin goes.
	adopted, err := b.AdoptPins(ctx, []string{id, "sha256:" + strings.Repeat("0", 64)})
	if err != nil || !slices.Equal(adopted, []string{id}) {
		t.Fatalf("B's AdoptPins = %v, %v; want [%s]", adopted, err, id)
	}
	if adopted, err := b.AdoptPins(ctx, []string{id}); err != nil || len(adopted) != 0 {
		t.Fatalf("B's AdoptPins again = %v, %v; want nothing (B's own pin holds it)", adopted, err)
	}
	if ids, err := b.PinnedImages(ctx, later); err != nil || !slices.Contains(ids, id) {
		t.Fatalf("B's PinnedImages after adopting = %v, %v; want %s", ids, err, id)
	}
	if err := a.cli.ImageService().Delete(a.ctx(ctx), legacy.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := b.image(ctx, id); err != nil {
		t.Fatalf("B's adopted image after the older pin's removal: %v", err)
	}
}

// TestCleanupRemovesFormerInstance checks that Cleanup also removes the
// containers of Config.FormerInstance (docker's test of the same name).
func TestCleanupRemovesFormerInstance(t *testing.T) {
	runtimetest.RequireContainerd(t)
	former := testInstance(t) + "-former"
	rt := newTestRuntime(t, Config{FormerInstance: former})
	ctx := rt.ctx(context.Background())
	var ids []string
	for _, inst := range []string{former, testInstance(t) + "-other"} {
		id := "portico-test-" + ctrbase.SafeName(inst, "-")
		c, err := rt.cli.NewContainer(ctx, id, containerd.WithContainerLabels(map[string]string{LabelPortico: "1", LabelInstance: inst}),
			containerd.WithRuntime(rt.cfg.Runtime, nil), containerd.WithNewSpec())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		t.Cleanup(func() { _ = c.Delete(ctx) })
	}
	if err := rt.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.cli.LoadContainer(ctx, ids[0]); err == nil {
		t.Error("the former instance's container is left after Cleanup")
	}
	if _, err := rt.cli.LoadContainer(ctx, ids[1]); err != nil {
		t.Errorf("another instance's container was removed: %v", err)
	}
}
