package tracing

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

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

// exporting reports whether cfg names a collector, directly or by
// environment, and OTEL_TRACES_EXPORTER does not say "none".
func (c Config) exporting() bool {
	if exporterNone() {
		return false
	}
	return c.Endpoint != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// exporterNone reports whether OTEL_TRACES_EXPORTER is "none", which the
// OpenTelemetry SDKs read as "export no traces".
func exporterNone() bool {
	return strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")), "none")
}

// envEndpoint returns the collector endpoint the environment names and the
// variable that names it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
// OTEL_EXPORTER_OTLP_ENDPOINT, as the SDK reads them; "" for none.
func envEndpoint() (raw, name string) {
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if raw := os.Getenv(v); raw != "" {
			return raw, v
		}
	}
	return "", ""
}

// Validate checks the endpoint. One with a query string is refused: the
// OTLP exporter sends to the URL's host and path only, so a key in the query
// would silently never reach the collector.
func (c Config) Validate() error {
	if c.Endpoint == "" {
		return nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Named as logs name it: the value may hold a password or a key.
		return fmt.Errorf("otlp endpoint %q: want http://host:port or https://host:port[/path]", redact.URL(c.Endpoint))
	}
	return noQuery("otlp endpoint", c.Endpoint)
}

// noQuery refuses an endpoint URL with a query string, naming it as name.
func noQuery(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.RawQuery == "" && !u.ForceQuery) {
		return nil
	}
	return fmt.Errorf("%s %q: has a query string, which the OTLP exporter does not send (it keeps the URL's host and path only): "+
		"pass a collector's key as a header instead, OTEL_EXPORTER_OTLP_TRACES_HEADERS=\"name=value\"", name, redact.URL(raw))
}

// NewProvider returns the tracer provider: parent-based sampling (Sampler: a request
// that arrives with a trace keeps its sampling decision; others are sampled),
// service.name "portico" unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES
// say otherwise, and a batching OTLP/HTTP exporter when cfg names a collector.
// Exports never block requests: failures are counted
// (portico_trace_export_failures_total, portico_trace_spans_dropped_total) on
// reg, when given, and logged (the first and every hundredth). Shut the
// provider down to flush what is queued.
func NewProvider(ctx context.Context, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*sdktrace.TracerProvider, error) {
	tp, _, err := newProvider(ctx, cfg, reg, log, defaultBatching)
	return tp, err
}

// batching sizes the export queue: at most queue spans wait for an export
// (those in the batch being exported included); batch spans go in one export.
type batching struct{ queue, batch int }

// defaultBatching is the OpenTelemetry SDK's default.
var defaultBatching = batching{queue: sdktrace.DefaultMaxQueueSize, batch: sdktrace.DefaultMaxExportBatchSize}

// AttributeValueLengthLimit is the length (in characters) to which a span's
// string attribute values are cut unless OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT
// or OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT says otherwise: a client's User-Agent or
// path of 60 KB would otherwise go into every span of its request, making
// batches of megabytes that collectors refuse (and a full export queue hold
// hundreds of them).
const AttributeValueLengthLimit = 2048

// spanLimits are the SDK's span limits (from the OTEL_* variables), with
// AttributeValueLengthLimit where no variable sets one (the SDK's default
// is no limit).
func spanLimits() sdktrace.SpanLimits {
	l := sdktrace.NewSpanLimits()
	for _, v := range []string{"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"} {
		if _, ok := os.LookupEnv(v); ok {
			return l
		}
	}
	l.AttributeValueLengthLimit = AttributeValueLengthLimit
	return l
}

// newProvider is NewProvider that also returns its exporter (nil when cfg
// names no collector), for the stop's account of what it dropped, with the
// export queue sized by b.
func newProvider(ctx context.Context, cfg Config, reg prometheus.Registerer, log *slog.Logger, b batching) (*sdktrace.TracerProvider, *countingExporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if err := cfg.ValidateEnv(); err != nil {
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
		sdktrace.WithRawSpanLimits(spanLimits()),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(Sampler()),
		sdktrace.WithIDGenerator(IDGenerator{}),
	}
	var ce *countingExporter
	if cfg.exporting() {
		// A collector that does not answer costs a batch at most 10 s of
		// retries (the SDK's default is a minute), so that a stop is not held up.
		eopts := []otlptracehttp.Option{otlptracehttp.WithTimeout(10 * time.Second),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true, InitialInterval: time.Second, MaxInterval: 5 * time.Second, MaxElapsedTime: 10 * time.Second})}
		from := "--otlp-endpoint"
		if cfg.Endpoint != "" {
			eopts = append(eopts, otlptracehttp.WithEndpointURL(endpointURL(cfg.Endpoint)))
			if h := endpointHeaders(cfg.Endpoint); h != nil {
				eopts = append(eopts, otlptracehttp.WithHeaders(h))
			}
		} else {
			// The SDK reads the variable's URL and drops its userinfo:
			// sent as Basic authorization, as the flag's is.
			var raw string
			raw, from = envEndpoint()
			if h := endpointHeaders(raw); h != nil {
				eopts = append(eopts, otlptracehttp.WithHeaders(h))
			}
		}
		log.Info("traces export to an OTLP/HTTP collector", "collector", cfg.collector(), "from", from)
		exp, err := otlptracehttp.New(ctx, eopts...)
		if err != nil {
			return nil, nil, fmt.Errorf("otlp exporter: %w", err)
		}
		ce = &countingExporter{SpanExporter: exp, log: log,
			failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "portico_trace_export_failures_total",
				Help: "Trace exports the collector did not take (unreachable, refused)."}),
			dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "portico_trace_spans_dropped_total",
				Help: "Spans lost: in failed trace exports, to a full export queue (a slow collector), or still queued when a stop's flush ended."}),
		}
		if reg != nil {
			for _, c := range []prometheus.Collector{ce.failures, ce.dropped} {
				if err := reg.Register(c); err != nil {
					return nil, nil, err
				}
			}
		}
		// The SDK's batcher drops what does not fit its queue without a
		// word: the queue is bounded in front of it instead (boundedQueue),
		// where the drops are counted, and the batcher's own queue, a little
		// larger, never fills (so its blocking mode never blocks).
		bsp := sdktrace.NewBatchSpanProcessor(ce, sdktrace.WithMaxQueueSize(b.queue+queueHeadroom),
			sdktrace.WithMaxExportBatchSize(b.batch), sdktrace.WithBlocking())
		opts = append(opts, sdktrace.WithSpanProcessor(&boundedQueue{SpanProcessor: bsp, ce: ce, limit: int64(b.queue)}))
	}
	if exporterNone() && (cfg.Endpoint != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "") {
		log.Info("traces are not exported: OTEL_TRACES_EXPORTER is none", "collector", cfg.collector())
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
// prints to stderr, stays quiet). It exports spans with their strings made
// valid UTF-8 (validUTF8).
type countingExporter struct {
	sdktrace.SpanExporter
	log               *slog.Logger
	failures, dropped prometheus.Counter
	n, full           atomic.Int64 // failed exports; spans refused by a full queue
	// pending counts the spans queued (boundedQueue) whose export has not
	// returned: at a stop that did not finish, what the collector never got.
	pending atomic.Int64
	stopped atomic.Bool // the stop counted what was left: later failures are not counted again
}

// ExportSpans implements sdktrace.SpanExporter.
func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, validUTF8(spans))
	e.pending.Add(-int64(len(spans)))
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
	lost := max(ce.pending.Load(), 0)
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

// queueHeadroom is how much larger than the bound the batcher's own queue
// is: room for ForceFlush's marker.
const queueHeadroom = 64

// boundedQueue is the span processor in front of the SDK's batcher: it lets
// at most limit sampled spans wait for an export (ce.pending), and counts the
// others as dropped when they end, logging the first and every thousandth,
// where the batcher would drop them uncounted. Safe for concurrent use.
type boundedQueue struct {
	sdktrace.SpanProcessor // the batcher
	ce                     *countingExporter
	limit                  int64
}

// OnEnd implements sdktrace.SpanProcessor.
func (q *boundedQueue) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	if q.ce.pending.Add(1) > q.limit {
		q.ce.pending.Add(-1)
		q.ce.dropped.Inc()
		if n := q.ce.full.Add(1); n == 1 || n%1000 == 0 {
			q.ce.log.Warn("trace export queue full (the collector is slow or unreachable); spans dropped", "queue", q.limit, "spansDropped", n)
		}
		return
	}
	q.SpanProcessor.OnEnd(s)
}

// validUTF8 returns spans with their strings (name, attribute values, status
// description, events) made valid UTF-8, invalid bytes replaced with U+FFFD:
// OTLP's protobuf refuses a whole export over one invalid string, and some
// come from clients (a User-Agent's obs-text bytes) or functions (an error
// message). Spans already valid are passed as they are.
func validUTF8(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for i, s := range spans {
		if spanValid(s) {
			continue
		}
		if out == nil {
			out = slices.Clone(spans)
		}
		out[i] = utf8Span{s}
	}
	if out == nil {
		return spans
	}
	return out
}

// spanValid reports whether s's strings are all valid UTF-8.
func spanValid(s sdktrace.ReadOnlySpan) bool {
	if !utf8.ValidString(s.Name()) || !utf8.ValidString(s.Status().Description) || !attrsValid(s.Attributes()) {
		return false
	}
	for _, ev := range s.Events() {
		if !utf8.ValidString(ev.Name) || !attrsValid(ev.Attributes) {
			return false
		}
	}
	return true
}

func attrsValid(kvs []attribute.KeyValue) bool {
	for _, kv := range kvs {
		switch kv.Value.Type() {
		case attribute.STRING:
			if !utf8.ValidString(kv.Value.AsString()) {
				return false
			}
		case attribute.STRINGSLICE:
			for _, v := range kv.Value.AsStringSlice() {
				if !utf8.ValidString(v) {
					return false
				}
			}
		}
		if !utf8.ValidString(string(kv.Key)) {
			return false
		}
	}
	return true
}

// utf8Span is a span whose strings read as valid UTF-8.
type utf8Span struct{ sdktrace.ReadOnlySpan }

func validString(v string) string { return strings.ToValidUTF8(v, "\uFFFD") }

func (s utf8Span) Name() string { return validString(s.ReadOnlySpan.Name()) }

func (s utf8Span) Attributes() []attribute.KeyValue { return validAttrs(s.ReadOnlySpan.Attributes()) }

func (s utf8Span) Status() sdktrace.Status {
	st := s.ReadOnlySpan.Status()
	st.Description = validString(st.Description)
	return st
}

func (s utf8Span) Events() []sdktrace.Event {
	evs := slices.Clone(s.ReadOnlySpan.Events())
	for i := range evs {
		evs[i].Name = validString(evs[i].Name)
		evs[i].Attributes = validAttrs(evs[i].Attributes)
	}
	return evs
}

func validAttrs(kvs []attribute.KeyValue) []attribute.KeyValue {
	if attrsValid(kvs) {
		return kvs
	}
	out := make([]attribute.KeyValue, len(kvs))
	for i, kv := range kvs {
		k := attribute.Key(validString(string(kv.Key)))
		switch kv.Value.Type() {
		case attribute.STRING:
			out[i] = k.String(validString(kv.Value.AsString()))
		case attribute.STRINGSLICE:
			vs := slices.Clone(kv.Value.AsStringSlice())
			for j := range vs {
				vs[j] = validString(vs[j])
			}
			out[i] = k.StringSlice(vs)
		default:
			out[i] = attribute.KeyValue{Key: k, Value: kv.Value}
		}
	}
	return out
}

// Module provides the tracer provider (as trace.TracerProvider too) and shuts
// it down on stop, flushing queued spans. It routes the OpenTelemetry
// libraries' own logging through the server's log, masked (SetOtelLogger).
var Module = fx.Module("tracing",
	fx.Provide(
		func(p ModuleParams) (*sdktrace.TracerProvider, error) {
			log := p.Log
			if log != nil {
				log = log.With("component", "tracing")
			}
			SetOtelLogger(p.Log)
			tp, ce, err := newProvider(context.Background(), p.Config, p.Registerer, log, defaultBatching)
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
