package functions

import (
	"archive/zip"
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"testing"

	"github.com/portico-dev/portico/store"
)

// zipEntry describes one entry of a test archive.
type testEntry struct {
	name string
	body string
	mode fs.FileMode // 0: no Unix mode recorded (as zips made on Windows)
}

// makeZip builds an archive from entries.
func makeZip(t testing.TB, entries ...testEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// goodZip is a minimal valid package.
func goodZip(t testing.TB, body string) []byte {
	return makeZip(t, testEntry{name: "bootstrap", body: "#!/bin/sh\n" + body, mode: 0o755})
}

type env struct {
	dir     string
	st      *store.Store
	svc     *Service
	aliases fakeAliases
}

// fakeAliases is the Aliases the service consults; tests set its behaviour.
type fakeAliases struct {
	target   func(fn, alias string) string
	deleting func(fn, version string) error
}

func (f *fakeAliases) Target(fn, alias string, version *string) store.Step {
	return func(*store.Tx) error {
		*version = ""
		if f.target != nil {
			*version = f.target(fn, alias)
		}
		return nil
	}
}

func (f *fakeAliases) Deleting(fn, version string) store.Step {
	return func(*store.Tx) error {
		if f.deleting == nil {
			return nil
		}
		return f.deleting(fn, version)
	}
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir}
	e.open(t)
	t.Cleanup(func() { _ = e.st.Close() })
	return e
}

func (e *env) open(t testing.TB) {
	t.Helper()
	st, err := store.Open(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(st, nil, &e.aliases, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.st, e.svc = st, svc
}

// reopen closes the store and opens it again, as a restart would.
func (e *env) reopen(t testing.TB) {
	t.Helper()
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
}

func (e *env) create(t testing.TB, name string, publish bool) *Config {
	t.Helper()
	c, err := e.svc.Create(context.Background(), CreateInput{FunctionName: name, ZipFile: goodZip(t, name), Publish: publish})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return c
}
