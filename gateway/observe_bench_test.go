package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/portico-dev/portico/gateway/accesslog"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/metrics"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/gateway/tracing"
)

// BenchmarkMockObserve is the gateway's own cost per MOCK request (no network,
// parallel callers) with the observing stages off and on, so that their cost is
// the difference: "off", "metrics", and "metrics+accesslog" (the CLF preset to
// a file through its queue); "tracing-off" (the tracing stage on a stage
// without tracingEnabled) and "tracing" (spans made, exported nowhere).
func BenchmarkMockObserve(b *testing.B) {
	for _, tc := range []struct {
		name   string
		stages func(b *testing.B) []pipeline.Stage
	}{
		{"off", func(*testing.B) []pipeline.Stage { return nil }},
		{"metrics", func(b *testing.B) []pipeline.Stage {
			m, err := metrics.New(prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			return []pipeline.Stage{m}
		}},
		{"metrics+accesslog", func(b *testing.B) []pipeline.Stage {
			m, err := metrics.New(prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			a, err := accesslog.New(accesslog.Options{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = a.Close(context.Background()) })
			return []pipeline.Stage{m, a}
		}},
		{"tracing-off", func(*testing.B) []pipeline.Stage { return []pipeline.Stage{tracing.New(sdktrace.NewTracerProvider())} }},
		{"tracing", func(*testing.B) []pipeline.Stage { return []pipeline.Stage{tracing.New(sdktrace.NewTracerProvider())} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			gw, stagePath := benchDeploy(b, "127.0.0.1:0", mockAPI(), nil)
			if tc.name == "tracing" { // spans made and dropped: no exporter
				on := true
				apiID, _, _ := strings.Cut(strings.TrimPrefix(stagePath, "/"), "/")
				if _, err := gw.apis.UpdateStage(context.Background(), apiID, "bench", apis.StagePatch{TracingEnabled: &on}); err != nil {
					b.Fatal(err)
				}
			}
			if tc.name == "metrics+accesslog" {
				apiID, _, _ := strings.Cut(strings.TrimPrefix(stagePath, "/"), "/")
				set := &apis.AccessLogSettings{Format: accesslog.CLF, DestinationARN: filepath.Join(b.TempDir(), "access.log")}
				if _, err := gw.apis.SetAccessLogSettings(context.Background(), apiID, "bench", set); err != nil {
					b.Fatal(err)
				}
			}
			gw.Use(tc.stages(b)...)
			benchHandler(b, gw, stagePath+"/mock")
		})
	}
}

// benchHandler serves GET path b.N times from parallel callers and fails on any
// answer but 200. Besides wall time it reports the process's CPU time per
// request (cpu-ns/op), which a loaded machine disturbs less.
func benchHandler(b *testing.B, h http.Handler, path string) {
	b.Helper()
	if rec := serveOnce(h, path); rec.Code != 200 {
		b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := serveOnce(h, path); rec.Code != 200 {
				b.Errorf("GET %s: %d", path, rec.Code)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func serveOnce(h http.Handler, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
