package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestStageCommandsOnHTTPAPI: `portico stage cache` and `stage throttle
// --method` refuse an HTTP API's stage, saying why and (for the throttle) the
// apigatewayv2 way, instead of storing REST settings that were shown as set
// and never applied (r-httpapi25 findings 9, 10); `stage throttle` without
// --method still sets the stage's default route settings, now through
// apigatewayv2, and `stage canary` keeps its refusal.
func TestStageCommandsOnHTTPAPI(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	c := env.Client()
	ctx := context.Background()
	resp, err := c.Do(ctx, http.MethodPost, "/v2/apis", nil, map[string]any{"name": "h", "protocolType": "HTTP"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		APIID string `json:"apiId"`
	}
	_ = json.Unmarshal(resp.Body, &a)
	id := a.APIID
	if _, err := c.Do(ctx, http.MethodPost, "/v2/apis/"+id+"/routes", nil, map[string]any{"routeKey": "GET /v2/{id}"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, http.MethodPost, "/v2/apis/"+id+"/stages", nil, map[string]any{"stageName": "prod"}, nil); err != nil {
		t.Fatal(err)
	}
	refused := func(want string, args ...string) {
		t.Helper()
		out, err := portico(t, env, args...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("portico %v: %v, want an error saying %q\n%s", args, err, want, out)
		}
	}
	refused("the response cache is for REST APIs; api "+id+" is HTTP: HTTP and WebSocket APIs have none, as on API Gateway", "stage", "cache", id, "prod", "--enable")
	refused("for REST APIs", "stage", "cache", id, "prod", "--flush")
	refused("aws apigatewayv2 update-stage --api-id "+id+" --stage-name prod --route-settings", "stage", "throttle", id, "prod", "--method", "/v2/{id}/GET", "--rate", "1", "--burst", "1")
	refused("canary releases are for REST APIs", "stage", "canary", id, "prod", "--percent", "5")
	refused("canary releases are for REST APIs", "api", "deploy", id, "--stage", "prod", "--canary", "5")

	out, err := portico(t, env, "stage", "throttle", id, "prod", "--rate", "3", "--burst", "2")
	if err != nil || !strings.Contains(out, "default 3/s burst 2") {
		t.Fatalf("throttle without --method: %v\n%s", err, out)
	}
	if out, err = portico(t, env, "stage", "throttle", id, "prod", "--burst", "4"); err != nil || !strings.Contains(out, "default 3/s burst 4") {
		t.Fatalf("throttle --burst alone keeps the rate: %v\n%s", err, out)
	}
	resp, err = c.Do(ctx, http.MethodGet, "/v2/apis/"+id+"/stages/prod", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		DefaultRouteSettings struct {
			ThrottlingBurstLimit *int     `json:"throttlingBurstLimit"`
			ThrottlingRateLimit  *float64 `json:"throttlingRateLimit"`
		} `json:"defaultRouteSettings"`
		RouteSettings map[string]any `json:"routeSettings"`
	}
	_ = json.Unmarshal(resp.Body, &st)
	if d := st.DefaultRouteSettings; d.ThrottlingBurstLimit == nil || *d.ThrottlingBurstLimit != 4 || d.ThrottlingRateLimit == nil || *d.ThrottlingRateLimit != 3 || len(st.RouteSettings) > 0 {
		t.Errorf("stage: %s", resp.Body)
	}
}
