package metrics_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// TestDeletedFunctionLeavesNoSeries: once a function is deleted, GET /metrics
// has no series of it (any version, alias or metric), as a deleted API's
// stages leave none; another function's stay. Deleting one version removes
// that version's.
func TestDeletedFunctionLeavesNoSeries(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	ctx := context.Background()
	for _, name := range []string{"tmpf", "keep"} {
		if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": name, "Runtime": client.ZipRuntime, "Handler": client.ZipHandler,
			"Role": "arn:aws:iam::000000000000:role/any", "Code": map[string]any{"ZipFile": apptest.ZipSample(t, "hello")}}); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"1", "2"} {
			if _, _, err := c.UpdateFunctionConfiguration(ctx, name, map[string]any{"Environment": map[string]any{"Variables": map[string]string{"VER": v}}}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := c.PublishVersion(ctx, name, ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := c.SetAlias(ctx, name, "live", "2", nil); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"", ":1", ":2", ":live"} {
			if _, err := c.Do(ctx, http.MethodPost, client.FunctionPath(name+q, "/invocations"), nil, []byte(`{}`), nil); err != nil {
				t.Fatalf("invoke %s%s: %v", name, q, err)
			}
		}
	}
	if n := series(t, env, `function="tmpf"`); n == 0 {
		t.Fatal("no series of tmpf after its invocations")
	}
	if _, err := c.Do(ctx, http.MethodDelete, client.FunctionPath("tmpf", ""), url1("Qualifier", "1"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := series(t, env, `function="tmpf"`, `executed_version="1"`); n != 0 {
		t.Errorf("%d series of tmpf version 1 after its delete", n)
	}
	if n := series(t, env, `function="tmpf"`, `executed_version="2"`); n == 0 {
		t.Error("deleting version 1 removed version 2's series")
	}
	if _, err := c.Do(ctx, http.MethodDelete, client.FunctionPath("tmpf", ""), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := series(t, env, `function="tmpf"`); n != 0 {
		t.Errorf("%d series of tmpf after fn delete", n)
	}
	if n := series(t, env, `function="keep"`); n == 0 {
		t.Error("deleting tmpf removed keep's series")
	}
}

// TestDeletedAliasLeavesNoSeries is what the obs4 tester found: a deleted
// alias kept its portico_lambda_* series until its version went, so that
// alias churn grew the series without bound. Deleting an alias removes the
// series labelled with it; the version's own and another alias's stay.
func TestDeletedAliasLeavesNoSeries(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	ctx := context.Background()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "fa", "Runtime": client.ZipRuntime, "Handler": client.ZipHandler,
		"Role": "arn:aws:iam::000000000000:role/any", "Code": map[string]any{"ZipFile": apptest.ZipSample(t, "hello")}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PublishVersion(ctx, "fa", ""); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"gone", "kept"} {
		if _, _, err := c.SetAlias(ctx, "fa", a, "1", nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{":1", ":gone", ":kept"} {
		if _, err := c.Do(ctx, http.MethodPost, client.FunctionPath("fa"+q, "/invocations"), nil, []byte(`{}`), nil); err != nil {
			t.Fatalf("invoke fa%s: %v", q, err)
		}
	}
	if n := series(t, env, `function="fa"`, `alias="gone"`); n == 0 {
		t.Fatal("no series of alias gone after its invocation")
	}
	if _, err := c.Do(ctx, http.MethodDelete, client.FunctionPath("fa", "/aliases/gone"), nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := series(t, env, `function="fa"`, `alias="gone"`); n != 0 {
		t.Errorf("%d series of alias gone after its delete", n)
	}
	if n := series(t, env, `function="fa"`, `alias="kept"`); n == 0 {
		t.Error("deleting alias gone removed alias kept's series")
	}
	if n := series(t, env, `function="fa"`, `alias=""`, `executed_version="1"`); n == 0 {
		t.Error("deleting alias gone removed version 1's own series")
	}
}

func url1(k, v string) map[string][]string { return map[string][]string{k: {v}} }

// series counts the lines of GET /metrics that hold every one of labels.
func series(t *testing.T, env *apptest.Env, labels ...string) int {
	t.Helper()
	resp, err := http.Get(env.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	n := 0
next:
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue next
			}
		}
		n++
	}
	return n
}
