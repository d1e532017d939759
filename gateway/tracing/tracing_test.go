package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	itracing "github.com/portico-dev/portico/internal/tracing"
)

func deployed(tracing bool) *pipeline.Deployed {
	dep := &apis.Deployment{ID: "dep1", API: apis.API{Name: "pets", Protocol: apis.ProtocolREST}}
	return &pipeline.Deployed{Stage: &apis.Stage{APIID: "abcdefghij", Name: "dev", TracingEnabled: tracing}, Deployment: dep, API: &dep.API}
}

func TestOffCompilesToNothing(t *testing.T) {
	s := New(sdktrace.NewTracerProvider())
	mw, err := s.Compile(deployed(false))
	if err != nil || mw != nil {
		t.Fatalf("Compile without tracingEnabled = %v, %v; want nil", mw != nil, err)
	}
}

// TestRequestSpan: the request's span continues the client's X-Ray trace, is
// named after the route, carries the request's attributes and status, and is
// the parent of the spans the pipeline makes; the request's headers and the
// answer carry its trace.
func TestRequestSpan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		err    bool
	}{{"ok", 200, false}, {"5xx", 502, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			s := New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
			mw, err := s.Compile(deployed(true))
			if err != nil || mw == nil {
				t.Fatalf("Compile: %v", err)
			}
			var seen http.Header
			h := mw(pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
				c.ResourcePath, c.RouteKey = "/pets/{id}", "GET /pets/{id}"
				_, child := itracing.Start(r.Context(), "integration MOCK", trace.SpanKindClient)
				child.End()
				seen = r.Header.Clone()
				if tc.status >= 500 {
					c.Status = int32(tc.status)
				}
				w.WriteHeader(tc.status)
				return nil
			}))
			r := httptest.NewRequest("GET", "/abcdefghij/dev/pets/1", nil)
			r.Header.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
			w := httptest.NewRecorder()
			c := &pipeline.Context{RequestID: "req-1", HTTPMethod: "GET", Path: "/pets/1", RequestTime: time.Unix(1700000000, 0)}
			if err := h.ServeRequest(w, r, c); err != nil {
				t.Fatal(err)
			}
			ended := rec.Ended()
			if len(ended) != 2 {
				t.Fatalf("%d spans, want 2", len(ended))
			}
			child, req := ended[0], ended[1]
			if req.Name() != "GET /pets/{id}" || req.SpanKind() != trace.SpanKindServer {
				t.Errorf("request span %q kind %v", req.Name(), req.SpanKind())
			}
			if req.Parent().SpanID().String() != "53995c3f42cd8ad8" || req.SpanContext().TraceID().String() != "5759e988bd862e3fe1be46a994272793" {
				t.Errorf("request span parent %s trace %s: not the client's", req.Parent().SpanID(), req.SpanContext().TraceID())
			}
			if !req.StartTime().Equal(c.RequestTime) {
				t.Errorf("request span starts %v, want the request's time %v", req.StartTime(), c.RequestTime)
			}
			if child.Parent().SpanID() != req.SpanContext().SpanID() {
				t.Errorf("child's parent %s, want the request span %s", child.Parent().SpanID(), req.SpanContext().SpanID())
			}
			attrs := map[attribute.Key]attribute.Value{}
			for _, kv := range req.Attributes() {
				attrs[kv.Key] = kv.Value
			}
			for k, want := range map[attribute.Key]string{"portico.api_id": "abcdefghij", "portico.stage": "dev", "portico.deployment_id": "dep1",
				"portico.api_name": "pets", "http.route": "/pets/{id}", "portico.request_id": "req-1", "url.path": "/pets/1"} {
				if got := attrs[k].AsString(); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := attrs["http.response.status_code"].AsInt64(); got != int64(tc.status) {
				t.Errorf("status attribute %d, want %d", got, tc.status)
			}
			if (req.Status().Code == codes.Error) != tc.err {
				t.Errorf("span status %v", req.Status())
			}
			want := itracing.XRayHeader(req.SpanContext())
			if got := w.Header().Get("X-Amzn-Trace-Id"); got != want {
				t.Errorf("answered X-Amzn-Trace-Id %q, want %q", got, want)
			}
			if got := seen.Get("X-Amzn-Trace-Id"); got != want {
				t.Errorf("the pipeline saw X-Amzn-Trace-Id %q, want %q", got, want)
			}
			// The client sent no traceparent: the request's headers stay the
			// client's but for X-Amzn-Trace-Id (functions' events carry them;
			// the integration gives HTTP backends a traceparent of its own).
			if got := seen.Values("traceparent"); got != nil {
				t.Errorf("the pipeline saw traceparent %q, which the client never sent", got)
			}
		})
	}
}

// TestUnsampledClientTrace: a client trace that is not sampled records nothing
// but still passes its trace on.
func TestUnsampledClientTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	s := New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	mw, _ := s.Compile(deployed(true))
	var seen, seenXRay string
	h := mw(pipeline.HandlerFunc(func(_ http.ResponseWriter, r *http.Request, _ *pipeline.Context) error {
		seen, seenXRay = r.Header.Get("traceparent"), r.Header.Get("X-Amzn-Trace-Id")
		if !itracing.Traced(r.Context()) {
			t.Error("the pipeline's context carries no trace")
		}
		return nil
	}))
	r := httptest.NewRequest("GET", "/", nil).WithContext(context.Background())
	r.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
	if err := h.ServeRequest(httptest.NewRecorder(), r, &pipeline.Context{HTTPMethod: "GET"}); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("%d spans recorded", n)
	}
	if len(seen) != 55 || seen[3:35] != "4bf92f3577b34da6a3ce929d0e0e4736" || seen[53:] != "00" {
		t.Errorf("traceparent passed on: %q", seen)
	}
	if !strings.HasPrefix(seenXRay, "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;") || !strings.HasSuffix(seenXRay, ";Sampled=0") {
		t.Errorf("X-Amzn-Trace-Id passed on: %q, want the client's trace, not sampled", seenXRay)
	}
}

// TestSpanNameBounded: a request span's name holds the HTTP method only when
// it is one of the known ones; another (a client chooses it: FOOBAR, on an
// unmatched request or an ANY route) names it "HTTP", and its
// http.request.method is "_OTHER" with the method in
// http.request.method_original, as OpenTelemetry's semantic conventions ask,
// so that span names stay few. Unmatched requests' spans were named by
// whatever method the client sent.
func TestSpanNameBounded(t *testing.T) {
	for _, tc := range []struct {
		method, resource, wantName, wantAttr string
	}{
		{"GET", "", "GET", "GET"},
		{"FOOBAR", "", "HTTP", "_OTHER"},
		{"get", "", "HTTP", "_OTHER"},
		{"PURGE", "/{proxy+}", "HTTP /{proxy+}", "_OTHER"},
		{"PATCH", "/pets/{id}", "PATCH /pets/{id}", "PATCH"},
	} {
		rec := tracetest.NewSpanRecorder()
		s := New(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
		mw, err := s.Compile(deployed(true))
		if err != nil || mw == nil {
			t.Fatalf("Compile: %v", err)
		}
		h := mw(pipeline.HandlerFunc(func(w http.ResponseWriter, _ *http.Request, c *pipeline.Context) error {
			c.ResourcePath = tc.resource
			w.WriteHeader(http.StatusForbidden)
			return nil
		}))
		c := &pipeline.Context{RequestID: "req-1", HTTPMethod: tc.method, Path: "/x", RequestTime: time.Unix(1700000000, 0)}
		if err := h.ServeRequest(httptest.NewRecorder(), httptest.NewRequest("GET", "/abcdefghij/dev/x", nil), c); err != nil {
			t.Fatal(err)
		}
		ended := rec.Ended()
		if len(ended) != 1 {
			t.Fatalf("%d spans, want 1", len(ended))
		}
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range ended[0].Attributes() {
			attrs[kv.Key] = kv.Value
		}
		if got := ended[0].Name(); got != tc.wantName {
			t.Errorf("%s %q: span named %q, want %q", tc.method, tc.resource, got, tc.wantName)
		}
		if got := attrs["http.request.method"].AsString(); got != tc.wantAttr {
			t.Errorf("%s: http.request.method %q, want %q", tc.method, got, tc.wantAttr)
		}
		original, has := attrs["http.request.method_original"]
		if tc.wantAttr == "_OTHER" && original.AsString() != tc.method || tc.wantAttr != "_OTHER" && has {
			t.Errorf("%s: http.request.method_original %q (set %v)", tc.method, original.AsString(), has)
		}
	}
}
