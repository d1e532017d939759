package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestV2ExportStageWithoutDeploymentAndVersion: export-api of a stage that
// exists but has no deployment says so and what to do (it said the stage did
// not exist), a stage that does not exist is still NotFound, and an
// exportVersion other than 1.0, the only one API Gateway takes, is refused
// (r-openapi26 #6).
func TestV2ExportStageWithoutDeploymentAndVersion(t *testing.T) {
	t.Parallel()
	srv, _ := newGatewayAdmin(t)
	var a struct {
		APIID string `json:"apiId"`
	}
	if c := call(t, srv, "POST", "/v2/apis", `{"name":"x","protocolType":"HTTP"}`, &a); c != 201 {
		t.Fatalf("create-api: %d", c)
	}
	if c := call(t, srv, "POST", "/v2/apis/"+a.APIID+"/stages", `{"stageName":"nodep"}`, nil); c != 201 {
		t.Fatalf("create-stage: %d", c)
	}
	get := func(query string) (int, string) {
		resp, err := http.Get(srv.URL + "/v2/apis/" + a.APIID + "/exports/OAS30?outputType=JSON" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		return resp.StatusCode, e.Message
	}
	if c, msg := get("&stageName=nodep"); c != 404 || !strings.Contains(msg, `stage "nodep" has no deployment yet`) || !strings.Contains(msg, "create-deployment") {
		t.Fatalf("stage without a deployment: %d %q", c, msg)
	}
	if c, msg := get("&stageName=nope"); c != 404 || !strings.Contains(msg, "Invalid Stage identifier specified") {
		t.Fatalf("no such stage: %d %q", c, msg)
	}
	if c, msg := get("&exportVersion=2.0"); c != 400 || !strings.Contains(msg, "exportVersion") || !strings.Contains(msg, "1.0") {
		t.Fatalf("exportVersion 2.0: %d %q", c, msg)
	}
	if c, msg := get("&exportVersion=1.0"); c != 200 {
		t.Fatalf("exportVersion 1.0: %d %q", c, msg)
	}
}
