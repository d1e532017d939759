// Package tracing is Portico's OpenTelemetry plumbing: the tracer provider and
// its OTLP/HTTP exporter, the propagators that read and write W3C traceparent
// and AWS X-Ray's X-Amzn-Trace-Id, and Start, which makes a child span only
// where a request is already traced.
//
// Traces are off by default: a stage turns them on with its tracingEnabled
// setting (the gateway/tracing stage then starts the request's span), and only
// then do the gateway's integrations, the authorizers and the invoker add spans
// under it. Code on the request path calls Start unconditionally: without a span
// in the context it returns at once, with no allocation.
package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of Portico's spans.
const Scope = "github.com/portico-dev/portico"

// Header names.
const (
	// HeaderXRay is AWS X-Ray's trace header, which API Gateway and Lambda pass on.
	HeaderXRay = "X-Amzn-Trace-Id"
	// HeaderTraceparent is W3C Trace Context's header.
	HeaderTraceparent = "Traceparent"
)

// Propagator reads a request's trace from X-Amzn-Trace-Id or W3C traceparent
// (traceparent wins when both are present) and writes both.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(XRay{}, TraceContext{})

// TraceContext is W3C Trace Context's propagator (propagation.TraceContext)
// that reads a carrier with several traceparent lines (a
// propagation.ValuesGetter, such as propagation.HeaderCarrier) as one with
// none, as W3C Trace Context asks of a duplicated traceparent (its test
// suite's test_traceparent_duplicated) and as the same values comma-joined on
// one line read: the request starts a trace of its own rather than
// continuing one of them, which the function's event might not name.
type TraceContext struct{ propagation.TraceContext }

var _ propagation.TextMapPropagator = TraceContext{}

// Extract implements propagation.TextMapPropagator.
func (tc TraceContext) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if vg, ok := carrier.(propagation.ValuesGetter); ok && len(vg.Values("traceparent")) > 1 {
		return ctx
	}
	return tc.TraceContext.Extract(ctx, carrier)
}

// Traced reports whether ctx carries a span context (a traced request).
func Traced(ctx context.Context) bool {
	return trace.SpanContextFromContext(ctx).IsValid()
}

// Start starts a span named name, of kind kind, as a child of the span in ctx,
// from that span's own tracer provider. When ctx carries no span it returns ctx
// and a no-op span, at no cost: callers need not check first. Set attributes
// after checking span.IsRecording(), so that an untraced request builds none.
func Start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, trace.WithSpanKind(kind))
}

// Inject writes the trace of ctx into h (traceparent and X-Amzn-Trace-Id),
// replacing what h had; it does nothing when ctx carries no span.
func Inject(ctx context.Context, h http.Header) {
	if !Traced(ctx) {
		return
	}
	Propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// InjectXRay writes the trace of ctx into h's X-Amzn-Trace-Id only, replacing
// what h had there (and leaving a traceparent as it is): what API Gateway
// passes to a Lambda function, whose event carries the client's headers as
// sent plus X-Amzn-Trace-Id. It does nothing when ctx carries no span.
func InjectXRay(ctx context.Context, h http.Header) {
	if !Traced(ctx) {
		return
	}
	XRay{}.Inject(ctx, propagation.HeaderCarrier(h))
}

// XRay is the propagator of AWS X-Ray's header,
// "Root=1-{8 hex epoch}-{24 hex};Parent={16 hex};Sampled={0|1}". An OpenTelemetry
// trace id is the Root's 32 hex digits without the version and dashes, as
// X-Ray's own OpenTelemetry support maps them.
type XRay struct{}

var _ propagation.TextMapPropagator = XRay{}

// Inject implements propagation.TextMapPropagator.
func (XRay) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	carrier.Set(HeaderXRay, XRayHeader(sc))
}

// Extract implements propagation.TextMapPropagator: a header that does not
// parse is ignored. A header with a Root but no Parent (a client that starts
// the trace and sends no segment of its own) continues the Root: the next
// span started without a parent takes its trace id (IDGenerator). Of several
// header lines (a carrier that is a propagation.ValuesGetter, such as
// propagation.HeaderCarrier) the last is read: the one a proxy event's
// headers name, which an untraced stage's function continues too.
func (XRay) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	v := carrier.Get(HeaderXRay)
	if vg, ok := carrier.(propagation.ValuesGetter); ok {
		if vs := vg.Values(HeaderXRay); len(vs) > 1 {
			v = vs[len(vs)-1]
		}
	}
	if sc, ok := ParseXRay(v); ok {
		return trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	if tid, ok := parseXRayRoot(v); ok {
		return context.WithValue(ctx, rootKey{}, xrayRoot{id: tid, notSampled: xraySampled(v) == "0"})
	}
	return ctx
}

// rootKey is the context key of the xrayRoot to continue (an X-Amzn-Trace-Id
// Root without a Parent).
type rootKey struct{}

// xrayRoot is an X-Amzn-Trace-Id Root without a Parent: the trace id the next
// span started without a parent takes, and whether the caller said
// Sampled=0 (its decision, which Sampler keeps; "?" or no Sampled leave the
// decision to the gateway).
type xrayRoot struct {
	id         trace.TraceID
	notSampled bool
}

// xraySampled returns the value of v's Sampled key ("" when it has none).
func xraySampled(v string) string {
	for part := range strings.SplitSeq(v, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "Sampled" {
			return val
		}
	}
	return ""
}

// parseXRayRoot returns the trace id of a header's Root.
func parseXRayRoot(v string) (trace.TraceID, bool) {
	for part := range strings.SplitSeq(v, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k != "Root" {
			continue
		}
		if len(val) != 35 || val[0] != '1' || val[1] != '-' || val[10] != '-' {
			return trace.TraceID{}, false
		}
		tid, err := trace.TraceIDFromHex(val[2:10] + val[11:])
		return tid, err == nil && tid.IsValid()
	}
	return trace.TraceID{}, false
}

// IDGenerator makes trace ids that X-Ray takes (the first 4 bytes the epoch
// seconds of the trace's start, the other 12 random) and random span ids,
// except that a span started without a parent in a context holding an
// X-Amzn-Trace-Id Root without a Parent (XRay.Extract) takes that Root as its
// trace id. Safe for concurrent use.
type IDGenerator struct {
	// Now is the clock of the epoch field (time.Now when nil).
	Now func() time.Time
}

// NewIDs implements the OpenTelemetry SDK's IDGenerator.
func (g IDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	root, _ := ctx.Value(rootKey{}).(xrayRoot)
	tid := root.id
	if !tid.IsValid() {
		now := time.Now
		if g.Now != nil {
			now = g.Now
		}
		binary.BigEndian.PutUint32(tid[:4], uint32(now().Unix())) //nolint:gosec // X-Ray's epoch field is 32 bits
		binary.BigEndian.PutUint32(tid[4:8], rand.Uint32())       //nolint:gosec // ids need uniqueness, not secrecy (as the SDK's own generator)
		binary.BigEndian.PutUint64(tid[8:], rand.Uint64())        //nolint:gosec // as above
	}
	return tid, g.NewSpanID(ctx, tid)
}

// NewSpanID implements the OpenTelemetry SDK's IDGenerator.
func (IDGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.BigEndian.PutUint64(sid[:], rand.Uint64()) //nolint:gosec // as in NewIDs
	}
	return sid
}

// Fields implements propagation.TextMapPropagator.
func (XRay) Fields() []string { return []string{HeaderXRay} }

// XRayHeader formats sc as an X-Amzn-Trace-Id value.
func XRayHeader(sc trace.SpanContext) string {
	tid, sid := sc.TraceID().String(), sc.SpanID().String()
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	var b strings.Builder
	b.Grow(len("Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"))
	b.WriteString("Root=1-")
	b.WriteString(tid[:8])
	b.WriteByte('-')
	b.WriteString(tid[8:])
	b.WriteString(";Parent=")
	b.WriteString(sid)
	b.WriteString(";Sampled=")
	b.WriteString(sampled)
	return b.String()
}

// ContinueXRay returns the X-Amzn-Trace-Id with which a callee continues the
// trace that v, a caller's X-Amzn-Trace-Id, names, as Lambda's PassThrough
// tracing does: v's Root, Parent and Sampled in their canonical form; for a
// Root without a Parent, a new Parent and Sampled=0. It reports false for a
// v without a Root of the right shape (or with a malformed Parent), which
// names no trace to continue.
func ContinueXRay(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	if canonicalXRay(v) {
		return v, true // as XRayHeader writes it: nothing to allocate
	}
	if sc, ok := ParseXRay(v); ok {
		return XRayHeader(sc), true
	}
	tid, ok := parseXRayRoot(v)
	if !ok {
		return "", false
	}
	for part := range strings.SplitSeq(v, ";") {
		if k, _, _ := strings.Cut(strings.TrimSpace(part), "="); k == "Parent" {
			return "", false // a Parent, but not a span id
		}
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: IDGenerator{}.NewSpanID(context.Background(), tid)})
	return XRayHeader(sc), true
}

// canonicalXRay reports whether v is an X-Amzn-Trace-Id exactly as
// XRayHeader writes it, with a valid (non-zero) Root and Parent.
func canonicalXRay(v string) bool {
	const canon = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"
	if len(v) != len(canon) || v[:7] != canon[:7] || v[15] != '-' || v[40:48] != canon[40:48] ||
		v[64:73] != canon[64:73] || (v[73] != '0' && v[73] != '1') {
		return false
	}
	// hex reports whether s is lower-case hex, and whether it is not all zeros.
	hex := func(s string) (ok, nonZero bool) {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false, false
			}
			nonZero = nonZero || c != '0'
		}
		return true, nonZero
	}
	ok1, nz1 := hex(v[7:15])
	ok2, nz2 := hex(v[16:40])
	ok3, nz3 := hex(v[48:64])
	return ok1 && ok2 && ok3 && (nz1 || nz2) && nz3
}

// ParseXRay parses an X-Amzn-Trace-Id value. It needs a Root and a Parent (a
// header with only a Root has no span to continue; XRay.Extract keeps its
// Root for the next span); other keys (Lineage, Self)
// are ignored. Sampled=0 and an absent or "?" Sampled are not sampled.
func ParseXRay(v string) (trace.SpanContext, bool) {
	if v == "" {
		return trace.SpanContext{}, false
	}
	var cfg trace.SpanContextConfig
	var haveRoot, haveParent bool
	for part := range strings.SplitSeq(v, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "Root":
			// 1-{8 hex}-{24 hex}
			if len(val) != 35 || val[0] != '1' || val[1] != '-' || val[10] != '-' {
				return trace.SpanContext{}, false
			}
			tid, err := trace.TraceIDFromHex(val[2:10] + val[11:])
			if err != nil {
				return trace.SpanContext{}, false
			}
			cfg.TraceID, haveRoot = tid, true
		case "Parent":
			sid, err := trace.SpanIDFromHex(val)
			if err != nil {
				return trace.SpanContext{}, false
			}
			cfg.SpanID, haveParent = sid, true
		case "Sampled":
			if val == "1" {
				cfg.TraceFlags = trace.FlagsSampled
			}
		}
	}
	if !haveRoot || !haveParent {
		return trace.SpanContext{}, false
	}
	cfg.Remote = true
	sc := trace.NewSpanContext(cfg)
	return sc, sc.IsValid()
}

// Sampler is the sampler of Portico's spans: a span with a parent keeps the
// parent's decision (a client's traceparent flags or X-Amzn-Trace-Id
// Sampled); a span without one is sampled, unless its context holds an
// X-Amzn-Trace-Id Root without a Parent that said Sampled=0 (XRay.Extract):
// the caller's decision not to record is kept there too, and the trace's ids
// still pass on, with Sampled=0.
func Sampler() sdktrace.Sampler { return sdktrace.ParentBased(rootSampler{}) }

// rootSampler decides for spans without a parent (Sampler).
type rootSampler struct{}

// ShouldSample implements sdktrace.Sampler.
func (rootSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	ts := trace.SpanContextFromContext(p.ParentContext).TraceState()
	if root, ok := p.ParentContext.Value(rootKey{}).(xrayRoot); ok && root.notSampled && root.id == p.TraceID {
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: ts}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: ts}
}

// Description implements sdktrace.Sampler.
func (rootSampler) Description() string {
	return "PorticoRoot{X-Amzn-Trace-Id Sampled=0 kept, else AlwaysOn}"
}
