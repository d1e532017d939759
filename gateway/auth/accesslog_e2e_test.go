package auth_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAccessLogAuthorizerIntegration is what the obs4 tester found: a REST
// stage's access log wrote a Lambda authorizer's own call
// ($context.authorizer.integrationLatency, .integrationStatus) as "-" for a
// fresh call that answered Deny, though the Lambda ran and returned 200, and
// as 0 and 200 for a cached Allow, though no Lambda ran. They describe the
// Lambda call: written when it ran, whatever it decided; "-" when none did.
func TestAccessLogAuthorizerIntegration(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "authz", 2)
	createFunction(t, c, "echo", 5)
	id := createAPI(t, c, map[string]any{"name": "r", "protocol": "REST",
		"authorizers": map[string]any{"tok": lambdaScheme(map[string]any{"type": "token", "authorizerUri": "function:authz",
			"identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 300})},
		"routes": []any{map[string]any{"method": "GET", "path": "/sec", "security": []any{map[string]any{"tok": []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "httpMethod": "POST"}}}})
	logFile := filepath.Join(t.TempDir(), "a.log")
	format := "$context.requestId|$context.status|$context.authorizer.status|$context.authorizer.integrationLatency|$context.authorizer.integrationStatus"
	if _, err := c.Do(t.Context(), "PUT", "/portico/v1/apis/"+id+"/stages/dev/access-log", nil,
		map[string]string{"format": format, "destinationArn": "file://" + logFile}, nil); err != nil {
		t.Fatal(err)
	}
	u := env.GatewayURL + "/" + id + "/dev/sec"
	for i, tc := range []struct {
		token  string
		status int
	}{{"deny", 403}, {"allow", 200}, {"allow", 200}, {"", 401}} {
		hdr := []string{}
		if tc.token != "" {
			hdr = []string{"Authorization", tc.token}
		}
		if a := call(t, u, hdr...); a.status != tc.status {
			t.Fatalf("request %d (%q): %d %s, want %d", i, tc.token, a.status, a.body, tc.status)
		}
	}
	lines := logLines(t, logFile, 4)
	want := []*regexp.Regexp{
		regexp.MustCompile(`\|403\|403\|\d+\|200$`), // a fresh Deny: the Lambda ran, and answered
		regexp.MustCompile(`\|200\|200\|\d+\|200$`), // a fresh Allow
		regexp.MustCompile(`\|200\|200\|-\|-$`),     // the cached Allow: no Lambda ran
		regexp.MustCompile(`\|401\|401\|-\|-$`),     // no token: refused without a call
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
}

// logLines waits (up to 30 s) for the access log file to hold n lines and
// returns them.
func logLines(t *testing.T, file string, n int) []string {
	t.Helper()
	var raw []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if raw, _ = os.ReadFile(file); strings.Count(string(raw), "\n") >= n {
			break
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("access log:\n%s\nwant %d lines", raw, n)
	}
	return lines
}
