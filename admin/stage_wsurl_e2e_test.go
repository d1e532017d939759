package admin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestStageURLScheme: a stage's url is the URL its clients call, as `portico
// stage list` prints it: http:// for a REST or HTTP API's stage, ws:// for a
// WebSocket API's (it said http://, which no WebSocket client dials), in the
// stage list, the stage and a deployment's answer alike.
func TestStageURLScheme(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	do := func(method, path string, body any) []byte {
		t.Helper()
		resp, err := env.Client().Do(context.Background(), method, path, nil, body, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp.Body
	}
	for _, tc := range []struct{ protocol, scheme string }{{"REST", "http://"}, {"HTTP", "http://"}, {"WEBSOCKET", "ws://"}} {
		spec := map[string]any{"name": "u", "protocol": tc.protocol}
		if tc.protocol == "WEBSOCKET" {
			spec["routeSelectionExpression"] = "$request.body.action"
			spec["routes"] = []any{map[string]any{"routeKey": "$default", "integration": map[string]any{"type": "MOCK"}}}
		} else {
			spec["routes"] = []any{map[string]any{"method": "GET", "path": "/a", "integration": map[string]any{"type": "MOCK"}}}
		}
		var a struct{ ID string }
		_ = json.Unmarshal(do("POST", "/portico/v1/apis", spec), &a)
		want := tc.scheme + strings.TrimPrefix(env.GatewayURL, "http://") + "/" + a.ID + "/dev/"
		var dep struct{ Stage struct{ URL string } }
		_ = json.Unmarshal(do("POST", "/portico/v1/apis/"+a.ID+"/deployments", map[string]any{"stageName": "dev"}), &dep)
		var list struct{ Items []struct{ URL string } }
		_ = json.Unmarshal(do("GET", "/portico/v1/apis/"+a.ID+"/stages", nil), &list)
		var one struct{ URL string }
		_ = json.Unmarshal(do("GET", "/portico/v1/apis/"+a.ID+"/stages/dev", nil), &one)
		if dep.Stage.URL != want || len(list.Items) != 1 || list.Items[0].URL != want || one.URL != want {
			t.Errorf("%s stage url: deployment %q, list %+v, stage %q; want %q", tc.protocol, dep.Stage.URL, list.Items, one.URL, want)
		}
	}
}
