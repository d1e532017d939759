package gateway_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestXRayRootWithoutParentContinuesTheTrace: a request whose
// X-Amzn-Trace-Id has a Root and no Parent (a client starting the trace) is
// traced under that Root: the request span reaching the collector has the
// Root's trace id and no parent, and the answer's X-Amzn-Trace-Id names the
// same Root with the request span as Parent.
func TestXRayRootWithoutParentContinuesTheTrace(t *testing.T) {
	t.Parallel()
	rcv := &otlpReceiver{}
	collector := httptest.NewServer(rcv)
	defer collector.Close()
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.OTLPEndpoint = collector.URL }})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "rooted", "protocol": "REST"}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/routes", nil, map[string]any{"method": "GET", "path": "/m", "integration": map[string]any{"type": "MOCK",
		"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses":        map[string]any{"default": map[string]any{"statusCode": "200"}}}}, nil)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/tracingEnabled", "value": "true"}}}, nil)

	const root = "5759e988bd862e3fe1be46a994272793"
	a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/m", "", "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
	if a.status != 200 {
		t.Fatalf("GET /m: %d %s", a.status, a.body)
	}
	back := a.header.Get("X-Amzn-Trace-Id")
	env.Stop() // flushes the exporter
	req := rcv.trace(t, root)["GET /m"]
	if req == nil {
		t.Fatalf("no request span under the client's Root %s", root)
	}
	if p := parentID(req); p != "" && strings.Trim(p, "0") != "" {
		t.Errorf("request span has parent %s, want none", p)
	}
	if want := "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=" + spanID(req) + ";"; !strings.HasPrefix(back, want) {
		t.Errorf("answered X-Amzn-Trace-Id %q, want it to start %q", back, want)
	}
}

// TestClientNotSampledIsKept: a client's decision not to sample is kept on a
// traced stage whichever way it says it: an X-Amzn-Trace-Id Root with
// Sampled=0 with or without a Parent, a traceparent with flags 00. Nothing of
// those traces reaches the collector, and the answer names the client's
// trace with Sampled=0; a sampled request sent beside them is exported (the
// collector did receive what it was sent).
func TestClientNotSampledIsKept(t *testing.T) {
	t.Parallel()
	rcv := &otlpReceiver{}
	collector := httptest.NewServer(rcv)
	defer collector.Close()
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.OTLPEndpoint = collector.URL }})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "unsampled", "protocol": "REST"}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/routes", nil, map[string]any{"method": "GET", "path": "/m", "integration": map[string]any{"type": "MOCK",
		"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses":        map[string]any{"default": map[string]any{"statusCode": "200"}}}}, nil)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/tracingEnabled", "value": "true"}}}, nil)

	cases := []struct {
		name, header, value, trace, answer string
	}{
		{"x-ray root without parent", "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272711;Sampled=0",
			"5759e988bd862e3fe1be46a994272711", "Root=1-5759e988-bd862e3fe1be46a994272711;Parent="},
		{"x-ray root without parent, sampled first", "X-Amzn-Trace-Id", "Sampled=0;Root=1-5759e988-bd862e3fe1be46a994272712",
			"5759e988bd862e3fe1be46a994272712", "Root=1-5759e988-bd862e3fe1be46a994272712;Parent="},
		{"x-ray with parent", "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272722;Parent=53995c3f42cd8ad8;Sampled=0",
			"5759e988bd862e3fe1be46a994272722", "Root=1-5759e988-bd862e3fe1be46a994272722;Parent="},
		{"traceparent flags 00", "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4733-00f067aa0ba902b7-00",
			"4bf92f3577b34da6a3ce929d0e0e4733", "Root=1-4bf92f35-77b34da6a3ce929d0e0e4733;Parent="},
	}
	for _, tc := range cases {
		a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/m", "", tc.header, tc.value)
		back := a.header.Get("X-Amzn-Trace-Id")
		if a.status != 200 || !strings.HasPrefix(back, tc.answer) || !strings.HasSuffix(back, ";Sampled=0") {
			t.Errorf("%s: %d, X-Amzn-Trace-Id %q, want %s...;Sampled=0", tc.name, a.status, back, tc.answer)
		}
	}
	const sampled = "5759e988bd862e3fe1be46a994272799"
	if a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/m", "", "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272799"); a.status != 200 {
		t.Fatalf("sampled GET /m: %d %s", a.status, a.body)
	}
	env.Stop() // flushes the exporter
	if rcv.trace(t, sampled)["GET /m"] == nil {
		t.Fatalf("the sampled request's span did not reach the collector")
	}
	for _, tc := range cases {
		if spans := rcv.trace(t, tc.trace); len(spans) != 0 {
			t.Errorf("%s: %d spans exported for a trace the client did not sample", tc.name, len(spans))
		}
	}
}
