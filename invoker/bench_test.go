package invoker

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/latency"
)

const benchPayload = `{"echo":{"hello":"world"}}`

// BenchmarkWarmInvoke measures a warm invocation through the invoker in-process:
// hand-off to an idle sandbox, the Runtime API round trip, END/REPORT.
func BenchmarkWarmInvoke(b *testing.B) {
	e := newEnvB(b)
	cfg := e.fns.add(&functions.Config{FunctionName: "bench", Environment: benchEnv()})
	ctx := context.Background()
	if _, err := e.inv.Invoke(ctx, Request{Function: cfg, Payload: []byte(benchPayload)}); err != nil {
		b.Fatal(err)
	}
	benchInvokes(b, e, cfg)
}

// BenchmarkBareHandlerHTTP is the baseline: the same handler work (decode the
// event, encode the result) served directly over HTTP on loopback, no sandbox.
func BenchmarkBareHandlerHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &ev)
		out, _ := json.Marshal(map[string]any{"echo": ev["echo"], "version": "$LATEST"})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}))
	defer srv.Close()
	c := srv.Client()
	var rec latency.Recorder
	b.ResetTimer()
	for range b.N {
		rec.Time(func() {
			resp, err := c.Post(srv.URL, "application/json", bytes.NewReader([]byte(benchPayload)))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		})
	}
	rec.Report(b, "")
}

// BenchmarkColdStart measures an invocation that has to start a sandbox (a new
// $LATEST revision each time, so no warm sandbox exists): process start, Go
// runtime init, the first next, the call.
func BenchmarkColdStart(b *testing.B) {
	e := newEnvB(b)
	ctx := context.Background()
	var rec latency.Recorder
	b.ResetTimer()
	for range b.N {
		cfg := e.fns.add(&functions.Config{FunctionName: "cold", RevisionID: newID()})
		rec.Time(func() {
			res, err := e.inv.Invoke(ctx, Request{Function: cfg, Payload: []byte(benchPayload)})
			if err != nil || res.FunctionError != "" || !res.ColdStart {
				b.Fatalf("%v %+v", err, res)
			}
		})
		b.StopTimer()
		retireFunction(e.inv, "cold") // stop the sandbox so processes do not pile up
		b.StartTimer()
	}
	rec.Report(b, "")
}

func newEnvB(b *testing.B) *env {
	b.Helper()
	return newEnv(b, nil)
}

func retireFunction(i *Invoker, name string) {
	i.mu.Lock()
	var ps []*pool
	for _, p := range i.pools {
		if p.cfg.FunctionName == name {
			ps = append(ps, p)
		}
	}
	for _, p := range ps {
		i.retireLocked(p)
	}
	i.mu.Unlock()
	for _, p := range ps {
		p.retire()
		i.forgetIfDone(p)
	}
}

// BenchmarkWarmInvokeTwoSandboxes is BenchmarkWarmInvoke with two provisioned
// sandboxes, so each sequential call finds one already back in next: the invoke
// path without the runtime's turnaround (its 202 and its next call).
func BenchmarkWarmInvokeTwoSandboxes(b *testing.B) {
	e := newEnvB(b)
	cfg := e.fns.add(&functions.Config{FunctionName: "bench2", Version: "1"})
	e.fns.mu.Lock()
	e.fns.prov = []functions.ProvisionedConfig{{FunctionName: "bench2", Qualifier: "1", Requested: 2}}
	e.fns.mu.Unlock()
	e.tick(b) // the maintenance pass provisions the two sandboxes
	waitIdle(b, e.inv.pool(cfg), 2)
	benchInvokes(b, e, cfg)
}

// benchInvokes times b.N warm calls of cfg with benchPayload.
func benchInvokes(b *testing.B, e *env, cfg *functions.Config) {
	b.Helper()
	ctx := context.Background()
	var rec latency.Recorder
	b.ResetTimer()
	for range b.N {
		rec.Time(func() {
			res, err := e.inv.Invoke(ctx, Request{Function: cfg, Payload: []byte(benchPayload)})
			if err != nil || res.FunctionError != "" {
				b.Fatalf("%v %v", err, res)
			}
		})
	}
	rec.Report(b, "")
}

func benchEnv() map[string]string {
	if v := os.Getenv("BENCH_SANDBOX_GOMAXPROCS"); v != "" {
		return map[string]string{"GOMAXPROCS": v}
	}
	return nil
}

// BenchmarkInvokeAsyncParallel measures accepting Event invocations from 50
// concurrent callers: the durable write of each to the queue before its 202
// (the queue's runner stopped, so that only the acceptance is measured).
func BenchmarkInvokeAsyncParallel(b *testing.B) {
	e := newEnvB(b)
	cfg := e.fns.add(&functions.Config{FunctionName: "bench"})
	e.inv.async.stop()
	ctx := context.Background()
	b.SetParallelism(25) // 50 callers on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.inv.InvokeAsync(ctx, Request{Function: cfg, Payload: []byte(benchPayload)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
