package functions

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

// localResolver is a fakeResolver that can also resolve from the host's
// images alone, and counts the resolutions that could have pulled.
type localResolver struct {
	fakeResolver
	local  map[string]string // the images the host has
	mu     sync.Mutex
	pulled int
}

func (l *localResolver) ResolveImage(ctx context.Context, ref string) (string, error) {
	l.mu.Lock()
	l.pulled++
	l.mu.Unlock()
	return l.fakeResolver.ResolveImage(ctx, ref)
}

func (l *localResolver) ResolveLocalImage(_ context.Context, ref string) (string, error) {
	if id, ok := l.local[ref]; ok {
		return id, nil
	}
	return "", errdefs.ErrNotFound
}

// TestUpdateCodeDryRunChecksTheCode: a DryRun update checks the code as the
// update does (it answered $LATEST as it was whatever code it was given) and
// answers $LATEST as the update would leave it, changing nothing.
func TestUpdateCodeDryRunChecksTheCode(t *testing.T) {
	ctx := context.Background()
	t.Run("zip", func(t *testing.T) {
		e := newEnv(t)
		before, err := e.svc.Create(ctx, CreateInput{FunctionName: "fn", ZipFile: goodZip(t, "a"), Handler: "bootstrap", Runtime: "provided.al2023"})
		if err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]CodeInput{
			"not a zip":        {ZipFile: []byte("hello")},
			"no bootstrap":     {ZipFile: makeZip(t, testEntry{name: "main", body: "x", mode: 0o755})},
			"ImageUri on Zip":  {ImageURI: "app:1"},
			"nothing":          {},
			"zip and ImageUri": {ZipFile: goodZip(t, "b"), ImageURI: "app:1"},
		} {
			_, want := e.svc.UpdateCode(ctx, "fn", in)
			in.DryRun = true
			_, got := e.svc.UpdateCode(ctx, "fn", in)
			if want == nil || got == nil || got.Error() != want.Error() {
				t.Errorf("%s: DryRun = %v, want the update's error %v", name, got, want)
			}
		}
		next := goodZip(t, "b")
		pkg, err := inspectZip(next)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: next, DryRun: true, Publish: true, RevisionID: before.RevisionID})
		if err != nil {
			t.Fatal(err)
		}
		if got.CodeSha256 != pkg.b64Sum || got.CodeSize != int64(len(next)) || got.Version != Latest || got.RevisionID != before.RevisionID {
			t.Errorf("DryRun = %s %d %s %s, want the new package's %s %d on $LATEST, revision unchanged",
				got.CodeSha256, got.CodeSize, got.Version, got.RevisionID, pkg.b64Sum, len(next))
		}
		if _, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: next, DryRun: true, RevisionID: "other"}); !errors.Is(err, errdefs.ErrPrecondition) {
			t.Errorf("DryRun with another RevisionId: %v, want a precondition failure", err)
		}
		after, _ := e.svc.Get(ctx, "fn", "")
		if after.CodeSha256 != before.CodeSha256 || after.RevisionID != before.RevisionID || after.LastModified != before.LastModified {
			t.Errorf("a DryRun changed $LATEST: %+v", after)
		}
		if vs, _ := e.svc.ListVersions(ctx, "fn"); len(vs) != 1 {
			t.Errorf("a DryRun with Publish published: %d versions", len(vs))
		}
		if _, err := os.Stat(e.svc.CodeDir(&Config{PackageType: PackageZip, CodeHash: pkg.hexSum})); !os.IsNotExist(err) {
			t.Errorf("a DryRun stored its package: %v", err)
		}
	})
	t.Run("image", func(t *testing.T) {
		e := newEnv(t)
		id := "sha256:" + strings.Repeat("cd", 32)
		res := &localResolver{
			fakeResolver: fakeResolver{ids: map[string]string{"app:1": "sha256:aaa", "app:2": id, "remote:1": "sha256:" + strings.Repeat("ef", 32)}},
			local:        map[string]string{"app:1": "sha256:aaa", "app:2": id},
		}
		e.svc.images = res
		before, err := e.svc.Create(ctx, CreateInput{FunctionName: "img", PackageType: PackageImage, ImageURI: "app:1"})
		if err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]CodeInput{
			"zip on Image": {ZipFile: goodZip(t, "a")},
			"bad ref":      {ImageURI: "Not A Ref"},
		} {
			_, want := e.svc.UpdateCode(ctx, "img", in)
			in.DryRun = true
			_, got := e.svc.UpdateCode(ctx, "img", in)
			if want == nil || got == nil || got.Error() != want.Error() {
				t.Errorf("%s: DryRun = %v, want the update's error %v", name, got, want)
			}
		}
		res.pulled = 0
		got, err := e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: "app:2", DryRun: true})
		if err != nil || got.ImageURI != "app:2" || got.ResolvedImage != id || got.CodeSha256 != strings.Repeat("cd", 32) {
			t.Fatalf("DryRun to app:2 = %+v, %v; want it pinned to %s", got, err, id)
		}
		if res.pulled != 0 {
			t.Errorf("a DryRun resolved an image the host has through the runtime (%d pulls)", res.pulled)
		}
		if got, err := e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: "remote:1", DryRun: true}); err != nil || got.CodeSha256 != strings.Repeat("ef", 32) {
			t.Errorf("DryRun to an image the runtime would pull = %+v, %v", got, err)
		}
		res.err = errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", "Source image nosuch:9 does not exist")
		if _, err := e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: "nosuch:9", DryRun: true}); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "nosuch:9") {
			t.Errorf("DryRun to a missing image: %v, want the update's error", err)
		}
		after, _ := e.svc.Get(ctx, "img", "")
		if after.ImageURI != "app:1" || after.ResolvedImage != before.ResolvedImage || after.RevisionID != before.RevisionID {
			t.Errorf("a DryRun changed $LATEST: %+v", after)
		}
	})
}
