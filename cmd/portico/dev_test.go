package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
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
