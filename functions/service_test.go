package functions

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/store"
)

func ptr[T any](v T) *T { return &v }

func TestCreateRejectsBadConfig(t *testing.T) {
	zipOK := func(t *testing.T) []byte { return goodZip(t, "x") }
	tests := []struct {
		name string
		in   func(t *testing.T) CreateInput
		want string
	}{
		{"bad name", func(t *testing.T) CreateInput { return CreateInput{FunctionName: "no spaces", ZipFile: zipOK(t)} }, "Function name"},
		{"empty name", func(t *testing.T) CreateInput { return CreateInput{ZipFile: zipOK(t)} }, "Function name"},
		{"long name", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: strings.Repeat("a", 65), ZipFile: zipOK(t)}
		}, "Function name"},
		{"bad package type", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", PackageType: "Tarball", ZipFile: zipOK(t)}
		}, "at 'packageType'"},
		{"image without uri", func(t *testing.T) CreateInput { return CreateInput{FunctionName: "fn", PackageType: PackageImage} }, "ImageUri is required"},
		{"image with zip", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", PackageType: PackageImage, ImageURI: "hello:1", ZipFile: zipOK(t)}
		}, "ZipFile is only valid"},
		{"image with handler", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", PackageType: PackageImage, ImageURI: "hello:1", Handler: "main"}
		}, "not supported for PackageType Image"},
		{"zip with image uri", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", ImageURI: "hello:1", ZipFile: zipOK(t)}
		}, "ImageUri is only valid"},
		{"timeout too big", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Timeout: 901, ZipFile: zipOK(t)}
		}, "Timeout"},
		{"description of 257 characters", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Description: strings.Repeat("é", 257), ZipFile: zipOK(t)}
		}, "at 'description' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"description of 129 emoji (258 UTF-16 units)", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Description: strings.Repeat("😀", 129), ZipFile: zipOK(t)}
		}, "at 'description'"},
		{"handler of 129 characters", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Handler: strings.Repeat("h", 129), ZipFile: zipOK(t)}
		}, "at 'handler' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"timeout negative", func(t *testing.T) CreateInput { return CreateInput{FunctionName: "fn", Timeout: -1, ZipFile: zipOK(t)} }, "at 'timeout'"},
		{"memory too small", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", MemorySize: 127, ZipFile: zipOK(t)}
		}, "at 'memorySize'"},
		{"memory too big", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", MemorySize: 10241, ZipFile: zipOK(t)}
		}, "at 'memorySize'"},
		{"env name starts with digit", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"1ABC": "x"}, ZipFile: zipOK(t)}
		}, "at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint"},
		{"env name one letter", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"A": "x"}, ZipFile: zipOK(t)}
		}, "at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint"},
		{"env name with dash", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"MY-VAR": "x"}, ZipFile: zipOK(t)}
		}, "at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint"},
		{"env _HANDLER", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"_HANDLER": "x"}, ZipFile: zipOK(t)}
		}, "at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint"},
		{"env reserved AWS_REGION", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"AWS_REGION": "x", "OK_VAR": "y"}, ZipFile: zipOK(t)}
		}, "Reserved keys used in this request: AWS_REGION"},
		{"env reserved AWS_LAMBDA_FUNCTION_NAME", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "x"}, ZipFile: zipOK(t)}
		}, "Reserved keys used in this request: AWS_LAMBDA_FUNCTION_NAME"},
		{"env reserved AWS_LAMBDA_RUNTIME_API", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"AWS_LAMBDA_RUNTIME_API": "x"}, ZipFile: zipOK(t)}
		}, "Reserved keys used in this request: AWS_LAMBDA_RUNTIME_API"},
		{"env AWS_LAMBDA_MAX_CONCURRENCY is Portico's refusal", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"AWS_LAMBDA_MAX_CONCURRENCY": "4"}, ZipFile: zipOK(t)}
		}, "Environment variable AWS_LAMBDA_MAX_CONCURRENCY is not supported by Portico (Lambda takes it)"},
		{"env reserved LAMBDA_TASK_ROOT", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"LAMBDA_TASK_ROOT": "x"}, ZipFile: zipOK(t)}
		}, "reserved keys"},
		{"env over 4 KB", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", Environment: map[string]string{"BIG": strings.Repeat("x", 4100)}, ZipFile: zipOK(t)}
		}, "4KB"},
		{"mount path outside /mnt", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", FileSystems: []FileSystem{{Arn: "data", LocalMountPath: "/tmp/data"}}, ZipFile: zipOK(t)}
		}, "LocalMountPath"},
		{"mount path nested", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", FileSystems: []FileSystem{{Arn: "data", LocalMountPath: "/mnt/a/b"}}, ZipFile: zipOK(t)}
		}, "LocalMountPath"},
		{"mount path dot-dot", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", FileSystems: []FileSystem{{Arn: "data", LocalMountPath: "/mnt/.."}}, ZipFile: zipOK(t)}
		}, "neither . nor .."},
		{"mount path twice", func(t *testing.T) CreateInput {
			fs := FileSystem{Arn: "data", LocalMountPath: "/mnt/data"}
			return CreateInput{FunctionName: "fn", FileSystems: []FileSystem{fs, fs}, ZipFile: zipOK(t)}
		}, "used twice"},
		{"bad volume name", func(t *testing.T) CreateInput {
			return CreateInput{FunctionName: "fn", FileSystems: []FileSystem{{Arn: "../etc", LocalMountPath: "/mnt/data"}}, ZipFile: zipOK(t)}
		}, "FileSystem Arn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.svc.Create(context.Background(), tt.in(t))
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			// A model constraint (a range of its) is Lambda's ValidationException.
			want := "InvalidParameterValueException"
			if strings.HasPrefix(tt.want, "at '") {
				want = "ValidationException"
			}
			var k *errdefs.Kinded
			if !errors.As(err, &k) || k.Type != want {
				t.Errorf("err type = %+v, want %s", k, want)
			}
			assertEmpty(t, e)
		})
	}
}

func TestCreateDefaultsAndGet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := CreateInput{
		FunctionName: "hello",
		Description:  "says hello",
		ZipFile:      goodZip(t, "hello"),
		Environment:  map[string]string{"GREETING": "hi", "TZ": "UTC"},
		FileSystems:  []FileSystem{{Arn: "portico:volume:data", LocalMountPath: "/mnt/data"}},
	}
	c, err := e.svc.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != Latest || c.PackageType != PackageZip || c.Timeout != DefaultTimeout || c.MemorySize != DefaultMemory {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.RevisionID == "" || c.LastModified.IsZero() {
		t.Errorf("RevisionID/LastModified not set: %+v", c)
	}
	in.Environment["GREETING"] = "changed after create"
	for _, v := range []string{"", Latest} {
		g, err := e.svc.Get(ctx, "hello", v)
		if err != nil {
			t.Fatal(err)
		}
		if g.Environment["GREETING"] != "hi" || g.CodeHash != c.CodeHash || g.RevisionID != c.RevisionID || g.Description != "says hello" {
			t.Errorf("Get(%q) = %+v", v, g)
		}
	}
	_, err = e.svc.Create(ctx, CreateInput{FunctionName: "hello", ZipFile: goodZip(t, "other")})
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrConflict) || !errors.As(err, &k) || k.Message != "Function already exist: hello" || k.Type != "ResourceConflictException" {
		t.Errorf("second create: %v (%+v)", err, k)
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn", true)
	tests := []struct {
		name, fn, version, msg string
	}{
		{"missing function", "nope", "", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"},
		{"missing function version", "nope", "1", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope:1"},
		{"missing version, the versions named", "fn", "7", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:fn:7 (versions of fn: $LATEST, 1)"},
		{"alias is not a version", "fn", "prod", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:fn:prod (versions of fn: $LATEST, 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Get(ctx, tt.fn, tt.version)
			var k *errdefs.Kinded
			if !errors.Is(err, errdefs.ErrNotFound) || !errors.As(err, &k) || k.Message != tt.msg || k.Type != "ResourceNotFoundException" {
				t.Errorf("Get = %v (%+v), want %q", err, k, tt.msg)
			}
		})
	}
	for name, call := range map[string]func() error{
		"UpdateCode":     func() error { _, err := e.svc.UpdateCode(ctx, "nope", CodeInput{ZipFile: goodZip(t, "x")}); return err },
		"UpdateConfig":   func() error { _, err := e.svc.UpdateConfig(ctx, "nope", ConfigPatch{Timeout: ptr(5)}); return err },
		"Delete":         func() error { return e.svc.Delete(ctx, "nope", "") },
		"DeleteVersion":  func() error { return e.svc.Delete(ctx, "fn", "9") },
		"Publish":        func() error { _, err := e.svc.Publish(ctx, "nope", PublishInput{}); return err },
		"ListVersions":   func() error { _, err := e.svc.ListVersions(ctx, "nope"); return err },
		"Reserved":       func() error { return e.svc.SetReservedConcurrency(ctx, "nope", ptr(1)) },
		"Provisioned":    func() error { _, err := e.svc.PutProvisioned(ctx, "nope", "1", 1); return err },
		"ProvisionedVer": func() error { _, err := e.svc.PutProvisioned(ctx, "fn", "9", 1); return err },
	} {
		if err := call(); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
}

func TestListAndDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, n := range []string{"charlie", "alpha", "bravo"} {
		e.create(t, n, true)
	}
	if _, err := e.svc.PutProvisioned(ctx, "bravo", "1", 2); err != nil {
		t.Fatal(err)
	}
	l, err := e.svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range l {
		names = append(names, c.FunctionName)
	}
	if strings.Join(names, ",") != "alpha,bravo,charlie" {
		t.Errorf("List = %v", names)
	}
	if err := e.svc.Delete(ctx, "bravo", Latest); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("delete $LATEST: %v, want ErrInvalid", err)
	}
	if err := e.svc.Delete(ctx, "bravo", "live"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("delete alias qualifier: %v, want ErrInvalid", err)
	}
	if err := e.svc.Delete(ctx, "bravo", ""); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"", "1"} {
		if _, err := e.svc.Get(ctx, "bravo", v); !errors.Is(err, errdefs.ErrNotFound) {
			t.Errorf("Get(bravo, %q) after delete: %v", v, err)
		}
	}
	if pcs, _ := e.svc.ListProvisioned(ctx); len(pcs) != 0 {
		t.Errorf("provisioned configs survive the function: %v", pcs)
	}
	// A new function of the same name starts from version 1 again.
	if c := e.create(t, "bravo", true); c.Version != "1" {
		t.Errorf("recreated function published version %s, want 1", c.Version)
	}
	// Deleting one version leaves the rest.
	if err := e.svc.Delete(ctx, "alpha", "1"); err != nil {
		t.Fatal(err)
	}
	if vs, _ := e.svc.ListVersions(ctx, "alpha"); len(vs) != 1 || vs[0].Version != Latest {
		t.Errorf("versions after deleting 1 = %v", vs)
	}
}

func TestUpdates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c0 := e.create(t, "fn", false)

	c1, err := e.svc.UpdateConfig(ctx, "fn", ConfigPatch{Timeout: ptr(30), Environment: &map[string]string{"MODE": "fast"}, Description: ptr("d")})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Timeout != 30 || c1.Environment["MODE"] != "fast" || c1.Description != "d" || c1.MemorySize != DefaultMemory {
		t.Errorf("UpdateConfig = %+v", c1)
	}
	if c1.RevisionID == c0.RevisionID || c1.CodeHash != c0.CodeHash {
		t.Errorf("revision %s -> %s, code %s -> %s", c0.RevisionID, c1.RevisionID, c0.CodeHash, c1.CodeHash)
	}
	for name, p := range map[string]ConfigPatch{
		"timeout 0":    {Timeout: ptr(0)},
		"memory":       {MemorySize: ptr(64)},
		"reserved env": {Environment: &map[string]string{"AWS_LAMBDA_RUNTIME_API": "x"}},
		"mount":        {FileSystems: &[]FileSystem{{Arn: "v", LocalMountPath: "/var/v"}}},
	} {
		if _, err := e.svc.UpdateConfig(ctx, "fn", p); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("UpdateConfig %s: %v, want ErrInvalid", name, err)
		}
	}
	if g, _ := e.svc.Get(ctx, "fn", ""); g.RevisionID != c1.RevisionID || g.Timeout != 30 {
		t.Errorf("a rejected update changed $LATEST: %+v", g)
	}

	c2, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: goodZip(t, "v2")})
	if err != nil {
		t.Fatal(err)
	}
	if c2.CodeHash == c1.CodeHash || c2.RevisionID == c1.RevisionID || c2.Timeout != 30 || c2.Version != Latest {
		t.Errorf("UpdateCode = %+v", c2)
	}
	if _, err := os.Stat(filepath.Join(e.svc.CodeDir(c2), "bootstrap")); err != nil {
		t.Error(err)
	}
	if _, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: makeZip(t, testEntry{name: "bootstrap", body: "x", mode: 0o644})}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("UpdateCode with non-executable bootstrap: %v", err)
	}
	if _, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ImageURI: "img:1"}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("UpdateCode with image on Zip function: %v", err)
	}
	if g, _ := e.svc.Get(ctx, "fn", ""); g.CodeHash != c2.CodeHash {
		t.Errorf("a rejected code update changed $LATEST")
	}
	v, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: goodZip(t, "v3"), Publish: true})
	if err != nil || v.Version != "1" {
		t.Fatalf("UpdateCode with Publish = %+v, %v", v, err)
	}
}

func TestPublish(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.create(t, "fn", false)
	if _, err := e.svc.Publish(ctx, "fn", PublishInput{RevisionID: "wrong-revision"}); !errors.Is(err, errdefs.ErrPrecondition) {
		t.Errorf("publish with wrong revision: %v", err)
	}
	v1, err := e.svc.Publish(ctx, "fn", PublishInput{Description: "first", RevisionID: c.RevisionID})
	if err != nil || v1.Version != "1" || v1.Description != "first" || v1.RevisionID == c.RevisionID || v1.CodeHash != c.CodeHash {
		t.Fatalf("publish = %+v, %v", v1, err)
	}
	again, err := e.svc.Publish(ctx, "fn", PublishInput{})
	if err != nil || again.Version != "1" {
		t.Fatalf("publish without change = %+v, %v; want version 1", again, err)
	}
	// A change that leaves everything as it was is no change.
	if _, err := e.svc.UpdateConfig(ctx, "fn", ConfigPatch{Timeout: ptr(DefaultTimeout)}); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.svc.Publish(ctx, "fn", PublishInput{}); again.Version != "1" {
		t.Errorf("publish after a no-op update = %s, want 1", again.Version)
	}
	if _, err := e.svc.UpdateConfig(ctx, "fn", ConfigPatch{MemorySize: ptr(256)}); err != nil {
		t.Fatal(err)
	}
	v2, err := e.svc.Publish(ctx, "fn", PublishInput{})
	if err != nil || v2.Version != "2" || v2.MemorySize != 256 {
		t.Fatalf("publish after change = %+v, %v; want version 2", v2, err)
	}
	if _, err := e.svc.UpdateCode(ctx, "fn", CodeInput{ZipFile: goodZip(t, "new code")}); err != nil {
		t.Fatal(err)
	}
	v3, _ := e.svc.Publish(ctx, "fn", PublishInput{})
	if v3.Version != "3" {
		t.Errorf("publish after code change = %s, want 3", v3.Version)
	}
	// Versions are immutable: changing $LATEST leaves them alone.
	if g, _ := e.svc.Get(ctx, "fn", "1"); g.MemorySize != DefaultMemory || g.CodeHash != c.CodeHash {
		t.Errorf("version 1 changed: %+v", g)
	}
	// Numbers are never reused, even after the newest version is deleted.
	if err := e.svc.Delete(ctx, "fn", "3"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateConfig(ctx, "fn", ConfigPatch{MemorySize: ptr(512)}); err != nil {
		t.Fatal(err)
	}
	v4, _ := e.svc.Publish(ctx, "fn", PublishInput{})
	if v4.Version != "4" {
		t.Errorf("publish after deleting 3 = %s, want 4", v4.Version)
	}
	vs, err := e.svc.ListVersions(ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Version)
	}
	if strings.Join(got, ",") != "$LATEST,1,2,4" {
		t.Errorf("ListVersions = %v", got)
	}
}

func TestVersionsSortNumerically(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn", false)
	for i := 1; i <= 11; i++ {
		if _, err := e.svc.UpdateConfig(ctx, "fn", ConfigPatch{Timeout: ptr(i + 10)}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Publish(ctx, "fn", PublishInput{}); err != nil {
			t.Fatal(err)
		}
	}
	vs, _ := e.svc.ListVersions(ctx, "fn")
	if len(vs) != 12 || vs[2].Version != "2" || vs[11].Version != "11" {
		t.Errorf("versions out of order: %v %v", vs[2].Version, vs[11].Version)
	}
	if g, err := e.svc.Get(ctx, "fn", "11"); err != nil || g.Version != "11" {
		t.Errorf("Get(11) = %v, %v", g, err)
	}
	// Lambda matches versions as strings: "011" names no version.
	if g, err := e.svc.Get(ctx, "fn", "011"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Get(011) = %v, %v; want not found", g, err)
	}
}

type fakeResolver struct {
	mu  sync.Mutex
	ids map[string]string
	err error
}

func (f *fakeResolver) ResolveImage(_ context.Context, ref string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasPrefix(ref, "sha256:") && f.err == nil {
		return ref, nil // an image id resolves to itself
	}
	return f.ids[ref], f.err
}

func TestImageFunctions(t *testing.T) {
	ctx := context.Background()
	t.Run("pinned by the resolver", func(t *testing.T) {
		e := newEnv(t)
		res := &fakeResolver{ids: map[string]string{"app:latest": "sha256:aaa"}}
		e.svc.images = res
		c, err := e.svc.Create(ctx, CreateInput{FunctionName: "img", PackageType: PackageImage, ImageURI: "app:latest"})
		if err != nil {
			t.Fatal(err)
		}
		if c.ResolvedImage != "sha256:aaa" || e.svc.CodeDir(c) != "" {
			t.Errorf("$LATEST = %+v, want it pinned to the tag's image", c)
		}
		v1, _ := e.svc.Publish(ctx, "img", PublishInput{})
		if v1.Version != "1" || v1.ResolvedImage != "sha256:aaa" {
			t.Errorf("v1 = %+v", v1)
		}
		if again, _ := e.svc.Publish(ctx, "img", PublishInput{}); again.Version != "1" {
			t.Errorf("same digest published %s", again.Version)
		}
		res.mu.Lock()
		res.ids["app:latest"] = "sha256:bbb" // the tag moved
		res.mu.Unlock()
		if again, _ := e.svc.Publish(ctx, "img", PublishInput{}); again.Version != "1" || again.ResolvedImage != "sha256:aaa" {
			t.Errorf("moved tag, no UpdateCode: %+v, want version 1 again ($LATEST stays pinned)", again)
		}
		if c, err := e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: "app:latest"}); err != nil || c.ResolvedImage != "sha256:bbb" {
			t.Fatalf("UpdateCode to the moved tag = %+v, %v", c, err)
		}
		if v2, _ := e.svc.Publish(ctx, "img", PublishInput{}); v2.Version != "2" || v2.ResolvedImage != "sha256:bbb" {
			t.Errorf("moved tag: %+v", v2)
		}
		res.err = errors.New("daemon down")
		if _, err := e.svc.Publish(ctx, "img", PublishInput{}); err == nil {
			t.Error("publish with a failing resolver succeeded")
		}
		if _, err := e.svc.UpdateCode(ctx, "img", CodeInput{ZipFile: goodZip(t, "x")}); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("zip for an Image function: %v", err)
		}
	})
	t.Run("no resolver", func(t *testing.T) {
		e := newEnv(t)
		v, err := e.svc.Create(ctx, CreateInput{FunctionName: "img", PackageType: PackageImage, ImageURI: "app:1", Publish: true})
		if err != nil || v.Version != "1" || v.ResolvedImage != "app:1" {
			t.Fatalf("create+publish = %+v, %v", v, err)
		}
		c, err := e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: "app:2"})
		if err != nil || c.ImageURI != "app:2" {
			t.Fatalf("UpdateCode = %+v, %v", c, err)
		}
	})
}

func TestSurvivesReopen(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v1 := e.create(t, "fn", true)
	if err := e.svc.SetReservedConcurrency(ctx, "fn", ptr(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PutProvisioned(ctx, "fn", "1", 2); err != nil {
		t.Fatal(err)
	}
	before, _ := e.svc.Get(ctx, "fn", "")
	e.reopen(t)
	after, err := e.svc.Get(ctx, "fn", "")
	if err != nil {
		t.Fatal(err)
	}
	if after.RevisionID != before.RevisionID || after.CodeHash != before.CodeHash || !after.LastModified.Equal(before.LastModified) || *after.ReservedConcurrency != 5 {
		t.Errorf("after reopen %+v, before %+v", after, before)
	}
	g1, err := e.svc.Get(ctx, "fn", "1")
	if err != nil || g1.CodeHash != v1.CodeHash || g1.ReservedConcurrency == nil || *g1.ReservedConcurrency != 5 {
		t.Errorf("version 1 after reopen = %+v, %v", g1, err)
	}
	if _, err := os.Stat(filepath.Join(e.svc.CodeDir(g1), "bootstrap")); err != nil {
		t.Error(err)
	}
	if pcs, _ := e.svc.ListProvisioned(ctx); len(pcs) != 1 || pcs[0].Requested != 2 {
		t.Errorf("provisioned after reopen = %v", pcs)
	}
	// Publishing continues from where it was.
	if _, err := e.svc.UpdateConfig(ctx, "fn", ConfigPatch{Timeout: ptr(9)}); err != nil {
		t.Fatal(err)
	}
	if v2, _ := e.svc.Publish(ctx, "fn", PublishInput{}); v2.Version != "2" {
		t.Errorf("publish after reopen = %s", v2.Version)
	}
}

func TestHooksAndSubscribers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var mu sync.Mutex
	var events []string
	e.svc.Subscribe(func(name string) {
		// Called after commit: the change is visible.
		_, err := e.svc.Get(ctx, name, "")
		mu.Lock()
		events = append(events, fmt.Sprintf("%s:%v", name, err == nil))
		mu.Unlock()
	})
	var calls []string
	e.aliases.deleting = func(name, version string) error {
		calls = append(calls, name+"@"+version)
		if version == "1" {
			return fmt.Errorf("version 1 is in use: %w", errdefs.ErrConflict)
		}
		return nil
	}
	e.create(t, "fn", true)
	if err := e.svc.Delete(ctx, "fn", "1"); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("hook error not returned: %v", err)
	}
	if _, err := e.svc.Get(ctx, "fn", "1"); err != nil {
		t.Errorf("refused delete removed the version: %v", err)
	}
	if err := e.svc.Delete(ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	if strings.Join(calls, ",") != "fn@1,fn@" {
		t.Errorf("hook calls = %v", calls)
	}
	if strings.Join(events, ",") != "fn:true,fn:false" {
		t.Errorf("subscriber events = %v", events)
	}
}

func TestProvisioned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn", true)
	for _, q := range []string{"", Latest} {
		if _, err := e.svc.PutProvisioned(ctx, "fn", q, 1); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("provisioned on %q: %v", q, err)
		}
	}
	if _, err := e.svc.PutProvisioned(ctx, "fn", "1", -1); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("negative provisioned: %v", err)
	}
	if _, err := e.svc.PutProvisioned(ctx, "fn", "live", 1); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("provisioned on unknown alias: %v", err)
	}
	e.aliases.target = func(name, alias string) string {
		switch alias {
		case "live":
			return "1"
		case "latest":
			return Latest
		}
		return ""
	}
	if _, err := e.svc.PutProvisioned(ctx, "fn", "latest", 1); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("provisioned on an alias of $LATEST: %v", err)
	}
	if _, err := e.svc.PutProvisioned(ctx, "fn", "live", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PutProvisioned(ctx, "fn", "1", 2); err != nil {
		t.Fatal(err)
	}
	pcs, _ := e.svc.ListProvisioned(ctx)
	if len(pcs) != 2 || pcs[0].Qualifier != "1" || pcs[1].Qualifier != "live" || pcs[1].Requested != 3 {
		t.Errorf("ListProvisioned = %+v", pcs)
	}
	if err := e.svc.Delete(ctx, "fn", "1"); err != nil {
		t.Fatal(err)
	}
	if pcs, _ := e.svc.ListProvisioned(ctx); len(pcs) != 1 {
		t.Errorf("provisioned config survives its version: %+v", pcs)
	}
	if _, err := e.svc.PutProvisioned(ctx, "fn", "live", 0); err != nil {
		t.Fatal(err)
	}
	if pcs, _ := e.svc.ListProvisioned(ctx); len(pcs) != 0 {
		t.Errorf("n=0 did not remove: %+v", pcs)
	}
}

func TestVolumeDir(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []string{"", "..", "a/b", "a.b", strings.Repeat("v", 65)} {
		if _, err := e.svc.VolumeDir(bad); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("VolumeDir(%q): %v, want ErrInvalid", bad, err)
		}
	}
	d, err := e.svc.VolumeDir("data_1")
	if err != nil || d != filepath.Join(e.dir, "volumes", "data_1") {
		t.Fatalf("VolumeDir = %s, %v", d, err)
	}
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		t.Errorf("volume dir not created: %v", err)
	} else if fi.Mode().Perm() != 0o777 {
		t.Errorf("volume dir mode %v, want 0777: container sandboxes run as users other than the server's", fi.Mode().Perm())
	}
	// A volume made before sandboxes ran as non-root users opens up.
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VolumeDir("data_1"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d); err != nil {
		t.Error(err)
	} else if fi.Mode().Perm() != 0o777 {
		t.Errorf("an older volume dir stays %v, want 0777", fi.Mode().Perm())
	}
	if VolumeName(FileSystem{Arn: "portico:volume:data"}) != "data" || VolumeName(FileSystem{Arn: "data"}) != "data" {
		t.Error("VolumeName")
	}
}

// TestDataDirMovedNothingWritten is the lambda11 tester's: with the data
// directory moved under the running server, CreateFunction and
// UpdateFunctionCode answered 503 "nothing was changed" but had made
// <data-dir>/code/<sha>{,.zip} at the old path, and with them the data
// directory, so the operator's move back landed inside it. Every write that
// makes a directory under the data directory (code, a volume at cold start)
// is refused with the store's *MovedError and the old path stays missing;
// put back, they work.
func TestDataDirMovedNothingWritten(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.Create(ctx, CreateInput{FunctionName: "a", ZipFile: goodZip(t, "a")}); err != nil {
		t.Fatal(err)
	}
	moved := e.dir + ".moved"
	if err := os.Rename(e.dir, moved); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"Create", func() error {
			_, err := e.svc.Create(ctx, CreateInput{FunctionName: "b", ZipFile: goodZip(t, "b")})
			return err
		}},
		{"UpdateCode", func() error {
			_, err := e.svc.UpdateCode(ctx, "a", CodeInput{ZipFile: goodZip(t, "a2")})
			return err
		}},
		{"VolumeDir", func() error { _, err := e.svc.VolumeDir("data"); return err }},
	} {
		name, err := w.name, w.write()
		if me, ok := errors.AsType[*store.MovedError](err); !ok || me.Written || !errors.Is(err, errdefs.ErrUnavailable) {
			t.Errorf("%s with the data directory moved = %v; want the store's *MovedError (503)", name, err)
		}
		if _, err := os.Lstat(e.dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("after the refused %s, the data directory's old path: %v; want it not to exist", name, err)
		}
	}
	if err := os.Rename(moved, e.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateCode(ctx, "a", CodeInput{ZipFile: goodZip(t, "a2")}); err != nil {
		t.Fatalf("UpdateCode with the data directory back: %v", err)
	}
	if _, err := e.svc.VolumeDir("data"); err != nil {
		t.Fatalf("VolumeDir with the data directory back: %v", err)
	}
}

func TestConcurrentCreateAndPublish(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_, err := e.svc.Create(ctx, CreateInput{FunctionName: "race", ZipFile: goodZip(t, fmt.Sprint(i))})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, errdefs.ErrConflict):
				conflict.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || conflict.Load() != 7 {
		t.Fatalf("ok %d conflict %d", ok.Load(), conflict.Load())
	}
	versions := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			v, err := e.svc.Publish(ctx, "race", PublishInput{})
			if err != nil {
				t.Error(err)
				return
			}
			versions <- v.Version
		})
	}
	wg.Wait()
	close(versions)
	for v := range versions {
		if v != "1" {
			t.Errorf("concurrent publishes of one state made version %s", v)
		}
	}
}

// TestProvisionedCheckRefuses checks that PutProvisioned asks the installed check
// about every setting as it would be after the change, and refuses what it
// refuses without storing it.
func TestProvisionedCheckRefuses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn", true)
	e.create(t, "other", true)
	e.svc.SetProvisionedCheck(func(_ context.Context, all []ProvisionedConfig) error {
		total := 0
		for _, pc := range all {
			total += pc.Requested
		}
		if total > 3 {
			return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", "over budget")
		}
		return nil
	})
	if _, err := e.svc.PutProvisioned(ctx, "fn", "1", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PutProvisioned(ctx, "fn", "1", 3); err != nil { // replaces the 2: 3 in all
		t.Fatalf("raising the same setting: %v", err)
	}
	if _, err := e.svc.PutProvisioned(ctx, "other", "1", 1); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("4 in all: %v", err)
	}
	list, _ := e.svc.ListProvisioned(ctx)
	if len(list) != 1 || list[0].Requested != 3 {
		t.Fatalf("a refused setting was stored: %+v", list)
	}
	if _, err := e.svc.PutProvisioned(ctx, "fn", "1", 0); err != nil {
		t.Fatalf("removing is never refused: %v", err)
	}
}

// TestProvisionedLastModified: a provisioned-concurrency setting keeps the time
// it was put across a reopen, and one stored before Portico kept the time
// reads back with none rather than failing.
func TestProvisionedLastModified(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn", true)
	put, err := e.svc.PutProvisioned(ctx, "fn", "1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if put.LastModified.IsZero() {
		t.Fatal("PutProvisioned returned no LastModified")
	}
	e.reopen(t)
	pcs, err := e.svc.ListProvisioned(ctx)
	if err != nil || len(pcs) != 1 || !pcs[0].LastModified.Equal(put.LastModified) {
		t.Fatalf("after reopen ListProvisioned = %+v, %v; want LastModified %v", pcs, err, put.LastModified)
	}

	// A record written without the field, as earlier versions stored it.
	old := map[string]any{"FunctionName": "fn", "Qualifier": "1", "RequestedProvisionedConcurrentExecutions": 3}
	if err := e.st.Update(ctx, func(tx *store.Tx) error { return tx.Put(bucketProvisioned, "fn\x001", old) }); err != nil {
		t.Fatal(err)
	}
	pcs, err = e.svc.ListProvisioned(ctx)
	if err != nil || len(pcs) != 1 || pcs[0].Requested != 3 || !pcs[0].LastModified.IsZero() {
		t.Fatalf("old record = %+v, %v; want Requested 3 and no LastModified", pcs, err)
	}
}

// TestImageRefusedWhereDeclared: an image the runtime cannot find or pull is
// refused by create and by update-code, with the runtime's error (which names
// the image), and nothing is created or changed; a reference that does not
// parse is refused whatever the runtime, naming it.
func TestImageRefusedWhereDeclared(t *testing.T) {
	ctx := context.Background()
	missing := errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", "Source image nosuchimage:zz does not exist")
	e := newEnv(t)
	res := &fakeResolver{ids: map[string]string{"app:1": "sha256:aaa"}}
	e.svc.images = res
	res.err = missing
	if _, err := e.svc.Create(ctx, CreateInput{FunctionName: "img", PackageType: PackageImage, ImageURI: "nosuchimage:zz"}); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "nosuchimage:zz") {
		t.Fatalf("create with a missing image: %v, want ErrInvalid naming it", err)
	}
	if _, err := e.svc.Get(ctx, "img", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("the refused function exists: %v", err)
	}
	res.err = nil
	if _, err := e.svc.Create(ctx, CreateInput{FunctionName: "img", PackageType: PackageImage, ImageURI: "app:1"}); err != nil {
		t.Fatal(err)
	}
	res.err = missing
	if _, err := e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: "nosuchimage:zz"}); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "nosuchimage:zz") {
		t.Fatalf("update-code with a missing image: %v, want ErrInvalid naming it", err)
	}
	if c, _ := e.svc.Get(ctx, "img", ""); c.ImageURI != "app:1" {
		t.Errorf("a refused update-code changed ImageUri to %s", c.ImageURI)
	}

	e.svc.images = nil // no runtime to ask: the reference is checked all the same
	for _, ref := range []string{"UPPER::bad", "Upper:1", "a:b:c", "x@sha256:short"} {
		_, err := e.svc.Create(ctx, CreateInput{FunctionName: "bad", PackageType: PackageImage, ImageURI: ref})
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), ref) {
			t.Errorf("create with ImageUri %q: %v, want ErrInvalid naming it", ref, err)
		}
		if _, err := e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: ref}); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("update-code with ImageUri %q: %v, want ErrInvalid", ref, err)
		}
	}
	for _, ref := range []string{"alpine", "registry.example:5000/team/fn:1.2", "app@sha256:" + strings.Repeat("a", 64), "sha256:" + strings.Repeat("b", 64)} {
		if _, err := e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: ref}); err != nil {
			t.Errorf("update-code with ImageUri %q: %v", ref, err)
		}
	}
}

// TestOnDeleteRunsInTheDeletingTransaction: a step registered with OnDelete
// runs with the deleted function (version "") or version, and its error
// aborts the delete.
func TestOnDeleteRunsInTheDeletingTransaction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "f", true)
	var seen []string
	var refuse error
	e.svc.OnDelete(func(name, version string) store.Step {
		return func(*store.Tx) error {
			seen = append(seen, name+":"+version)
			return refuse
		}
	})
	refuse = errors.New("refused")
	if err := e.svc.Delete(ctx, "f", "1"); !errors.Is(err, refuse) {
		t.Fatalf("delete with a refusing step: %v", err)
	}
	if _, err := e.svc.Get(ctx, "f", "1"); err != nil {
		t.Fatalf("version 1 after a refused delete: %v", err)
	}
	refuse = nil
	if err := e.svc.Delete(ctx, "f", "1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, "f", ""); err != nil {
		t.Fatal(err)
	}
	if want := []string{"f:1", "f:1", "f:"}; !slices.Equal(seen, want) {
		t.Fatalf("steps ran for %v, want %v", seen, want)
	}
}

// TestResolveImageCode: what a function's code would be, were it updated to a
// reference now: the resolver's id and its digest as CodeSha256, with no
// function changed; a bad reference is ErrInvalid; the resolver's error
// passes through; without a resolver the reference is its own pin.
func TestResolveImageCode(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	id := "sha256:" + strings.Repeat("ab", 32)
	res := &fakeResolver{ids: map[string]string{"app:latest": id}}
	e.svc.images = res
	got, err := e.svc.ResolveImageCode(ctx, "app:latest")
	if err != nil || *got != (ImageCode{ImageURI: "app:latest", ResolvedImage: id, CodeSha256: strings.Repeat("ab", 32)}) {
		t.Errorf("ResolveImageCode = %+v, %v", got, err)
	}
	if _, err := e.svc.ResolveImageCode(ctx, "Not A Ref"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("a bad reference: %v, want ErrInvalid", err)
	}
	res.err = errdefs.ErrNotFound
	if _, err := e.svc.ResolveImageCode(ctx, "app:latest"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("the resolver's error: %v", err)
	}
	e.svc.images = nil
	if got, err := e.svc.ResolveImageCode(ctx, "app:latest"); err != nil || got.ResolvedImage != "app:latest" || got.CodeSha256 != "" {
		t.Errorf("without a resolver: %+v, %v", got, err)
	}
}

// TestPublishGoneImageSaysHowToBringItBack: publishing a function whose pinned
// image is gone from the host gives the invoke path's advice, naming the
// function (it said "build it with `portico build DIR -t sha256:…`", no tag).
func TestPublishGoneImageSaysHowToBringItBack(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	res := &fakeResolver{ids: map[string]string{"app:latest": "sha256:aaa"}}
	e.svc.images = res
	if _, err := e.svc.Create(ctx, CreateInput{FunctionName: "img", PackageType: PackageImage, ImageURI: "app:latest"}); err != nil {
		t.Fatal(err)
	}
	res.mu.Lock()
	res.err = &runtimes.ImageGoneError{Image: "sha256:aaa"}
	res.mu.Unlock()
	_, err := e.svc.Publish(ctx, "img", PublishInput{})
	var gone *runtimes.ImageGoneError
	if !errors.As(err, &gone) {
		t.Fatalf("publish of a gone image: %v, want the runtime's ImageGoneError", err)
	}
	msg := gone.ClientMessage()
	for _, want := range []string{"sha256:aaa", "function img", "portico image import", "portico fn update img --image REF"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the caller is told %q; want it to say %q", msg, want)
		}
	}
}

// dockerLikeResolver resolves as the Docker daemon does: a reference by tag,
// an image id it has, and REPOSITORY@sha256:D only where D is a registry's
// manifest digest (digests), never an image id; pulls counts the references
// it had to pull. It resolves locally too (LocalImageResolver), from what it
// has (local) alone.
type dockerLikeResolver struct {
	mu      sync.Mutex
	tags    map[string]string // reference -> image id, pulled when not local
	local   map[string]bool   // references and ids on the host
	digests map[string]string
	pulls   []string
}

func (d *dockerLikeResolver) ResolveLocalImage(_ context.Context, ref string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if strings.HasPrefix(ref, "sha256:") {
		if d.local[ref] {
			return ref, nil
		}
		return "", errdefs.ErrNotFound
	}
	if id, ok := d.digests[ref]; ok && d.local[ref] {
		return id, nil
	}
	if id, ok := d.tags[ref]; ok && d.local[ref] {
		return id, nil
	}
	return "", errdefs.ErrNotFound
}

func (d *dockerLikeResolver) ResolveImage(ctx context.Context, ref string) (string, error) {
	if id, err := d.ResolveLocalImage(ctx, ref); err == nil || strings.HasPrefix(ref, "sha256:") {
		return id, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.tags[ref]
	if !ok {
		id, ok = d.digests[ref]
	}
	if !ok {
		return "", errdefs.ErrNotFound
	}
	d.pulls = append(d.pulls, ref)
	d.local[ref], d.local[id] = true, true
	return id, nil
}

// TestImagePinnedByDigestResolves: the ResolvedImageUri GetFunction reports,
// REPOSITORY@sha256:ID with ID the image id (Docker's), names that image when
// given back as ImageUri (portico deploy's rollback does so), though Docker
// resolves no such reference; a registry digest still resolves as a
// reference.
func TestImagePinnedByDigestResolves(t *testing.T) {
	ctx := context.Background()
	oldID := "sha256:" + strings.Repeat("a", 64)
	newID := "sha256:" + strings.Repeat("b", 64)
	regDigest := "sha256:" + strings.Repeat("c", 64)
	e := newEnv(t)
	res := &dockerLikeResolver{tags: map[string]string{"app:live": oldID}, local: map[string]bool{"app:live": true, oldID: true},
		digests: map[string]string{"app@" + regDigest: newID}}
	e.svc.images = res
	c, err := e.svc.Create(ctx, CreateInput{FunctionName: "img", PackageType: PackageImage, ImageURI: "app:live"})
	if err != nil {
		t.Fatal(err)
	}
	pin := c.ResolvedImageURI()
	if pin != "app@"+oldID {
		t.Fatalf("ResolvedImageUri %q, want app@%s", pin, oldID)
	}
	// The tag moves to a new image; $LATEST is updated to it, then put
	// back by the reported digest.
	res.mu.Lock()
	res.tags["app:live"], res.local[newID] = newID, true
	res.mu.Unlock()
	if c, err = e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: "app:live"}); err != nil || c.ResolvedImage != newID {
		t.Fatalf("UpdateCode(app:live) = %+v, %v", c, err)
	}
	if c, err = e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: pin}); err != nil || c.ResolvedImage != oldID || c.ImageURI != pin {
		t.Fatalf("UpdateCode(%s) = %+v, %v; want it pinned to %s again", pin, c, err, oldID)
	}
	if c.ResolvedImageURI() != pin {
		t.Errorf("ResolvedImageUri %q after the rollback, want %q", c.ResolvedImageURI(), pin)
	}
	// A registry's digest is a reference.
	if c, err = e.svc.UpdateCode(ctx, "img", CodeInput{ImageURI: "app@" + regDigest}); err != nil || c.ResolvedImage != newID {
		t.Fatalf("UpdateCode(app@registry digest) = %+v, %v", c, err)
	}
}

// TestResolveLocalImageCodeNeverPulls: ResolveLocalImageCode (portico deploy
// --dry-run) resolves from the host's images alone: a tag the host has, a
// pin by digest; one it does not have is ErrNotFound and is not pulled.
func TestResolveLocalImageCodeNeverPulls(t *testing.T) {
	ctx := context.Background()
	id := "sha256:" + strings.Repeat("d", 64)
	e := newEnv(t)
	res := &dockerLikeResolver{tags: map[string]string{"app:here": id, "app:remote": id}, local: map[string]bool{"app:here": true, id: true}}
	e.svc.images = res
	for _, ref := range []string{"app:here", "app@" + id} {
		if code, err := e.svc.ResolveLocalImageCode(ctx, ref); err != nil || code.ResolvedImage != id {
			t.Errorf("ResolveLocalImageCode(%s) = %+v, %v; want %s", ref, code, err, id)
		}
	}
	if _, err := e.svc.ResolveLocalImageCode(ctx, "app:remote"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("ResolveLocalImageCode(app:remote) = %v, want ErrNotFound", err)
	}
	if len(res.pulls) != 0 {
		t.Errorf("pulled %v", res.pulls)
	}
	// A resolver that cannot tell without pulling: the same.
	e.svc.images = &fakeResolver{ids: map[string]string{"app:here": id}}
	if _, err := e.svc.ResolveLocalImageCode(ctx, "app:here"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("without a LocalImageResolver: %v, want ErrNotFound", err)
	}
}

// TestDescriptionCountsCharactersNotBytes is the lambda19 tester's finding 1:
// Lambda bounds a Description at 256 characters, and Portico counted bytes,
// so 100 characters of 日 (300 bytes) were refused. 256 of them are taken on
// create and publish, and a Handler of 128 non-ASCII characters too; 257 are
// a ValidationException whose message cuts the value at a character boundary.
func TestDescriptionCountsCharactersNotBytes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	long := strings.Repeat("日", 256)
	if _, err := e.svc.Create(ctx, CreateInput{FunctionName: "fn", Description: long, Handler: strings.Repeat("é", 128), ZipFile: goodZip(t, "x")}); err != nil {
		t.Fatalf("Create with a 256-character Description: %v", err)
	}
	if _, err := e.svc.Publish(ctx, "fn", PublishInput{Description: long}); err != nil {
		t.Errorf("Publish with a 256-character Description: %v", err)
	}
	_, err := e.svc.Publish(ctx, "fn", PublishInput{Description: long + "日"})
	var k *errdefs.Kinded
	if !errors.As(err, &k) || k.Type != "ValidationException" || !strings.Contains(err.Error(), "at 'description'") {
		t.Fatalf("Publish with a 257-character Description: %v, want a ValidationException at 'description'", err)
	}
	if !utf8.ValidString(err.Error()) {
		t.Errorf("the message %q is not valid UTF-8: the value was cut inside a character", err)
	}
}
