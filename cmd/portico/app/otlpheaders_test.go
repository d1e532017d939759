package app

import (
	"strings"
	"testing"
)

// TestOTLPHeadersVariableChecked: the server refuses to start with a
// malformed OTEL_EXPORTER_OTLP_TRACES_HEADERS when it exports spans, naming
// the variable, not the value; without a collector it is not read.
func TestOTLPHeadersVariableChecked(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=acme,Authorization: Bearer HDRSECRET77")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	s := Defaults()
	s.DataDir = t.TempDir()
	if err := s.Validate(); err != nil {
		t.Errorf("no collector: %v", err)
	}
	s.OTLPEndpoint = "http://u:pw123@127.0.0.1:4318"
	err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_TRACES_HEADERS: entry 2 of 2") ||
		strings.Contains(err.Error(), "HDRSECRET77") || strings.Contains(err.Error(), "pw123") {
		t.Errorf("malformed headers: %v", err)
	}
}
