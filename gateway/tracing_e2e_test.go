package gateway_test

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/tracing"
)

// otlpReceiver is an in-process OTLP/HTTP collector that keeps the spans it
// receives.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// trace returns the spans of one trace (32 hex digits) by name; a name seen
// twice fails the test.
func (o *otlpReceiver) trace(t *testing.T, traceID string) map[string]*tracepb.Span {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	byName := map[string]*tracepb.Span{}
	for _, s := range o.spans {
		if hex.EncodeToString(s.TraceId) != traceID {
			continue
		}
		if byName[s.Name] != nil {
			t.Errorf("trace %s: two spans named %q", traceID, s.Name)
		}
		byName[s.Name] = s
	}
	return byName
}

func spanID(s *tracepb.Span) string   { return hex.EncodeToString(s.SpanId) }
func parentID(s *tracepb.Span) string { return hex.EncodeToString(s.ParentSpanId) }

func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			switch v := kv.Value.Value.(type) {
			case *commonpb.AnyValue_StringValue:
				return v.StringValue
			case *commonpb.AnyValue_IntValue:
				return strconv.FormatInt(v.IntValue, 10)
			case *commonpb.AnyValue_BoolValue:
				return strconv.FormatBool(v.BoolValue)
			}
		}
	}
	return ""
}

// TestTracesReachACollector turns tracing on for a stage and sends a request
// carrying the client's W3C traceparent to a function route and one carrying
// X-Amzn-Trace-Id to an HTTP_PROXY route. An in-process OTLP collector then
// holds each request's spans under the client's trace id, linked request ->
// integration -> function (Queue with Initialization for the cold start,
// Invocation); the function's _X_AMZN_TRACE_ID names the trace and its
// Invocation span, the backend's traceparent the HTTP integration's span, and
// the client gets X-Amzn-Trace-Id back. A stage without tracingEnabled sends
// nothing.
func TestTracesReachACollector(t *testing.T) {
	t.Parallel()
	rcv := &otlpReceiver{}
	collector := httptest.NewServer(rcv)
	defer collector.Close()
	var backendMu sync.Mutex
	var backendSaw http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backendMu.Lock()
		backendSaw = r.Header.Clone()
		backendMu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	defer backend.Close()

	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.OTLPEndpoint = collector.URL }})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "traced", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/fn",
		"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:probe"}}, nil)
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/backend",
		"integration": map[string]any{"type": "HTTP_PROXY", "uri": backend.URL + "/b"}}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "quiet"}, nil)
	admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/tracingEnabled", "value": "true"}}}, nil)

	const fnTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/fn", "", "traceparent", "00-"+fnTrace+"-"+clientSpan+"-01")
	if a.status != 200 {
		t.Fatalf("GET /fn: %d %s", a.status, a.body)
	}
	fnHeader, fnRequestID := a.header.Get("X-Probe-Trace"), a.header.Get("x-amzn-RequestId")
	if back := a.header.Get("X-Amzn-Trace-Id"); !strings.HasPrefix(back, "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;") {
		t.Errorf("X-Amzn-Trace-Id answered %q, want the client's trace", back)
	}

	const beTrace = "5759e988bd862e3fe1be46a994272793"
	a = get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/backend", "", "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	if a.status != 200 {
		t.Fatalf("GET /backend: %d %s", a.status, a.body)
	}
	const quietTrace = "0af7651916cd43dd8448eb211c80319c"
	if a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/quiet/fn", "", "traceparent", "00-"+quietTrace+"-b7ad6b7169203331-01"); a.status != 200 {
		t.Fatalf("GET quiet /fn: %d %s", a.status, a.body)
	}
	env.Stop() // flushes the exporter

	spans := rcv.trace(t, fnTrace)
	req, integ, fn, queue, initSpan, run := spans["GET /fn"], spans["integration AWS_PROXY"], spans["probe"], spans["Queue"], spans["Initialization"], spans["Invocation"]
	if req == nil || integ == nil || fn == nil || queue == nil || initSpan == nil || run == nil {
		names := []string{}
		for n := range spans {
			names = append(names, n)
		}
		t.Fatalf("trace %s has spans %q; want GET /fn, integration AWS_PROXY, probe, Queue, Initialization, Invocation", fnTrace, names)
	}
	for _, link := range []struct {
		child  *tracepb.Span
		parent string
	}{
		{req, clientSpan}, {integ, spanID(req)}, {fn, spanID(integ)}, {queue, spanID(fn)}, {initSpan, spanID(queue)}, {run, spanID(fn)},
	} {
		if got := parentID(link.child); got != link.parent {
			t.Errorf("span %q has parent %s, want %s", link.child.Name, got, link.parent)
		}
	}
	if req.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("request span kind %v, want server", req.Kind)
	}
	for k, want := range map[string]string{"portico.api_id": api.ID, "portico.stage": "dev", "http.route": "/fn",
		"http.response.status_code": "200"} {
		if got := attr(req, k); got != want {
			t.Errorf("request span %s = %q, want %q", k, got, want)
		}
	}
	if attr(req, "portico.request_id") != fnRequestID || attr(fn, "faas.invocation_id") == "" || attr(fn, "faas.coldstart") != "true" {
		t.Errorf("request id %q, invocation id %q, cold start %q", attr(req, "portico.request_id"), attr(fn, "faas.invocation_id"), attr(fn, "faas.coldstart"))
	}
	sc, ok := tracing.ParseXRay(fnHeader)
	if !ok || sc.TraceID().String() != fnTrace || sc.SpanID().String() != spanID(run) || !sc.IsSampled() {
		t.Errorf("the function's _X_AMZN_TRACE_ID is %q; want trace %s, parent %s (Invocation), sampled", fnHeader, fnTrace, spanID(run))
	}

	spans = rcv.trace(t, beTrace)
	beReq, beInteg := spans["GET /backend"], spans["integration HTTP_PROXY"]
	if beReq == nil || beInteg == nil {
		t.Fatalf("trace %s: spans %v", beTrace, spans)
	}
	if parentID(beReq) != "53995c3f42cd8ad8" || parentID(beInteg) != spanID(beReq) {
		t.Errorf("backend trace links: request parent %s, integration parent %s (request %s)", parentID(beReq), parentID(beInteg), spanID(beReq))
	}
	backendMu.Lock()
	tp, xr := backendSaw.Get("traceparent"), backendSaw.Get("X-Amzn-Trace-Id")
	backendMu.Unlock()
	if want := "00-" + beTrace + "-" + spanID(beInteg) + "-01"; tp != want {
		t.Errorf("backend got traceparent %q, want %q", tp, want)
	}
	if want := "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=" + spanID(beInteg) + ";Sampled=1"; xr != want {
		t.Errorf("backend got X-Amzn-Trace-Id %q, want %q", xr, want)
	}
	if quiet := rcv.trace(t, quietTrace); len(quiet) != 0 {
		t.Errorf("a stage without tracingEnabled sent %d spans", len(quiet))
	}
}

// TestInvalidUTF8DoesNotCostTheBatch is what the obs6 tester found: one
// request whose User-Agent carried an obs-text byte ("bad\xff", which the
// listener takes) made the whole export batch fail to marshal ("string field
// contains invalid UTF-8"), so every span around it, other clients' too,
// was lost. The collector (decoding the batch) now gets every request's
// span, that one's User-Agent with U+FFFD for the invalid byte.
func TestInvalidUTF8DoesNotCostTheBatch(t *testing.T) {
	t.Parallel()
	rcv, env, api := tracedProxyAPI(t)

	traces := []string{"11111111111111111111111111111111", "22222222222222222222222222222222", "33333333333333333333333333333333"}
	for i, tid := range traces {
		ua := "good"
		if i == 1 {
			ua = "bad\xff"
		}
		a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/be/"+strconv.Itoa(i), "", "traceparent", "00-"+tid+"-00f067aa0ba902b7-01", "User-Agent", ua)
		if a.status != 200 {
			t.Fatalf("request %d: %d %s", i, a.status, a.body)
		}
	}
	env.Stop() // flushes the exporter: the three requests' spans go in one batch

	for i, tid := range traces {
		span := rcv.trace(t, tid)["GET /be/{p}"]
		if span == nil {
			t.Errorf("request %d's span never reached the collector", i)
			continue
		}
		want := "good"
		if i == 1 {
			want = "bad\uFFFD"
		}
		if got := attr(span, "user_agent.original"); got != want {
			t.Errorf("request %d: user_agent.original %q, want %q", i, got, want)
		}
	}
}

// TestSpanAttributesAreBounded is what the obs9 tester found: a client's
// 60 KB User-Agent went into its request's span verbatim, so that export
// batches of such requests were 16 MB (over a collector's usual limits, which
// costs the other clients' spans in them too) and a full export queue held
// about 200 MB. String attributes are cut to
// tracing.AttributeValueLengthLimit characters.
func TestSpanAttributesAreBounded(t *testing.T) {
	t.Parallel()
	rcv, env, api := tracedProxyAPI(t)

	const tid = "44444444444444444444444444444444"
	ua, p := strings.Repeat("V", 60000), strings.Repeat("p", 6000)
	a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/be/"+p, "", "traceparent", "00-"+tid+"-00f067aa0ba902b7-01", "User-Agent", ua)
	if a.status != 200 {
		t.Fatalf("GET: %d %s", a.status, a.body)
	}
	env.Stop() // flushes the exporter

	span := rcv.trace(t, tid)["GET /be/{p}"]
	if span == nil {
		t.Fatal("the request's span never reached the collector")
	}
	const limit = tracing.AttributeValueLengthLimit
	if got := attr(span, "user_agent.original"); got != ua[:limit] {
		t.Errorf("user_agent.original: %d characters, want the first %d", len(got), limit)
	}
	if got := attr(span, "url.path"); len(got) != limit || !strings.HasPrefix(got, "/be/ppp") {
		t.Errorf("url.path: %d characters (%.20q...), want the first %d", len(got), got, limit)
	}
}

// tracedProxyAPI starts Portico exporting to an in-process collector, with a
// REST API whose traced stage dev has GET /be/{p}, an HTTP_PROXY to a backend
// that answers "ok".
func tracedProxyAPI(t *testing.T) (*otlpReceiver, *apptest.Env, struct{ ID string }) {
	t.Helper()
	rcv := &otlpReceiver{}
	collector := httptest.NewServer(rcv)
	t.Cleanup(collector.Close)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(backend.Close)
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.OTLPEndpoint = collector.URL }})
	c := env.Client()
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "traced", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/be/{p}",
		"integration": map[string]any{"type": "HTTP_PROXY", "uri": backend.URL + "/b"}}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/tracingEnabled", "value": "true"}}}, nil)
	return rcv, env, api
}
