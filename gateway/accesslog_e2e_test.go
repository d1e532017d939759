package gateway_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
)

// TestAccessLogWithACustomFormat sets a stage's access log through the admin API
// (a bad format is refused naming its variable), makes a 200 and a 403, and
// finds one line each in the file, in the custom format.
func TestAccessLogWithACustomFormat(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	ctx := context.Background()
	var api struct {
		ID string `json:"id"`
	}
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "logged", "protocol": "REST"}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/routes", nil, map[string]any{"method": "GET", "path": "/pets/{id}", "integration": map[string]any{"type": "MOCK",
		"requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200",
			"responseTemplates": map[string]string{"application/json": `{"pet":true}`}}}}}, nil)
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)

	for _, bad := range []struct{ format, dest, want string }{
		{`$context.requestId $context.wafResponseCode`, "stdout", "$context.wafResponseCode"},
		{`$context.requestId`, "arn:aws:logs:us-east-1:123456789012:log-group:x", "CloudWatch"},
		{`$context.requestId`, "logs/dev.log", "absolute"},
	} {
		_, err := c.Do(ctx, "PUT", base+"/stages/dev/access-log", nil, map[string]string{"format": bad.format, "destinationArn": bad.dest}, nil)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, bad.want) {
			t.Errorf("format %q to %q: %v, want a 400 naming %q", bad.format, bad.dest, err, bad.want)
		}
	}

	logFile := filepath.Join(t.TempDir(), "access", "dev.log")
	format := `$context.requestId|$context.httpMethod|$context.resourcePath|$context.status|$context.responseLength|$context.error.responseType|$context.identity.sourceIp`
	var st struct {
		AccessLogSettings struct {
			Format         string `json:"format"`
			DestinationARN string `json:"destinationArn"`
		} `json:"accessLogSettings"`
	}
	admin(t, c, "PUT", base+"/stages/dev/access-log", nil, map[string]string{"format": format, "destinationArn": "file://" + logFile}, &st)
	if st.AccessLogSettings.Format != format || st.AccessLogSettings.DestinationARN != "file://"+logFile {
		t.Fatalf("stage access log settings %+v", st.AccessLogSettings)
	}
	dev := env.GatewayURL + "/" + api.ID + "/dev"
	ok := get(t, "GET", dev+"/pets/7", "", "Content-Type", "application/json")
	missing := get(t, "GET", dev+"/nothing", "")
	if ok.status != 200 || missing.status != 403 {
		t.Fatalf("statuses %d %d", ok.status, missing.status)
	}
	env.Stop() // writes what is queued
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^` + regexp.QuoteMeta(ok.header.Get("x-amzn-RequestId")) + `\|GET\|/pets/\{id\}\|200\|12\|-\|127\.0\.0\.1$`),
		regexp.MustCompile(`^` + regexp.QuoteMeta(missing.header.Get("x-amzn-RequestId")) + `\|GET\|-\|403\|42\|MISSING_AUTHENTICATION_TOKEN\|127\.0\.0\.1$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("log lines:\n%s", raw)
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
}
