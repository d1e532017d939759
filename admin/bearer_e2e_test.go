package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestBearerSchemeAnyCase: the admin token is taken as "Authorization:
// Bearer TOKEN" with the scheme in any case (RFC 7235: auth schemes are
// case-insensitive), on the admin API, its CodeDeploy route and @connections.
func TestBearerSchemeAnyCase(t *testing.T) {
	t.Parallel()
	const token = "bearer-case-test-token-0123456789abcdef"
	env := apptest.Start(t, apptest.Options{Settings: func(s *app.Settings) { s.AdminToken = token }})
	send := func(method, u, auth, target, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType")
	}
	resp, err := env.Client().Do(context.Background(), "POST", "/portico/v1/apis", nil, map[string]any{"name": "w", "protocol": "WEBSOCKET",
		"routeSelectionExpression": "$request.body.action", "routes": []any{map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ ID string }
	_ = json.Unmarshal(resp.Body, &api)
	if _, err := env.Client().Do(context.Background(), "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		auth := scheme + " " + token
		if st, typ := send("GET", env.AdminURL+"/2015-03-31/functions", auth, "", ""); st != 200 {
			t.Errorf("admin API with %q: %d %s", scheme, st, typ)
		}
		// A connection that does not exist: 410 once the token is taken.
		if st, typ := send("GET", env.GatewayURL+"/"+api.ID+"/dev/@connections/nope", auth, "", ""); st != 410 {
			t.Errorf("@connections with %q: %d %s, want 410 GoneException", scheme, st, typ)
		}
		// A deployment that does not exist: CodeDeploy's not-found, not a refusal.
		if st, typ := send("POST", env.AdminURL+"/", auth, "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus",
			`{"deploymentId":"d-NOPE","lifecycleEventHookExecutionId":"x","status":"Succeeded"}`); st == 403 || st == 401 {
			t.Errorf("CodeDeploy with %q: %d %s", scheme, st, typ)
		}
	}
	if st, typ := send("GET", env.AdminURL+"/2015-03-31/functions", "bearer wrong", "", ""); st != 403 {
		t.Errorf("admin API with a wrong token: %d %s", st, typ)
	}
}
