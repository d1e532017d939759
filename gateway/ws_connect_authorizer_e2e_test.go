package gateway_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/wstest"
)

// wsAuthorizedAPI creates a WebSocket API whose $connect has a Lambda
// REQUEST authorizer (gateway/auth/testdata/authfn: the token query
// parameter "good" is allowed, anything else Unauthorized, none refused
// without a call) and MOCK integrations; it returns its id and the URL of
// its dev stage.
func wsAuthorizedAPI(t *testing.T, env *apptest.Env) (string, string) {
	t.Helper()
	c := env.Client()
	createAuthzFunction(t, env)
	mock := map[string]any{"type": "MOCK", "requestTemplates": map[string]string{"$default": `{"statusCode": 200}`},
		"responses": map[string]any{"default": map[string]any{"statusCode": "200", "responseTemplates": map[string]string{"$default": `ok`}}}}
	var api struct{ ID string }
	admin(t, c, "POST", "/portico/v1/apis", nil, map[string]any{"name": "wsauth", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action",
		"authorizers":              wsConnAuthorizers,
		"routes": []any{
			map[string]any{"routeKey": "$connect", "security": []any{map[string]any{"conn": []any{}}}, "integration": mock},
			map[string]any{"routeKey": "$default", "routeResponseSelectionExpression": "$default", "integration": mock}}}, &api)
	admin(t, c, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil)
	return api.ID, "ws" + strings.TrimPrefix(env.GatewayURL, "http") + "/" + api.ID + "/dev"
}

// createAuthzFunction creates the function authz, gateway/auth/testdata/authfn.
func createAuthzFunction(t *testing.T, env *apptest.Env) {
	t.Helper()
	if _, _, err := env.Client().CreateFunction(context.Background(), map[string]any{
		"FunctionName": "authz", "PackageType": "Zip", "Runtime": client.ZipRuntime, "Handler": client.ZipHandler,
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(apptest.ZipProgram(t, "./gateway/auth/testdata/authfn"))}, "Timeout": 5,
	}); err != nil {
		t.Fatal(err)
	}
}

// wsConnAuthorizers declares the authorizer conn, a Lambda REQUEST
// authorizer of function authz (createAuthzFunction) that reads the token
// query parameter, for a $connect route's "security": [{"conn": []}].
var wsConnAuthorizers = map[string]any{"conn": map[string]any{"type": "apiKey", "name": "token", "in": "query",
	"x-amazon-apigateway-authtype": "custom", "x-amazon-apigateway-authorizer": map[string]any{"type": "request",
		"authorizerUri": "function:authz", "identitySource": "route.request.querystring.token", "authorizerResultTtlInSeconds": 0}}}

// TestWebSocketConnectCountLeavesOutRefusals is what the obs4 tester found:
// portico_ws_connect_count_total counted the $connects the authorizer
// refused. CloudWatch's ConnectCount, which it maps, counts the messages
// sent to the $connect route's integration.
func TestWebSocketConnectCountLeavesOutRefusals(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	id, u := wsAuthorizedAPI(t, env)
	for _, q := range []string{"", "?token=bad", "?token=bad"} {
		ws, resp, err := wstest.Dial(websocket.DefaultDialer, u+q, nil)
		if err == nil {
			_ = ws.Close()
			t.Fatalf("connect %q admitted", q)
		}
		if resp != 401 {
			t.Fatalf("connect %q: %v %v, want 401", q, resp, err)
		}
	}
	ws, _, err := wstest.Dial(websocket.DefaultDialer, u+"?token=good", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	a := get(t, "GET", env.AdminURL+"/metrics", "")
	want := `portico_ws_connect_count_total{api_id="` + id + `",api_name="wsauth",route="",stage="dev"} 1`
	if !strings.Contains(a.body, want+"\n") {
		t.Errorf("metrics do not say %s:\n%s", want, grepLines(a.body, "portico_ws_connect_count_total"))
	}
}

// grepLines returns the lines of s that hold sub.
func grepLines(s, sub string) string {
	var b strings.Builder
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestWebSocketAccessLogRefusedConnect is what the obs4 tester found: a
// WebSocket stage's access log lost the authorizer and error details REST
// and HTTP stages write: a $connect the authorizer refused wrote
// authorizer.error, authorizer.status and error.message "-", and an
// integrationLatency of 0 though no integration ran; an admitted one
// authorizer.status "-".
func TestWebSocketAccessLogRefusedConnect(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	id, u := wsAuthorizedAPI(t, env)
	logFile := filepath.Join(t.TempDir(), "ws.log")
	format := "$context.requestId|$context.eventType|$context.status|$context.authorizer.status|$context.authorizer.error|" +
		"$context.error.message|$context.integrationLatency|$context.authorizer.latency"
	admin(t, env.Client(), "PUT", "/portico/v1/apis/"+id+"/stages/dev/access-log", nil, map[string]string{"format": format, "destinationArn": "file://" + logFile}, nil)
	for _, q := range []string{"", "?token=bad"} {
		ws, resp, err := wstest.Dial(websocket.DefaultDialer, u+q, nil)
		if err == nil {
			_ = ws.Close()
			t.Fatalf("connect %q admitted", q)
		}
		if resp != 401 {
			t.Fatalf("connect %q: %v %v, want 401", q, resp, err)
		}
	}
	ws, _, err := wstest.Dial(websocket.DefaultDialer, u+"?token=good", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var raw []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if raw, _ = os.ReadFile(logFile); strings.Count(string(raw), "\n") >= 3 {
			break
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("access log:\n%s\nwant 3 lines", raw)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`^[^|]+\|CONNECT\|401\|401\|[^-|][^|]*\|Unauthorized\|-\|\d+$`),
		regexp.MustCompile(`^[^|]+\|CONNECT\|401\|401\|[^-|][^|]*\|Unauthorized\|-\|\d+$`),
		regexp.MustCompile(`^[^|]+\|CONNECT\|200\|200\|-\|-\|\d+\|\d+$`),
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
}

// TestWebSocketAccessLogAuthorizerIntegration: a WebSocket $connect's access
// log line fills $context.authorizer.integrationStatus and
// .integrationLatency when its Lambda authorizer was called, whatever it
// decided, and leaves them "-" for a refusal without a call (no token), as
// REST and HTTP stages write them; they were "-" on every $connect line.
func TestWebSocketAccessLogAuthorizerIntegration(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	id, u := wsAuthorizedAPI(t, env)
	logFile := filepath.Join(t.TempDir(), "ws.log")
	format := "$context.requestId|$context.eventType|$context.status|$context.authorizer.integrationStatus|$context.authorizer.integrationLatency"
	admin(t, env.Client(), "PUT", "/portico/v1/apis/"+id+"/stages/dev/access-log", nil, map[string]string{"format": format, "destinationArn": "file://" + logFile}, nil)
	for _, q := range []string{"", "?token=bad"} {
		ws, resp, err := wstest.Dial(websocket.DefaultDialer, u+q, nil)
		if err == nil {
			_ = ws.Close()
			t.Fatalf("connect %q admitted", q)
		}
		if resp != 401 {
			t.Fatalf("connect %q: %v %v, want 401", q, resp, err)
		}
	}
	ws, _, err := wstest.Dial(websocket.DefaultDialer, u+"?token=good", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var raw []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if raw, _ = os.ReadFile(logFile); strings.Count(string(raw), "\n") >= 3 {
			break
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("access log:\n%s\nwant 3 lines", raw)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`^[^|]+\|CONNECT\|401\|-\|-$`),
		regexp.MustCompile(`^[^|]+\|CONNECT\|401\|200\|\d+$`),
		regexp.MustCompile(`^[^|]+\|CONNECT\|200\|200\|\d+$`),
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
}
