package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/admin"
	testenv "github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/testkit"
)

// Budgets the server must stay within for the whole run.
const (
	maxSandboxes   = 32                    // the server's --max-sandboxes
	maxGoroutines  = 3000                  // goroutines in the server
	maxDescriptors = 2048                  // open descriptors in the server
	maxResident    = 512 << 20             // resident memory of the server, bytes
	callers        = 16                    // concurrent gateway callers
	callEvery      = 50 * time.Millisecond // each caller's pace: about 320 calls/s in all, frugal on shared machines
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

// TestSoak runs mixed load for SOAK (e.g. 10m, 60s) against `portico serve` on
// the process runtime: 16 gateway callers and 2 admin API callers on an alias,
// the alias moved to a newly published version every 20 s (a deploy), and a
// configuration write every second. Every 30 s (or a sixth of a short run) it
// samples the server's resident memory, goroutines, open descriptors and
// sandboxes through GET /portico/v1/stats, and fails if any sample is past its
// budget, if any figure keeps growing over the last half of the run, or if more
// than 1% of calls fail.
func TestSoak(t *testing.T) {
	raw := os.Getenv("SOAK")
	if raw == "" {
		t.Skip("the soak runs only with SOAK set (make soak; SOAK=60s for a short run)")
	}
	dur, err := time.ParseDuration(raw)
	if err != nil || dur < 10*time.Second {
		t.Fatalf("SOAK=%q: give a duration of 10s or more, e.g. SOAK=10m", raw)
	}
	every := min(30*time.Second, dur/6)

	srv := startServer(t)
	c := client.New(srv.admin, "")
	ctx := context.Background()
	zip := testenv.ZipSample(t, "hello")
	must := func(_ any, _ *client.Response, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateFunction(ctx, map[string]any{"FunctionName": "soak", "Code": map[string]any{"ZipFile": zip}}))
	must(c.CreateFunction(ctx, map[string]any{"FunctionName": "config", "Code": map[string]any{"ZipFile": zip}}))
	must(c.PublishVersion(ctx, "soak", "v1"))
	must(c.SetAlias(ctx, "soak", "live", "1", nil))
	res, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis", nil, map[string]any{
		"name": "soak", "protocol": "HTTP",
		"routes": []map[string]any{{"method": "GET", "path": "/hello",
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:soak:live", "payloadFormatVersion": "1.0"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ ID string }
	_ = json.Unmarshal(res.Body, &api)
	if _, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "prod"}, nil); err != nil {
		t.Fatal(err)
	}
	url := srv.gateway + "/" + api.ID + "/prod/hello"

	runCtx, stop := context.WithTimeout(ctx, dur)
	defer stop()
	var calls, failed atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		failed.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	var wg sync.WaitGroup
	// paced runs call every callEvery until the run ends, counting the calls.
	paced := func(call func()) {
		wg.Go(func() {
			pace := time.NewTicker(callEvery)
			defer pace.Stop()
			for runCtx.Err() == nil {
				<-pace.C
				calls.Add(1)
				call()
			}
		})
	}
	hc := &http.Client{Timeout: 35 * time.Second}
	for range callers {
		paced(func() {
			resp, err := hc.Get(url)
			if err != nil {
				fail(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fail(fmt.Errorf("gateway: %d", resp.StatusCode))
			}
		})
	}
	for range 2 {
		paced(func() {
			if _, err := c.Do(runCtx, http.MethodPost, client.FunctionPath("soak:live", "/invocations"), nil, []byte(`{}`), nil); err != nil && runCtx.Err() == nil {
				fail(err)
			}
		})
	}
	wg.Go(func() { // deploys: a new version every 20 s, the alias moved to it
		tick := time.NewTicker(20 * time.Second)
		defer tick.Stop()
		for n := 2; ; n++ {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			if _, _, err := c.UpdateFunctionConfiguration(runCtx, "soak", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"DEPLOY": strconv.Itoa(n)}}}); err != nil {
				continue
			}
			if v, _, err := c.PublishVersion(runCtx, "soak", ""); err == nil {
				_, _, _ = c.SetAlias(runCtx, "soak", "live", v.Version, nil)
			}
		}
	})
	wg.Go(func() { // configuration writes
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			_, _, _ = c.UpdateFunctionConfiguration(runCtx, "config", map[string]any{"Description": "write " + strconv.Itoa(n)})
		}
	})

	var samples []sample
	take := func(at time.Duration) {
		s, err := stats(c)
		if err != nil {
			t.Errorf("stats at %s: %v", at, err)
			return
		}
		s.at = at
		samples = append(samples, s)
		t.Logf("%6s  resident %4d MB  goroutines %5d  descriptors %5d  sandboxes %3d  calls %7d  failed %d",
			at.Round(time.Second), s.resident>>20, s.goroutines, s.descriptors, s.sandboxes, calls.Load(), failed.Load())
	}
	begin := time.Now()
	take(0)
	tick := time.NewTicker(every)
	for runCtx.Err() == nil {
		select {
		case <-runCtx.Done():
		case <-tick.C:
			take(time.Since(begin))
		}
	}
	tick.Stop()
	wg.Wait()
	take(time.Since(begin))

	for _, s := range samples {
		for _, b := range []struct {
			what       string
			got, limit int64
		}{
			{"sandboxes", s.sandboxes, maxSandboxes},
			{"goroutines", s.goroutines, maxGoroutines},
			{"descriptors", s.descriptors, maxDescriptors},
			{"resident bytes", s.resident, maxResident},
		} {
			if b.got > b.limit {
				t.Errorf("at %s: %s %d over the budget of %d", s.at.Round(time.Second), b.what, b.got, b.limit)
			}
		}
	}
	half := samples[len(samples)/2:]
	for _, m := range []struct {
		what string
		get  func(sample) int64
	}{
		{"resident memory", func(s sample) int64 { return s.resident }},
		{"goroutines", func(s sample) int64 { return s.goroutines }},
		{"descriptors", func(s sample) int64 { return s.descriptors }},
		{"sandboxes", func(s sample) int64 { return s.sandboxes }},
	} {
		if keepsGrowing(half, m.get) {
			t.Errorf("%s kept growing over the last half of the run: %v", m.what, series(half, m.get))
		}
	}
	n, f := calls.Load(), failed.Load()
	t.Logf("%d calls, %d failed (%v)", n, f, firstErr.Load())
	if n == 0 || f*100 > n {
		t.Errorf("%d of %d calls failed; first: %v", f, n, firstErr.Load())
	}
}

type sample struct {
	at                                           time.Duration
	resident, goroutines, descriptors, sandboxes int64
}

func stats(c *client.Client) (sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.Do(ctx, http.MethodGet, "/portico/v1/stats", nil, nil, nil)
	if err != nil {
		return sample{}, err
	}
	var st admin.Stats
	if err := json.Unmarshal(res.Body, &st); err != nil {
		return sample{}, err
	}
	return sample{resident: st.Server.ResidentBytes, goroutines: int64(st.Server.Goroutines),
		descriptors: int64(st.Server.OpenDescriptors), sandboxes: int64(st.Sandboxes.Budget.Sandboxes)}, nil
}

// keepsGrowing reports whether a figure rose at every sample of ss, by more than
// a tenth in all (steady figures wobble; a leak climbs).
func keepsGrowing(ss []sample, get func(sample) int64) bool {
	if len(ss) < 3 {
		return false
	}
	for i := 1; i < len(ss); i++ {
		if get(ss[i]) <= get(ss[i-1]) {
			return false
		}
	}
	return get(ss[len(ss)-1])*10 > get(ss[0])*11
}

func series(ss []sample, get func(sample) int64) []int64 {
	out := make([]int64, len(ss))
	for i, s := range ss {
		out[i] = get(s)
	}
	return out
}

type server struct{ admin, gateway string }

// startServer runs `portico serve` on the process runtime with the soak's
// sandbox budget, and stops it (SIGTERM, a clean shutdown) when the test ends.
func startServer(t *testing.T) server {
	t.Helper()
	bin := testenv.Binary(t)
	// Port 0 for both listeners: the server binds free ports and logs them.
	//nolint:gosec // G204: the binary testenv just built
	cmd := exec.Command(bin, "serve", "--runtime", "process", "--data-dir", t.TempDir(),
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--log-level", "info",
		"--max-sandboxes", strconv.Itoa(maxSandboxes))
	out := &testkit.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "PORTICO_ADMIN_TOKEN=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("server output:\n%s", out.String())
		}
	})
	addrs := testenv.WaitStarted(t, out, exited)
	s := server{admin: "http://" + addrs.Admin, gateway: "http://" + addrs.Gateway}
	if _, err := stats(client.New(s.admin, "")); err != nil {
		t.Fatalf("portico serve's admin API does not answer: %v", err)
	}
	return s
}
