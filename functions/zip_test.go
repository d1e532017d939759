package functions

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

const exe = 0o755

// rawZip builds an archive whose entries' headers are written as given, including
// sizes that lie.
func rawZip(t testing.TB, hdrs ...*zip.FileHeader) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, h := range hdrs {
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCreateRejectsZipOverLimit: a Zip package over MaxZipSize is
// ErrTooLarge, Lambda's 413 RequestEntityTooLargeException, and nothing is
// stored.
func TestCreateRejectsZipOverLimit(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.Create(context.Background(), CreateInput{FunctionName: "fn", ZipFile: make([]byte, MaxZipSize+1)})
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrTooLarge) || !errors.As(err, &k) || k.Type != "RequestEntityTooLargeException" || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("err = %v, want ErrTooLarge RequestEntityTooLargeException", err)
	}
	assertEmpty(t, e)
}

func TestCreateRejectsBadZips(t *testing.T) {
	boot := testEntry{name: "bootstrap", body: "#!/bin/sh\n", mode: exe}
	link := func(name, target string) testEntry {
		return testEntry{name: name, body: target, mode: fs.ModeSymlink | 0o777}
	}
	tests := []struct {
		name string
		zip  func(t *testing.T) []byte
		want string // substring of the message
	}{
		{"empty", func(t *testing.T) []byte { return nil }, "ZipFile is required"},
		{"not a zip", func(t *testing.T) []byte { return []byte("hello, world") }, "Could not unzip uploaded file"},
		{"truncated", func(t *testing.T) []byte { z := goodZip(t, "x"); return z[:len(z)-30] }, "Could not unzip"},
		{"no bootstrap", func(t *testing.T) []byte {
			return makeZip(t, testEntry{name: "main", body: "x", mode: exe})
		}, "executable file named bootstrap at the archive root"},
		{"bootstrap in a folder", func(t *testing.T) []byte {
			return makeZip(t, testEntry{name: "app/bootstrap", body: "x", mode: exe})
		}, "no bootstrap file at its root"},
		{"bootstrap not executable", func(t *testing.T) []byte {
			return makeZip(t, testEntry{name: "bootstrap", body: "x", mode: 0o644})
		}, "chmod +x bootstrap"},
		{"bootstrap is a directory", func(t *testing.T) []byte {
			return makeZip(t, testEntry{name: "bootstrap/", mode: fs.ModeDir | 0o755})
		}, "regular executable file"},
		{"bootstrap is a symlink to a file that is not executable", func(t *testing.T) []byte {
			return makeZip(t, testEntry{name: "real", body: "x", mode: 0o644}, link("bootstrap", "real"))
		}, "not executable (mode 0644) (bootstrap is a symlink to real): run `chmod +x real`"},
		{"bootstrap is a symlink to a directory", func(t *testing.T) []byte {
			return makeZip(t, testEntry{name: "d/", mode: fs.ModeDir | 0o755}, testEntry{name: "d/x", body: "x", mode: exe}, link("bootstrap", "d"))
		}, "not a directory (bootstrap is a symlink to d)"},
		{"bootstrap is a symlink to nothing in the archive", func(t *testing.T) []byte {
			return makeZip(t, testEntry{name: "real", body: "x", mode: exe}, link("bootstrap", "bin/real"))
		}, "bootstrap at the root of the Zip package is a symlink to bin/real, which is not in the archive"},
		{"bootstrap is a symlink out of the archive", func(t *testing.T) []byte {
			return makeZip(t, link("bootstrap", "../bin/sh"))
		}, "outside the archive"},
		{"dot-dot entry", func(t *testing.T) []byte {
			return makeZip(t, boot, testEntry{name: "../evil", body: "x", mode: 0o644})
		}, "escapes the archive root"},
		{"dot-dot in the middle", func(t *testing.T) []byte {
			return makeZip(t, boot, testEntry{name: "a/../../evil", body: "x", mode: 0o644})
		}, "escapes the archive root"},
		{"backslash dot-dot", func(t *testing.T) []byte {
			return makeZip(t, boot, testEntry{name: `..\evil`, body: "x"})
		}, "escapes the archive root"},
		{"absolute entry", func(t *testing.T) []byte {
			return makeZip(t, boot, testEntry{name: "/etc/evil", body: "x", mode: 0o644})
		}, "absolute path"},
		{"drive letter", func(t *testing.T) []byte {
			return makeZip(t, boot, testEntry{name: `C:\evil`, body: "x"})
		}, "absolute path"},
		{"symlink to an absolute path", func(t *testing.T) []byte {
			return makeZip(t, boot, link("passwd", "/etc/passwd"))
		}, "outside the archive"},
		{"symlink up and out", func(t *testing.T) []byte {
			return makeZip(t, boot, link("lib/up", "../../etc"))
		}, "outside the archive"},
		{"symlink out through another symlink", func(t *testing.T) []byte {
			// "here" is the root, so "here/.." is its parent.
			return makeZip(t, boot, link("here", "."), link("out", "here/.."))
		}, "outside the archive"},
		{"symlink to a symlink out (sec29 #3)", func(t *testing.T) []byte {
			return makeZip(t, link("bootstrap", "a"), link("a", "../../bin/true"))
		}, `Zip entry "bootstrap" is a symlink to "a", which leads through the symlink "a" (to "../../bin/true") outside the archive`},
		{"symlink to a directory symlink out", func(t *testing.T) []byte {
			return makeZip(t, boot, link("x", "d/y"), link("d", "/usr"))
		}, `Zip entry "x" is a symlink to "d/y", which leads through the symlink "d" (to "/usr") outside the archive`},
		{"symlink loop", func(t *testing.T) []byte {
			return makeZip(t, boot, link("a", "b"), link("b", "a"))
		}, "symlink loop"},
		{"self-referencing symlink", func(t *testing.T) []byte {
			return makeZip(t, boot, link("l", "l"))
		}, `"l" is a symlink to "l", which is a symlink loop`},
		{"entry written through a symlink", func(t *testing.T) []byte {
			return makeZip(t, boot, link("d", "."), testEntry{name: "d/x", body: "x", mode: 0o644})
		}, "inside the symlink"},
		{"duplicate entry", func(t *testing.T) []byte {
			return makeZip(t, boot, testEntry{name: "a", body: "1", mode: 0o644}, testEntry{name: "./a", body: "2", mode: 0o644})
		}, "more than once"},
		{"fifo entry", func(t *testing.T) []byte {
			return makeZip(t, boot, testEntry{name: "pipe", mode: fs.ModeNamedPipe | 0o644})
		}, "not a regular file"},
		{"zip bomb by declared size", func(t *testing.T) []byte {
			h := &zip.FileHeader{Name: "big", Method: zip.Store, UncompressedSize64: MaxUnzippedSize + 1, CompressedSize64: 1}
			b := &zip.FileHeader{Name: "bootstrap", Method: zip.Store, UncompressedSize64: 1, CompressedSize64: 1}
			b.SetMode(exe)
			return rawZip(t, b, h)
		}, "Unzipped size must be smaller than"},
		{"corrupt data (bad checksum)", func(t *testing.T) []byte {
			b := &zip.FileHeader{Name: "bootstrap", Method: zip.Store, UncompressedSize64: 1, CompressedSize64: 1, CRC32: 12345}
			b.SetMode(exe)
			return rawZip(t, b)
		}, "Could not unzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			_, err := e.svc.Create(ctx, CreateInput{FunctionName: "fn", ZipFile: tt.zip(t)})
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			assertEmpty(t, e)
		})
	}
}

// assertEmpty checks that nothing was stored: no function and no unpacked code.
func assertEmpty(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	if l, err := e.svc.List(ctx); err != nil || len(l) != 0 {
		t.Errorf("List = %v, %v; want empty", l, err)
	}
	if _, err := e.svc.Get(ctx, "fn", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Get err = %v, want ErrNotFound", err)
	}
	ents, _ := os.ReadDir(filepath.Join(e.dir, "code"))
	if len(ents) != 0 {
		t.Errorf("code directory holds %v, want nothing", ents)
	}
}

func TestCreateUnpacksZip(t *testing.T) {
	link := func(name, target string) testEntry {
		return testEntry{name: name, body: target, mode: fs.ModeSymlink | 0o777}
	}
	tests := []struct {
		name    string
		entries []testEntry
		perms   map[string]fs.FileMode // path -> want perm
		links   map[string]string      // path -> want target
	}{
		{
			name:    "unix zip",
			entries: []testEntry{{name: "bootstrap", body: "b", mode: exe}, {name: "lib/", mode: fs.ModeDir | 0o755}, {name: "lib/data.txt", body: "d", mode: 0o600}, {name: "bin/tool", body: "t", mode: 0o700}},
			perms:   map[string]fs.FileMode{"bootstrap": 0o555, "lib/data.txt": 0o444, "bin/tool": 0o555},
		},
		{
			name:    "windows zip without modes",
			entries: []testEntry{{name: "bootstrap", body: "b"}, {name: `conf\app.json`, body: "{}"}},
			perms:   map[string]fs.FileMode{"bootstrap": 0o555, "conf/app.json": 0o444},
		},
		{
			name:    "symlinks inside the archive",
			entries: []testEntry{{name: "bootstrap", body: "b", mode: exe}, {name: "lib/v1/x.so", body: "x", mode: 0o644}, link("lib/current", "v1"), link("lib/x.so", "current/x.so"), link("self", ".")},
			perms:   map[string]fs.FileMode{"lib/v1/x.so": 0o444},
			links:   map[string]string{"lib/current": "v1", "lib/x.so": "current/x.so", "self": "."},
		},
		{
			// zip -y of a bootstrap linked to an executable in the package: Lambda runs it.
			name:    "bootstrap a symlink to an executable inside the archive",
			entries: []testEntry{{name: "bin/real", body: "#!/bin/sh\n", mode: exe}, link("bin/current", "real"), link("bootstrap", "bin/current")},
			perms:   map[string]fs.FileMode{"bin/real": 0o555},
			links:   map[string]string{"bootstrap": "bin/current", "bin/current": "real"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			data := makeZip(t, tt.entries...)
			c, err := e.svc.Create(context.Background(), CreateInput{FunctionName: "fn", ZipFile: data})
			if err != nil {
				t.Fatal(err)
			}
			if c.CodeSize != int64(len(data)) || len(c.CodeSha256) != 44 || len(c.CodeHash) != 64 {
				t.Errorf("code fields = %d %q %q", c.CodeSize, c.CodeSha256, c.CodeHash)
			}
			dir := e.svc.CodeDir(c)
			if dir != filepath.Join(e.dir, "code", c.CodeHash) {
				t.Errorf("CodeDir = %s", dir)
			}
			if z, err := os.ReadFile(filepath.Join(e.dir, "code", c.CodeHash+".zip")); err != nil || !bytes.Equal(z, data) {
				t.Errorf("stored zip differs (err %v)", err)
			}
			for p, want := range tt.perms {
				fi, err := os.Lstat(filepath.Join(dir, p))
				if err != nil {
					t.Errorf("%s: %v", p, err)
					continue
				}
				if fi.Mode().Perm() != want || !fi.Mode().IsRegular() {
					t.Errorf("%s mode = %v, want %v", p, fi.Mode(), want)
				}
			}
			// Its files read-only: a process sandbox runs in the tree, and
			// every version with the same code shares it, so they must not
			// change. Its directories keep their owner's write bit, so that
			// the tree can be removed by a plain rm -r.
			_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					t.Error(err)
					return nil
				}
				fi, err := d.Info()
				switch {
				case err != nil || d.Type()&fs.ModeSymlink != 0:
				case d.IsDir() && fi.Mode().Perm()&0o700 != 0o700:
					t.Errorf("directory %s mode = %v, want its owner's rwx", p, fi.Mode())
				case !d.IsDir() && fi.Mode().Perm()&0o222 != 0:
					t.Errorf("%s is writable (%v)", p, fi.Mode())
				}
				return nil
			})
			for p, want := range tt.links {
				if got, err := os.Readlink(filepath.Join(dir, p)); err != nil || got != want {
					t.Errorf("%s -> %q (%v), want %q", p, got, err, want)
				}
			}
		})
	}
}

func TestCodeIsContentAddressed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	data := goodZip(t, "same")
	a, err := e.svc.Create(ctx, CreateInput{FunctionName: "a", ZipFile: data})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.Create(ctx, CreateInput{FunctionName: "b", ZipFile: data})
	if err != nil {
		t.Fatal(err)
	}
	if a.CodeHash != b.CodeHash || e.svc.CodeDir(a) != e.svc.CodeDir(b) {
		t.Fatalf("same zip, different artifacts: %s %s", a.CodeHash, b.CodeHash)
	}
	ents, err := os.ReadDir(filepath.Join(e.dir, "code"))
	if err != nil || len(ents) != 2 { // <hex>/ and <hex>.zip, no temporaries
		t.Fatalf("code directory = %v, %v", ents, err)
	}
}

func TestLinkStaysInside(t *testing.T) {
	tests := []struct {
		name  string
		links map[string]string
		check string
		want  linkVerdict
	}{
		{"sibling", map[string]string{"a/b": "c"}, "a/b", linkInside},
		{"up one", map[string]string{"a/b": "../c"}, "a/b", linkInside},
		{"up two", map[string]string{"a/b": "../../c"}, "a/b", linkOutside},
		{"dangling inside", map[string]string{"x": "nowhere/at/all"}, "x", linkInside},
		{"through deep link", map[string]string{"l": "p/q/r", "m": "l/../.."}, "m", linkInside},
		{"through shallow link", map[string]string{"l": ".", "m": "l/.."}, "m", linkOutside},
		{"absolute", map[string]string{"x": "/"}, "x", linkOutside},
		{"to a link that escapes", map[string]string{"x": "y", "y": ".."}, "x", linkOutside},
		{"to itself", map[string]string{"l": "l"}, "l", linkLoop},
		{"a loop of two", map[string]string{"a": "b", "b": "a"}, "a", linkLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := linkStaysInside(tt.check, tt.links); got != tt.want {
				t.Errorf("linkStaysInside(%s) = %v, want %v", tt.check, got, tt.want)
			}
		})
	}
}

func FuzzInspectZip(f *testing.F) {
	f.Add(goodZip(f, "x"))
	f.Add(makeZip(f, testEntry{name: "bootstrap", body: "b"}, testEntry{name: "l", body: "../x", mode: fs.ModeSymlink | 0o777}))
	f.Add(makeZip(f, testEntry{name: "bootstrap", body: "b", mode: exe}, testEntry{name: "a/../../b", body: "x"}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkg, err := inspectZip(data)
		if err != nil {
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		links := map[string]string{}
		for _, e := range pkg.entries {
			if !filepath.IsLocal(e.name) {
				t.Fatalf("accepted non-local entry %q", e.name)
			}
			if e.kind == fs.ModeSymlink {
				links[e.name] = e.target
			}
		}
		for name := range links {
			if linkStaysInside(name, links) != linkInside {
				t.Fatalf("accepted escaping symlink %q", name)
			}
		}
	})
}
