package gateway_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestMethodSettingsOverrideExecutionLogsAndMetrics sets per-method logging
// and metrics with update-stage patch operations, as docs/admin-api.md lists
// them, and finds them applied through the real server: a method turned OFF
// under a "*/*" that traces logs nothing of a body holding a password; a
// method at INFO under a "*/*" at ERROR logs its requests, with the header
// its authorizer reads masked and without the trace headers the gateway adds;
// a method with metrics/enabled false counts under the stage series only
// while "*/*" has them on.
func TestMethodSettingsOverrideExecutionLogsAndMetrics(t *testing.T) {
	t.Parallel()
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelDebug, LogWriter: logs})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "items", "protocol": "REST",
		"authorizers": map[string]any{"tok": map[string]any{"type": "apiKey", "name": "Unused", "in": "header",
			"x-amazon-apigateway-authtype": "custom",
			"x-amazon-apigateway-authorizer": map[string]any{"type": "token", "authorizerUri": "function:authz",
				"identitySource": "method.request.header.X-My-Token"}}}}, &api)
	base := "/portico/v1/apis/" + api.ID
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200"}}}
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "POST", "path": "/items", "integration": mock}, nil)
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/items/{id}", "integration": mock}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	patch := func(ops ...string) {
		t.Helper()
		var list []map[string]string
		for i := 0; i+1 < len(ops); i += 2 {
			list = append(list, map[string]string{"op": "replace", "path": ops[i], "value": ops[i+1]})
		}
		admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": list}, nil)
	}
	dev := env.GatewayURL + "/" + api.ID + "/dev"
	// call makes one request and returns the execution-log lines it wrote.
	call := func(method, path, body string, hdr ...string) string {
		t.Helper()
		before := len(logs.String())
		if a := get(t, method, dev+path, body, hdr...); a.status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, a.status, a.body)
		}
		var lines []string
		for _, l := range strings.Split(logs.String()[before:], "\n") {
			if strings.Contains(l, "execution: method") {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}

	patch("/tracingEnabled", "true",
		"/*/*/logging/loglevel", "INFO", "/*/*/logging/dataTrace", "true",
		"/~1items/POST/logging/loglevel", "OFF", "/~1items/POST/logging/dataTrace", "false")
	if got := call("POST", "/items", `{"user":"ann","password":"hunter2"}`, "Content-Type", "application/json"); got != "" {
		t.Errorf("POST /items, its method OFF, logged:\n%s", got)
	}
	got := call("GET", "/items/1", "", "X-My-Token", "sekrit-token", "X-Visible", "yes")
	if !strings.Contains(got, "execution: method request") || !strings.Contains(got, "X-Visible") {
		t.Errorf("GET /items/1 under */* INFO with data trace logged:\n%s", got)
	}
	if strings.Contains(got, "sekrit-token") {
		t.Errorf("the authorizer's identity header reached the log:\n%s", got)
	}
	if req, _, _ := strings.Cut(got, "\n"); strings.Contains(strings.ToLower(req), "traceparent") {
		t.Errorf("the method request logged the gateway's trace headers:\n%s", req)
	}

	patch("/*/*/logging/loglevel", "ERROR", "/~1items~1{id}/GET/logging/loglevel", "INFO")
	got = call("GET", "/items/1", "")
	if !strings.Contains(got, "execution: method request") || !strings.Contains(got, "execution: method completed") {
		t.Errorf("GET /items/1, its method INFO under */* ERROR, logged:\n%s", got)
	}
	if got := call("POST", "/items", "{}"); got != "" {
		t.Errorf("POST /items under */* ERROR logged:\n%s", got)
	}

	// GET /items/{id}'s entry, made above, copied "*/*"'s metrics (off) and
	// keeps them when "*/*" changes, as in API Gateway: it is set too.
	patch("/*/*/metrics/enabled", "true", "/~1items/POST/metrics/enabled", "false", "/~1items~1{id}/GET/metrics/enabled", "true")
	call("POST", "/items", "{}")
	call("GET", "/items/2", "")
	resp, err := http.Get(env.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	series := func(method, resource string) string {
		return fmt.Sprintf(`portico_api_requests_total{api_id=%q,api_name="items",canary="false",method=%q,resource=%q,stage="dev"} `,
			api.ID, method, resource)
	}
	if s := series("POST", "/items"); strings.Contains(string(body), s) {
		t.Errorf("POST /items, its metrics off, has a method series: %s", s)
	}
	for _, s := range []string{series("GET", "/items/{id}") + "1", series("", "")} {
		if !strings.Contains(string(body), s) {
			t.Errorf("GET /metrics lacks %s", s)
		}
	}
}
