package gateway_test

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestOTLPEndpointCredentialsReachTheCollector: an --otlp-endpoint with
// credentials in its URL (https://user:pass@host/..., which the logs show
// masked) sends them to the collector as HTTP Basic authorization, where the
// exporter would drop them with the URL's userinfo; a collector that wants
// them takes the spans. The password is in no line of Portico's log (debug
// level), plain, escaped or encoded.
func TestOTLPEndpointCredentialsReachTheCollector(t *testing.T) {
	t.Parallel()
	const user, pass = "probeuser", "S3cret/Pass:w0rd!"
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	rcv := &otlpReceiver{}
	var (
		mu   sync.Mutex
		seen []string
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		mu.Lock()
		seen = append(seen, got)
		mu.Unlock()
		if got != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="otlp"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		rcv.ServeHTTP(w, r)
	}))
	defer collector.Close()
	endpoint := strings.Replace(collector.URL, "://", "://"+url.UserPassword(user, pass).String()+"@", 1)

	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelDebug, LogWriter: logs,
		Settings: func(s *app.Settings) { s.OTLPEndpoint = endpoint }})
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "otlpauth", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/m",
		"integration": map[string]any{"type": "MOCK", "requestTemplates": map[string]any{"application/json": `{"statusCode": 200}`}}}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	admin(t, c, "PATCH", "/restapis/"+api.ID+"/stages/dev", nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/tracingEnabled", "value": "true"}}}, nil)
	if a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev/m", ""); a.status != 200 {
		t.Fatalf("GET /m: %d %s", a.status, a.body)
	}
	env.Stop() // flushes the exporter

	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("no export reached the collector")
	}
	for _, got := range seen {
		if got != want {
			t.Errorf("the collector got Authorization %q, want %q", got, want)
		}
	}
	rcv.mu.Lock()
	n := len(rcv.spans)
	rcv.mu.Unlock()
	if n == 0 {
		t.Error("the collector took no spans")
	}
	server := logs.String()
	for _, secret := range []string{pass, url.QueryEscape(pass), url.PathEscape(pass), strings.TrimPrefix(want, "Basic ")} {
		if strings.Contains(server, secret) {
			t.Errorf("Portico's log carries %q:\n%s", secret, server)
		}
	}
}
