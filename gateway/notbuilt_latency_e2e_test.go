package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestRefusedWhileBuildingTheIntegrationRequestHasNoIntegrationLatency is
// r-obs28's finding 4: a request refused 400 while its integration request
// was built (a header mapped from the client's path holding a control
// character), before the backend was called, logged $context.integrationLatency
// 0, where "-" says no integration ran, as for the 413 before a function
// (TestRefusedBeforeTheFunctionHasNoIntegrationLatency).
func TestRefusedWhileBuildingTheIntegrationRequestHasNoIntegrationLatency(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "cc", "protocol": "REST"}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/routes", nil, map[string]any{"method": "GET", "path": "/g/{proxy+}",
		"integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "GET", "uri": "http://127.0.0.1:9/{proxy}",
			"requestParameters": map[string]string{"integration.request.header.X-Proxy": "method.request.path.proxy"}}}, nil)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	logFile := filepath.Join(t.TempDir(), "cc.log")
	admin(t, c, "PUT", "/portico/v1/apis/"+api.ID+"/stages/dev/access-log", nil, map[string]string{"destinationArn": "file://" + logFile,
		"format": `$context.requestId $context.status il=$context.integrationLatency is=$context.integrationStatus`}, nil)
	if a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/g/a%1bb", ""); a.status != 400 {
		t.Fatalf("a control character mapped to a header: %d %s", a.status, a.body)
	}
	env.Stop() // writes what is queued
	raw, err := os.ReadFile(logFile)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(raw)), " 400 il=- is=-") || strings.Count(string(raw), "\n") != 1 {
		t.Fatalf("access log %q, %v; want 400 il=- is=-", raw, err)
	}
}
