package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestFnUpdateEnvConcurrent: twenty `fn update --env` run at once each add one
// variable; every one that exits 0 has its variable stored. The CLI merges into
// the variables it read, so it must send the RevisionId it read and, when
// another update landed in between (412), read and merge again.
func TestFnUpdateEnvConcurrent(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	cli(t, env, "fn", "create", "racy", "--dir", apptest.Sample(t, "hello"))
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			out, err := cliErr(env, "fn", "update", "racy", "--env", fmt.Sprintf("K%d=V%d", i, i))
			if err != nil {
				errs[i] = fmt.Errorf("%w: %s", err, out)
			}
		})
	}
	wg.Wait()
	fc, _, err := env.Client().GetFunctionConfiguration(context.Background(), "racy")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for i := range n {
		k := fmt.Sprintf("K%d", i)
		if errs[i] != nil {
			t.Errorf("fn update --env %s=...: %v", k, errs[i])
			continue
		}
		if fc.Environment == nil || fc.Environment.Variables[k] != fmt.Sprintf("V%d", i) {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Errorf("updates that exited 0 lost their variables %s; stored: %v", strings.Join(missing, " "), fc.Environment)
	}
}

// TestAliasSetConcurrentCreate: `alias set` run at once for an alias that does
// not exist yet all succeed: the ones whose create finds it made by another
// update it instead of failing with ResourceConflictException.
func TestAliasSetConcurrentCreate(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	cli(t, env, "fn", "create", "al", "--dir", apptest.Sample(t, "hello"), "--publish")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			out, err := cliErr(env, "alias", "set", "al", "live", "1")
			if err != nil {
				errs[i] = fmt.Errorf("%w: %s", err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("alias set al live 1: %v", err)
		}
	}
}
