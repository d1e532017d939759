package tracing

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"
	"golang.org/x/net/http/httpguts"

	"github.com/portico-dev/portico/internal/redact"
)

// Config configures the trace exporter.
type Config struct {
	// Endpoint is the OTLP/HTTP collector: a URL ("http://127.0.0.1:4318", to
	// which /v1/traces is added when it has no path, or a full
	// ".../v1/traces"); credentials in it go as Basic authorization
	// (endpointHeaders). Empty: the OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
	// OTEL_EXPORTER_OTLP_ENDPOINT environment variables, as the OpenTelemetry
	// SDKs read them (with OTEL_EXPORTER_OTLP_HEADERS and the rest); when none is
	// set, traced stages still make and propagate trace ids but export nothing.
	Endpoint string
}

// exporting reports whether cfg names a collector, directly or by environment.
func (c Config) exporting() bool {
	return c.Endpoint != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// Validate checks the endpoint.
func (c Config) Validate() error {
	if c.Endpoint == "" {
		return nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Named as logs name it: the value may hold a password or a key.
		return fmt.Errorf("otlp endpoint %q: want http://host:port or https://host:port[/path]", redact.URL(c.Endpoint))
	}
	return nil
}

// NewProvider returns the tracer provider: parent-based sampling (a request
// that arrives with a trace keeps its sampling decision; others are sampled),
// service.name "portico" unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES
// say otherwise, and a batching OTLP/HTTP exporter when cfg names a collector.
// Exports never block requests: failures are counted
// (portico_trace_export_failures_total, portico_trace_spans_dropped_total) on
// reg, when given, and logged (the first and every hundredth). Shut the
// provider down to flush what is queued.
func NewProvider(ctx context.Context, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*sdktrace.TracerProvider, error) {
	tp, _, err := newProvider(ctx, cfg, reg, log)
	return tp, err
}

// newProvider is NewProvider that also returns its exporter (nil when cfg
// names no collector), for the stop's account of what it dropped.
func newProvider(ctx context.Context, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*sdktrace.TracerProvider, *countingExporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "portico")),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, nil, fmt.Errorf("trace resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithIDGenerator(IDGenerator{}),
	}
	var ce *countingExporter
	if cfg.exporting() {
		// A collector that does not answer costs a batch at most 10 s of
		// retries (the SDK's default is a minute), so that a stop is not held up.
		eopts := []otlptracehttp.Option{otlptracehttp.WithTimeout(10 * time.Second),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: time.Second, MaxInterval: 5 * time.Second, MaxElapsedTime: 10 * time.Second})}
		if cfg.Endpoint != "" {
			eopts = append(eopts, otlptracehttp.WithEndpointURL(endpointURL(cfg.Endpoint)))
			if h := endpointHeaders(cfg.Endpoint); h != nil {
				eopts = append(eopts, otlptracehttp.WithHeaders(h))
			}
		}
		exp, err := otlptracehttp.New(ctx, eopts...)
		if err != nil {
			return nil, nil, fmt.Errorf("otlp exporter: %w", err)
		}
		ce = &countingExporter{SpanExporter: exp, log: log,
			failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "portico_trace_export_failures_total",
				Help: "Trace exports the collector did not take (unreachable, refused)."}),
			dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "portico_trace_spans_dropped_total",
				Help: "Spans lost in failed trace exports."}),
		}
		if reg != nil {
			for _, c := range []prometheus.Collector{ce.failures, ce.dropped} {
				if err := reg.Register(c); err != nil {
					return nil, nil, err
				}
			}
		}
		// The ended spans are counted before the batcher queues them, so
		// that a stop can tell how many never reached an export's end.
		opts = append(opts, sdktrace.WithSpanProcessor(endCounter{&ce.ended}), sdktrace.WithBatcher(ce))
	}
	return sdktrace.NewTracerProvider(opts...), ce, nil
}

// endpointURL adds OTLP's traces path to an endpoint given without one.
func endpointURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || strings.Trim(u.Path, "/") != "" {
		return raw
	}
	u.Path = "/v1/traces"
	return u.String()
}

// endpointHeaders returns the headers of exports to an endpoint whose URL
// carries credentials (https://user:pass@host/...): HTTP Basic authorization
// with them, which the exporter would otherwise drop with the rest of the
// URL's userinfo, beside the headers OTEL_EXPORTER_OTLP_TRACES_HEADERS (or
// else OTEL_EXPORTER_OTLP_HEADERS) names, as the SDK reads them (WithHeaders
// replaces those); an Authorization among them wins. Nil for a URL without
// credentials: the SDK's own reading of the variables stands.
func endpointHeaders(raw string) map[string]string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return nil
	}
	env := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
	if env == "" {
		env = os.Getenv("OTEL_EXPORTER_OTLP_HEADERS")
	}
	h := envHeaders(env)
	for k := range h {
		if strings.EqualFold(k, "Authorization") {
			return h
		}
	}
	pass, _ := u.User.Password()
	h["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
	return h
}

// envHeaders parses an OTEL_EXPORTER_OTLP_HEADERS value ("k1=v1,k2=v2", the
// values percent-encoded) as the OpenTelemetry SDK does, skipping the pairs it
// skips (no '=', a bad name or escape).
func envHeaders(v string) map[string]string {
	h := map[string]string{}
	if v == "" {
		return h
	}
	for pair := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		val, err := url.PathUnescape(val)
		if err != nil {
			continue
		}
		h[k] = strings.TrimSpace(val)
	}
	return h
}

// countingExporter counts and logs failed exports and reports them done, so
// that the batch processor goes on (and the SDK's global error handler, which
// prints to stderr, stays quiet).
type countingExporter struct {
	sdktrace.SpanExporter
	log               *slog.Logger
	failures, dropped prometheus.Counter
	n                 atomic.Int64
	// ended counts the sampled spans that ended (endCounter), handled those
	// whose export returned, taken or not: at a stop, the difference is what
	// the collector never got.
	ended, handled atomic.Int64
	stopped        atomic.Bool // the stop counted what was left: later failures are not counted again
}

// ExportSpans implements sdktrace.SpanExporter.
func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	e.handled.Add(int64(len(spans)))
	if err == nil || e.stopped.Load() {
		return nil
	}
	e.failures.Inc()
	e.dropped.Add(float64(len(spans)))
	if n := e.n.Add(1); n == 1 || n%100 == 0 {
		e.log.Warn("trace export failed; spans dropped", "spans", len(spans), "failures", n, "err", err)
	}
	return nil
}

// ModuleParams are the provider's fx dependencies.
type ModuleParams struct {
	fx.In

	Config     Config
	Registerer prometheus.Registerer `optional:"true"`
	Log        *slog.Logger          `optional:"true"`
	Lifecycle  fx.Lifecycle
}

// stopFlushTimeout bounds the flush of queued spans on stop.
const stopFlushTimeout = 5 * time.Second

// stopProvider shuts tp down, flushing the queued spans to ce's collector
// within stopFlushTimeout (and ctx), so that a collector that does not answer
// does not take the time of the hooks after this one (the invoker's, which
// stops the sandboxes). A flush the collector did not take in time costs the
// spans, as every failed export does: they are counted as dropped and
// logged, naming the collector, and the stop goes on as a clean one.
func stopProvider(ctx context.Context, tp *sdktrace.TracerProvider, ce *countingExporter, cfg Config, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, stopFlushTimeout)
	defer cancel()
	err := tp.Shutdown(ctx)
	if err == nil || ce == nil {
		return err
	}
	ce.stopped.Store(true)
	lost := max(ce.ended.Load()-ce.handled.Load(), 0)
	ce.dropped.Add(float64(lost))
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Warn("trace export did not finish by the end of the stop (the collector did not answer in time): the spans it had not taken are dropped",
		"collector", cfg.collector(), "spansDropped", lost, "err", err)
	return nil
}

// collector names the collector spans go to, for logs: its password and
// query string's values masked (redact.URL), as backend URLs are.
func (c Config) collector() string {
	for _, v := range []string{c.Endpoint, os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")} {
		if v != "" {
			return redact.URL(endpointURL(v))
		}
	}
	return "(OTLP default)"
}

// endCounter is a span processor that counts the sampled spans that end.
type endCounter struct{ n *atomic.Int64 }

func (c endCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (c endCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		c.n.Add(1)
	}
}

func (endCounter) Shutdown(context.Context) error   { return nil }
func (endCounter) ForceFlush(context.Context) error { return nil }

// Module provides the tracer provider (as trace.TracerProvider too) and shuts
// it down on stop, flushing queued spans.
var Module = fx.Module("tracing",
	fx.Provide(
		func(p ModuleParams) (*sdktrace.TracerProvider, error) {
			log := p.Log
			if log != nil {
				log = log.With("component", "tracing")
			}
			tp, ce, err := newProvider(context.Background(), p.Config, p.Registerer, log)
			if err != nil {
				return nil, err
			}
			p.Lifecycle.Append(fx.StopHook(func(ctx context.Context) error {
				return stopProvider(ctx, tp, ce, p.Config, log)
			}))
			return tp, nil
		},
		func(tp *sdktrace.TracerProvider) trace.TracerProvider { return tp },
	),
)
