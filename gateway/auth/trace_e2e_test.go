package auth_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// rootOf returns the Root of an X-Amzn-Trace-Id value.
func rootOf(h string) string {
	for f := range strings.SplitSeq(h, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(f), "Root="); ok {
			return v
		}
	}
	return ""
}

// TestLambdaAuthorizerRunsInTheRequestsTrace is what the obs4 tester found:
// on a stage without tracing, a Lambda authorizer (REST TOKEN, HTTP
// REQUEST) ran under a trace Root of its own, not the function's, and a
// client's malformed X-Amzn-Trace-Id reached it as it was. One request is
// one trace: the authorizer runs under the Root the function's event names
// (the client's valid header, canonical; else the one the gateway adds).
func TestLambdaAuthorizerRunsInTheRequestsTrace(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	createFunction(t, c, "authz", 2)
	createFunction(t, c, "echo", 5)
	restID := createAPI(t, c, map[string]any{"name": "r", "protocol": "REST",
		"authorizers": map[string]any{"tok": lambdaScheme(map[string]any{"type": "token", "authorizerUri": "function:authz",
			"identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 0})},
		"routes": []any{map[string]any{"method": "GET", "path": "/sec", "security": []any{map[string]any{"tok": []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "httpMethod": "POST"}}}})
	httpID := createAPI(t, c, map[string]any{"name": "h", "protocol": "HTTP",
		"authorizers": map[string]any{"lam": lambdaScheme(map[string]any{"type": "request", "authorizerUri": "function:authz",
			"identitySource": "$request.header.Authorization", "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true,
			"authorizerResultTtlInSeconds": 0})},
		"routes": []any{map[string]any{"method": "GET", "path": "/sec", "security": []any{map[string]any{"lam": []any{}}},
			"integration": map[string]any{"type": "AWS_PROXY", "uri": "function:echo", "payloadFormatVersion": "2.0"}}}})
	shape := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01]$`)
	const client = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	for _, tc := range []struct{ name, id string }{{"REST", restID}, {"HTTP", httpID}} {
		t.Run(tc.name, func(t *testing.T) {
			u := env.GatewayURL + "/" + tc.id + "/dev/sec"
			// authorizerAndEvent returns the authorizer's trace and the
			// event's X-Amzn-Trace-Id.
			authorizerAndEvent := func(hdr ...string) (string, string) {
				t.Helper()
				a := call(t, u, append([]string{"Authorization", "trace"}, hdr...)...)
				var ev struct {
					Headers        map[string]string `json:"headers"`
					RequestContext struct {
						Authorizer map[string]any `json:"authorizer"`
					} `json:"requestContext"`
				}
				if a.status != 200 || json.Unmarshal([]byte(a.body), &ev) != nil {
					t.Fatalf("GET /sec: %d %s", a.status, a.body)
				}
				au := ev.RequestContext.Authorizer
				if l, ok := au["lambda"].(map[string]any); ok {
					au = l
				}
				var evTrace string
				for k, v := range ev.Headers {
					if strings.EqualFold(k, "X-Amzn-Trace-Id") {
						evTrace = v
					}
				}
				s, _ := au["trace"].(string)
				return s, evTrace
			}
			au, evTrace := authorizerAndEvent()
			if !shape.MatchString(au) || rootOf(au) != rootOf(evTrace) {
				t.Errorf("no trace header: the authorizer ran under %q, the event names %q: want one Root", au, evTrace)
			}
			au, _ = authorizerAndEvent("X-Amzn-Trace-Id", client+";Lineage=a87bd80c:0")
			if au != client {
				t.Errorf("the client's trace: the authorizer ran under %q, want %q", au, client)
			}
			au, _ = authorizerAndEvent("X-Amzn-Trace-Id", "garbage")
			if !shape.MatchString(au) {
				t.Errorf("X-Amzn-Trace-Id: garbage: the authorizer ran under %q, want a trace of the request's own", au)
			}
		})
	}
}
