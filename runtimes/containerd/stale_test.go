package containerd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/runtimes/docker"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

var _ ImageIdentifier = docker.Images{}

// dockerIDs is an ImageIdentifier whose images have the ids of its map.
type dockerIDs map[string]string

func (d dockerIDs) SaveImage(context.Context, string) (io.ReadCloser, error) {
	return nil, errors.New("not copied in this test")
}

func (d dockerIDs) ImageID(_ context.Context, ref string) (string, error) {
	if id, ok := d[ref]; ok {
		return id, nil
	}
	return "", errors.New("no such image")
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestResolveWarnsOfStaleImage: ResolveImage of a tag containerd holds, which
// the Docker daemon holds as another image (rebuilt there), warns that
// containerd keeps the old one and says how to import the new (r-rt25 #3);
// the same image in both, or one Docker lacks, says nothing.
func TestResolveWarnsOfStaleImage(t *testing.T) {
	runtimetest.RequireContainerd(t)
	ctx := context.Background()
	ref := "portico-test/stale:" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
	bin := runtimetest.BuildSandbox(t)
	setup := newTestRuntime(t, Config{})
	defer setup.Close()
	if _, err := setup.ImportImage(ctx, strings.NewReader(string(runtimetest.ImageArchive(t, bin, ref, "PORTICO_TEST_IMAGE=stale")))); err != nil {
		t.Fatal(err)
	}
	defer removeImage(ctx, setup, ref)
	name, _ := normalize(ref)
	img, err := setup.cli.GetImage(setup.ctx(ctx), name)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.Config(setup.ctx(ctx))
	if err != nil {
		t.Fatal(err)
	}
	ours := cfg.Digest.String()
	for _, tc := range []struct {
		name string
		ids  dockerIDs
		warn bool
	}{
		{"rebuilt in Docker", dockerIDs{ref: "sha256:" + strings.Repeat("ab", 32)}, true},
		{"the same image", dockerIDs{ref: ours}, false},
		{"not in Docker", dockerIDs{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs lockedLog
			rt := newTestRuntime(t, Config{Images: tc.ids, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			defer rt.Close()
			id, err := rt.ResolveImage(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			defer removeImage(ctx, rt, id)
			warned := strings.Contains(logs.String(), "containerd still has the old image for "+ref)
			if warned != tc.warn {
				t.Fatalf("warned %v, want %v; log:\n%s", warned, tc.warn, logs.String())
			}
			if tc.warn && !strings.Contains(logs.String(), "--import") {
				t.Errorf("the warning does not say how to import the new image:\n%s", logs.String())
			}
		})
	}
}
