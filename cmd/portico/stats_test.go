package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/admin"
	"github.com/portico-dev/portico/cmd/portico/app"
	testenv "github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/buildinfo"
	"github.com/portico-dev/portico/store"
)

// TestStats calls a function, then reads GET /portico/v1/stats through
// `portico stats`: the warm sandbox shows under its function and version, with
// the budget (as configured) and the server's own figures.
func TestStats(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, testenv.Options{Settings: func(s *app.Settings) { s.Invoker.MaxSandboxes = 7 }})
	ctx := context.Background()
	c := env.Client()
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "counted", "Code": map[string]any{"ZipFile": testenv.ZipSample(t, "hello")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, http.MethodPost, client.FunctionPath("counted", "/invocations"), nil, []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	// A keep-alive connection to the gateway, held open while stats are read.
	gc := &http.Client{Transport: &http.Transport{}}
	defer gc.CloseIdleConnections()
	resp, err := gc.Get(env.GatewayURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	run := func(args ...string) string {
		t.Helper()
		return cli(t, env, args...)
	}
	var st admin.Stats
	if err := json.Unmarshal([]byte(run("stats", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Sandboxes.Budget.MaxSandboxes != 7 || st.Sandboxes.Budget.Sandboxes != 1 || len(st.Sandboxes.Versions) != 1 {
		t.Fatalf("sandboxes: %+v", st.Sandboxes)
	}
	if v := st.Sandboxes.Versions[0]; v.Function != "counted" || v.Version != "$LATEST" || v.Busy+v.Idle != 1 {
		t.Fatalf("version: %+v", v)
	}
	if st.Server.Goroutines <= 0 || st.Server.Procs <= 0 || st.Server.OpenDescriptors <= 0 || st.Server.ResidentBytes <= 0 {
		t.Fatalf("server: %+v", st.Server)
	}
	// The server's build, as `portico version` names it (stats named none).
	if b := buildinfo.Read(store.SchemaVersion); st.Build != b {
		t.Errorf("build: %+v, want the server's, %+v", st.Build, b)
	}
	if st.Gateway == nil || len(st.Gateway.Listeners) == 0 {
		t.Fatalf("gateway: %+v", st.Gateway)
	}
	if l := st.Gateway.Listeners[0]; l.Listener != "http" || "http://"+l.Addr != env.GatewayURL || l.Open < 1 || l.Dormant > l.Open {
		t.Fatalf("gateway listener: %+v (the test holds a keep-alive connection to %s)", l, env.GatewayURL)
	}
	// The same count in the admin API's Prometheus metrics.
	mr, err := c.Do(ctx, http.MethodGet, "/metrics", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mr.Body), `portico_gateway_connections{listener="http",state="awake"}`) {
		t.Errorf("GET /metrics lacks portico_gateway_connections for the plain listener")
	}
	table := run("stats")
	for _, want := range []string{"build: " + buildinfo.Read(store.SchemaVersion).String() + "\n", "of a budget of 7", "counted", "$LATEST", "goroutines on", "processors (GOMAXPROCS)", "gateway: http ", " dormant)", "WebSockets"} {
		if !strings.Contains(table, want) {
			t.Errorf("portico stats lacks %q:\n%s", want, table)
		}
	}
}

// TestPrintStatsWords is the ops11 tester's: one processor was "1
// processors", and function log output lost to a full disk was not shown.
func TestPrintStatsWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		procs    int
		lost     int64
		want     []string
		wantNone string
	}{
		{"one processor", 1, 0, []string{"on 1 processor (GOMAXPROCS)"}, "function logs"},
		{"two processors, log output lost", 2, 1234, []string{"on 2 processors (GOMAXPROCS)", "function logs: 1234 bytes of output not written"}, "processor (GOMAXPROCS)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var st admin.Stats
			st.Server.Procs = tc.procs
			st.Sandboxes.LogBytesLost = tc.lost
			raw, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if err := printStats(&out, raw); err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("portico stats lacks %q:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String(), tc.wantNone) {
				t.Errorf("portico stats has %q:\n%s", tc.wantNone, out.String())
			}
		})
	}
}
