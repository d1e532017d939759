package tracing

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
)

// TestHeadersVariablesChecked is what the obs26 tester found: a malformed
// OTEL_EXPORTER_OTLP_TRACES_HEADERS entry ("Authorization: Bearer X", the way
// headers are written everywhere else) was printed whole by the OTLP
// library, credential included, and the server started exporting without the
// header. Both headers variables are now checked at start: a malformed entry
// is refused naming the variable, the entry and the form wanted, never the
// value; well-formed ones pass; nothing is checked when nothing is exported.
func TestHeadersVariablesChecked(t *testing.T) {
	const secret = "HDRSECRET77"
	for _, tc := range []struct{ name, variable, value, want string }{
		{"name: value", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=acme,Authorization: Bearer " + secret, "entry 2 of 2 has no '='"},
		{"generic variable", "OTEL_EXPORTER_OTLP_HEADERS", "Authorization: Bearer " + secret, "OTEL_EXPORTER_OTLP_HEADERS: entry 1 of 1 has no '='"},
		{"not a name", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Authorization: Bearer " + secret + "=x", "is not a header name"},
		{"bad escape", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Authorization=Bearer%zz" + secret, `(header "Authorization"): the value has a '%'`},
		{"line break", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Authorization=Bearer%20" + secret + "%0d%0aX-Evil:%201", "control character"},
		{"trailing comma", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Authorization=Bearer%20" + secret + ",", "entry 2 of 2 is empty"},
		{"doubled comma", "OTEL_EXPORTER_OTLP_HEADERS", "a=b,,Authorization=Bearer%20" + secret, "entry 2 of 3 is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "")
			t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "")
			t.Setenv(tc.variable, tc.value)
			_, _, err := newProvider(context.Background(), Config{Endpoint: "http://127.0.0.1:1"}, nil, nil, defaultBatching)
			if err == nil || !strings.Contains(err.Error(), tc.variable) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "key=value,key2=value2") {
				t.Fatalf("err %v, want it to name %s and say %q and the form", err, tc.variable, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the refusal shows the value: %v", err)
			}
			if err := (Config{}).ValidateEnv(); err != nil {
				t.Errorf("nothing exported, yet refused: %v", err)
			}
		})
	}
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "Authorization=Bearer%20"+secret+", x-tenant = acme ")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "")
	if err := (Config{Endpoint: "http://127.0.0.1:1"}).ValidateEnv(); err != nil {
		t.Errorf("well-formed headers refused: %v", err)
	}
}

// TestOtelLoggerMasksValues: what the OpenTelemetry libraries log, here the
// OTLP exporter's complaint about a malformed headers entry (reached by
// building the exporter directly, past ValidateEnv) and an error reported to
// the global handler, goes through the server's log without the values.
func TestOtelLoggerMasksValues(t *testing.T) {
	var buf bytes.Buffer
	SetOtelLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { SetOtelLogger(nil) })
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=acme,Authorization: Bearer HDRSECRET77,Bad Key: K3Y=v,k=%zzESCSECRET")
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL("http://127.0.0.1:1/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	_ = exp.Shutdown(context.Background())
	otel.Handle(errors.New("export to http://c/v1/traces?api_key=APIKEY55 failed"))
	out := buf.String()
	for _, s := range []string{"HDRSECRET77", "K3Y", "ESCSECRET", "APIKEY55"} {
		if strings.Contains(out, s) {
			t.Errorf("the log shows %s:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "parse headers") || !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "component=opentelemetry") ||
		!strings.Contains(out, "api_key=REDACTED") {
		t.Errorf("the libraries' reports are not in the log as expected:\n%s", out)
	}
}
