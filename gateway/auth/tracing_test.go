package auth

import (
	"context"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/invoker"
)

// ctxInvoker records the contexts it is called with.
type ctxInvoker struct {
	countingInvoker
	ctxs []context.Context
}

func (f *ctxInvoker) Invoke(ctx context.Context, req invoker.Request) (*invoker.Result, error) {
	f.ctxs = append(f.ctxs, ctx)
	return f.countingInvoker.Invoke(ctx, req)
}

// TestAuthorizerSpan: in a traced request the authorizer's decision is a span
// under the request's, the function call runs inside it, and a cached decision
// says so; an untraced request makes none.
func TestAuthorizerSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	inv := &ctxInvoker{}
	s := New(fakeResolver{}, inv, nil)
	d := deployed(300)
	mw, err := s.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	h := mw(ok)
	if err := serve(t, h, d, "untraced"); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("an untraced request made %d spans", n)
	}
	ctx, root := tp.Tracer("t").Start(context.Background(), "request")
	for range 2 { // a call, then the cached result
		r := httptest.NewRequest("GET", "/pets", nil).WithContext(ctx)
		r.Header.Set("Authorization", "traced")
		c := &pipeline.Context{APIID: d.API.ID, Stage: "dev", HTTPMethod: "GET", Path: "/pets", Route: &d.API.Routes[0], Deployed: d}
		if err := h.ServeRequest(httptest.NewRecorder(), r, c); err != nil {
			t.Fatal(err)
		}
	}
	root.End()
	ended := rec.Ended()
	if len(ended) != 3 {
		t.Fatalf("%d spans, want 2 authorizer spans and the request's", len(ended))
	}
	for i, cached := range []bool{false, true} {
		sp := ended[i]
		if sp.Name() != "authorizer tok" || sp.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Errorf("span %q parent %s, want authorizer tok under the request", sp.Name(), sp.Parent().SpanID())
		}
		want := map[attribute.Key]attribute.Value{"portico.authorizer.name": attribute.StringValue("tok"),
			"portico.authorizer.cached": attribute.BoolValue(cached)}
		for _, kv := range sp.Attributes() {
			if w, ok := want[kv.Key]; ok && w != kv.Value {
				t.Errorf("span %d: %s = %v, want %v", i, kv.Key, kv.Value.String(), w.String())
			}
		}
	}
	if len(inv.ctxs) != 2 { // the untraced call and the first traced one
		t.Fatalf("%d invocations, want 2", len(inv.ctxs))
	}
	if got := spanIDOf(inv.ctxs[1]); got != ended[0].SpanContext().SpanID().String() {
		t.Errorf("the authorizer function ran under span %s, want the authorizer's %s", got, ended[0].SpanContext().SpanID())
	}
}

func spanIDOf(ctx context.Context) string {
	return trace.SpanContextFromContext(ctx).SpanID().String()
}
