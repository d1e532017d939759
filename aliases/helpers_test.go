package aliases

import (
	"context"
	"log/slog"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/store"
)

type env struct {
	dir  string
	st   *store.Store
	fns  *functions.Service
	svc  *Service
	rand func() float64
}

func newEnv(t testing.TB, r func() float64) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), rand: r}
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
	log := slog.New(slog.DiscardHandler)
	fns, err := functions.NewService(st, nil, Index{}, log)
	if err != nil {
		t.Fatal(err)
	}
	e.st, e.fns = st, fns
	if e.rand != nil {
		e.svc = NewServiceWithRand(st, fns, log, e.rand)
	} else {
		e.svc = NewService(st, fns, log)
	}
}

func (e *env) reopen(t testing.TB) {
	t.Helper()
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
}

func bootstrapZip(t testing.TB, body string) []byte {
	t.Helper()
	return testkit.Bootstrap(t, "#!/bin/sh\n"+body)
}

// withVersions creates function name and publishes n versions of it, each with
// different code.
func (e *env) withVersions(t testing.TB, name string, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.fns.Create(ctx, functions.CreateInput{FunctionName: name, ZipFile: bootstrapZip(t, "v0")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := e.fns.UpdateCode(ctx, name, functions.CodeInput{ZipFile: bootstrapZip(t, "v"+string(rune('0'+i))), Publish: true}); err != nil {
			t.Fatal(err)
		}
	}
}
