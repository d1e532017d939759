package tracing

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestParseXRay(t *testing.T) {
	for _, tc := range []struct {
		name, in      string
		ok            bool
		trace, parent string
		sampled       bool
	}{
		{"sampled", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", true, "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", true},
		{"not sampled, other order, lineage", "Parent=53995c3f42cd8ad8;Lineage=a87bd80c:1|68fd508a:5; Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0", true, "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", false},
		{"undecided", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?", true, "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8", false},
		{"root only", "Root=1-5759e988-bd862e3fe1be46a994272793", false, "", "", false},
		{"bad version", "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", false, "", "", false},
		{"short root", "Root=1-5759e988-bd862e3f;Parent=53995c3f42cd8ad8", false, "", "", false},
		{"bad parent", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz", false, "", "", false},
		{"zero ids", "Root=1-00000000-000000000000000000000000;Parent=0000000000000000", false, "", "", false},
		{"empty", "", false, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, ok := ParseXRay(tc.in)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if sc.TraceID().String() != tc.trace || sc.SpanID().String() != tc.parent || sc.IsSampled() != tc.sampled || !sc.IsRemote() {
				t.Errorf("got %s %s sampled=%v remote=%v", sc.TraceID(), sc.SpanID(), sc.IsSampled(), sc.IsRemote())
			}
		})
	}
}

func TestXRayRoundTrip(t *testing.T) {
	in := "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	sc, ok := ParseXRay(in)
	if !ok {
		t.Fatal("does not parse")
	}
	if got := XRayHeader(sc); got != in {
		t.Errorf("XRayHeader = %q, want %q", got, in)
	}
}

// TestPropagatorPrefersTraceparent: with both headers, W3C's wins; Inject
// writes both for the same span.
func TestPropagatorPrefersTraceparent(t *testing.T) {
	h := http.Header{}
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	ctx := Propagator.Extract(context.Background(), propagationCarrier(h))
	sc := trace.SpanContextFromContext(ctx)
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("extracted %s, want traceparent's trace", sc.TraceID())
	}
	out := http.Header{}
	Inject(ctx, out)
	if out.Get("traceparent") != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" ||
		out.Get("X-Amzn-Trace-Id") != "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1" {
		t.Errorf("injected %v", out)
	}
}

// TestStartUntracedCostsNothing: without a span in the context Start, Traced
// and Inject allocate nothing and make no span.
func TestStartUntracedCostsNothing(t *testing.T) {
	ctx := context.Background()
	h := http.Header{}
	if n := testing.AllocsPerRun(100, func() {
		c, span := Start(ctx, "x", trace.SpanKindInternal)
		if c != ctx || span.IsRecording() || Traced(c) {
			t.Fatal("made a span")
		}
		span.End()
		Inject(ctx, h)
	}); n != 0 {
		t.Fatalf("untraced Start and Inject allocate %v times", n)
	}
	if len(h) != 0 {
		t.Errorf("Inject wrote %v", h)
	}
}

// TestStartChildOfContextSpan: Start makes a child from the parent's own
// provider.
func TestStartChildOfContextSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, parent := tp.Tracer("t").Start(context.Background(), "parent")
	_, child := Start(ctx, "child", trace.SpanKindClient)
	child.End()
	parent.End()
	ended := rec.Ended()
	if len(ended) != 2 || ended[0].Name() != "child" || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() ||
		ended[0].SpanKind() != trace.SpanKindClient {
		t.Fatalf("spans %v", ended)
	}
}

// TestExtractReadsTheLastXRayLine is what the obs9 tester found: of two
// X-Amzn-Trace-Id lines a traced stage continued the first, an untraced one
// (and the proxy event's headers) the last. Extract reads the last too.
func TestExtractReadsTheLastXRayLine(t *testing.T) {
	h := http.Header{}
	h.Add("X-Amzn-Trace-Id", "Root=1-11111111-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	h.Add("X-Amzn-Trace-Id", "Root=1-22222222-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad9;Sampled=1")
	sc := trace.SpanContextFromContext(Propagator.Extract(context.Background(), propagationCarrier(h)))
	if sc.TraceID().String() != "22222222bd862e3fe1be46a994272793" || sc.SpanID().String() != "53995c3f42cd8ad9" {
		t.Errorf("extracted %s %s, want the last line's", sc.TraceID(), sc.SpanID())
	}
}

func propagationCarrier(h http.Header) propagation.HeaderCarrier { return propagation.HeaderCarrier(h) }

func TestContinueXRay(t *testing.T) {
	const root = "Root=1-5759e988-bd862e3fe1be46a994272793"
	for _, tc := range []struct {
		in, want string // want "" for none; "*" for a new Parent
		ok       bool
	}{
		{root + ";Parent=53995c3f42cd8ad8;Sampled=1", root + ";Parent=53995c3f42cd8ad8;Sampled=1", true},
		{" Sampled=0; " + root + ";Parent=53995c3f42cd8ad8;Lineage=a:1", root + ";Parent=53995c3f42cd8ad8;Sampled=0", true},
		{root + ";Parent=53995c3f42cd8ad8;Sampled=?", root + ";Parent=53995c3f42cd8ad8;Sampled=0", true},
		{root, "*", true},
		{root + ";Parent=xyz", "", false},
		{"Root=1-nothex-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", "", false},
		{"Parent=53995c3f42cd8ad8", "", false},
		{"", "", false},
		{"Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8;Sampled=0", "", false},
		{root + ";Parent=0000000000000000;Sampled=0", "", false},
		{"Root=1-5759E988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0", "", false},
		{"Root=1-00000000-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "Root=1-00000000-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", true},
	} {
		got, ok := ContinueXRay(tc.in)
		switch {
		case ok != tc.ok:
			t.Errorf("ContinueXRay(%q) = %q, %v; want ok %v", tc.in, got, ok, tc.ok)
		case tc.want == "*":
			if !strings.HasPrefix(got, root+";Parent=") || !strings.HasSuffix(got, ";Sampled=0") || len(got) != len(root+";Parent=0000000000000000;Sampled=0") {
				t.Errorf("ContinueXRay(%q) = %q, want %s with a new Parent", tc.in, got, root)
			}
		case got != tc.want:
			t.Errorf("ContinueXRay(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestContinueCanonicalXRayAllocatesNothing: the header a traced stage sets
// (XRayHeader's form) is continued as it is, on the request path.
func TestContinueCanonicalXRayAllocatesNothing(t *testing.T) {
	v := "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	if n := testing.AllocsPerRun(100, func() { _, _ = ContinueXRay(v) }); n != 0 {
		t.Errorf("ContinueXRay of a canonical header: %v allocations, want 0", n)
	}
}

// TestNewTraceIDsCarryTheEpoch: a trace the gateway starts (no incoming
// header) has an X-Ray-valid id: its first 8 hex digits are the epoch
// seconds of its start, read from the generator's clock; the rest and the
// span id are random. They were random throughout, which X-Ray refuses.
func TestNewTraceIDsCarryTheEpoch(t *testing.T) {
	g := IDGenerator{Now: func() time.Time { return time.Unix(0x5f84c7a9, 0) }}
	tid, sid := g.NewIDs(context.Background())
	if got := tid.String()[:8]; got != "5f84c7a9" {
		t.Errorf("trace id %s: epoch field %s, want 5f84c7a9", tid, got)
	}
	tid2, sid2 := g.NewIDs(context.Background())
	if tid2 == tid || sid2 == sid || !sid.IsValid() {
		t.Errorf("ids repeat: %s/%s and %s/%s", tid, sid, tid2, sid2)
	}
	h := XRayHeader(trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	if !strings.HasPrefix(h, "Root=1-5f84c7a9-") {
		t.Errorf("X-Amzn-Trace-Id %q", h)
	}
}

// TestDuplicatedTraceparentIsNone is r-obs28's finding 5: of two traceparent
// lines the first was continued (while the event's headers name the last,
// and the same two comma-joined started a new trace). Several lines read as
// none, as W3C Trace Context's test suite asks; an X-Amzn-Trace-Id beside
// them is read.
func TestDuplicatedTraceparentIsNone(t *testing.T) {
	h := http.Header{}
	h.Add("traceparent", "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-00f067aa0ba902b7-01")
	h.Add("traceparent", "00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-00f067aa0ba902b7-01")
	if sc := trace.SpanContextFromContext(Propagator.Extract(context.Background(), propagationCarrier(h))); sc.IsValid() {
		t.Errorf("two traceparent lines continued %s", sc.TraceID())
	}
	h.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	if sc := trace.SpanContextFromContext(Propagator.Extract(context.Background(), propagationCarrier(h))); sc.TraceID().String() != "5759e988bd862e3fe1be46a994272793" {
		t.Errorf("with X-Amzn-Trace-Id: extracted %s", sc.TraceID())
	}
	h.Del("X-Amzn-Trace-Id")
	h.Del("traceparent")
	h.Add("traceparent", "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-00f067aa0ba902b7-01")
	if sc := trace.SpanContextFromContext(Propagator.Extract(context.Background(), propagationCarrier(h))); sc.TraceID().String() != "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("one line: extracted %s", sc.TraceID())
	}
}
