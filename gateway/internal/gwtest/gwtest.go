// Package gwtest holds the fixtures the gateway's tests and benchmarks share: a
// store in a temporary directory, an API service over it, and an API created
// and deployed in one step. It is imported by tests only.
package gwtest

import (
	"context"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/store"
)

// Store opens a store in dir (a new temporary directory of tb when dir is "")
// and closes it when tb ends.
func Store(tb testing.TB, dir string) *store.Store {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	st, err := store.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// APIs opens a store of its own in a temporary directory and returns it with
// an API service over it.
func APIs(tb testing.TB) (*store.Store, *apis.Service) {
	tb.Helper()
	st := Store(tb, "")
	return st, apis.NewService(st, nil)
}

// Deploy creates a with svc and deploys it as in says; it returns the API as
// created.
func Deploy(tb testing.TB, svc *apis.Service, a *apis.API, in apis.DeployInput) *apis.API {
	tb.Helper()
	ctx := context.Background()
	created, err := svc.Create(ctx, a)
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, created.ID, in); err != nil {
		tb.Fatal(err)
	}
	return created
}
