package process

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
)

func TestLinkMounts(t *testing.T) {
	if err := os.MkdirAll("/mnt", 0o755); err != nil {
		t.Skipf("/mnt is not writable here: %v", err)
	}
	probe := filepath.Join("/mnt", ".portico-probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Skipf("/mnt is not writable here: %v", err)
	}
	_ = os.Remove(probe)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "portico-test-" + hex.EncodeToString(b[:])
	target := "/mnt/" + name
	t.Cleanup(func() { _ = os.Remove(target) })

	dataA, dataB := t.TempDir(), t.TempDir()
	volA, volB := filepath.Join(dataA, "volumes", name), filepath.Join(dataB, "volumes", name)
	for _, d := range []string{volA, volB} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(volA, "f"), []byte("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Absent: linked.
	if err := linkMounts([]runtimes.Mount{{Source: volA, Target: target}}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(target, "f")); err != nil || string(got) != "a" {
		t.Fatalf("read through the link: %q %v", got, err)
	}
	// Already linked: kept.
	if err := linkMounts([]runtimes.Mount{{Source: volA, Target: target}}); err != nil {
		t.Fatal(err)
	}
	// Another data directory's volume: repointed.
	if err := linkMounts([]runtimes.Mount{{Source: volB, Target: target}}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := os.Readlink(target); cur != volB {
		t.Fatalf("link points at %s", cur)
	}
	// A link elsewhere, or a real directory: refused.
	_ = os.Remove(target)
	if err := os.Symlink(t.TempDir(), target); err != nil {
		t.Fatal(err)
	}
	if err := linkMounts([]runtimes.Mount{{Source: volA, Target: target}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("foreign link: %v", err)
	}
	_ = os.Remove(target)
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := linkMounts([]runtimes.Mount{{Source: volA, Target: target}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("real directory: %v", err)
	}
	if err := linkMounts([]runtimes.Mount{{Source: volA, Target: "/etc/x"}}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("path outside /mnt: %v", err)
	}
}
