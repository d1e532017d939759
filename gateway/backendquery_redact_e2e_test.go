package gateway_test

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestBackendQueryStaysOutOfErrors: an HTTP or HTTP_PROXY backend that
// cannot be reached is named in the server's error log and in the access
// log's $context.integration.error with its password masked and its query
// string's values masked too: a token in the integration URI's query, or
// one the client sent, is a credential as the password is; and so are those
// values where the URI's path repeats them.
func TestBackendQueryStaysOutOfErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://bkuser:BKPASSWORD@" + ln.Addr().String()
	_ = ln.Close()
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelDebug, LogWriter: logs})
	c := env.Client()
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "q", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	// The path repeats the password and the query's token (obs20): masked
	// there too.
	uri := down + "/x/BKPASSWORD/QSECRET_q?token=QSECRET_q&access_token=CLIENTQSECRET_1"
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/proxy",
		"integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "GET", "uri": uri}}, nil)
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/http",
		"integration": map[string]any{"type": "HTTP", "httpMethod": "GET", "uri": uri,
			"responses": map[string]any{"default": map[string]any{"statusCode": "200"}}}}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	logFile := filepath.Join(t.TempDir(), "q.log")
	admin(t, c, "PUT", base+"/stages/dev/access-log", nil, map[string]string{
		"format": "$context.requestId $context.status $context.integration.error", "destinationArn": "file://" + logFile}, nil)
	for _, p := range []string{"/proxy", "/http"} {
		if a := get(t, "GET", env.GatewayURL+"/"+api.ID+"/dev"+p+"?access_token=CLIENTQSECRET_2", ""); a.status < 500 {
			t.Fatalf("GET %s: %d %s, want a 5xx", p, a.status, a.body)
		}
	}
	var raw []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if raw, _ = os.ReadFile(logFile); strings.Count(string(raw), "\n") >= 2 {
			break
		}
	}
	if !strings.Contains(string(raw), "bkuser") || strings.Count(string(raw), "\n") != 2 {
		t.Fatalf("access log does not name the backend:\n%s", raw)
	}
	for what, text := range map[string]string{"access log": string(raw), "server log": logs.String()} {
		for _, secret := range []string{"BKPASSWORD", "QSECRET_q", "CLIENTQSECRET_1", "CLIENTQSECRET_2"} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s holds %s:\n%s", what, secret, text)
			}
		}
	}
}
