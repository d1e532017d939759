package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRefusedExportsAreCounted: a collector that refuses exports costs the
// spans, counted, and nothing else.
func TestRefusedExportsAreCounted(t *testing.T) {
	var hits atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			hits.Add(1)
		}
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer collector.Close()
	reg := prometheus.NewRegistry()
	ctx := context.Background()
	tp, err := NewProvider(ctx, Config{Endpoint: collector.URL}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := tp.Tracer("t")
	for range 3 {
		_, s := tr.Start(ctx, "s")
		s.End()
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush: %v (failures are counted, not returned)", err)
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if hits.Load() == 0 {
		t.Fatal("the exporter never reached the collector's /v1/traces")
	}
	if n := counter(t, reg, "portico_trace_spans_dropped_total"); n != 3 {
		t.Errorf("spans dropped = %v, want 3", n)
	}
	if n := counter(t, reg, "portico_trace_export_failures_total"); n < 1 {
		t.Errorf("export failures = %v, want at least 1", n)
	}
}

// counter reads a counter from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestConfigValidate(t *testing.T) {
	for _, bad := range []string{"localhost:4318", "ftp://x", "http://"} {
		if err := (Config{Endpoint: bad}).Validate(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got := endpointURL("http://c:4318"); got != "http://c:4318/v1/traces" {
		t.Errorf("endpointURL = %q", got)
	}
	if got := endpointURL("https://c/otlp/v1/traces"); got != "https://c/otlp/v1/traces" {
		t.Errorf("endpointURL = %q", got)
	}
}
