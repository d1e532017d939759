package tracing

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// TestEnvEndpointCredentialsAndStartLine is r-obs28's finding 7: the
// userinfo of OTEL_EXPORTER_OTLP_TRACES_ENDPOINT was dropped without a word
// (the flag's goes as Basic authorization), and no line said where spans go.
// It is sent as the flag's is, and the start names the collector (its
// password masked) and the variable.
func TestEnvEndpointCredentialsAndStartLine(t *testing.T) {
	auth := make(chan string, 8)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth <- r.Header.Get("Authorization")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", strings.Replace(collector.URL, "http://", "http://u:PWENV77@", 1)+"/v1/traces")
	var buf bytes.Buffer
	tp, _, err := newProvider(context.Background(), Config{}, nil, slog.New(slog.NewTextHandler(&buf, nil)), defaultBatching)
	if err != nil {
		t.Fatal(err)
	}
	_, s := tp.Tracer("t").Start(context.Background(), "s")
	s.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := <-auth; got != "Basic dTpQV0VOVjc3" {
		t.Errorf("Authorization %q, want Basic u:PWENV77", got)
	}
	out := buf.String()
	if !strings.Contains(out, "traces export to an OTLP/HTTP collector") || !strings.Contains(out, "from=OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ||
		!strings.Contains(out, "u:xxxxx@127.0.0.1") || strings.Contains(out, "PWENV77") {
		t.Errorf("start log:\n%s", out)
	}
}

// TestUnsupportedOtelVariables is r-obs28's finding 9:
// OTEL_EXPORTER_OTLP_PROTOCOL=grpc was ignored (OTLP/HTTP sent to what is
// likely a gRPC port) and OTEL_TRACES_EXPORTER=none still exported. A
// protocol other than http/protobuf is refused naming the variable; none
// exports nothing; an exporter other than otlp is refused.
func TestUnsupportedOtelVariables(t *testing.T) {
	for _, v := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_TRACES_EXPORTER"} {
		t.Setenv(v, "")
	}
	cfg := Config{Endpoint: "http://127.0.0.1:1"}
	for _, tc := range []struct{ name, value, want string }{
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", `OTEL_EXPORTER_OTLP_PROTOCOL "grpc": Portico exports traces with OTLP over HTTP`},
		{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL "http/json"`},
		{"OTEL_TRACES_EXPORTER", "zipkin", `OTEL_TRACES_EXPORTER "zipkin"`},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", ""},
		{"OTEL_TRACES_EXPORTER", "otlp", ""},
	} {
		t.Setenv(tc.name, tc.value)
		err := cfg.ValidateEnv()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s=%s: %v, want %q", tc.name, tc.value, err, tc.want)
		}
		t.Setenv(tc.name, "")
	}
	// The traces variable wins the generic one, as in the SDK.
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
	if err := cfg.ValidateEnv(); err != nil {
		t.Errorf("traces protocol http/protobuf beside a generic grpc: %v", err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "")

	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	var buf bytes.Buffer
	tp, ce, err := newProvider(context.Background(), cfg, nil, slog.New(slog.NewTextHandler(&buf, nil)), defaultBatching)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tp.Shutdown(context.Background()) }()
	if ce != nil || !strings.Contains(buf.String(), "OTEL_TRACES_EXPORTER is none") {
		t.Errorf("OTEL_TRACES_EXPORTER=none: exporter %v, log %s", ce, buf.String())
	}
}
