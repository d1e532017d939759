package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestCLIErrorsSayWhatToDo: the CLI's errors for a wrong call say how to make
// the right one: the usage line for wrong arguments, that --endpoint names the
// gateway rather than the admin API, a missing template file as such, the
// portico command of an operation a message names, and the names that exist
// for one that does not.
func TestCLIErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	if _, _, err := env.Client().CreateFunction(ctx, map[string]any{"FunctionName": "xss",
		"Code": map[string]any{"ZipFile": testkit.Bootstrap(t, "#!/bin/sh\nexit 0\n")}}); err != nil {
		t.Fatal(err)
	}
	resp, err := env.Client().Do(ctx, http.MethodPost, "/portico/v1/apis", nil, map[string]any{"name": "shop", "protocol": "REST"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ ID string }
	if err := json.Unmarshal(resp.Body, &api); err != nil || api.ID == "" {
		t.Fatalf("create api: %s %v", resp.Body, err)
	}
	apiID := api.ID
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"invoke"}, []string{"accepts 1 arg(s), received 0", "usage: portico invoke FUNCTION[:QUALIFIER]"}},
		{[]string{"alias", "set", "xss"}, []string{"usage: portico alias set FUNCTION ALIAS VERSION"}},
		{[]string{"--endpoint", env.GatewayURL, "fn", "list"}, []string{"gateway", "--admin-listen"}},
		{[]string{"deploy", "--template", "/nonexistent/template.yaml"}, []string{"/nonexistent/template.yaml", "no such file"}},
		{[]string{"fn", "delete", "xss:nosuch"}, []string{"`portico alias delete FUNCTION ALIAS`"}},
		{[]string{"fn", "get", "nosuch"}, []string{"ResourceNotFoundException", "functions here: xss"}},
		{[]string{"invoke", "nosuch"}, []string{"functions here: xss"}},
		{[]string{"api", "deploy", "nosuchapi1", "--stage", "dev"}, []string{"APIs here: " + apiID + " (shop)"}},
		{[]string{"api", "get", "nosuchapi1"}, []string{"APIs here: " + apiID + " (shop)"}},
	} {
		var out bytes.Buffer
		args := tc.args
		if args[0] != "--endpoint" {
			args = append([]string{"--endpoint", env.AdminURL}, args...)
		}
		err := runRoot(&out, &out, args...)
		if err == nil {
			t.Errorf("portico %s succeeded:\n%s", strings.Join(tc.args, " "), out.String())
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("portico %s: %q does not say %q", strings.Join(tc.args, " "), err, w)
			}
		}
	}
	// A missing qualifier of a function that exists is not a missing
	// function: the error names the function's aliases.
	if _, err := cliErr(env, "fn", "get", "xss:nosuch"); err == nil || strings.Contains(err.Error(), "functions here") ||
		!strings.Contains(err.Error(), "(xss has no aliases)") {
		t.Errorf("fn get xss:nosuch: %v", err)
	}
	if _, err := cliErr(env, "fn", "publish", "xss"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"live", "beta"} {
		if _, err := cliErr(env, "alias", "set", "xss", name, "1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"fn", "get", "xss:prod"}, {"invoke", "xss:prod"}, {"alias", "delete", "xss", "prod"}} {
		if _, err := cliErr(env, args...); err == nil || !strings.Contains(err.Error(), "(aliases of xss: beta, live)") {
			t.Errorf("%s: %v, want it to name xss's aliases", strings.Join(args, " "), err)
		}
	}
}
