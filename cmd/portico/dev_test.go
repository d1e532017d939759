package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// TestDeployHelloIsIdempotent runs the hello dev step twice, with a restart between,
// as `make run` twice would: the second run publishes no new version. The data
// directory is relative, as `make run` gives it.
func TestDeployHelloIsIdempotent(t *testing.T) {
	samples, err := filepath.Abs(filepath.Dir(apptest.Sample(t, "hello")))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	env := apptest.Start(t, apptest.Options{DataDir: "./portico-data"})
	ctx := context.Background()
	run := func() {
		t.Helper()
		e := &devEnv{client: env.Client(), samples: samples, adminURL: env.AdminURL, gatewayURL: env.GatewayURL, out: &bytes.Buffer{}}
		if err := deployHello(ctx, e); err != nil {
			t.Fatalf("deployHello: %v", err)
		}
	}
	run()
	env.Restart()
	run()

	c := env.Client()
	resp, err := c.Do(ctx, http.MethodGet, client.FunctionPath("hello", "/versions"), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var vs struct {
		Versions []client.FunctionConfiguration
	}
	if err := json.Unmarshal(resp.Body, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions) != 2 || vs.Versions[1].Version != "1" {
		t.Fatalf("versions after two runs = %+v, want $LATEST and 1", vs.Versions)
	}
	resp, err = c.Do(ctx, http.MethodPost, client.FunctionPath("hello:live", "/invocations"), nil, []byte(`{"queryStringParameters":{"name":"dev"}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Amz-Executed-Version") != "1" || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Fatalf("invoke hello:live: version %q, error %q: %s", resp.Header.Get("X-Amz-Executed-Version"), resp.Header.Get("X-Amz-Function-Error"), resp.Body)
	}
	if !bytes.Contains(resp.Body, []byte(`Hello from make run`)) || !bytes.Contains(resp.Body, []byte(`\"name\":\"dev\"`)) {
		t.Errorf("hello answered %s", resp.Body)
	}
}

// TestDevRefusesServerFilesInAFunctionDirectory: `portico dev --function`
// with a directory that holds the data directory (every call wrote to it and
// redeployed the function, whose zip carried the store) or the IAM key file
// (a secret in the zip) stops before serving, saying what to move.
func TestDevRefusesServerFilesInAFunctionDirectory(t *testing.T) {
	base := t.TempDir()
	app := filepath.Join(base, "app")
	if err := os.MkdirAll(app, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil { //nolint:gosec // an executable
		t.Fatal(err)
	}
	if err := os.Symlink(app, filepath.Join(base, "app-link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, fn string
		flags    []string
		want     string
	}{
		{"data dir inside", "app", []string{"--data-dir", filepath.Join(app, "portico-data")}, "holds the data directory"},
		{"data dir is the directory", "app", []string{"--data-dir", app}, "holds the data directory"},
		{"through a link", "app-link", []string{"--data-dir", filepath.Join(app, "data")}, "holds the data directory"},
		{"key file inside", "app", []string{"--data-dir", filepath.Join(base, "data"), "--iam-key-file", filepath.Join(app, "iam.key")}, "holds the IAM key file"},
		{"beside, with a name that starts alike", "app", []string{"--data-dir", filepath.Join(base, "app2")}, "no built sample"},
	} {
		root := newRoot()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		args := append([]string{"dev", "--function", "f=" + filepath.Join(base, tc.fn), "--samples", filepath.Join(base, "none")}, tc.flags...)
		root.SetArgs(args)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: portico %s: %v; want %q", tc.name, strings.Join(args, " "), err, tc.want)
		}
	}
}
