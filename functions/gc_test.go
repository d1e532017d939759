package functions

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// artifacts reports whether code hash's archive and tree exist.
func artifacts(t *testing.T, e *env, hash string) (zipOK, dirOK bool) {
	t.Helper()
	root := e.svc.codeRoot()
	_, zerr := os.Stat(filepath.Join(root, hash+".zip"))
	fi, derr := os.Stat(filepath.Join(root, hash))
	return zerr == nil, derr == nil && fi.IsDir()
}

func mustHave(t *testing.T, e *env, hash, why string) {
	t.Helper()
	if z, d := artifacts(t, e, hash); !z || !d {
		t.Fatalf("%s: code %s: archive %v, tree %v; want both", why, hash[:12], z, d)
	}
}

func mustNotHave(t *testing.T, e *env, hash, why string) {
	t.Helper()
	if z, d := artifacts(t, e, hash); z || d {
		t.Fatalf("%s: code %s: archive %v, tree %v; want neither", why, hash[:12], z, d)
	}
}

func TestCollectCode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.svc.Create(ctx, CreateInput{FunctionName: "fn", Runtime: "provided.al2023", ZipFile: goodZip(t, "a")})
	if err != nil {
		t.Fatal(err)
	}
	hashA := a.CodeHash
	// Version 1 pins code A; $LATEST moves to B, then to C.
	if _, err := e.svc.Publish(ctx, "fn", PublishInput{}); err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: goodZip(t, "b")})
	if err != nil {
		t.Fatal(err)
	}
	hashB := b.CodeHash
	c, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: goodZip(t, "c")})
	if err != nil {
		t.Fatal(err)
	}
	hashC := c.CodeHash
	// A leftover of an interrupted upload.
	leftover := filepath.Join(e.svc.codeRoot(), ".unpack-0123456789ab-42")
	if err := os.Mkdir(leftover, 0o755); err != nil {
		t.Fatal(err)
	}

	// Within the grace period nothing referenced or unreferenced goes.
	st, err := e.svc.CollectCode(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if st.Removed != 0 || st.Pending != 1 || st.Leftovers != 1 || st.Referenced != 2 {
		t.Fatalf("first collection: %+v", st)
	}
	mustHave(t, e, hashB, "B within its grace period")
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("the upload leftover is still there: %v", err)
	}

	// Past it, B (referenced by nothing) goes; A (version 1) and C ($LATEST) stay.
	st, err = e.svc.CollectCode(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Removed != 1 || st.FreedBytes <= 0 {
		t.Fatalf("second collection: %+v", st)
	}
	mustNotHave(t, e, hashB, "B unreferenced")
	mustHave(t, e, hashA, "A pinned by version 1")
	mustHave(t, e, hashC, "C is $LATEST")

	// The function still runs from its code after a restart.
	e.reopen(t)
	for _, q := range []string{"1", Latest} {
		cfg, err := e.svc.Get(ctx, "fn", q)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(e.svc.CodeDir(cfg), "bootstrap")); err != nil {
			t.Fatalf("fn:%s lost its code: %v", q, err)
		}
	}

	// Uploading B again brings it back.
	if _, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: goodZip(t, "b")}); err != nil {
		t.Fatal(err)
	}
	mustHave(t, e, hashB, "B uploaded again")

	// Deleting version 1 frees A; deleting the function frees everything.
	if err := e.svc.Delete(ctx, "fn", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CollectCode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	mustNotHave(t, e, hashA, "A after version 1 was deleted")
	mustHave(t, e, hashB, "B is $LATEST again")
	if err := e.svc.Delete(ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CollectCode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(e.svc.codeRoot())
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("after deleting the only function, the code directory holds %d entries", len(left))
	}
}

// TestCollectCodeSharedHash checks that code shared by two functions stays while
// either references it.
func TestCollectCodeSharedHash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	zip := goodZip(t, "shared")
	a, err := e.svc.Create(ctx, CreateInput{FunctionName: "one", Runtime: "provided.al2023", ZipFile: zip})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(ctx, CreateInput{FunctionName: "two", Runtime: "provided.al2023", ZipFile: zip}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, "one", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CollectCode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	mustHave(t, e, a.CodeHash, "code still used by two")
}

// TestCollectCodeConcurrentUploads races collections against uploads of code that
// is unreferenced between them: every function must end up with its code.
func TestCollectCodeConcurrentUploads(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 8
	zips := make([][]byte, 3)
	for i := range zips {
		zips[i] = goodZip(t, fmt.Sprint("v", i))
	}
	for i := range n {
		if _, err := e.svc.Create(ctx, CreateInput{FunctionName: fmt.Sprint("f", i), Runtime: "provided.al2023", ZipFile: zips[0]}); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var collector sync.WaitGroup
	collector.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := e.svc.CollectCode(ctx, 0); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for round := range 15 {
				if _, err := e.svc.UpdateCode(ctx, fmt.Sprint("f", i), CodeInput{ZipFile: zips[(i+round)%len(zips)]}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	collector.Wait()
	for i := range n {
		cfg, err := e.svc.Get(ctx, fmt.Sprint("f", i), Latest)
		if err != nil {
			t.Fatal(err)
		}
		mustHave(t, e, cfg.CodeHash, cfg.FunctionName)
	}
}

// pinningResolver is a resolver that pins what it resolves, as containerd does.
type pinningResolver struct {
	fakeResolver
	pins   map[string]time.Time // id -> when pinned, by this installation
	others map[string]bool      // ids other pins hold (an older Portico's, another installation's)
}

func (p *pinningResolver) AdoptPins(_ context.Context, ids []string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var adopted []string
	for _, id := range ids {
		if _, own := p.pins[id]; !own && p.others[id] {
			p.pins[id] = time.Now()
			adopted = append(adopted, id)
		}
	}
	return adopted, nil
}

func (p *pinningResolver) ResolveImage(ctx context.Context, ref string) (string, error) {
	id, err := p.fakeResolver.ResolveImage(ctx, ref)
	if err == nil {
		p.mu.Lock()
		p.pins[id] = time.Now()
		p.mu.Unlock()
	}
	return id, err
}

func (p *pinningResolver) PinnedImages(_ context.Context, before time.Time) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for id, at := range p.pins {
		if at.Before(before) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (p *pinningResolver) Unpin(_ context.Context, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pins, id)
	return nil
}

func (p *pinningResolver) pinned(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.pins[id]
	return ok
}

// age makes every pin older than pinMinAge.
func (p *pinningResolver) age() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range p.pins {
		p.pins[id] = time.Now().Add(-2 * pinMinAge)
	}
}

// TestCollectImagePins: the pin of an image no version uses any more is removed
// after the grace period; the pins versions use stay, and so does a fresh pin
// whose version may still be committing.
func TestCollectImagePins(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := &pinningResolver{fakeResolver: fakeResolver{ids: map[string]string{"app:latest": "sha256:aaa"}}, pins: map[string]time.Time{}, others: map[string]bool{}}
	e.svc.images = res
	if _, err := e.svc.Create(ctx, CreateInput{FunctionName: "img", PackageType: PackageImage, ImageURI: "app:latest"}); err != nil {
		t.Fatal(err)
	}
	if v, err := e.svc.Publish(ctx, "img", PublishInput{}); err != nil || v.Version != "1" {
		t.Fatalf("publish 1: %+v, %v", v, err)
	}
	res.mu.Lock()
	res.ids["app:latest"] = "sha256:bbb"
	res.mu.Unlock()
	if _, err := e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: "app:latest"}); err != nil {
		t.Fatal(err)
	}
	if v, err := e.svc.Publish(ctx, "img", PublishInput{}); err != nil || v.Version != "2" {
		t.Fatalf("publish 2: %+v, %v", v, err)
	}
	// A pin nothing references yet, made just now (a publish committing).
	res.mu.Lock()
	res.pins["sha256:ccc"] = time.Now()
	res.mu.Unlock()

	if _, err := e.svc.CollectCode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"sha256:aaa", "sha256:bbb", "sha256:ccc"} {
		if !res.pinned(id) {
			t.Fatalf("%s unpinned while a version uses it or while it is fresh", id)
		}
	}

	if err := e.svc.Delete(ctx, "img", "1"); err != nil {
		t.Fatal(err)
	}
	res.age()
	st, err := e.svc.CollectCode(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !res.pinned("sha256:aaa") || st.Unpinned != 0 {
		t.Fatalf("version 1's image unpinned within the grace period: %+v", st)
	}
	st, err = e.svc.CollectCode(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.pinned("sha256:aaa") || res.pinned("sha256:ccc") || st.Unpinned != 2 {
		t.Fatalf("unused pins stay: aaa %v, ccc %v, %+v", res.pinned("sha256:aaa"), res.pinned("sha256:ccc"), st)
	}
	if !res.pinned("sha256:bbb") {
		t.Fatal("version 2's image was unpinned")
	}
}

// TestCollectAdoptsOthersPins: an image this installation's versions use that
// only another pin holds (a Portico older than per-installation pins made it,
// or the data directory moved) is pinned as this installation's own by the
// collection, and so kept once that other pin goes; another installation's
// pin of an image this one does not use is left alone.
func TestCollectAdoptsOthersPins(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res := &pinningResolver{fakeResolver: fakeResolver{ids: map[string]string{"app:latest": "sha256:aaa"}},
		pins: map[string]time.Time{}, others: map[string]bool{}}
	e.svc.images = res
	if _, err := e.svc.Create(ctx, CreateInput{FunctionName: "img", PackageType: PackageImage, ImageURI: "app:latest"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Publish(ctx, "img", PublishInput{}); err != nil {
		t.Fatal(err)
	}
	res.mu.Lock()
	delete(res.pins, "sha256:aaa") // as an older Portico pinned it: not this installation's
	res.others["sha256:aaa"] = true
	res.others["sha256:zzz"] = true // another installation's
	res.mu.Unlock()
	if _, err := e.svc.CollectCode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if !res.pinned("sha256:aaa") {
		t.Fatal("the image the versions use, held only by another pin, was not pinned as this installation's")
	}
	if res.pinned("sha256:zzz") {
		t.Fatal("another installation's image, which no version here uses, was pinned here")
	}
	res.age()
	if st, err := e.svc.CollectCode(ctx, 0); err != nil || st.Unpinned != 0 || !res.pinned("sha256:aaa") {
		t.Fatalf("collection after adopting: %+v, %v; the adopted pin is in use and stays", st, err)
	}
}

// TestStartCollectKeepsGraceAndNamesMissingCode is the data loss the store3
// tester found: the collection at start removed every artifact no function
// named at once (with no grace), so a start on a new or wrong store deleted
// code/ before the operator could put the right portico.db back; and a store
// put back then started without a word while every invoke failed with
// "fork/exec .../bootstrap: no such file or directory". The start's
// collection keeps the grace, and each $LATEST and version whose code is gone
// is named in an error.
func TestStartCollectKeepsGraceAndNamesMissingCode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.create(t, "fn", true) // $LATEST and version 1 on code A
	b, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: goodZip(t, "b")})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, "fn", "1"); err != nil {
		t.Fatal(err)
	}
	// Code A is now unreferenced; code B (fn's $LATEST) loses its tree and
	// its archive (with the archive, the tree is unpacked again:
	// TestMissingCodeLooksInsideTheTree).
	for _, p := range []string{b.CodeHash, b.CodeHash + ".zip"} {
		if err := removeTree(filepath.Join(e.svc.codeRoot(), p)); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	e.svc.log = slog.New(slog.NewTextHandler(&logs, nil))
	e.svc.startCollect(ctx, time.Hour)
	mustHave(t, e, a.CodeHash, "unreferenced code at start, within its grace")
	out := logs.String()
	// The CLI's flags as they are (ops11: it said --zip-file, the AWS CLI's).
	for _, want := range []string{"level=ERROR", "code is missing", "function=fn", "version=$LATEST", b.CodeHash, "portico fn update --dir DIR, or --zip FILE"} {
		if !strings.Contains(out, want) {
			t.Errorf("the start's log does not say %q:\n%s", want, out)
		}
	}
	missing, err := e.svc.MissingCode(ctx)
	if err != nil || len(missing) != 1 || missing[0].Function != "fn" || missing[0].Version != "$LATEST" {
		t.Fatalf("MissingCode = %+v, %v; want fn's $LATEST", missing, err)
	}
}
