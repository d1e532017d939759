package gateway_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestCacheHitCarriesItsOwnTraceID: on a stage with tracing and caching on,
// a cache hit answers the integration's cached response with the current
// request's own X-Amzn-Trace-Id and request ids, never those of the request
// whose miss filled the entry; its request span has portico.cache_hit true,
// the miss's false.
func TestCacheHitCarriesItsOwnTraceID(t *testing.T) {
	t.Parallel()
	rcv := &otlpReceiver{}
	collector := httptest.NewServer(rcv)
	t.Cleanup(collector.Close) // after the gateway's exporter stops
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.OTLPEndpoint = collector.URL }})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "cachedtrace", "protocol": "REST"}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/routes", nil, map[string]any{"method": "GET", "path": "/m", "integration": map[string]any{"type": "MOCK",
		"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200",
			"responseParameters": map[string]string{"method.response.header.X-Kept": "'cached'"},
			"responseTemplates":  map[string]string{"application/json": `{"n": "$context.requestId"}`}}}}}, nil)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/tracingEnabled", "value": "true"},
		{"op": "replace", "path": "/cacheClusterEnabled", "value": "true"}}}, nil)

	u := env.GatewayURL + "/" + api.ID + "/dev/m"
	first := get(t, "GET", u, "", "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
	if first.status != 200 {
		t.Fatalf("first GET: %d %s", first.status, first.body)
	}
	if !strings.Contains(first.header.Get("X-Amzn-Trace-Id"), "5759e988-bd862e3fe1be46a994272793") {
		t.Fatalf("first GET answered X-Amzn-Trace-Id %q, want the client's Root", first.header.Get("X-Amzn-Trace-Id"))
	}
	for _, hdr := range [][]string{
		{"X-Amzn-Trace-Id", "Root=1-6759e988-0123456789abcdef01234567;Sampled=1"},
		nil, // no trace header: a Root of its own
	} {
		a := get(t, "GET", u, "", hdr...)
		if a.status != 200 || a.body != first.body {
			t.Fatalf("GET with %v: %d %q, want the cached answer %q", hdr, a.status, a.body, first.body)
		}
		if a.header.Get("X-Kept") != "cached" {
			t.Errorf("GET with %v: the hit lost the integration's header X-Kept: %v", hdr, a.header)
		}
		back := a.header.Get("X-Amzn-Trace-Id")
		if back == "" || strings.Contains(back, "5759e988-bd862e3fe1be46a994272793") {
			t.Errorf("GET with %v: a cache hit answered X-Amzn-Trace-Id %q, the first caller's trace", hdr, back)
		}
		if len(hdr) > 0 && !strings.Contains(back, "6759e988-0123456789abcdef01234567") {
			t.Errorf("GET with %v: answered X-Amzn-Trace-Id %q, want the caller's own Root", hdr, back)
		}
		for _, k := range []string{"X-Amzn-Requestid", "X-Amz-Apigw-Id"} {
			if v := a.header.Get(k); v == "" || v == first.header.Get(k) {
				t.Errorf("GET with %v: %s %q, want this request's own (the first's was %q)", hdr, k, v, first.header.Get(k))
			}
		}
	}
	// The request spans say which answer came from the cache (obs26): the
	// access log's cacheHit, in the trace.
	env.Stop() // flushes the exporter
	for root, want := range map[string]string{"5759e988bd862e3fe1be46a994272793": "false", "6759e9880123456789abcdef01234567": "true"} {
		span := rcv.trace(t, root)["GET /m"]
		if span == nil {
			t.Errorf("no request span in trace %s", root)
		} else if got := attr(span, "portico.cache_hit"); got != want {
			t.Errorf("trace %s: portico.cache_hit %q, want %s", root, got, want)
		}
	}
}
