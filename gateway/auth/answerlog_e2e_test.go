package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// contextProbe is authfn's ContextProbe.
const contextProbe = "CTXPROBE-7f3a9c"

// TestMalformedAuthorizerAnswersLogNoValues: a REST TOKEN authorizer whose
// answer lacks policyDocument but carries a real API key as
// usageIdentifierKey and a context, one whose answer is a JSON string, one
// that fails with the key in its errorMessage, and the same three from an HTTP
// API simple-response authorizer answer 500, and the server log (debug level)
// says what is wrong and names the answer's fields, never the key or the
// context value.
func TestMalformedAuthorizerAnswersLogNoValues(t *testing.T) {
	logs := &testkit.LockedBuffer{}
	env := apptest.Start(t, apptest.Options{LogLevel: slog.LevelDebug, LogWriter: logs})
	c := env.Client()
	resp, err := c.Do(context.Background(), "POST", "/apikeys", nil, map[string]any{"name": "k", "enabled": true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var key struct{ Value string }
	if err := json.Unmarshal(resp.Body, &key); err != nil || len(key.Value) < 20 {
		t.Fatalf("create key: %s %v", resp.Body, err)
	}
	in := map[string]any{
		"FunctionName": "authzk", "PackageType": "Zip", "Runtime": "provided.al2023", "Handler": "bootstrap", "Timeout": 5,
		"Code":        map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(authfnZip(t))},
		"Environment": map[string]any{"Variables": map[string]string{"AUTHFN_UIK": key.Value}},
	}
	if _, _, err := c.CreateFunction(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	restID := createAPI(t, c, map[string]any{"name": "r", "protocol": "REST", "apiKeySource": "AUTHORIZER",
		"authorizers": map[string]any{"tok": lambdaScheme(map[string]any{"type": "token", "authorizerUri": "function:authzk"})},
		"routes":      []any{mockRoute("GET", "/k", "tok")}})
	httpID := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP",
		"authorizers": map[string]any{"lam": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authzk",
			"identitySource": "$request.header.Authorization", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true})},
		"routes": []any{map[string]any{"method": "GET", "path": "/k", "security": []any{map[string]any{"lam": []any{}}},
			"integration": map[string]any{"type": "HTTP_PROXY", "httpMethod": "GET", "uri": "http://127.0.0.1:1/", "payloadFormatVersion": "1.0"}}}})
	for _, tc := range []struct{ api, token, why string }{
		{restID, "nopol-uik", "the answer lacks policyDocument; it is a JSON object with fields context, principalId, usageIdentifierKey ("},
		{restID, "garbage-uik", "the answer is not an authorizer response, an object: it is a JSON string ("},
		{restID, "fail-uik", "function error: an error answer, a JSON object with fields errorMessage, errorType ("},
		{httpID, "noanswer-uik", "the answer lacks isAuthorized; it is a JSON object with fields context ("},
		{httpID, "garbage-uik", "the answer is not a simple authorizer response, an object: it is a JSON string ("},
		{httpID, "fail-uik", "function error: an error answer, a JSON object with fields errorMessage, errorType ("},
	} {
		a := call(t, env.GatewayURL+"/"+tc.api+"/dev/k", "Authorization", tc.token)
		if a.status != 500 || a.header.Get("x-amzn-ErrorType") != "AuthorizerConfigurationException" {
			t.Errorf("%s %s: %d %s %s, want 500 AuthorizerConfigurationException", tc.api, tc.token, a.status, a.header.Get("x-amzn-ErrorType"), a.body)
		}
		if !strings.Contains(logs.String(), tc.why) {
			t.Errorf("%s %s: the log does not say %q:\n%s", tc.api, tc.token, tc.why, failures(logs.String()))
		}
	}
	env.Stop()
	for _, secret := range []string{key.Value, contextProbe} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the server log carries %q:\n%s", secret, failures(logs.String()))
		}
	}
}

// failures returns the "gateway request failed" lines of log.
func failures(log string) string {
	var out []string
	for l := range strings.Lines(log) {
		if strings.Contains(l, "gateway request failed") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
