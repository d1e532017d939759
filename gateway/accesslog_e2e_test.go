package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/gateway/internal/gwtest"
)

// TestAccessLogWithACustomFormat sets a stage's access log through the admin API
// (a bad format is refused naming its variable), makes a 200 and a 403, and
// finds one line each in the file, in the custom format.
func TestAccessLogWithACustomFormat(t *testing.T) {
	t.Parallel()
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
		{`$context.requestId $context.wafResponseCodes`, "stdout", "$context.wafResponseCodes"},
		{`$context.requestId`, "arn:aws:logs:us-east-1:123456789012:log-group:x", "CloudWatch"},
		{`$context.requestId`, "logs/dev.log", "absolute"},
		{`$context.httpMethod $context.status`, "stdout", "must include at least $context.requestId or $context.extendedRequestId: add $context.requestId"},
		{`$context.requestId`, t.TempDir(), "is a directory"},
	} {
		_, err := c.Do(ctx, "PUT", base+"/stages/dev/access-log", nil, map[string]string{"format": bad.format, "destinationArn": bad.dest}, nil)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, bad.want) {
			t.Errorf("format %q to %q: %v, want a 400 naming %q", bad.format, bad.dest, err, bad.want)
		}
	}

	logFile := filepath.Join(t.TempDir(), "access", "dev.log")
	format := `$context.requestId|$context.extendedRequestId|$context.httpMethod|$context.resourcePath|$context.status|$context.responseLength|$context.error.responseType|$context.identity.sourceIp`
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
		// REST: requestId is x-amzn-RequestId, extendedRequestId x-amz-apigw-id.
		regexp.MustCompile(`^` + regexp.QuoteMeta(ok.header.Get("x-amzn-RequestId")+"|"+ok.header.Get("x-amz-apigw-id")) + `\|GET\|/pets/\{id\}\|200\|12\|-\|127\.0\.0\.1$`),
		regexp.MustCompile(`^` + regexp.QuoteMeta(missing.header.Get("x-amzn-RequestId")+"|"+missing.header.Get("x-amz-apigw-id")) + `\|GET\|-\|403\|42\|MISSING_AUTHENTICATION_TOKEN\|127\.0\.0\.1$`),
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

// TestAccessLogRequestIDOnHTTPAPIs: on an HTTP API, $context.requestId (and
// $context.extendedRequestId) in the access log is the apigw-requestid value,
// the requestContext.requestId of the function's event (payload 2.0 and 1.0),
// so that a log line and an event correlate, as on API Gateway; a refusal
// before any route logs its apigw-requestid too.
func TestAccessLogRequestIDOnHTTPAPIs(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	probe := func(path, version string) map[string]any {
		return map[string]any{"method": "GET", "path": path,
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "payloadFormatVersion": version}}
	}
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "logged-http", "protocol": "HTTP",
		"routes": []any{probe("/v2", "2.0"), probe("/v1", "1.0")}}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	logFile := filepath.Join(t.TempDir(), "http.log")
	admin(t, c, "PUT", base+"/stages/dev/access-log", nil, map[string]string{
		"format": "$context.requestId $context.extendedRequestId $context.status", "destinationArn": "file://" + logFile}, nil)

	dev := env.GatewayURL + "/" + api.ID + "/dev"
	var want []string
	for _, path := range []string{"/v2", "/v1"} {
		a := get(t, "GET", dev+path, "")
		var ev struct {
			RequestContext struct {
				RequestID string `json:"requestId"`
			} `json:"requestContext"`
		}
		id := a.header.Get("apigw-requestid")
		if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil || id == "" || ev.RequestContext.RequestID != id {
			t.Fatalf("GET %s: %d apigw-requestid %q, event requestId %q: %s", path, a.status, id, ev.RequestContext.RequestID, a.body)
		}
		want = append(want, id+" "+id+" 200")
	}
	missing := get(t, "GET", dev+"/nothing", "")
	want = append(want, missing.header.Get("apigw-requestid")+" "+missing.header.Get("apigw-requestid")+" 404")
	env.Stop() // writes what is queued
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines:\n%s\nwant:\n%s", raw, strings.Join(want, "\n"))
	}
}

// TestAccessLogIntegrationAndAuthorizerVariables: an HTTP API's access log
// writes API Gateway's integration variables (the function's status, the
// Lambda call's status and request id, the integration's error message),
// $context.dataProcessed, and the authorizer's status, latency and error, as
// API Gateway defines them, rather than refusing them or reading them as keys
// of the authorizer's context.
func TestAccessLogIntegrationAndAuthorizerVariables(t *testing.T) {
	t.Parallel()
	is := gwtest.NewIssuer(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	defer live.Close()
	env := apptest.Start(t, apptest.Options{JWKSTransport: is.Transport()})
	c := env.Client()
	createFunction(t, c, "probe", probeZip(t), nil, 5)
	probe := map[string]any{"type": "AWS_PROXY", "uri": "function:probe", "payloadFormatVersion": "2.0"}
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "logged-vars", "protocol": "HTTP",
		"authorizers": map[string]any{"jwt": map[string]any{"type": "oauth2", "x-amazon-apigateway-authorizer": map[string]any{
			"type": "jwt", "identitySource": "$request.header.Authorization",
			"jwtConfiguration": map[string]any{"issuer": is.Srv.URL, "audience": []string{"api1"}}}}},
		"routes": []any{
			map[string]any{"method": "ANY", "path": "/fn", "integration": probe},
			map[string]any{"method": "GET", "path": "/secure", "security": []any{map[string]any{"jwt": []string{}}}, "integration": probe},
			map[string]any{"method": "GET", "path": "/dead", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": deadURL + "/x", "payloadFormatVersion": "1.0"}},
			map[string]any{"method": "GET", "path": "/live", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": live.URL + "/x", "payloadFormatVersion": "1.0"}},
			map[string]any{"method": "GET", "path": "/mapped", "integration": map[string]any{
				"type": "HTTP_PROXY", "httpMethod": "ANY", "uri": live.URL + "/x", "payloadFormatVersion": "1.0",
				"responseParameters": map[string]any{"418": map[string]string{"overwrite:statuscode": "200"}}}},
		}}, &api)
	base := "/portico/v1/apis/" + api.ID
	admin(t, c, "POST", base+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	logFile := filepath.Join(t.TempDir(), "vars.log")
	format := `$context.requestId|$context.integration.status|$context.integrationStatus|$context.integration.integrationStatus|` +
		`$context.integration.requestId|$context.awsEndpointRequestId|$context.integrationErrorMessage|$context.integration.error|` +
		`$context.dataProcessed|$context.authorizer.status|$context.authorizer.latency|$context.authorizer.error|$context.customDomain.basePathMatched`
	admin(t, c, "PUT", base+"/stages/dev/access-log", nil, map[string]string{"format": format, "destinationArn": "file://" + logFile}, nil)

	dev := env.GatewayURL + "/" + api.ID + "/dev"
	token := is.Token(t, "RS256", "k1", is.RSA1, map[string]any{"iss": is.Srv.URL, "aud": "api1", "sub": "u1",
		"exp": time.Now().Add(time.Hour).Unix()})
	answers := []answer{
		get(t, "POST", dev+"/fn", "hello"),
		get(t, "GET", dev+"/fn?fail=1", ""),
		get(t, "GET", dev+"/secure", ""),
		get(t, "GET", dev+"/secure", "", "Authorization", "Bearer "+token),
		get(t, "GET", dev+"/dead", ""),
		get(t, "GET", dev+"/live", ""),
		get(t, "GET", dev+"/mapped", ""),
	}
	for i, want := range []int{200, 502, 401, 200, 500, 418, 200} {
		if answers[i].status != want {
			t.Fatalf("answer %d: %d %s, want %d", i, answers[i].status, answers[i].body, want)
		}
	}
	env.Stop() // writes what is queued
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != len(answers) {
		t.Fatalf("log lines:\n%s", raw)
	}
	const uuid = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	q := regexp.QuoteMeta
	id := func(i int) string { return q(answers[i].header.Get("apigw-requestid")) }
	size := func(i, req int) string { return strconv.Itoa(req + len(answers[i].body)) }
	want := []*regexp.Regexp{
		// A function's answer: its status, the Invoke call's 200 and request
		// id; the request's 5 bytes and the response's.
		regexp.MustCompile(`^` + id(0) + `\|200\|200\|200\|(` + uuid + `)\|(` + uuid + `)\|-\|-\|` + size(0, 5) + `\|-\|-\|-\|-$`),
		// A function error: the Invoke call succeeded; the error is the
		// integration's.
		regexp.MustCompile(`^` + id(1) + `\|200\|200\|200\|` + uuid + `\|` + uuid + `\|[^|]*probe failed on request[^|]*\|[^|]*probe failed on request[^|]*\|` + size(1, 0) + `\|-\|-\|-\|-$`),
		// The authorizer refused: no integration ran. Its reason has no
		// double quotes, which would break a JSON format's quoted field.
		regexp.MustCompile(`^` + id(2) + `\|-\|-\|-\|-\|-\|-\|-\|` + size(2, 0) + `\|401\|\d+\|authorizer jwt: identity source header\.Authorization is missing\|-$`),
		regexp.MustCompile(`^` + id(3) + `\|200\|200\|200\|` + uuid + `\|` + uuid + `\|-\|-\|` + size(3, 0) + `\|200\|\d+\|-\|-$`),
		// An HTTP integration that cannot be reached: its error, no status.
		regexp.MustCompile(`^` + id(4) + `\|-\|-\|-\|-\|-\|[^|]*connect[^|]*\|[^|]*connect[^|]*\|` + size(4, 0) + `\|-\|-\|-\|-$`),
		// An HTTP backend's answer: integrationStatus is its status, as
		// integration.status is (r-obs28 finding 3); a statuscode mapping
		// changes what the client gets, not the backend's statuses.
		regexp.MustCompile(`^` + id(5) + `\|418\|418\|418\|-\|-\|-\|-\|` + size(5, 0) + `\|-\|-\|-\|-$`),
		regexp.MustCompile(`^` + id(6) + `\|418\|418\|418\|-\|-\|-\|-\|` + size(6, 0) + `\|-\|-\|-\|-$`),
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
	if m := want[0].FindStringSubmatch(lines[0]); m != nil && (m[1] != m[2] || m[1] == answers[0].header.Get("apigw-requestid")) {
		t.Errorf("line 0: the Lambda request id %q and awsEndpointRequestId %q differ, or are the API's", m[1], m[2])
	}
}
