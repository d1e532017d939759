package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRESTStageRoutesRefuseHTTPAPIs: API Gateway's (v1) stage and deployment
// routes answer an HTTP or WebSocket API's id with NotFoundException, as
// get-rest-api does (AWS keeps the two control planes' ids apart). They
// listed its stages, deployed it and stored REST-only settings on its stages
// (REST method-settings keys, a cache cluster, execution logging) that were
// shown as set and never applied (r-httpapi25 findings 9, 10, 11).
func TestRESTStageRoutesRefuseHTTPAPIs(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	for _, protocol := range []string{"HTTP", "WEBSOCKET"} {
		var a struct{ ID string }
		body := `{"name":"x","protocol":"` + protocol + `"}`
		if protocol == "WEBSOCKET" {
			body = `{"name":"x","protocol":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}`
		}
		if c := call(t, srv, "POST", "/portico/v1/apis", body, &a); c != 201 {
			t.Fatalf("create %s: %d", protocol, c)
		}
		if c := call(t, srv, "POST", "/v2/apis/"+a.ID+"/stages", `{"stageName":"prod"}`, nil); c != 201 {
			t.Fatalf("create %s stage: %d", protocol, c)
		}
		base := "/restapis/" + a.ID
		for _, tc := range []struct{ method, path, body string }{
			{"GET", base + "/stages", ""},
			{"GET", base + "/stages/prod", ""},
			{"PATCH", base + "/stages/prod", `{"patchOperations":[{"op":"replace","path":"/~1v2/GET/throttling/rateLimit","value":"1"}]}`},
			{"PATCH", base + "/stages/prod", `{"patchOperations":[{"op":"replace","path":"/cacheClusterEnabled","value":"true"}]}`},
			{"PATCH", base + "/stages/prod", `{"patchOperations":[{"op":"replace","path":"/*/*/logging/loglevel","value":"INFO"}]}`},
			{"PATCH", base + "/stages/prod", `{}`},
			{"POST", base + "/deployments", `{"stageName":"prod"}`},
			{"DELETE", base + "/stages/prod/cache/data", ""},
			{"DELETE", base + "/stages/prod/cache/authorizers", ""},
		} {
			if c := call(t, srv, tc.method, tc.path, tc.body, nil); c != 404 {
				t.Errorf("%s: %s %s %s: %d, want 404", protocol, tc.method, tc.path, tc.body, c)
			}
		}
		var st struct {
			DeploymentID  string
			RouteSettings map[string]any
		}
		if c := call(t, srv, "GET", "/v2/apis/"+a.ID+"/stages/prod", "", &st); c != 200 || st.DeploymentID != "" || len(st.RouteSettings) > 0 {
			t.Errorf("%s stage after the refused calls: %d %+v", protocol, c, st)
		}
	}
	// The message is get-rest-api's.
	var a struct{ ID string }
	call(t, srv, "POST", "/portico/v1/apis", `{"name":"x","protocol":"HTTP"}`, &a)
	for _, path := range []string{"/restapis/" + a.ID, "/restapis/" + a.ID + "/stages"} {
		msg := errorMessage(t, srv, "GET", path)
		if !strings.Contains(msg, "Invalid API identifier specified") {
			t.Errorf("GET %s: %q", path, msg)
		}
	}
}

// errorMessage is the message of the error answer to method path.
func errorMessage(t *testing.T, srv *httptest.Server, method, path string) string {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Message string }
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return e.Message
}
