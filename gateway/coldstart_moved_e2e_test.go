package gateway_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestColdStartWithDataDirMovedIs503: with the data directory moved under
// the running server, a function with no warm sandbox cannot start (its code
// is under code/ there), and a REST or HTTP API request for it gets a
// retryable 503 {"message": "Service Unavailable"} (compact on an HTTP API), as a key whose quota
// cannot be counted then does, and the gateway logs the request once at
// error level (the invoker's own line, naming the missing code's path, is
// not the request's); the invoker's 503 ServiceException was folded into the
// integration's failure, 500 {"message": "Internal server error"}.
func TestColdStartWithDataDirMovedIs503(t *testing.T) {
	t.Parallel()
	var logs testkit.LockedBuffer
	env := apptest.Start(t, apptest.Options{LogWriter: &logs})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	ids := map[string]string{}
	for _, protocol := range []string{"REST", "HTTP"} {
		var api struct{ ID string }
		admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "cold-" + protocol, "protocol": protocol,
			"routes": []any{map[string]any{"method": "GET", "path": "/p",
				"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:probe"}}}}, &api)
		admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
		ids[protocol] = api.ID
	}
	moved := env.DataDir + ".moved"
	if err := os.Rename(env.DataDir, moved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Rename(moved, env.DataDir) })
	for protocol, id := range ids {
		a := get(t, "GET", env.GatewayURL+"/"+id+"/dev/p", "")
		want := `{"message": "Service Unavailable"}`
		if protocol == "HTTP" {
			want = `{"message":"Service Unavailable"}` // an HTTP API's 5xx bodies are compact
		}
		if a.status != http.StatusServiceUnavailable || strings.TrimSpace(a.body) != want {
			t.Errorf("%s API: %d %s, want 503 %s", protocol, a.status, a.body, want)
		}
		var errorLines []string
		for l := range strings.Lines(logs.String()) {
			if strings.Contains(l, "level=ERROR") && strings.Contains(l, a.header.Get("x-amzn-RequestId")) {
				errorLines = append(errorLines, l)
			}
		}
		if len(errorLines) != 1 {
			t.Errorf("%s API: the request logged %d lines at error level, want one:\n%s", protocol, len(errorLines), strings.Join(errorLines, ""))
		}
	}
}
