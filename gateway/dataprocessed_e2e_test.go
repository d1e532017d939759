package gateway_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestDataProcessedCountsAChunkedBody is what the obs4 tester found: on an
// HTTP API's function route, $context.dataProcessed left out a request body
// sent chunked (no Content-Length): it wrote the response's bytes alone. It
// counts what was read, on REST and HTTP APIs' function routes. (An
// HTTP_PROXY route streams such a body to its backend uncounted.)
func TestDataProcessedCountsAChunkedBody(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	const bodyLen = 5000
	for _, tc := range []struct{ name, protocol, version string }{
		{"HTTP", "HTTP", "2.0"}, {"HTTP1.0", "HTTP", "1.0"}, {"REST", "REST", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "httpMethod": "POST"}
			if tc.version != "" {
				fn["payloadFormatVersion"] = tc.version
			}
			var api struct{ ID string }
			admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "dp", "protocol": tc.protocol, "routes": []any{
				map[string]any{"method": "POST", "path": "/fn", "integration": fn}}}, &api)
			base := "/portico/v1/apis/" + api.ID
			admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
			logFile := filepath.Join(t.TempDir(), "dp.log")
			admin(t, c, "PUT", base+"/stages/dev/access-log", nil, map[string]string{
				"format": "$context.requestId $context.dataProcessed $context.responseLength", "destinationArn": "file://" + logFile}, nil)
			for _, path := range []string{"/fn"} {
				req, err := http.NewRequest("POST", env.GatewayURL+"/"+api.ID+"/dev"+path, io.MultiReader(strings.NewReader(strings.Repeat("x", bodyLen))))
				if err != nil {
					t.Fatal(err)
				}
				req.ContentLength = -1 // chunked
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("POST %s: %d", path, resp.StatusCode)
				}
			}
			var lines []string
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				raw, _ := os.ReadFile(logFile)
				if strings.Count(string(raw), "\n") == 1 {
					lines = strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
					break
				}
			}
			if len(lines) != 1 {
				t.Fatalf("log lines %q", lines)
			}
			for i, l := range lines {
				f := strings.Fields(l)
				if len(f) != 3 {
					t.Fatalf("line %q", l)
				}
				dp, _ := strconv.Atoi(f[1])
				rl, _ := strconv.Atoi(f[2])
				if dp-rl != bodyLen {
					t.Errorf("route %d: dataProcessed %d, responseLength %d: want the %d bytes of the request counted", i, dp, rl, bodyLen)
				}
			}
		})
	}
}
