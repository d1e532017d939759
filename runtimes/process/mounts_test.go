package process

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

// requireMnt skips unless /mnt can be written here (the links live there).
func requireMnt(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll("/mnt", 0o755); err != nil { //nolint:gosec // G301: as the runtime makes it
		t.Skipf("/mnt is not writable here: %v", err)
	}
	probe := filepath.Join("/mnt", ".portico-probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Skipf("/mnt is not writable here: %v", err)
	}
	_ = os.Remove(probe)
}

// testVolume returns a unique volume name and, for each of n data
// directories, its directory volumes/NAME.
func testVolume(t *testing.T, n int) (string, []string) {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "portico-test-" + hex.EncodeToString(b[:])
	var vols []string
	for range n {
		v := filepath.Join(t.TempDir(), "volumes", name)
		if err := os.MkdirAll(v, 0o755); err != nil { //nolint:gosec // G301: as functions.VolumeDir makes it
			t.Fatal(err)
		}
		vols = append(vols, v)
	}
	return name, vols
}

func newTestRuntime(t *testing.T) *Runtime {
	t.Helper()
	r, err := New(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// link is what Start does for mounts where sandboxes get no private mounts.
func (r *Runtime) link(src, target string) error {
	mounts, err := checkMounts([]runtimes.Mount{{Source: src, Target: target}})
	if err != nil {
		return err
	}
	return r.linkMounts(mounts)
}

// TestLinkMounts is the link mode (no private mounts): /mnt/NAME is one link
// for the host. Two installations repointed it at each other's volumes while
// both ran (so one's functions used the other's files); now the link is held
// by the installation that made it while its runtime is open, another
// installation is refused with an error naming the holder, and a link whose
// installation stopped, or whose volume is gone, is taken over.
func TestLinkMounts(t *testing.T) {
	requireMnt(t)
	name, vols := testVolume(t, 3)
	volA, volB, volC := vols[0], vols[1], vols[2]
	target := "/mnt/" + name
	t.Cleanup(func() { _ = os.Remove(target) })
	if err := os.WriteFile(filepath.Join(volA, "f"), []byte("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := newTestRuntime(t), newTestRuntime(t)
	readlink := func() string { cur, _ := os.Readlink(target); return cur }

	// Absent: linked.
	if err := a.link(volA, target); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(target, "f")); err != nil || string(got) != "a" {
		t.Fatalf("read through the link: %q %v", got, err)
	}
	// Already linked: kept.
	if err := a.link(volA, target); err != nil {
		t.Fatal(err)
	}
	// Another installation while A runs: refused, naming A's data directory;
	// the link stays A's.
	err := b.link(volB, target)
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "in use by another Portico installation") ||
		!strings.Contains(err.Error(), filepath.Dir(filepath.Dir(volA))) {
		t.Fatalf("B linking A's live link: %v; want it refused, naming A's data directory", err)
	}
	if cur := readlink(); cur != volA {
		t.Fatalf("after B's refusal the link points at %s, want A's %s", cur, volA)
	}
	// A stops (its link goes with it, as a kill would leave it): B takes the
	// link over.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if cur := readlink(); cur != "" {
		t.Fatalf("A's link outlives A's runtime: %s", cur)
	}
	if err := os.Symlink(volA, target); err != nil {
		t.Fatal(err)
	}
	if err := b.link(volB, target); err != nil {
		t.Fatalf("B taking over the link of a stopped installation: %v", err)
	}
	if cur := readlink(); cur != volB {
		t.Fatalf("link points at %s, want B's %s", cur, volB)
	}
	// A volume that is gone (a deleted temporary data directory) is taken
	// over, whoever held it.
	if err := os.RemoveAll(volB); err != nil {
		t.Fatal(err)
	}
	c := newTestRuntime(t)
	if err := c.link(volC, target); err != nil {
		t.Fatalf("C taking over a link to a volume that is gone: %v", err)
	}
	if cur := readlink(); cur != volC {
		t.Fatalf("link points at %s, want C's %s", cur, volC)
	}

	// A link elsewhere, or a real directory: refused.
	_ = os.Remove(target)
	if err := os.Symlink(t.TempDir(), target); err != nil {
		t.Fatal(err)
	}
	if err := c.link(volC, target); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("foreign link: %v", err)
	}
	_ = os.Remove(target)
	if err := os.Mkdir(target, 0o755); err != nil { //nolint:gosec // G301: a test directory
		t.Fatal(err)
	}
	if err := c.link(volC, target); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("real directory: %v", err)
	}
	if err := c.link(volC, "/etc/x"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("path outside /mnt: %v", err)
	}
}
