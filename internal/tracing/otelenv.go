package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"golang.org/x/net/http/httpguts"

	"github.com/portico-dev/portico/internal/redact"
)

// HeaderVars are the environment variables the OTLP exporter reads its
// headers from (the traces one wins a name both set).
var HeaderVars = []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"}

// ValidateEnv checks, when c exports (an endpoint given or named by the
// environment), the headers variables (HeaderVars) as the exporter will read
// them: "key=value,key2=value2", names HTTP tokens, values URL-encoded. A
// malformed entry is refused, naming the variable, the entry's place and,
// when it is a valid header name, its name, never its value: the exporter
// would log the entry, credential included, and export without the header
// (every batch then refused by a collector that authenticates).
//
// The endpoint variable the exporter reads (envEndpoint) is refused with a
// query string, as the flag is (noQuery). OTEL_EXPORTER_OTLP_PROTOCOL and
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL other than http/protobuf (grpc,
// http/json) are refused: the exporter speaks OTLP/HTTP with protobuf only,
// and would send that to a gRPC port. OTEL_TRACES_EXPORTER other than otlp or
// none (console, zipkin) is refused too.
func (c Config) ValidateEnv() error {
	if !c.exporting() {
		return nil
	}
	if v := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); v != "" {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); !strings.EqualFold(e, "otlp") {
				return fmt.Errorf("OTEL_TRACES_EXPORTER %q: Portico exports traces with OTLP only: set otlp (the default) or none", v)
			}
		}
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		p := strings.TrimSpace(os.Getenv(v))
		if p == "" {
			continue
		}
		if p != "http/protobuf" {
			return fmt.Errorf("%s %q: Portico exports traces with OTLP over HTTP with protobuf only (http/protobuf): "+
				"point it at the collector's OTLP/HTTP port (4318 by default, not gRPC's 4317) and unset %s", v, p, v)
		}
		break // the traces one wins
	}
	if c.Endpoint == "" {
		if raw, name := envEndpoint(); raw != "" {
			if err := noQuery(name, raw); err != nil {
				return err
			}
		}
	}
	for _, v := range HeaderVars {
		if err := checkHeaders(v, os.Getenv(v)); err != nil {
			return err
		}
	}
	return nil
}

// checkHeaders checks value, the headers variable name's value
// (ValidateEnv). A blank entry (a trailing or doubled comma) is refused too:
// the exporter's parser reports it as an error naming neither.
func checkHeaders(name, value string) error {
	if strings.TrimSpace(value) == "" {
		return nil
	}
	const want = `want key=value,key2=value2 with the values URL-encoded ` +
		`(Authorization=Bearer%20TOKEN, not "Authorization: Bearer TOKEN"); the value is not shown, as it may hold a credential`
	entries := strings.Split(value, ",")
	for i, e := range entries {
		where := fmt.Sprintf("%s: entry %d of %d", name, i+1, len(entries))
		if strings.TrimSpace(e) == "" {
			return fmt.Errorf("%s is empty: remove the extra comma (%s)", where, want)
		}
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			return fmt.Errorf("%s has no '=': %s", where, want)
		}
		k = strings.TrimSpace(k)
		if k == "" || !httpguts.ValidHeaderFieldName(k) {
			return fmt.Errorf("%s: the part before '=' is not a header name: %s", where, want)
		}
		uv, err := url.PathUnescape(v)
		if err != nil {
			return fmt.Errorf("%s (header %q): the value has a '%%' not followed by two hex digits: %s", where, k, want)
		}
		if !httpguts.ValidHeaderFieldValue(strings.TrimSpace(uv)) {
			return fmt.Errorf("%s (header %q): the value decodes to a control character (a line break, say), which no header can hold: %s", where, k, want)
		}
	}
	return nil
}

// SetOtelLogger routes the OpenTelemetry libraries' own logging and error
// reports (which by default print to stderr in their own format) through
// log, as "opentelemetry" records: their messages and errors redacted
// (redact.String), and every other string value they attach (the headers
// parser's "input", "key" and "value", say) replaced by redact.URLMask, so
// that no header value or credential reaches the log. It sets process-wide
// state (otel.SetLogger, otel.SetErrorHandler); a nil log discards.
func SetOtelLogger(log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "opentelemetry")
	otel.SetLogger(logr.FromSlogHandler(otelHandler{log.Handler()}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("opentelemetry", "err", redact.Error(err))
	}))
}

// otelHandler is the slog handler behind the OpenTelemetry libraries' logger
// (SetOtelLogger): it masks what they attach.
type otelHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h otelHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, redact.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(otelAttr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h otelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(as))
	for i, a := range as {
		masked[i] = otelAttr(a)
	}
	return otelHandler{h.Handler.WithAttrs(masked)}
}

// WithGroup implements slog.Handler.
func (h otelHandler) WithGroup(name string) slog.Handler {
	return otelHandler{h.Handler.WithGroup(name)}
}

// otelAttr is a with its value masked: an error redacted, numbers, booleans
// and durations kept, anything else (strings, formatted values) replaced.
func otelAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration, slog.KindTime:
		return slog.Attr{Key: a.Key, Value: v}
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, ga := range g {
			out[i] = otelAttr(ga)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, redact.Error(err))
		}
	}
	return slog.String(a.Key, redact.URLMask)
}
