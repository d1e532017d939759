package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/testkit"
)

// listenedAt is the address the server's Info line msg (as "metrics
// listening") names in logs.
func listenedAt(t *testing.T, logs, msg string) string {
	t.Helper()
	m := regexp.MustCompile(`msg="` + regexp.QuoteMeta(msg) + `".* addr=(\S+)`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no %q line with an address in the log:\n%s", msg, logs)
	}
	return m[1]
}

// TestIntegrationCannotReachPortico: an HTTP integration aimed at one of
// Portico's own listeners (the loopback admin API, which asks no token there;
// the metrics endpoint) through a stage variable is refused when a request
// resolves it, with the 500 of a backend that cannot be reached and a warning
// naming the listener; the admin API never sees the request. A literal URI
// naming one is refused when the API is saved.
func TestIntegrationCannotReachPortico(t *testing.T) {
	t.Parallel()
	// The kernel picks the metrics port as the server binds it: a port picked
	// by a listener closed before the start could be taken in between by
	// another test (CI runs packages side by side).
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogWriter: logs, LogLevel: slog.LevelDebug, // Info is 0, the default (Warn)
		Settings: func(s *app.Settings) { s.MetricsListen = "127.0.0.1:0" }})
	metricsAddr := listenedAt(t, logs.String(), "metrics listening")
	c := env.Client()
	adminAddr := strings.TrimPrefix(env.AdminURL, "http://")
	_, adminPort, _ := net.SplitHostPort(adminAddr)

	def := map[string]any{"name": "be", "protocol": "REST", "routes": []any{map[string]any{"method": "ANY", "path": "/be/{proxy+}",
		"integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": "http://${stageVariables.backend}/{proxy}"}}}}
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, def, &api)
	countAPIs := func() int {
		var list struct{ Items []json.RawMessage }
		admin(t, c, "GET", "/portico/v1/apis", nil, nil, &list)
		return len(list.Items)
	}
	before := countAPIs()
	for _, target := range []struct{ backend, listener string }{
		{adminAddr, "admin API"},
		{"localhost:" + adminPort, "admin API"},
		{"0.0.0.0:" + adminPort, "admin API"},
		{metricsAddr, "metrics endpoint"},
	} {
		admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil,
			map[string]any{"stageName": "dev", "variables": map[string]string{"backend": target.backend}}, nil)
		base := env.GatewayURL + "/" + api.ID + "/dev/be"
		for _, call := range []struct{ method, path, body string }{
			{"POST", "/portico/v1/apis", `{"name":"x","protocol":"HTTP"}`},
			{"GET", "/portico/v1/apis", ""},
			{"GET", "/metrics", ""},
		} {
			a := get(t, call.method, base+call.path, call.body, "Content-Type", "application/json")
			if a.status != http.StatusInternalServerError || !strings.Contains(a.body, "Internal server error") {
				t.Errorf("%s via %s %s: %d %s, want 500 Internal server error", target.backend, call.method, call.path, a.status, a.body)
			}
		}
		if !strings.Contains(logs.String(), `listener="`+target.listener+`"`) {
			t.Errorf("%s: no warning naming the %s in the log:\n%s", target.backend, target.listener, logs.String())
		}
	}
	if n := countAPIs(); n != before {
		t.Errorf("the admin API created %d APIs through the gateway", n-before)
	}

	// A literal URI is refused when the API is created, imported or changed.
	refused := func(what string, err error) {
		t.Helper()
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, "targets Portico's own") {
			t.Errorf("%s: %v, want 400 saying it targets Portico's own listener", what, err)
		}
	}
	for _, uri := range []string{"http://" + adminAddr + "/x", "http://localhost:" + adminPort + "/{proxy}", "http://" + metricsAddr + "/metrics"} {
		bad := map[string]any{"name": "lit", "protocol": "HTTP", "routes": []any{map[string]any{"method": "GET", "path": "/{proxy+}",
			"integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": uri, "payloadFormatVersion": "1.0"}}}}
		_, err := c.Do(context.Background(), "POST", "/portico/v1/apis", nil, bad, nil)
		refused("create with uri "+uri, err)
		doc := `{"openapi":"3.0.1","info":{"title":"lit","version":"1"},"paths":{"/x":{"get":{
  "x-amazon-apigateway-integration":{"type":"http_proxy","httpMethod":"GET","uri":"` + uri + `"}}}}}`
		_, err = c.Do(context.Background(), "POST", "/portico/v1/apis/import", nil, []byte(doc), nil)
		refused("import with uri "+uri, err)
	}
	def["routes"].([]any)[0].(map[string]any)["integration"].(map[string]any)["uri"] = "http://" + adminAddr + "/{proxy}"
	_, err := c.Do(context.Background(), "PUT", "/portico/v1/apis/"+api.ID, nil, def, nil)
	refused("update with the admin API's address", err)
}
