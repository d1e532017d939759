package tracing

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-dev/portico/internal/testkit"
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

// TestSilentCollectorStopIsClean is what the store3 tester found: with a
// collector that takes connections and never answers, a stop ended
// "shutdown was not clean err=context deadline exceeded" and exit 1, naming
// no exporter and counting no span. A collector that does not answer in
// time costs the spans, counted and logged with the collector's address, and
// the stop is clean.
func TestSilentCollectorStopIsClean(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	reg := prometheus.NewRegistry()
	var logs testkit.LockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := Config{Endpoint: "http://" + ln.Addr().String()}
	tp, ce, err := newProvider(context.Background(), cfg, reg, log, defaultBatching)
	if err != nil {
		t.Fatal(err)
	}
	tr := tp.Tracer("t")
	for range 50 {
		_, s := tr.Start(context.Background(), "s")
		s.End()
	}
	// The stop's deadline (the server's shutdown timeout) ends before the
	// collector answers.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := stopProvider(ctx, tp, ce, cfg, log); err != nil {
		t.Fatalf("stop with a silent collector = %v, want nil (the spans are what it costs)", err)
	}
	if n := counter(t, reg, "portico_trace_spans_dropped_total"); n != 50 {
		t.Errorf("spans dropped = %v, want 50", n)
	}
	out := logs.String()
	for _, want := range []string{"level=WARN", "collector=" + cfg.Endpoint + "/v1/traces", "spansDropped=50"} {
		if !strings.Contains(out, want) {
			t.Errorf("the stop's log does not say %q:\n%s", want, out)
		}
	}
}

// TestFullQueueDropsAreCounted is what the obs6 tester found: with a slow
// collector, the SDK's batcher dropped the spans that did not fit its queue
// uncounted (portico_trace_spans_dropped_total said 1,321 of some 270,000
// lost), and the stop's "did not finish" line then blamed its flush for every
// span lost since the start. Spans that find the queue full are counted when
// they end, and the stop counts only those still queued.
func TestFullQueueDropsAreCounted(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release // the collector is slow: it holds the export
	}))
	defer collector.Close()
	defer close(release)
	reg := prometheus.NewRegistry()
	var logs testkit.LockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := Config{Endpoint: collector.URL}
	tp, ce, err := newProvider(context.Background(), cfg, reg, log, batching{queue: 4, batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	tr := tp.Tracer("t")
	end := func(n int) {
		for range n {
			_, s := tr.Start(context.Background(), "s")
			s.End()
		}
	}
	end(2) // a full batch: exported, and held by the collector
	<-arrived
	end(10) // 2 more fit the queue of 4; 8 do not
	if n := counter(t, reg, "portico_trace_spans_dropped_total"); n != 8 {
		t.Errorf("spans dropped while the collector holds an export = %v, want 8", n)
	}
	if out := logs.String(); !strings.Contains(out, "trace export queue full") {
		t.Errorf("the full queue is not logged:\n%s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := stopProvider(ctx, tp, ce, cfg, log); err != nil {
		t.Fatal(err)
	}
	if n := counter(t, reg, "portico_trace_spans_dropped_total"); n != 12 {
		t.Errorf("spans dropped after the stop = %v, want 12 (8 to the full queue, 4 still queued)", n)
	}
	if out := logs.String(); !strings.Contains(out, "spansDropped=4 ") {
		t.Errorf("the stop does not count the 4 spans still queued:\n%s", out)
	}
}

// TestCollectorSecretsStayOutOfLogs is what the obs4 tester found: the stop's
// "did not finish" line named the collector with its password and query
// string in clear (collector="http://user:PASS@host/v1/traces?key=Q"), and a
// refused --otlp-endpoint echoed the whole value. Both name it as backend
// URLs are named: password and query values masked.
func TestCollectorSecretsStayOutOfLogs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	var logs testkit.LockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := Config{Endpoint: "http://otlpuser:OTLPPASS@" + ln.Addr().String() + "/v1/traces"}
	tp, ce, err := newProvider(context.Background(), cfg, prometheus.NewRegistry(), log, defaultBatching)
	if err != nil {
		t.Fatal(err)
	}
	_, s := tp.Tracer("t").Start(context.Background(), "s")
	s.End()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := stopProvider(ctx, tp, ce, cfg, log); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	want := "collector=http://otlpuser:xxxxx@" + ln.Addr().String() + "/v1/traces "
	if !strings.Contains(out, want) {
		t.Errorf("the stop's log does not say %s:\n%s", want, out)
	}
	for _, secret := range []string{"OTLPPASS", "OTLPQKEY"} {
		if strings.Contains(out, secret) {
			t.Errorf("the stop's log holds %s:\n%s", secret, out)
		}
	}

	for _, bad := range []string{"ftp://u:BADPASSX@c:4318/v1/traces?k=QQSECRET", "http://u:BADPASSX@/x?k=QQSECRET", "http://u:BADPASSX@c:43 18/?k=QQSECRET",
		"http://u:BADPASSX@c:4318/v1/traces?k=QQSECRET"} {
		err := (Config{Endpoint: bad}).Validate()
		if err == nil {
			t.Fatalf("%q accepted", bad)
		}
		if msg := err.Error(); strings.Contains(msg, "BADPASSX") || strings.Contains(msg, "QQSECRET") {
			t.Errorf("refusing %q says %q", bad, msg)
		}
	}
}

// TestEndpointQueryRefused is what the obs6 tester found: a query string in
// --otlp-endpoint (a vendor's ?key=...) was silently dropped, the OTLP
// exporter sending to the URL's host and path only. Such an endpoint, given
// or in the OTLP variables, is refused at start, saying to use a header.
func TestEndpointQueryRefused(t *testing.T) {
	for _, tc := range []struct{ name, endpoint, env string }{
		{"flag", "http://c:4318/v1/traces?key=k", ""},
		{"bare ?", "http://c:4318/v1/traces?", ""},
		{"variable", "", "http://c:4318?key=k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", tc.env)
			_, _, err := newProvider(context.Background(), Config{Endpoint: tc.endpoint}, nil, nil, defaultBatching)
			if err == nil || !strings.Contains(err.Error(), "query string") || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_TRACES_HEADERS") {
				t.Errorf("endpoint %q / variable %q: err %v, want the query refused, naming the headers variable", tc.endpoint, tc.env, err)
			}
		})
	}
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tp, _, err := newProvider(context.Background(), Config{Endpoint: "http://c:4318/v1/traces"}, nil, nil, defaultBatching)
	if err != nil {
		t.Fatalf("an endpoint without a query: %v", err)
	}
	_ = tp.Shutdown(context.Background())
}

// TestEndpointHeaders: credentials in the endpoint's URL become Basic
// authorization, beside the headers the OTLP variables name (the traces one
// first); an Authorization among those wins; a URL without credentials leaves
// the variables to the SDK.
func TestEndpointHeaders(t *testing.T) {
	basic := "Basic dTpwQHNz" // u:p@ss
	for _, tc := range []struct {
		name, endpoint, traces, all string
		want                        map[string]string
	}{
		{"none", "http://h:4318", "", "k=v", nil},
		{"alone", "http://u:p%40ss@h:4318", "", "", map[string]string{"Authorization": basic}},
		{"with the variable's", "https://u:p%40ss@h/v1/traces", "", "x-key=a%20b, y = c ", map[string]string{"Authorization": basic, "x-key": "a b", "y": "c"}},
		{"traces variable first", "http://u:p%40ss@h", "t=1", "x=2", map[string]string{"Authorization": basic, "t": "1"}},
		{"the variable's wins", "http://u:p%40ss@h", "", "authorization=Bearer%20tok,bad", map[string]string{"authorization": "Bearer tok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", tc.traces)
			t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", tc.all)
			got := endpointHeaders(tc.endpoint)
			if len(got) != len(tc.want) || (tc.want == nil) != (got == nil) {
				t.Fatalf("headers %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// TestSpanLimits: string attribute values are cut to
// AttributeValueLengthLimit characters, unless an OTEL_* variable names
// another limit (a negative one: none), as the SDK reads them.
func TestSpanLimits(t *testing.T) {
	for _, tc := range []struct {
		name, env, val string
		want           int
	}{
		{"default", "", "", AttributeValueLengthLimit},
		{"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "100", 100},
		{"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "200", 200},
		{"unlimited", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "")
			t.Setenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "")
			_ = os.Unsetenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT")
			_ = os.Unsetenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT")
			if tc.env != "" {
				t.Setenv(tc.env, tc.val)
			}
			if got := spanLimits().AttributeValueLengthLimit; got != tc.want {
				t.Errorf("AttributeValueLengthLimit = %d, want %d", got, tc.want)
			}
		})
	}
}
