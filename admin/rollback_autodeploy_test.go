package admin

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestRollbackOfAnAutoDeployStageRefused: rolling back a stage that deploys
// automatically is refused 400 BadRequestException with a message that says to
// turn autoDeploy off first, as apigatewayv2 refuses a deploymentId on such a
// stage ("Deployment ID cannot be set on this stage ... because AutoDeploy is
// enabled"); the next change of the API used to deploy over the rollback
// silently. With autoDeploy off the rollback is taken.
func TestRollbackOfAnAutoDeployStageRefused(t *testing.T) {
	t.Parallel()
	srv, svc := newGatewayAdmin(t)
	ctx := t.Context()
	route := func(path string) apis.Route {
		return apis.Route{Method: "GET", Path: path, Integration: &apis.Integration{Type: "HTTP_PROXY", URI: "http://127.0.0.1:9" + path}}
	}
	a, err := svc.Create(ctx, &apis.API{Name: "auto", Protocol: apis.ProtocolHTTP, Definition: apis.Definition{Routes: []apis.Route{route("/a")}}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := svc.CreateStage(ctx, a.ID, apis.StageInput{Name: "prod", AutoDeploy: true})
	if err != nil || first.DeploymentID == "" {
		t.Fatalf("CreateStage: %+v %v", first, err)
	}
	if _, err := svc.AddRoute(ctx, a.ID, route("/b")); err != nil {
		t.Fatal(err)
	}
	st, err := svc.GetStage(ctx, a.ID, "prod")
	if err != nil || st.DeploymentID == first.DeploymentID {
		t.Fatalf("the change did not deploy: %+v %v", st, err)
	}
	for _, body := range []string{"", `{"deploymentId":"` + first.DeploymentID + `"}`} {
		resp := sendForMessage(t, "POST", srv.URL+"/portico/v1/apis/"+a.ID+"/stages/prod/rollback", body)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("x-amzn-ErrorType") != "BadRequestException" ||
			!strings.Contains(resp.Message, "because AutoDeploy is enabled") || !strings.Contains(resp.Message, "turn autoDeploy off first") {
			t.Errorf("rollback %q of an autoDeploy stage: %d %q %s", body, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), resp.Raw)
		}
	}
	if now, err := svc.GetStage(ctx, a.ID, "prod"); err != nil || now.DeploymentID != st.DeploymentID {
		t.Fatalf("the refused rollback moved the stage: %+v %v", now, err)
	}
	off := false
	if _, err := svc.UpdateStage(ctx, a.ID, "prod", apis.StagePatch{AutoDeploy: &off}); err != nil {
		t.Fatal(err)
	}
	var back stageView
	if c := call(t, srv, "POST", "/portico/v1/apis/"+a.ID+"/stages/prod/rollback", "", &back); c != 200 || back.DeploymentID != first.DeploymentID {
		t.Fatalf("rollback with autoDeploy off: %d %+v", c, back.Stage)
	}
}
