package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestRefusedBeforeTheFunctionHasNoIntegrationLatency is what the obs26
// tester found: a body whose Content-Length is over the 6 MB function event,
// refused 413 before any function is called, was logged with an
// $context.integrationLatency of 0, where "-" says no integration ran (as for
// every other refusal before it). On REST and HTTP APIs alike; a request the
// function then answers still has its latency.
func TestRefusedBeforeTheFunctionHasNoIntegrationLatency(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	dir := t.TempDir()
	for _, protocol := range []string{"REST", "HTTP"} {
		var api struct {
			ID string `json:"id"`
		}
		admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "big-" + protocol, "protocol": protocol}, &api)
		admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/routes", nil, map[string]any{"method": "POST", "path": "/fn",
			"integration": map[string]any{"type": "AWS_PROXY", "httpMethod": "POST", "uri": "function:nobody-here"}}, nil)
		admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/routes", nil, map[string]any{"method": "GET", "path": "/m", "integration": map[string]any{"type": "MOCK",
			"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
			"responses":        map[string]any{"default": map[string]any{"statusCode": "200"}}}}, nil)
		admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
		logFile := filepath.Join(dir, protocol+".log")
		admin(t, c, "PUT", "/portico/v1/apis/"+api.ID+"/stages/dev/access-log", nil, map[string]string{"destinationArn": "file://" + logFile,
			"format": `$context.requestId $context.status il=$context.integrationLatency is=$context.integrationStatus`}, nil)

		rc := dialRaw(t, env.GatewayURL)
		rc.send("POST /" + api.ID + "/dev/fn HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 7000000\r\n\r\n")
		if a, _, _ := rc.readResponse(); a.status != 413 {
			t.Fatalf("%s: 7 MB to a function: %d %s", protocol, a.status, a.body)
		}
		if a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/m", ""); a.status != 200 {
			t.Fatalf("%s: GET /m: %d %s", protocol, a.status, a.body)
		}
	}
	env.Stop() // writes what is queued
	for _, protocol := range []string{"REST", "HTTP"} {
		raw, err := os.ReadFile(filepath.Join(dir, protocol+".log"))
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		if err != nil || len(lines) != 2 {
			t.Fatalf("%s: access log %q, %v", protocol, raw, err)
		}
		if !strings.HasSuffix(lines[0], " 413 il=- is=-") {
			t.Errorf("%s: the refused request's line %q, want il=- is=-", protocol, lines[0])
		}
		if !strings.Contains(lines[1], " 200 il=") || strings.Contains(lines[1], "il=-") {
			t.Errorf("%s: the mock's line %q, want its integration latency", protocol, lines[1])
		}
	}
}
