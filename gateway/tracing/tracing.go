// Package tracing is the gateway's tracing stage: on stages with
// tracingEnabled it starts one server span per request (named after the
// matched route, "GET /pets/{id}"; "HTTP /{proxy+}" for a method outside the
// known ones, which a client chooses, so that span names stay few), as a child of the trace the client sent in
// W3C traceparent or X-Amzn-Trace-Id when it sent one, answers with the
// request's X-Amzn-Trace-Id, and hands the span to the rest of the pipeline
// through the request's context, where the authorizers, the integration and the
// invoker add their own spans (internal/tracing.Start) and pass the trace on to
// HTTP backends (traceparent and X-Amzn-Trace-Id) and to functions
// (Lambda-Runtime-Trace-Id, which the runtimes expose as _X_AMZN_TRACE_ID, and
// X-Amzn-Trace-Id in their events, which otherwise carry the client's headers
// as sent).
//
// A stage without tracingEnabled compiles to nothing: its requests cost
// nothing here.
package tracing

import (
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/redact"
	itracing "github.com/portico-dev/portico/internal/tracing"
)

// Stage is the tracing pipeline stage. Safe for concurrent use.
type Stage struct {
	tracer trace.Tracer
}

var _ pipeline.Stage = (*Stage)(nil)

// New returns the stage, making its spans with tp.
func New(tp trace.TracerProvider) *Stage {
	return &Stage{tracer: tp.Tracer(itracing.Scope)}
}

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "tracing" }

// Order implements pipeline.Stage: it wraps the other observing stages, so that
// its span covers what they measure.
func (*Stage) Order() int { return pipeline.OrderObserve - 1 }

// Compile implements pipeline.Stage: nil unless the stage has tracingEnabled.
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	if d.Stage == nil || !d.Stage.TracingEnabled {
		return nil, nil
	}
	static := []attribute.KeyValue{
		attribute.String("portico.api_id", d.Stage.APIID),
		attribute.String("portico.stage", d.Stage.Name),
		attribute.String("portico.deployment_id", d.Deployment.ID),
		attribute.Bool("portico.canary", d.Canary),
	}
	if d.API != nil {
		static = append(static, attribute.String("portico.api_name", d.API.Name), attribute.String("portico.protocol", d.API.Protocol))
	}
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			ctx := itracing.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			method, known := spanMethod(c.HTTPMethod)
			ctx, span := s.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithTimestamp(c.RequestTime), trace.WithAttributes(static...))
			defer span.End()
			// What the authorizers and functions see unless the integration's
			// span replaces it, and what the client gets back, as API Gateway
			// answers: X-Amzn-Trace-Id only. A client's own traceparent stays as
			// it was sent (functions' events carry it so); only HTTP backends get
			// the gateway's (the integration's span).
			itracing.InjectXRay(ctx, r.Header)
			w.Header().Set(itracing.HeaderXRay, r.Header.Get(itracing.HeaderXRay))
			sw := &spanWriter{StatusWriter: pipeline.StatusWriter{ResponseWriter: w}}
			err := next.ServeRequest(sw, r.WithContext(ctx), c)
			status := int(c.Status)
			if status == 0 {
				status = sw.Status
			}
			if status == 0 {
				status = http.StatusOK
			}
			if c.ResourcePath != "" {
				span.SetName(method + " " + c.ResourcePath)
			} else if c.RouteKey != "" {
				span.SetName(c.RouteKey)
			}
			if span.IsRecording() {
				attrMethod := c.HTTPMethod
				if !known {
					attrMethod = "_OTHER"
					span.SetAttributes(attribute.String("http.request.method_original", c.HTTPMethod))
				}
				span.SetAttributes(
					attribute.String("http.request.method", attrMethod),
					attribute.String("http.route", c.ResourcePath),
					attribute.String("url.path", c.Path),
					attribute.Int("http.response.status_code", status),
					attribute.String("portico.request_id", c.RequestID),
					attribute.String("client.address", c.Identity.SourceIP),
					attribute.String("user_agent.original", c.Identity.UserAgent),
				)
				if c.CacheHit || c.CacheMiss { // a stage that caches this method
					span.SetAttributes(attribute.Bool("portico.cache_hit", c.CacheHit))
				}
				if c.Error.ResponseType != "" {
					span.SetAttributes(attribute.String("portico.error.response_type", string(c.Error.ResponseType)))
				}
				if status >= 500 {
					span.SetStatus(codes.Error, strconv.Itoa(status)+" "+redact.String(c.Error.Message))
				}
			}
			return err
		})
	}, nil
}

// knownMethods are the HTTP methods OpenTelemetry's semantic conventions know
// (RFC 9110's and PATCH).
var knownMethods = map[string]bool{
	http.MethodConnect: true, http.MethodDelete: true, http.MethodGet: true, http.MethodHead: true, http.MethodOptions: true,
	http.MethodPatch: true, http.MethodPost: true, http.MethodPut: true, http.MethodTrace: true,
}

// spanMethod is what a request span's name says of method: the method when it
// is a known one, else "HTTP" (known false), as the semantic conventions ask:
// a client chooses the method, and span names must stay few.
func spanMethod(method string) (string, bool) {
	if knownMethods[method] {
		return method, true
	}
	return "HTTP", false
}

// Module provides the stage to the pipeline; it needs a trace.TracerProvider
// (internal/tracing.Module provides one).
var Module = fx.Module("gateway-tracing", fx.Provide(pipeline.AsStage(New)))

// spanWriter records the status for the request's span. It does not pass
// through (pipeline.PassThrough): the span ends when the handler returns,
// which must then be when the response is complete.
type spanWriter struct{ pipeline.StatusWriter }

// PassesThrough implements pipeline.PassThrough: nil.
func (*spanWriter) PassesThrough() http.ResponseWriter { return nil }
