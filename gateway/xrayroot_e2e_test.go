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
